"""The web pages in a real browser: Debian's chromium driven by Python playwright, against
the real app served by uvicorn on a free port, on this test module's own database.

Every page is checked with axe-core (vendored in tests/browser/vendor): no serious or
critical violations. Keyboard: the main form controls are reached with Tab. Each role's
main path runs end to end. Each page's screenshot is saved under var/web-screenshots/
(generated, not committed; docs/web.md links the folder).

chromium must be at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it):
without it these tests FAIL, they do not skip, so a run without a browser is never green.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest
import uvicorn

from backend.app import create_app
from backend.auth import users
from backend.auth.roles import Role
from backend.database import DatabaseUrl
from backend.settings import Settings
from domain.municipal_services import Service
from tests.sync_server import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("FOLGJA_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "tests" / "browser" / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "web-screenshots"
PASSWORD = "korrekt hest batteri stift"
BAD_IMPACTS = ("serious", "critical")

# Made-up people only.
USERS = {
    "tone.lead": (Role.TEAM_LEAD, Service.OUTREACH_TEAM),
    "frida.felt": (Role.FIELD_WORKER, Service.OUTREACH_TEAM),
    "kari.fbe": (Role.PROPERTY_MANAGER, Service.PROPERTY_MANAGER),
    "nina.nav": (Role.NAV_OFFICER, Service.NAV),
}


@pytest.fixture(scope="module")
def server_db(pg_server: DatabaseUrl, template_db: str) -> Iterator[DatabaseUrl]:
    name = f"folgja_web_{uuid.uuid4().hex[:12]}"
    admin = pg_server.with_dbname("postgres").url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield pg_server.with_dbname(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def base_url(server_db: DatabaseUrl) -> Iterator[str]:
    """The real app, served by uvicorn in a thread (its own event loop)."""

    async def make_users() -> None:
        conn = await asyncpg.connect(server_db.url)
        try:
            for username, (role, service) in USERS.items():
                await users.create_user(
                    conn,
                    username=username,
                    display_name=username.title(),
                    service=service,
                    roles=[role],
                    password=PASSWORD,
                    now=datetime.now(UTC),
                )
        finally:
            await conn.close()

    # (pytest-asyncio's loop runs in this thread: the users are made in another.)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, make_users()).result()
    app = create_app(Settings(database_url=server_db.url, run_scheduler=False), database=server_db)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


class Api:
    """The JSON API as each made-up user, for the data the pages then show."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.tokens: dict[str, str] = {}

    def as_(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            answer = self.http.post(
                "/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            self.tokens[username] = answer.json()["access_token"]
        return {"authorization": f"Bearer {self.tokens[username]}"}

    def post(self, username: str, path: str, body: Any) -> Any:
        answer = self.http.post(path, json=body, headers=self.as_(username))
        assert answer.status_code in (200, 201), (path, answer.text)
        return answer.json()

    def get(self, username: str, path: str) -> Any:
        answer = self.http.get(path, headers=self.as_(username))
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    def head(self) -> int:
        position: int = self.http.get("/health").json()["head_position"]
        return position


@pytest.fixture(scope="module")
def world(base_url: str) -> dict[str, Any]:
    """A made-up tenant the team follows, housed by FBE, with a flag, a consent to NAV and
    a month of arrears (so NAV has a notification); a tablet registered by the worker."""
    api = Api(base_url)
    worker = api.get("frida.felt", "/auth/me")["user_id"]
    tenant_id = str(uuid.uuid4())
    api.post("tone.lead", "/tenants", {"tenant_id": tenant_id, "full_name": "Test Beboer"})
    api.post(
        "tone.lead",
        f"/tenants/{tenant_id}/follow-up",
        {"visit_interval_days": 14, "started_on": "2026-01-05"},
    )
    api.post(
        "tone.lead",
        f"/tenants/{tenant_id}/responsibility",
        {"service": "tiltaksteamet", "contact_worker_id": worker},
    )
    dwelling_id, lease_id = str(uuid.uuid4()), str(uuid.uuid4())
    api.post(
        "kari.fbe",
        "/dwellings",
        {"dwelling_id": dwelling_id, "address": "Strandgata 12", "owner": "municipal"},
    )
    api.post(
        "kari.fbe",
        "/leases",
        {
            "lease_id": lease_id,
            "dwelling_id": dwelling_id,
            "tenant_id": tenant_id,
            "starts_on": "2026-01-01",
        },
    )
    api.post(
        "kari.fbe",
        f"/dwellings/{dwelling_id}/safety-flag",
        {"kind": "two_person", "reason": "weapons", "review_on": "2027-06-01"},
    )
    api.post(
        "frida.felt",
        f"/tenants/{tenant_id}/consents",
        {
            "consent_id": str(uuid.uuid4()),
            "recipients": ["nav"],
            "categories": ["rent_and_eviction"],
            "given_on": "2026-01-05",
        },
    )
    case = api.post("kari.fbe", "/rent-cases", {"lease_id": lease_id, "tenant_id": tenant_id})
    api.post(
        "kari.fbe", f"/rent-cases/{case['id']}/arrears", {"month": "2026-01", "amount_nok": 9000}
    )
    api.post("frida.felt", "/devices", {"label": "Nettbrett 7"})
    return {
        "api": api,
        "tenant_id": tenant_id,
        "dwelling_id": dwelling_id,
        "lease_id": lease_id,
        "rent_case_id": case["id"],
    }


class BrowserThread:
    """Playwright's sync API in a thread of its own (pytest-asyncio's event loop runs in
    the test's thread, and the sync API refuses to run beside a loop). Every call to the
    browser happens in :meth:`run`."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="browser")
        self.browser: Any = None
        self.playwright: Any = None

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )

    def _stop(self) -> None:
        self.browser.close()
        self.playwright.stop()

    def run(self, fn: Any, *args: Any) -> Any:
        return self.pool.submit(fn, self.browser, *args).result()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserThread]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"no browser at {CHROMIUM}: install Debian's chromium (apt-get install chromium); "
            "the web pages' browser tests do not skip",
            pytrace=False,
        )
    thread = BrowserThread()
    thread.pool.submit(thread._start).result()
    yield thread
    thread.pool.submit(thread._stop).result()
    thread.pool.shutdown()


def signed_in(browser: BrowserThread, base_url: str, username: str) -> Any:
    """A new browser context and page, signed in through the sign-in form."""
    context = browser.new_context(base_url=base_url, locale="nb-NO")
    page = context.new_page()
    page.goto("/web/sign-in")
    page.get_by_label("Brukernavn").fill(username)
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(f"{base_url}/web")
    return page


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result
        if v["impact"] in BAD_IMPACTS
    ]


def check_page(page: Any, path: str, shot: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    violations = axe_violations(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)
    assert violations == [], (path, violations)


def test_the_sign_in_page_passes_axe_and_the_keyboard_reaches_its_fields(
    browser: BrowserThread, base_url: str
) -> None:
    def steps(chromium: Any) -> None:
        context = chromium.new_context(base_url=base_url)
        page = context.new_page()
        check_page(page, "/web/sign-in", "sign-in")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        reached = []
        for _ in range(6):
            page.keyboard.press("Tab")
            reached.append(page.evaluate(ACTIVE))
        assert reached.index("username") < reached.index("password") < reached.index("submit")
        context.close()

    browser.run(steps)


ACTIVE = "document.activeElement.id || document.activeElement.type"

PAGES_BY_USER = {
    "kari.fbe": [
        "/web",
        "/web/concerns",
        "/web/concerns/new",
        "/web/safety-register",
        "/web/arrears",
    ],
    "nina.nav": ["/web/nav-inbox", "/web/alerts"],
    "tone.lead": [
        "/web/caseload",
        "/web/handover-board",
        "/web/review-inbox",
        "/web/devices",
        "/web/alerts",
    ],
}


@pytest.mark.parametrize("username", sorted(PAGES_BY_USER))
def test_every_page_has_no_serious_or_critical_axe_violation(
    browser: BrowserThread, base_url: str, world: dict[str, Any], username: str
) -> None:
    paths = list(PAGES_BY_USER[username])
    if username == "kari.fbe":
        paths.append(f"/web/leases/{world['lease_id']}/arrears")
    if username == "tone.lead":
        paths.append(f"/web/tenants/{world['tenant_id']}")

    def steps(chromium: Any) -> None:
        page = signed_in(chromium, base_url, username)
        for path in paths:
            stable = re.sub(r"/[0-9a-f-]{36}", "", path)  # no ids in the file names
            check_page(page, path, username.split(".")[1] + stable.replace("/", "-")[4:])
        page.context.close()

    browser.run(steps)


def test_the_keyboard_reaches_the_concern_forms_controls(
    browser: BrowserThread, base_url: str, world: dict[str, Any]
) -> None:
    def steps(chromium: Any) -> None:
        page = signed_in(chromium, base_url, "kari.fbe")
        page.goto("/web/concerns/new")
        page.locator("main").focus()
        reached: list[str] = []
        for _ in range(8):
            page.keyboard.press("Tab")
            reached.append(page.evaluate(ACTIVE))
        for control in ("tenant_id", "dwelling_id", "category", "description", "submit"):
            assert control in reached, reached
        page.context.close()

    browser.run(steps)


def test_fbe_raises_a_concern_and_sees_it_acknowledged(
    browser: BrowserThread, base_url: str, world: dict[str, Any]
) -> None:
    api: Api = world["api"]

    def raise_it(chromium: Any) -> Any:
        page = signed_in(chromium, base_url, "kari.fbe")
        page.goto("/web/concerns/new")
        page.get_by_label("Leietaker (ID)").fill(world["tenant_id"])
        page.get_by_label("Kategori").select_option("damage")
        page.get_by_label("Beskrivelse").fill("Vannlekkasje fra badet")
        page.get_by_role("button", name="Meld bekymring").click()
        page.wait_for_url("**/web/concerns?raised=1*")
        assert page.get_by_role("status").inner_text() == "Bekymringsmeldingen er sendt."
        # About a tenant the outreach team follows: routed to the team at once.
        row = page.locator("tbody tr", has_text="Skade på bolig").inner_text()
        assert "Videresendt" in row and "Tiltaksteamet" in row
        return page

    page = browser.run(raise_it)
    # The team's worker acknowledges it through the API.
    tracker = api.get("kari.fbe", f"/concerns?min_position={api.head()}&category=damage")
    concern_id = tracker["items"][0]["concern_id"]
    done = api.post("frida.felt", f"/concerns/{concern_id}/acknowledgement", {})

    def see_it(_: Any) -> None:
        page.goto(f"/web/concerns?min_position={done['position']}")
        row = page.locator("tbody tr", has_text="Skade på bolig").inner_text()
        assert "Bekreftet mottatt" in row and "Tiltaksteamet" in row
        page.context.close()

    browser.run(see_it)


def test_nav_acknowledges_a_notification(
    browser: BrowserThread, base_url: str, world: dict[str, Any]
) -> None:
    head = world["api"].head()

    def steps(chromium: Any) -> None:
        page = signed_in(chromium, base_url, "nina.nav")
        page.goto(f"/web/nav-inbox?min_position={head}")
        section = page.locator("section.notification", has_text="Test Beboer")
        assert "Leietakerens samtykke" in section.inner_text()
        assert "Strandgata" not in page.content()
        section.get_by_role("button", name="Bekreft mottatt").click()
        page.wait_for_url("**/web/nav-inbox?done=acknowledged*")
        shown = page.locator("section.notification", has_text="Test Beboer").inner_text()
        assert "Bekreftet" in shown and "Ikke bekreftet" not in shown
        page.context.close()

    browser.run(steps)


def test_a_lead_sees_the_risk_rise_after_arrears_on_the_tenant_page(
    browser: BrowserThread, base_url: str, world: dict[str, Any]
) -> None:
    api: Api = world["api"]
    tenant_page = f"/web/tenants/{world['tenant_id']}"

    def heights(chromium: Any, position: int, page: Any = None) -> tuple[Any, list[float]]:
        page = page or signed_in(chromium, base_url, "tone.lead")
        page.goto(f"{tenant_page}?min_position={position}")
        return page, [float(c.get_attribute("cy")) for c in page.locator("svg circle").all()]

    page, before = browser.run(heights, api.head())
    for month in ("2026-02", "2026-03"):
        done = api.post(
            "kari.fbe",
            f"/rent-cases/{world['rent_case_id']}/arrears",
            {"month": month, "amount_nok": 9000},
        )

    def after(chromium: Any) -> None:
        _, now = heights(chromium, done["position"], page)
        assert len(now) > len(before)
        assert min(now) < min(before)  # a higher marker: the risk rose
        # The reason is on the marker (shown on hover) and in the table.
        markers = page.locator("svg circle")
        assert "months of rent unpaid" in markers.last.locator("title").text_content()
        assert "months of rent unpaid" in page.locator("table").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "lead-tenant-after-arrears.png"), full_page=True)
        page.emulate_media(media="print")
        assert page.locator(".site-header").is_hidden()  # the print stylesheet
        page.context.close()

    browser.run(after)


def test_each_role_is_refused_the_pages_it_must_not_reach(
    browser: BrowserThread, base_url: str, world: dict[str, Any]
) -> None:
    refused = {
        "kari.fbe": ["/web/nav-inbox", "/web/caseload", f"/web/tenants/{world['tenant_id']}"],
        "nina.nav": ["/web/safety-register", "/web/caseload", "/web/devices"],
        "frida.felt": ["/web/caseload", "/web/devices", "/web/nav-inbox"],
        "tone.lead": ["/web/nav-inbox", f"/web/leases/{world['lease_id']}/arrears"],
    }

    def steps(chromium: Any) -> None:
        for username, paths in refused.items():
            page = signed_in(chromium, base_url, username)
            for path in paths:
                response = page.goto(path)
                assert response is not None and response.status in (403, 404), (username, path)
                assert "Test Beboer" not in page.content(), (username, path)
                assert "Strandgata" not in page.content(), (username, path)
            page.context.close()

    browser.run(steps)
