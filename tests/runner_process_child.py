"""A server-like process running the real ProjectionRunner, for the two-process test.

    python -m tests.runner_process_child DATABASE_URL LABEL

Runs ``test_seen`` (:class:`tests.runner_helpers.SeenProjection`); its connections carry
LABEL as ``application_name`` so the test can see in ``pg_locks`` which process holds the
projection. Prints ``started``, then ``advanced N`` after each committed batch.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from projections import runner as runner_module
from projections.runner import ProjectionRunner
from tests.projection_helpers import report
from tests.runner_helpers import SeenProjection


async def main(url: str, label: str) -> None:
    runner_module.LOCK_RETRY_S = 0.05  # take over quickly when the other process dies
    pool = await asyncpg.create_pool(
        url, min_size=1, max_size=4, server_settings={"application_name": label}
    )
    runner = ProjectionRunner(
        pool,
        [SeenProjection()],
        batch_size=25,
        on_advance=lambda _name, position: report("advanced", position),
    )
    await runner.start()
    report("started")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
