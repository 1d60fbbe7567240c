"""A rebuild in its own process, for the crash-mid-rebuild test.

    python -m tests.rebuild_child DATABASE_URL MODE

Rebuilds ``test_seen`` (batches of 50) with :class:`tests.runner_helpers.HoldInRebuild`:
it prints ``holding FIRST LAST`` at the point MODE names and waits there to be killed.
"""

from __future__ import annotations

import asyncio
import sys

from projections.rebuild import rebuild
from tests.projection_helpers import report
from tests.runner_helpers import HoldInRebuild, SeenProjection


async def main(url: str, mode: str) -> None:
    report("started")
    outcome = await rebuild(
        url, [HoldInRebuild(SeenProjection(), mode)], batch_size=50, max_batch_size=50
    )
    report("finished", outcome)  # the test fails if we get here


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
