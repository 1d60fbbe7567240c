"""The running system: write model, read pool, projection runner, position waiter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

import anyio.to_thread
import asyncpg

from backend.alerting import load_thresholds
from backend.database import (
    DatabaseUrl,
    request_pool,
    runner_home,
    runner_pool,
)
from backend.nav_delivery import NavDeliveryWorker
from backend.scheduler import Scheduler
from backend.settings import Settings
from backend.staff_directory import open_write_model
from domain.events import local_date
from domain.write_model import WriteModel
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


# A child process that dies is started again after this long (doubling up to the max
# while it keeps dying young), and is given this long to stop before it is killed.
CHILD_RESTART_S = 1.0
CHILD_RESTART_MAX_S = 30.0
CHILD_STOP_S = 10.0


class ProjectionProcess:
    """A supervised child process, ``folgja projections run --only NAMES``.

    Catching up is Python-bound: one process uses one core. Projections run in a second
    process use the other (decision 29). The child is started again if it dies, and
    stopped with the server; its standard input is a pipe from this process, so if this
    process dies without stopping it, the child sees end-of-file and stops by itself.
    Each projection's advisory lock makes any overlap harmless: a projection runs in
    whichever process holds its lock.
    """

    def __init__(self, database_url: str, names: Sequence[str], *, batch_size: int) -> None:
        self._url = database_url
        self._names = list(names)
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0  # times the child was started (for tests)

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        await self._spawn()
        self._task = asyncio.create_task(self._supervise())

    async def _spawn(self) -> None:
        env = dict(os.environ, DATABASE_URL=self._url)
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "backend.cli",
            "projections",
            "run",
            "--only",
            ",".join(self._names),
            "--batch-size",
            str(self._batch_size),
            "--exit-with-stdin",
            stdin=asyncio.subprocess.PIPE,
            env=env,
        )
        self.starts += 1

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = CHILD_RESTART_S
        while True:
            started = loop.time()
            if self._process is not None:
                code = await self._process.wait()
                log.warning("projection process %s exited (%s)", ",".join(self._names), code)
            if loop.time() - started > CHILD_RESTART_MAX_S:
                delay = CHILD_RESTART_S  # it ran a good while: not dying young
            await asyncio.sleep(delay)
            delay = min(2 * delay, CHILD_RESTART_MAX_S)
            try:
                await self._spawn()
            except Exception:
                self._process = None
                log.exception("projection process %s: could not start", ",".join(self._names))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), CHILD_STOP_S)
        except TimeoutError:
            process.kill()
            await process.wait()
        if process.stdin is not None:
            process.stdin.close()


class Projections:
    """The server's projection runners: every projection in this process, except those
    ``settings.projection_child`` names, which a supervised child process runs.

    The server and the read-side benchmark (``bench/readside.py``) both start projections
    through :meth:`start`, so the benchmark measures the server's own set-up.
    """

    def __init__(
        self,
        runner: ProjectionRunner | None,
        pool: asyncpg.Pool | None,
        child: ProjectionProcess | None,
    ) -> None:
        self.runner = runner
        self.pool = pool
        self.child = child

    @classmethod
    async def start(
        cls,
        database_url: str,
        settings: Settings,
        on_advance: Callable[[str, int], None] | None = None,
    ) -> Projections:
        projections = all_projections()
        known = {p.name for p in projections}
        elsewhere = set(settings.projection_child)
        if elsewhere - known:
            raise ValueError(f"unknown projections in projection_child: {elsewhere - known}")
        child = None
        if elsewhere:
            child = ProjectionProcess(
                database_url,
                [p.name for p in projections if p.name in elsewhere],
                batch_size=settings.projection_batch_size,
            )
            await child.start()
        here = [p.name for p in projections if p.name not in elsewhere]
        pool: asyncpg.Pool | None = None
        runner: ProjectionRunner | None = None
        try:
            # The runner's own pool: it can never starve request handlers.
            pool = await runner_pool(database_url, max_size=2 * max(len(here), 1) + 2)
            runner = ProjectionRunner(
                pool,
                projections,
                only=here,
                batch_size=settings.projection_batch_size,
                on_advance=on_advance,
                connect_home=runner_home(database_url),
            )
            await runner.start()
        except BaseException:
            if pool is not None:
                await pool.close()
            if child is not None:
                await child.stop()
            raise
        return cls(runner, pool, child)

    async def stop(self) -> None:
        if self.child is not None:
            await self.child.stop()
        if self.runner is not None:
            await self.runner.stop()
        if self.pool is not None:
            await self.pool.close()


Clock = Callable[[], datetime]


class ReadModels:
    """Read-your-writes: wait until a read model shows a command's log position."""

    def __init__(self, waiter: PositionWaiter, timeout_s: float) -> None:
        self._waiter = waiter
        self._timeout_s = timeout_s

    async def at(self, projection: str, position: int | None) -> None:
        """Return once ``projection`` shows every event up to ``position``; 503 after the
        timeout (:class:`ProjectionNotCaughtUp`), 422 at once for a position no event has
        reached (:class:`~projections.waiter.PositionBeyondHead`)."""
        if position is None or position <= 0:
            return
        if not await self._waiter.wait_for(projection, position, self._timeout_s):
            raise ProjectionNotCaughtUp(projection, position)


