"""Offline sync v1, issue 12 item 7: a hypothesis state machine of several tablets.

Three field workers (two of tiltaksteamet, one of omsorg), each with a tablet running the
reference client (sync/client.py) against the real app and database. Between steps the
tablets go offline and record visits, push (whole, twice, a reordered subset, or with the
response lost), pull pages (or die before storing one), restart on their SQLite file, and
sync; the server reassigns tenants between the workers (across services too), ends
follow-ups, plans visits, and sets and lifts two-person flags.

After a final sync of every tablet: every item recorded on any tablet has exactly one
outcome, applied or kept for review, and produced its events at most once; every tablet
holds exactly its user's scope (nothing outside it, nothing missing) and every active
safety flag.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from sync.client import DECIDED
from tests.api import planned_visit, post
from tests.rent_api import FBE, housed
from tests.sync_api import completion, failure, settled
from tests.sync_tablets import Device, fetch, lead_of

SERVICES = (Service.OUTREACH_TEAM, Service.OUTREACH_TEAM, Service.CARE)
TENANTS = 5
HOUSED = 2  # the first tenants live at addresses that may be flagged
FINAL = frozenset({"applied", "applied_for_review", "kept_for_review"})


class Tablets(RuleBasedStateMachine):
    client: TestClient
    tmp_path: Path

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(dir=self.tmp_path))
        tag = uuid.uuid4().hex[:8]
        self.devices = [
            Device(self.client, self.dir, f"w{n}-{tag}", service)
            for n, service in enumerate(SERVICES)
        ]
        self.leads = {s: lead_of(s) for s in set(SERVICES)}
        # A second worker of each service: visits are planned for two (flagged addresses).
        self.partners = {
            s: self.client.colleague(s, Role.FIELD_WORKER) for s in sorted(set(SERVICES))
        }
        # The oracle: who follows each tenant, and each address's flag. Dicts keep the
        # order things were made in, so a replayed example draws the same ones.
        self.contact: dict[uuid.UUID, int] = {}
        self.dwellings: dict[uuid.UUID, bool] = {}
        self.recorded: dict[int, list[uuid.UUID]] = {n: [] for n in range(len(self.devices))}
        self.visits: dict[uuid.UUID, int] = {}
        self.ended: set[uuid.UUID] = set()

    def active(self) -> list[uuid.UUID]:
        return [t for t in self.contact if t not in self.ended]

    def _plan(self, tenant_id: uuid.UUID) -> None:
        device = self.devices[self.contact[tenant_id]]
        partner = self.partners[device.service]
        lead = self.leads[device.service]
        visit_id = planned_visit(self.client, tenant_id, device.user_id, partner, headers=lead)
        self.visits[visit_id] = len(self.visits)

    @initialize()
    def tenants_followed(self) -> None:
        """Five tenants in follow-up, two of them housed; each tablet synced once."""
        client = self.client
        for n in range(TENANTS):
            owner = n % len(self.devices)
            device = self.devices[owner]
            tenant_id = uuid.uuid4()
            lead = self.leads[device.service]
            post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Beboer"}, lead)
            post(
                client,
                f"/tenants/{tenant_id}/follow-up",
                {"visit_interval_days": 14, "started_on": "2026-03-01"},
                lead,
            )
            post(
                client,
                f"/tenants/{tenant_id}/responsibility",
                {"service": device.service.value, "contact_worker_id": str(device.user_id)},
                lead,
            )
            self.contact[tenant_id] = owner
            self._plan(tenant_id)
            if n < HOUSED:
                dwelling_id, _ = housed(client, tenant_id)
                self.dwellings[dwelling_id] = False
        for device in self.devices:
            device.sync()

    # --- on the tablets -------------------------------------------------------------

    @rule(tablet=st.integers(0, 2), data=st.data(), visits=st.integers(1, 3))
    def record_offline(self, tablet: int, data: st.DataObject, visits: int) -> None:
        """Visits done (or not) at tenants the tablet holds; recorded in the outbox (the
        same visit twice, too: the second is kept for review)."""
        for _ in range(visits):
            self._record(tablet, data.draw(st.booleans()), data)

    def _record(self, tablet: int, completed: bool, data: st.DataObject) -> None:
        device = self.devices[tablet]
        planned = sorted(
            (
                (held.version, v.visit_id)
                for t in device.app.tenant_ids()
                if (held := device.app.tenant(t)) is not None
                for v in held.planned_visits
            ),
            key=lambda p: self.visits[p[1]],
        )
        if not planned:
            return
        version, visit_id = data.draw(st.sampled_from(planned))
        command = (completion if completed else failure)(visit_id, device.user_id)
        self.recorded[tablet].append(device.app.record(command, version))

    @rule(
        tablet=st.integers(0, 2),
        mode=st.sampled_from(["all", "twice", "subset", "lost"]),
        data=st.data(),
    )
    def push(self, tablet: int, mode: str, data: st.DataObject) -> None:
        app = self.devices[tablet].app
        if mode == "all":
            app.push()
        elif mode == "twice":
            first = app.push()
            again = app.send_push(app.outbox()) if app.outbox() else None
            if again is not None:
                by_id = {str(o.item_id): o.status.value for o in again.outcomes}
                for outcome in first:
                    # Sent again: answered the same (a waiting item may have been decided).
                    if outcome["status"] != "waiting":
                        assert by_id[outcome["item_id"]] == outcome["status"]
        else:
            pending = app.pending()
            if not pending:
                return
            subset = data.draw(
                st.lists(st.sampled_from(pending), min_size=1, unique_by=lambda e: e.seq)
            )
            if mode == "subset":
                app.push(subset)
            else:
                app.send_push(subset)  # the response is lost on the way

    @rule(tablet=st.integers(0, 2))
    def pull_page(self, tablet: int) -> None:
        settled(self.client)
        self.devices[tablet].app.pull_page()

    @rule(tablet=st.integers(0, 2))
    def pull_page_then_die(self, tablet: int) -> None:
        """The page arrives, the tablet dies before storing it, and starts again."""
        settled(self.client)
        self.devices[tablet].app.fetch_page()
        self.devices[tablet].restart()

    @rule(tablet=st.integers(0, 2))
    def sync(self, tablet: int) -> None:
        self.devices[tablet].sync()

    # --- on the server --------------------------------------------------------------

    @rule(data=st.data(), to=st.integers(0, 2))
    def reassign(self, data: st.DataObject, to: int) -> None:
        """A tenant gets a new contact worker (another tablet's user, maybe of another
        service), set by a lead of the service that follows the tenant now."""
        tenant_id = data.draw(st.sampled_from(self.active()))
        now = self.devices[self.contact[tenant_id]]
        target = self.devices[to]
        post(
            self.client,
            f"/tenants/{tenant_id}/responsibility",
            {"service": target.service.value, "contact_worker_id": str(target.user_id)},
            self.leads[now.service],
        )
        self.contact[tenant_id] = to

    @rule(data=st.data())
    def plan_visit(self, data: st.DataObject) -> None:
        self._plan(data.draw(st.sampled_from(self.active())))

    @rule(data=st.data())
    def end_follow_up(self, data: st.DataObject) -> None:
        """The follow-up ends: the tenant leaves its worker's scope (two stay active)."""
        active = self.active()
        if len(active) <= 2:
            return
        tenant_id = data.draw(st.sampled_from(active))
        lead = self.leads[self.devices[self.contact[tenant_id]].service]
        body = {"ended_on": "2026-03-06", "reason": "Flyttet"}
        post(self.client, f"/tenants/{tenant_id}/follow-up/end", body, lead)
        self.ended.add(tenant_id)

    @rule(data=st.data())
    def toggle_flag(self, data: st.DataObject) -> None:
        dwelling_id = data.draw(st.sampled_from(list(self.dwellings)))
        if self.dwellings[dwelling_id]:
            post(self.client, f"/dwellings/{dwelling_id}/safety-flag/lift", {"reason": "Ro"}, FBE)
        else:
            flag = {"kind": "two_person", "reason": "threats_violence", "review_on": "2026-06-01"}
            post(self.client, f"/dwellings/{dwelling_id}/safety-flag", flag, FBE)
        self.dwellings[dwelling_id] = not self.dwellings[dwelling_id]

    # --- after a final sync -----------------------------------------------------------

    def teardown(self) -> None:
        if not hasattr(self, "devices") or not self.contact:
            return
        for device in self.devices:
            device.restart()
            device.sync()
        client = self.client
        for n, device in enumerate(self.devices):
            self._every_item_decided_once(n, device)
            expected = {t for t in self.active() if self.contact[t] == n}
            scope = {
                r["tenant_id"]
                for r in fetch(
                    client,
                    "SELECT tenant_id FROM caseload WHERE contact_worker_id = $1 "
                    "AND (follow_up_active OR follow_up_ended_on IS NULL)",
                    device.user_id,
                )
            }
            assert scope == expected
            assert device.app.tenant_ids() == expected
            assert device.app.purge_acks() == []
            # One more pull acknowledges the last page: the server knows what it holds.
            settled(client)
            device.app.pull_page()
            held = fetch(
                client,
                "SELECT tenant_id FROM sync_device_tenants WHERE device_id = $1",
                device.device_id,
            )
            assert {r["tenant_id"] for r in held} == expected
        active = {
            r["dwelling_id"]
            for r in fetch(
                client,
                "SELECT dwelling_id FROM safety_flags WHERE kind IS NOT NULL AND lifted_at IS NULL",
            )
        }
        assert active >= {d for d, flagged in self.dwellings.items() if flagged}
        assert not active & {d for d, flagged in self.dwellings.items() if not flagged}
        for device in self.devices:
            assert set(device.app.flags()) == active
        self._events_once()

    def _every_item_decided_once(self, n: int, device: Device) -> None:
        outbox = device.app.outbox()
        assert [e.item_id for e in outbox] == self.recorded[n]
        assert [e.seq for e in outbox] == list(range(1, len(outbox) + 1))
        assert all(e.status in DECIDED and e.status in FINAL for e in outbox), outbox
        rows = fetch(
            self.client,
            "SELECT i.item_id, o.status, o.position FROM sync_items i "
            "JOIN sync_outcomes o USING (device_id, seq) WHERE i.device_id = $1",
            device.device_id,
        )
        assert sorted(r["item_id"] for r in rows) == sorted(self.recorded[n])
        stored = {r["item_id"]: r["status"] for r in rows}
        for entry in outbox:
            assert stored[entry.item_id] == entry.status
            assert entry.outcome is not None and entry.outcome["status"] == entry.status

    def _events_once(self) -> None:
        """Each applied item wrote its events once: one visit event per applied outcome."""
        devices = [d.device_id for d in self.devices]
        applied = fetch(
            self.client,
            "SELECT position FROM sync_outcomes WHERE device_id = ANY($1::uuid[]) "
            "AND status IN ('applied', 'applied_for_review')",
            devices,
        )
        positions = [r["position"] for r in applied]
        assert len(positions) == len(set(positions))
        events = fetch(
            self.client,
            "SELECT notification_id FROM folgja_events WHERE originator_id = ANY($1::uuid[]) "
            "AND (topic LIKE '%:VisitCompleted' OR topic LIKE '%:VisitFailed')",
            list(self.visits),
        )
        assert sorted(r["notification_id"] for r in events) == sorted(positions)


def test_tablets_offline_converge_and_lose_nothing(client: TestClient, tmp_path: Path) -> None:
    class Run(Tablets):
        pass

    Run.client = client
    Run.tmp_path = tmp_path
    run_state_machine_as_test(
        Run,
        settings=settings(
            max_examples=8,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
