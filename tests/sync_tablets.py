"""Helpers for the reference client's tests: a registered tablet with its SQLite store."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from domain.municipal_services import Service
from sync.client import TabletClient
from tests.auth_api import in_app
from tests.sync_api import Tablet, settled


class Device:
    """A field worker's registered tablet and the reference client running on it."""

    def __init__(self, client: TestClient, tmp_path: Path, username: str, service: Service) -> None:
        self.tablet = Tablet(client, username, service)
        self.service = service
        self.user_id = self.tablet.user_id
        self.device_id = self.tablet.device_id
        self.headers = self.tablet.headers
        self.db_path = str(tmp_path / f"{username}.sqlite")
        self.http = client
        # The tablet's clock is the app's (tests choose the time).
        self.clock = client.app.state.runtime.clock
        self.app = TabletClient(client, self.db_path, self.headers, clock=self.clock)

    def restart(self) -> TabletClient:
        """The tablet killed and started again: a new client on the same file."""
        self.app.close()
        self.app = TabletClient(self.http, self.db_path, self.headers, clock=self.clock)
        return self.app

    def sync(self) -> None:
        settled(self.http)
        self.app.sync()

    def pull_page(self) -> bool:
        settled(self.http)
        return self.app.pull_page()


def lead_of(service: Service) -> dict[str, str]:
    """Identity headers of a new lead (or staff) of the service (tests/conftest.py)."""
    return {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": service.value}


def fetch(client: TestClient, sql: str, *args: Any) -> list[Any]:
    """Rows of a query on the app's database."""
    return in_app(client, lambda conn: conn.fetch(sql, *args))


def fetchval(client: TestClient, sql: str, *args: Any) -> Any:
    return in_app(client, lambda conn: conn.fetchval(sql, *args))
