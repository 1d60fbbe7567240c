"""The team lead's review inbox: field data recorded offline and kept aside for review
(docs/sync-protocol.md, "Conflicts"), listed, filtered and resolved with a note.

A lead sees the items recorded on the devices of their own service's users, the command
as sent included (docs/access.md, "The review inbox"; decision 60).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from backend.auth.access_log import show_tenants
from backend.auth.authorize import ABOUT_TENANT_KEY, Access
from backend.openapi import problem_response
from backend.routes.params import Cursor, Limit
from backend.runtime import Clock
from projections.pagination import DEFAULT_PAGE_SIZE, Page
from sync import review
from sync.review import ReviewEntry, ReviewStatus

MAX_NOTE_LENGTH = 4000


class ResolveReview(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the lead resolved the item: what was done about it, for the record."""

    note: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NOTE_LENGTH)]


class ReviewInboxController(Controller):
    path = "/review-inbox"
    tags = ["boards"]

    @get(
        "/",
        summary="Items recorded offline and kept for review, of the caller's service's users",
        description="Unresolved by default, the longest waiting first. Each entry holds the "
        "command as the device sent it (a visit's note included): the inbox lists only "
        "items recorded by users of the caller's own service (docs/access.md, 'The review "
        "inbox').",
    )
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        status: Annotated[
            list[ReviewStatus] | None, Parameter(description="One or more outcomes")
        ] = None,
        tenant_id: FromQuery[UUID | None] = None,
        resolved: Annotated[
            bool, Parameter(description="false (default): open items; true: resolved ones")
        ] = False,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Page[ReviewEntry]:
        async with pool.acquire() as conn:
            page = await review.inbox(
                conn,
                service=access.principal.service,
                statuses=status or (),
                tenant_id=tenant_id,
                resolved=resolved,
                cursor=cursor,
                limit=limit,
            )
        show_tenants(request, ((e.tenant_id, e.item_id) for e in page.items))
        return page

    @post(
        "/{item_id:uuid}/resolution",
        summary="Resolve an item in review with a note (once)",
        responses={
            409: problem_response(
                "`item_id`/`in_review`: the item was applied as sent (or still waits for its "
                "outcome), so it is not in review; `item_id`/`not_resolved`: it was resolved "
                "already."
            )
        },
    )
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        item_id: FromPath[UUID],
        data: JSONBody[ResolveReview],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> ReviewEntry:
        return await resolve_item(request, access, pool, clock(), item_id, data.note)


async def resolve_item(
    request: Request[Any, Any, Any],
    access: Access,
    pool: asyncpg.Pool,
    now: datetime,
    item_id: UUID,
    note: str,
) -> ReviewEntry:
    """Resolve an item for a lead of its service, the access log told whose item it was
    (the API's resolution and the web page's)."""
    principal = access.principal
    async with pool.acquire() as conn:
        entry = await review.resolve(
            conn, item_id, service=principal.service, by=principal.user_id, note=note, now=now
        )
    if entry.tenant_id is not None:
        request.state[ABOUT_TENANT_KEY] = entry.tenant_id
    return entry
