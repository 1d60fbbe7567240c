"""A server-like process running the real Scheduler, for the leader take-over test.

    python -m tests.scheduler_process_child

Opens the server's :class:`~backend.runtime.Runtime` from the environment, as a worker
does (``DATABASE_URL``, ``FOLGJA_SCHEDULER_TICK_S``; the test switches the projections
off), so its scheduler ticks, elects its leader and runs the registered jobs exactly as a
worker's. Prints ``started PID`` once the scheduler has run for election, then waits to
be killed.
"""

from __future__ import annotations

import asyncio
import os

from backend.database import DatabaseUrl
from backend.runtime import Runtime
from backend.settings import Settings
from tests.projection_helpers import report


async def main() -> None:
    settings = Settings.from_env()
    assert settings.database_url and settings.run_scheduler
    runtime = await Runtime.open(settings, DatabaseUrl.parse(settings.database_url))
    try:
        report("started", os.getpid())
        await asyncio.Event().wait()
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
