"""Query parameters the read routes share: read-your-writes position, page cursor, page size."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from projections.pagination import MAX_PAGE_SIZE

Cursor = Annotated[
    str | None, Parameter(description="The `next_cursor` of the previous page; none for the first")
]
Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Page size (1 to 500)")]
MinPosition = Annotated[
    int | None,
    Parameter(
        ge=0,
        description="Wait (briefly) until the read model includes this log position "
        "(the `position` a command returned): read-your-writes.",
    ),
]
