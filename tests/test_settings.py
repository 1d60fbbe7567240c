"""Settings from the environment: every field has a variable, is read, checked, documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.auth.roles import Role
from backend.settings import (
    DEFAULT_PROJECTION_CHILD,
    ENV_VARS,
    MAX_PROJECTION_BATCH_SIZE,
    Settings,
    SettingsError,
)
from projections.runner import CATCH_UP_BATCH
from tests.api import assert_problem
from tests.auth_api import signed_in

DOCS = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
FIELDS = {field.name for field in msgspec.structs.fields(Settings)}

# For every field: a value in the environment, and what it must become (never the default).
# The documented thresholds file (docs/alerts.md).
ALERTS_FILE = Path(__file__).resolve().parents[1] / "config" / "alerts.toml"

NOT_DEFAULT: dict[str, tuple[str, object]] = {
    "database_url": (
        "postgresql://u@db.example:5433/folgja",
        "postgresql://u@db.example:5433/folgja",
    ),
    "data_dir": ("/srv/folgja", Path("/srv/folgja")),
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("8080", 8080),
    "read_your_writes_timeout_s": ("2.5", 2.5),
    "projection_batch_size": ("1000", 1000),
    "run_projections": ("false", False),
    "projection_child": ("caseload, risk_timeline", ("caseload", "risk_timeline")),
    "run_scheduler": ("no", False),
    "scheduler_tick_s": ("0.5", 0.5),
    "workers": ("3", 3),
    "offline_lease_days": ("3", 3),
    "max_clock_skew_s": ("3600", 3600),
    "alerts_file": (str(ALERTS_FILE), ALERTS_FILE),
    "request_pool_size": ("4", 4),
    "nav_webhook_url": ("https://nav.example/folgja", "https://nav.example/folgja"),
    "nav_webhook_secret": ("s3cret", "s3cret"),
    "nav_delivery_timeout_s": ("2.5", 2.5),
    "nav_delivery_max_attempts": ("3", 3),
    "nav_delivery_backoff_base_s": ("0.5", 0.5),
    "nav_delivery_backoff_cap_s": ("60", 60.0),
    "nav_delivery_poll_s": ("0.25", 0.25),
    "web_secret": ("x" * 32, "x" * 32),
    "web_cookie_secure": ("yes", True),
}


def test_every_setting_has_an_environment_variable() -> None:
    # A field added to Settings without a variable (or a test value here) fails this.
    assert set(ENV_VARS) == FIELDS
    assert set(NOT_DEFAULT) == FIELDS
    assert len(set(ENV_VARS.values())) == len(ENV_VARS)


def test_from_env_reads_every_variable() -> None:
    env = {ENV_VARS[field]: raw for field, (raw, _) in NOT_DEFAULT.items()}
    settings = Settings.from_env(env)
    default = Settings()
    for field, (_, expected) in NOT_DEFAULT.items():
        assert getattr(settings, field) == expected, field
        assert expected != getattr(default, field), field


def test_unset_variables_keep_the_defaults() -> None:
    assert Settings.from_env({}) == Settings(projection_child=(DEFAULT_PROJECTION_CHILD,))
    # Empty: no child process, and the embedded PostgreSQL.
    settings = Settings.from_env({"FOLGJA_PROJECTION_CHILD": "", "DATABASE_URL": ""})
    assert settings.projection_child == () and settings.database_url is None


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("FOLGJA_PORT", "0"),
        ("FOLGJA_PORT", "65536"),
        ("FOLGJA_PORT", "http"),
        ("FOLGJA_HOST", " "),
        ("FOLGJA_DATA_DIR", ""),
        ("FOLGJA_READ_YOUR_WRITES_TIMEOUT_S", "0"),
        ("FOLGJA_READ_YOUR_WRITES_TIMEOUT_S", "nan"),
        ("FOLGJA_READ_YOUR_WRITES_TIMEOUT_S", "61"),
        ("FOLGJA_PROJECTION_BATCH_SIZE", "0"),
        ("FOLGJA_PROJECTION_BATCH_SIZE", str(MAX_PROJECTION_BATCH_SIZE + 1)),
        ("FOLGJA_RUN_PROJECTIONS", "maybe"),
        ("FOLGJA_RUN_SCHEDULER", ""),
        ("FOLGJA_SCHEDULER_TICK_S", "0"),
        ("FOLGJA_SCHEDULER_TICK_S", "0.05"),
        ("FOLGJA_SCHEDULER_TICK_S", "3601"),
        ("FOLGJA_SCHEDULER_TICK_S", "nan"),
        ("FOLGJA_SCHEDULER_TICK_S", "1m"),
        ("FOLGJA_OFFLINE_LEASE_DAYS", "0"),
        ("FOLGJA_OFFLINE_LEASE_DAYS", "-14"),
        ("FOLGJA_OFFLINE_LEASE_DAYS", "91"),
        ("FOLGJA_OFFLINE_LEASE_DAYS", "14.5"),
        ("FOLGJA_MAX_CLOCK_SKEW_S", "0"),
        ("FOLGJA_MAX_CLOCK_SKEW_S", "604801"),
        ("FOLGJA_MAX_CLOCK_SKEW_S", "5m"),
        ("FOLGJA_WORKERS", "0"),
        ("FOLGJA_WORKERS", "65"),
        ("FOLGJA_WORKERS", "auto"),
        ("FOLGJA_NAV_WEBHOOK_URL", "nav.example/folgja"),
        ("FOLGJA_NAV_WEBHOOK_URL", "ftp://nav.example/"),
        ("FOLGJA_NAV_DELIVERY_TIMEOUT_S", "0"),
        ("FOLGJA_NAV_DELIVERY_TIMEOUT_S", "121"),
        ("FOLGJA_NAV_DELIVERY_MAX_ATTEMPTS", "0"),
        ("FOLGJA_NAV_DELIVERY_BACKOFF_BASE_S", "nan"),
        ("FOLGJA_NAV_DELIVERY_BACKOFF_CAP_S", "-1"),
        ("FOLGJA_NAV_DELIVERY_POLL_S", "0"),
        ("FOLGJA_WEB_SECRET", "short"),
        ("FOLGJA_WEB_COOKIE_SECURE", "maybe"),
    ],
)
def test_a_value_out_of_bounds_is_refused_naming_the_variable(var: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=var):
        Settings.from_env({var: raw})


def test_a_webhook_url_without_a_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="FOLGJA_NAV_WEBHOOK_SECRET"):
        Settings.from_env({"FOLGJA_NAV_WEBHOOK_URL": "https://nav.example/folgja"})


def test_the_offline_lease_bounds_take_their_extremes() -> None:
    assert Settings.from_env({"FOLGJA_OFFLINE_LEASE_DAYS": "1"}).offline_lease_days == 1
    assert Settings.from_env({"FOLGJA_OFFLINE_LEASE_DAYS": "90"}).offline_lease_days == 90


def test_the_largest_batch_a_user_may_set_is_the_runners_largest() -> None:
    assert MAX_PROJECTION_BATCH_SIZE == CATCH_UP_BATCH


def test_docs_name_every_variable() -> None:
    text = DOCS.read_text()
    for var in ENV_VARS.values():
        assert f"`{var}`" in text, var


def test_the_offline_lease_from_the_environment_is_the_one_enforced(
    database: Any, clock: Any
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database.url,
            "FOLGJA_OFFLINE_LEASE_DAYS": "3",
            "FOLGJA_RUN_PROJECTIONS": "false",
            "FOLGJA_RUN_SCHEDULER": "false",
        }
    )
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app) as client:
        worker = signed_in(client, "kari", Role.FIELD_WORKER)
        answer = client.post("/devices", json={"label": "Nettbrett 1"}, headers=worker)
        assert answer.status_code == 201, answer.text
        credential = {"device_credential": answer.json()["device_credential"]}
        clock.advance(days=3)
        assert client.post("/auth/device-token", json=credential).status_code == 200
        clock.advance(minutes=1)  # 3 days and a minute since registration; 14 would hold
        answer = client.post("/auth/device-token", json=credential)
        assert_problem(answer, 401, "device", "offline_lease_expired")


def test_a_thresholds_file_that_does_not_decode_is_refused_naming_the_key(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "alerts.toml"
    bad.write_text("[visit_overdue]\ngrace_days = -1\n")
    with pytest.raises(SettingsError, match=r"FOLGJA_ALERTS_FILE=.*visit_overdue.grace_days"):
        Settings.from_env({"FOLGJA_ALERTS_FILE": str(bad)})
    with pytest.raises(SettingsError, match=r"FOLGJA_ALERTS_FILE=.*cannot read"):
        Settings.from_env({"FOLGJA_ALERTS_FILE": str(tmp_path / "missing.toml")})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[visit_overdue]\ngrace_dayz = 3\n")
    with pytest.raises(SettingsError, match="grace_dayz"):
        Settings.from_env({"FOLGJA_ALERTS_FILE": str(unknown)})
