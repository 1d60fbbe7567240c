"""Alembic environment: plain SQL migrations, no ORM metadata."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

from backend.database import DatabaseUrl

config = context.config


def _url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    if configured:
        return configured
    env_url = os.environ.get("DATABASE_URL")
    if not env_url:
        raise SystemExit("set DATABASE_URL, or use `folgja migrate` for the embedded server")
    return DatabaseUrl.parse(env_url).sqlalchemy_url()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
