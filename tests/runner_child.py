"""A projection runner in its own process, for the kill-mid-batch test.

    python -m tests.runner_child DATABASE_URL BATCH_SIZE HOLD_AT

Runs the real ``ProjectionRunner`` over the timeline. It prints ``advanced N`` after each
committed batch; at batch ``HOLD_AT`` it writes the rows, prints ``holding FIRST LAST`` and
waits inside the open transaction for the parent to SIGKILL it.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from projections.risk_timeline import RiskTimelineProjection
from projections.runner import ProjectionRunner
from tests.projection_helpers import Holding, report


async def main(url: str, batch_size: int, hold_at: int) -> None:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    runner = ProjectionRunner(
        pool,
        [Holding(RiskTimelineProjection(), hold_at)],
        batch_size=batch_size,
        max_batch_size=batch_size,  # the test counts batches of exactly this size
        on_advance=lambda _name, position: report("advanced", position),
    )
    await runner.start()
    report("started")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
