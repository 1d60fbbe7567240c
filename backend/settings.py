"""Settings, read once from the environment.

Every field of :class:`Settings` has one environment variable (:data:`ENV_VARS`), and
:meth:`Settings.from_env` reads them all, refusing a value it cannot use with a
:class:`SettingsError` that names the variable. docs/settings.md lists them for users.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import msgspec

from domain.alert_thresholds import decode_thresholds

# The heaviest projection (about half of the catch-up's Python work) runs on its own.
DEFAULT_PROJECTION_CHILD = "risk_timeline"

# Bounds of the values a user may set. The batch size's upper bound is the runner's
# largest catch-up batch (projections.runner.CATCH_UP_BATCH; a test keeps them equal):
# a live batch larger than that would only delay the first rows of a busy log.
MAX_PROJECTION_BATCH_SIZE = 24_000
# A tablet may work offline this long at most before its worker signs in again: the
# lease bounds how long a lost or stolen device keeps working without the server.
MAX_OFFLINE_LEASE_DAYS = 90
# A device clock further off than FOLGJA_MAX_CLOCK_SKEW_S marks its pushed items for
# review (decision 69); at most a week: beyond that every item would be marked anyway.
MAX_CLOCK_SKEW_S = 7 * 24 * 3600
MAX_READ_YOUR_WRITES_TIMEOUT_S = 60.0
# HTTP worker processes `folgja run` may start (FOLGJA_WORKERS); unset: one per core.
MAX_WORKERS = 64
# The scheduler's tick (FOLGJA_SCHEDULER_TICK_S): how often the leader runs every job, and
# how soon after a leader dies another takes over. Below a tenth of a second the followers
# would only keep asking PostgreSQL for the lock; above an hour a due handover would wait
# visibly long.
MIN_SCHEDULER_TICK_S = 0.1
MAX_SCHEDULER_TICK_S = 3600.0
# NAV delivery (backend/nav_delivery.py): bounds of the timeout, attempts and backoff.
MAX_NAV_DELIVERY_TIMEOUT_S = 120.0
MAX_NAV_DELIVERY_ATTEMPTS = 100
MAX_NAV_DELIVERY_BACKOFF_S = 7 * 24 * 3600.0


MIN_WEB_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


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
    # Seconds between the scheduler's ticks (decision 17 and 64).
    scheduler_tick_s: float = 60.0
    # HTTP worker processes of `folgja run`; None: one per core the process may use
    # (backend.serve.default_workers). Projections run once, in `folgja run`'s own process.
    workers: int | None = None
    offline_lease_days: int = 14  # a device not synced for longer must sign in again
    # Seconds a device's clock may be off the server's before its pushed items are marked
    # ``device_clock_skew`` for review (never refused for it; decision 69).
    max_clock_skew_s: int = 300
    # The time rules' thresholds (config/alerts.toml documents every key); None: defaults.
    alerts_file: Path | None = None
    # Connections each worker's request pool may open (backend/database.request_pool).
    request_pool_size: int = 12
    # NAV delivery outbox (decision 66): where each NAV notification is POSTed. Empty: no
    # delivery (the rows wait, pending). The secret signs each request (HMAC-SHA256).
    nav_webhook_url: str = ""
    nav_webhook_secret: str = ""
    nav_delivery_timeout_s: float = 10.0  # per attempt, connecting and answering
    nav_delivery_max_attempts: int = 12  # failed attempts before a delivery is dead
    # Full-jitter exponential backoff: attempt n waits a random time up to
    # min(cap, base * 2**(n-1)) seconds.
    nav_delivery_backoff_base_s: float = 30.0
    nav_delivery_backoff_cap_s: float = 3600.0
    nav_delivery_poll_s: float = 1.0  # how often the worker looks for due deliveries
    # The web pages (docs/web.md): the secret that signs their CSRF tokens (empty: a random
    # one per `folgja run`, shared by its workers), and whether their cookies are always
    # Secure (behind a proxy that ends TLS; over https they are Secure anyway).
    web_secret: str = ""
    web_cookie_secure: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (default ``os.environ``); unset variables keep defaults
        (FOLGJA_PROJECTION_CHILD's default is DEFAULT_PROJECTION_CHILD)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field, var in ENV_VARS.items():
            raw = env.get(var)
            if raw is None:
                continue
            try:
                values[field] = _PARSERS[field](raw)
            except ValueError as error:
                raise SettingsError(f"{var}={raw!r}: {error}") from None
        values.setdefault("projection_child", _names(DEFAULT_PROJECTION_CHILD))
        if values.get("nav_webhook_url") and not values.get("nav_webhook_secret"):
            # An unsigned delivery could not be told from a forged one at NAV.
            raise SettingsError(
                "FOLGJA_NAV_WEBHOOK_SECRET: must be set when FOLGJA_NAV_WEBHOOK_URL is"
            )
        return cls(**values)  # type: ignore[arg-type]


# One environment variable per field (tests check that none is missing).
ENV_VARS: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "data_dir": "FOLGJA_DATA_DIR",
    "host": "FOLGJA_HOST",
    "port": "FOLGJA_PORT",
    "read_your_writes_timeout_s": "FOLGJA_READ_YOUR_WRITES_TIMEOUT_S",
    "projection_batch_size": "FOLGJA_PROJECTION_BATCH_SIZE",
    "run_projections": "FOLGJA_RUN_PROJECTIONS",
    "projection_child": "FOLGJA_PROJECTION_CHILD",
    "run_scheduler": "FOLGJA_RUN_SCHEDULER",
    "scheduler_tick_s": "FOLGJA_SCHEDULER_TICK_S",
    "workers": "FOLGJA_WORKERS",
    "offline_lease_days": "FOLGJA_OFFLINE_LEASE_DAYS",
    "max_clock_skew_s": "FOLGJA_MAX_CLOCK_SKEW_S",
    "alerts_file": "FOLGJA_ALERTS_FILE",
    "request_pool_size": "FOLGJA_REQUEST_POOL_SIZE",
    "nav_webhook_url": "FOLGJA_NAV_WEBHOOK_URL",
    "nav_webhook_secret": "FOLGJA_NAV_WEBHOOK_SECRET",
    "nav_delivery_timeout_s": "FOLGJA_NAV_DELIVERY_TIMEOUT_S",
    "nav_delivery_max_attempts": "FOLGJA_NAV_DELIVERY_MAX_ATTEMPTS",
    "nav_delivery_backoff_base_s": "FOLGJA_NAV_DELIVERY_BACKOFF_BASE_S",
    "nav_delivery_backoff_cap_s": "FOLGJA_NAV_DELIVERY_BACKOFF_CAP_S",
    "nav_delivery_poll_s": "FOLGJA_NAV_DELIVERY_POLL_S",
    "web_secret": "FOLGJA_WEB_SECRET",
    "web_cookie_secure": "FOLGJA_WEB_COOKIE_SECURE",
}


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return parse


def _seconds(raw: str) -> float:
    value = float(raw.strip())
    if not 0 < value <= MAX_READ_YOUR_WRITES_TIMEOUT_S:
        raise ValueError(f"must be more than 0 and at most {MAX_READ_YOUR_WRITES_TIMEOUT_S:g}")
    return value


def _tick(raw: str) -> float:
    value = float(raw.strip())
    # "not a <= v <= b" also refuses nan, which float() accepts.
    if not MIN_SCHEDULER_TICK_S <= value <= MAX_SCHEDULER_TICK_S:
        raise ValueError(
            f"must be from {MIN_SCHEDULER_TICK_S:g} to {MAX_SCHEDULER_TICK_S:g} seconds"
        )
    return value


def _seconds_up_to(high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw.strip())
        if not 0 < value <= high:  # also refuses nan
            raise ValueError(f"must be more than 0 and at most {high:g}")
        return value

    return parse


def _web_secret(raw: str) -> str:
    """Empty (a random one per run), or at least 32 characters."""
    if raw and len(raw) < MIN_WEB_SECRET_LENGTH:
        raise ValueError(f"must be empty or at least {MIN_WEB_SECRET_LENGTH} characters")
    return raw


def _http_url(raw: str) -> str:
    """Empty (no delivery), or an absolute http(s) URL."""
    url = raw.strip()
    if url and not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", url):
        raise ValueError("must be empty or an http:// or https:// URL")
    return url


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(raw: str) -> bool:
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("must be one of 1, true, yes, on, 0, false, no, off")


def _text(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


def _names(raw: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def _alerts_file(raw: str) -> Path | None:
    """A readable thresholds file that decodes (a bad key is named at start, not at 08:00)."""
    if not raw.strip():
        return None
    path = Path(raw.strip())
    try:
        decode_thresholds(path.read_bytes())
    except OSError as error:
        raise ValueError(f"cannot read the file: {error.strerror}") from None
    except msgspec.DecodeError as error:
        raise ValueError(str(error)) from None
    return path


_PARSERS: dict[str, Callable[[str], object]] = {
    # Empty means unset: the embedded PostgreSQL.
    "database_url": lambda raw: raw.strip() or None,
    "data_dir": lambda raw: Path(_text(raw)),
    "host": _text,
    "port": _int_between(1, 65535),
    "read_your_writes_timeout_s": _seconds,
    "projection_batch_size": _int_between(1, MAX_PROJECTION_BATCH_SIZE),
    "run_projections": _flag,
    "projection_child": _names,
    "run_scheduler": _flag,
    "scheduler_tick_s": _tick,
    "workers": _int_between(1, MAX_WORKERS),
    "offline_lease_days": _int_between(1, MAX_OFFLINE_LEASE_DAYS),
    "max_clock_skew_s": _int_between(1, MAX_CLOCK_SKEW_S),
    "alerts_file": _alerts_file,
    "request_pool_size": _int_between(2, 500),
    "nav_webhook_url": _http_url,
    "nav_webhook_secret": lambda raw: raw,
    "nav_delivery_timeout_s": _seconds_up_to(MAX_NAV_DELIVERY_TIMEOUT_S),
    "nav_delivery_max_attempts": _int_between(1, MAX_NAV_DELIVERY_ATTEMPTS),
    "nav_delivery_backoff_base_s": _seconds_up_to(MAX_NAV_DELIVERY_BACKOFF_S),
    "nav_delivery_backoff_cap_s": _seconds_up_to(MAX_NAV_DELIVERY_BACKOFF_S),
    "nav_delivery_poll_s": _seconds_up_to(60.0),
    "web_secret": _web_secret,
    "web_cookie_secure": _flag,
}
