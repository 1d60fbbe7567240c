"""Settings, read once from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec


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
        )
