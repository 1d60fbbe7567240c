"""`folgja run`: HTTP worker processes, and the projections once, in the main process.

Who runs what:

* The main process (``folgja run``) is granian's supervisor. Before it starts the HTTP
  workers it starts the server's projections on a thread of its own
  (:class:`ProjectionHost`, the same :meth:`Projections.start` a single server used: every
  projection there but those ``FOLGJA_PROJECTION_CHILD`` names, which its supervised child
  process runs, decision 29). So each projection runs once however many workers there are.
* Each HTTP worker (:func:`worker_app`) serves requests with
  ``FOLGJA_RUN_PROJECTIONS=false``. Its read-your-writes waiter learns positions by NOTIFY
  from whichever process runs the projection. Each worker takes part in the scheduler;
  its advisory lock lets one of them lead (decision 17).

How it dies: SIGTERM or SIGINT to the main process stops the workers (granian), then the
projections and their child (SIGTERM, SIGKILL after 10 s). A worker that dies is started
again by granian and takes nothing else with it. If the main process is killed outright,
the projection child sees its standard input end and stops, and each worker stops within
a second or two (:func:`worker_app`): none goes on serving without projections or keeps
the port from a restarted server.

Workers are started with the ``spawn`` method, not ``fork``: the main process runs a
thread by then (the projections), and a forked worker would inherit its database sockets
and the write end of the projection child's standard-input pipe (the child would then
outlive a killed server for as long as any worker did).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import secrets
import signal
import threading
import time
from typing import TYPE_CHECKING

from backend.runtime import Projections
from backend.settings import MAX_WORKERS, Settings

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger(__name__)

# A worker that does not stop within this long of SIGTERM is killed (at shutdown, or when
# granian replaces it).
WORKER_STOP_S = 10
# The projections must have started (their locks tried, the child spawned) within this.
PROJECTIONS_START_S = 60.0


def default_workers() -> int:
    """One HTTP worker per core this process may run on (at most ``MAX_WORKERS``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


class ProjectionHost:
    """The server's projections (:meth:`Projections.start`) on a thread with its own event
    loop, in a process that runs no event loop of its own (granian's supervisor)."""

    def __init__(self, database_url: str, settings: Settings) -> None:
        self._url = database_url
        self._settings = settings
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> None:
        """Start the projections; raise what stopped them from starting."""
        self._thread = threading.Thread(target=self._run, name="folgja-projections")
        self._thread.start()
        if not self._started.wait(PROJECTIONS_START_S):
            raise TimeoutError(f"projections did not start within {PROJECTIONS_START_S:g} s")
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        """Stop the projections (and their child process); back once they have."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        try:
            projections = await Projections.start(self._url, self._settings)
        except BaseException as error:
            self._error = error
            self._started.set()
            return
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await projections.stop()
            log.info("projections stopped")


# A worker checks this often whether the server's main process is still its parent.
PARENT_CHECK_S = 1.0


def worker_app() -> Litestar:
    """The ASGI app of one HTTP worker (granian's factory): the app, in a process that
    stops when the server's main process ends, however it ends."""
    from backend.app import app_from_env

    parent = multiprocessing.parent_process()
    if parent is not None:  # started by granian's main process
        threading.Thread(
            target=_stop_without_parent, args=(parent.pid,), name="folgja-parent", daemon=True
        ).start()
    return app_from_env()


def _stop_without_parent(parent_pid: int) -> None:
    """Once the main process is gone, SIGTERM this worker (granian stops it gracefully);
    SIGKILL if it has not stopped within WORKER_STOP_S (granian loses a SIGTERM that
    arrives while the worker is still starting)."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    log.warning("the server's main process ended; worker %d stops", os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(WORKER_STOP_S)
    os.kill(os.getpid(), signal.SIGKILL)


def serve(database_url: str, settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve HTTP with ``workers`` processes until SIGTERM or SIGINT; run the projections
    once, here (unless ``settings.run_projections`` is off)."""
    from granian import Granian
    from granian.constants import Interfaces, Loops

    # Workers inherit the environment: the database set up here, and no projections.
    os.environ["DATABASE_URL"] = database_url
    if not settings.web_secret:
        # One CSRF secret for every worker of this run (a form may post to any of them).
        os.environ["FOLGJA_WEB_SECRET"] = secrets.token_urlsafe(32)
    projections: ProjectionHost | None = None
    if settings.run_projections:
        projections = ProjectionHost(database_url, settings)
        projections.start()
    os.environ["FOLGJA_RUN_PROJECTIONS"] = "false"
    # Not fork: see the module's docstring.
    multiprocessing.set_start_method("spawn", force=True)
    try:
        Granian(
            "backend.serve:worker_app",
            factory=True,
            interface=Interfaces.ASGI,
            address=host,
            port=port,
            workers=workers,
            respawn_failed_workers=True,
            workers_kill_timeout=WORKER_STOP_S,
            loop=Loops.uvloop,
            log_access=False,
        ).serve()
    finally:
        if projections is not None:
            projections.stop()