class Runtime:
    """Everything a request handler needs; built by :meth:`open`, closed by :meth:`close`."""

    scheduler: Scheduler | None = None
    projections: Projections | None = None
    nav_delivery: NavDeliveryWorker | None = None

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], datetime],
        write_model: WriteModel,
        pool: asyncpg.Pool,
        waiter: PositionWaiter,
        runner: ProjectionRunner | None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.alert_thresholds = load_thresholds(settings.alerts_file)
        # A sync push holds two request-pool connections at once (sync/push.py): at most
        # half the pool's worth run together, so the pool can never be all held by pushes
        # each waiting for its second connection.
        self.push_slots = asyncio.Semaphore(max(1, pool.get_max_size() // 2))
        self.write_model = write_model
        self.read_models = ReadModels(waiter, settings.read_your_writes_timeout_s)
        self.pool = pool
        self.waiter = waiter
        self.runner = runner

    @classmethod
    async def open(
        cls, settings: Settings, database: DatabaseUrl, clock: Callable[[], datetime] = utc_now
    ) -> Runtime:
        write_model = await anyio.to_thread.run_sync(open_write_model, database.eventsourcing_env())
        # Requests use ``pool`` (the waiter too, briefly, to read positions; it listens on
        # a connection of its own); the projection runner gets a pool of its own
        # (:class:`Projections`).
        pool = await request_pool(database.url, settings.request_pool_size)
        waiter = PositionWaiter(pool, database.url)
        await waiter.start()
        projections: Projections | None = None
        if settings.run_projections:
            projections = await Projections.start(
                database.url, settings, on_advance=waiter.advanced
            )
        runtime = cls(
            settings, clock, write_model, pool, waiter, projections.runner if projections else None
        )
        runtime.projections = projections
        if settings.run_scheduler:
            runtime.scheduler = Scheduler(
                runtime, database.url, interval_s=settings.scheduler_tick_s
            )
            await runtime.scheduler.start()
            if settings.nav_webhook_url:
                # Delivers while this process leads the scheduler (decision 66).
                runtime.nav_delivery = NavDeliveryWorker(
                    database.url, settings, clock, runtime.leads_the_scheduler
                )
                await runtime.nav_delivery.start()
        return runtime

    def leads_the_scheduler(self) -> bool:
        return self.scheduler is not None and self.scheduler.is_leader

    async def close(self) -> None:
        if self.nav_delivery is not None:
            await self.nav_delivery.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.projections is not None:
            await self.projections.stop()
        await self.waiter.stop()
        await self.pool.close()
        self.write_model.close()

    def today(self) -> date:
        """The municipality's date now (Europe/Oslo), by the runtime's clock."""
        return local_date(self.clock())
