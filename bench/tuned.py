"""The real app with resource sizes overridden from BENCH_* variables: for what-if runs only.

`python -m bench --es-pool 4 --read-pool 20 --threads 8` serves this factory instead of
``backend.app:app_from_env``, so a different setting can be measured without editing
the product. Unset variables leave the product's own values.

* BENCH_ES_POOL_SIZE, BENCH_ES_MAX_OVERFLOW: the write model's psycopg pool
  (``DatabaseUrl.eventsourcing_env``)
* BENCH_READ_POOL_MAX: the request pool's ``max_size`` (``backend.database.request_pool``)
* BENCH_THREADS: anyio's worker-thread limit, which bounds concurrent commands
* BENCH_SWITCH_INTERVAL_MS: ``sys.setswitchinterval`` (CPython's default is 5 ms): how long
  a thread that got its database answer may wait for the GIL
"""

from __future__ import annotations

import os
import sys

import anyio.to_thread
from litestar import Litestar

from backend import app as backend_app
from backend import database
from backend.database import DatabaseUrl


def _patch_write_pool() -> None:
    size = os.environ.get("BENCH_ES_POOL_SIZE")
    overflow = os.environ.get("BENCH_ES_MAX_OVERFLOW")
    if not (size or overflow):
        return
    original = DatabaseUrl.eventsourcing_env

    def eventsourcing_env(self: DatabaseUrl) -> dict[str, str]:
        env = original(self)
        if size:
            env["POSTGRES_POOL_SIZE"] = size
        if overflow:
            env["POSTGRES_MAX_OVERFLOW"] = overflow
        return env

    DatabaseUrl.eventsourcing_env = eventsourcing_env  # type: ignore[method-assign]


def _patch_read_pool() -> None:
    max_size = os.environ.get("BENCH_READ_POOL_MAX")
    if not max_size:
        return
    database.REQUEST_POOL_MAX = int(max_size)
    database.REQUEST_POOL_MIN = min(database.REQUEST_POOL_MIN, int(max_size))


def _thread_limit(app: Litestar) -> None:
    threads = os.environ.get("BENCH_THREADS")
    if threads:
        anyio.to_thread.current_default_thread_limiter().total_tokens = int(threads)


def app_from_env() -> Litestar:
    switch_ms = os.environ.get("BENCH_SWITCH_INTERVAL_MS")
    if switch_ms:
        sys.setswitchinterval(float(switch_ms) / 1000)
    _patch_write_pool()
    _patch_read_pool()
    app = backend_app.app_from_env()
    app.on_startup.insert(0, _thread_limit)
    return app
