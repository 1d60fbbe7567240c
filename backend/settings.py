"""Settings, read once from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

# The heaviest projection (about half of the catch-up's Python work) runs on its own.
DEFAULT_PROJECTION_CHILD = "risk_timeline"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # None means: start the embedded PostgreSQL under ``data_dir``.
    database_url: str | None = None
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    # How long a read that asked for ``min_position`` may wait for the projection.
    read_your_writes_timeout_s: float = 5.0
    projection_batch_size: int = 500
    run_projections: bool = True
    # Projections run by a supervised child process (``folgja projections run --only``)
    # instead of the server's own: catching up, each process uses a core (decision 29).
    # Empty: all in the server's process. The server reads FOLGJA_PROJECTION_CHILD
    # (comma-separated; "" for none), default DEFAULT_PROJECTION_CHILD.
    projection_child: tuple[str, ...] = ()
    run_scheduler: bool = True
    offline_lease_days: int = 14  # a device not synced for longer must sign in again

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("FOLGJA_DATA_DIR", "var")),
            host=env.get("FOLGJA_HOST", "127.0.0.1"),
            port=int(env.get("FOLGJA_PORT", "8000")),
            projection_child=tuple(
                name.strip()
                for name in env.get("FOLGJA_PROJECTION_CHILD", DEFAULT_PROJECTION_CHILD).split(",")
                if name.strip()
            ),
        )
