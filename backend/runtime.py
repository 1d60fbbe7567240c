"""The running system: write model, read pool, projection runner, position waiter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio.to_thread
import asyncpg

from backend.database import DatabaseUrl
from backend.scheduler import Scheduler
from backend.settings import Settings
from domain.application import FollowUpApplication
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.waiter import PositionWaiter

log = logging.getLogger(__name__)

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class ProjectionNotCaughtUp(Exception):
    def __init__(self, projection: str, position: int) -> None:
        super().__init__(f"{projection} has not yet reached position {position}")
        self.projection = projection
        self.position = position


class Runtime:
    """Everything a request handler needs; built by :meth:`open`, closed by :meth:`close`."""

    scheduler: Scheduler | None = None
    runner_pool: asyncpg.Pool | None = None

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], datetime],
        commands: FollowUpApplication,
        pool: asyncpg.Pool,
        waiter: PositionWaiter,
        runner: ProjectionRunner | None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.commands = commands
        self.pool = pool
        self.waiter = waiter
        self.runner = runner

    @classmethod
    async def open(
        cls, settings: Settings, database: DatabaseUrl, clock: Callable[[], datetime] = utc_now
    ) -> Runtime:
        commands = await anyio.to_thread.run_sync(FollowUpApplication, database.eventsourcing_env())
        # Requests (and the waiter's listener) use ``pool``; the projection runner holds two
        # connections per projection for as long as it runs, so it gets a pool of its own and
        # can never starve request handlers.
        pool = await asyncpg.create_pool(database.url, min_size=2, max_size=12)
        waiter = PositionWaiter(pool)
        await waiter.start()
        runner = None
        runner_pool: asyncpg.Pool | None = None
        projections = all_projections()
        if settings.run_projections:
            runner_pool = await asyncpg.create_pool(
                database.url, min_size=1, max_size=2 * len(projections) + 2
            )
            runner = ProjectionRunner(
                runner_pool,
                projections,
                batch_size=settings.projection_batch_size,
                on_advance=waiter.advanced,
            )
            await runner.start()
        runtime = cls(settings, clock, commands, pool, waiter, runner)
        runtime.runner_pool = runner_pool
        if settings.run_scheduler:
            runtime.scheduler = Scheduler(runtime, database.url)
            await runtime.scheduler.start()
        return runtime

    async def close(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.runner is not None:
            await self.runner.stop()
        if self.runner_pool is not None:
            await self.runner_pool.close()
        await self.waiter.stop()
        await self.pool.close()
        self.commands.close()

    async def command(self, handler: Callable[..., T], *args: Any) -> T:
        """Run a write-model command off the event loop (the library is synchronous)."""
        now = self.clock()
        return await anyio.to_thread.run_sync(lambda: handler(*args, now))

    async def load(self, loader: Callable[..., T], *args: Any) -> T:
        """Read the write model off the event loop."""
        return await anyio.to_thread.run_sync(lambda: loader(*args))

    async def read_model_at(self, projection: str, position: int | None) -> None:
        """Wait until ``projection`` shows every event up to ``position`` (read-your-writes)."""
        if position is None or position <= 0:
            return
        if not await self.waiter.wait_for(
            projection, position, self.settings.read_your_writes_timeout_s
        ):
            raise ProjectionNotCaughtUp(projection, position)
