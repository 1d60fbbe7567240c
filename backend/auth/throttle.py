"""Password guessing is slowed down: failed sign-ins per username and per client address.

After ``max_failures`` failed password sign-ins for a username (or ``max_failures_per_client``
from one client address, which catches one guess tried on many usernames) within
``window``, further sign-ins for it are refused with 429 ``too_many_attempts`` and a
``Retry-After`` until the oldest failure leaves the window. The check comes before the
password hash is computed, so refusals are cheap, and it counts failures whether or not
the username exists, so the answer says nothing about which users exist. A successful
sign-in clears the username's failures.

Kept in the server process's memory: several processes each keep their own count (the
limit is then per process), and a restart forgets. A municipality's identity provider
(OIDC, see docs/access.md) brings its own lockout policy.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Any

from litestar.exceptions import TooManyRequestsException

MAX_FAILURES = 5
MAX_FAILURES_PER_CLIENT = 20
WINDOW = timedelta(minutes=15)
# A sprayer of random usernames must not grow the table without end: the oldest go first.
MAX_TRACKED = 10_000


class TooManyAttempts(TooManyRequestsException):
    def __init__(self, retry_after_s: int) -> None:
        detail = "too many failed sign-ins: try again later"
        super().__init__(
            detail,
            extra={"field": "credentials", "rule": "too_many_attempts", "detail": detail},
            headers={"Retry-After": str(retry_after_s)},
        )


class SignInThrottle:
    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        max_failures_per_client: int = MAX_FAILURES_PER_CLIENT,
        window: timedelta = WINDOW,
    ) -> None:
        self._limits = {"user": max_failures, "client": max_failures_per_client}
        self._window = window
        self._failures: OrderedDict[tuple[str, str], deque[datetime]] = OrderedDict()

    def check(self, username: str, client: str, now: datetime) -> None:
        """Raise :class:`TooManyAttempts` if either key has used up its failures."""
        for key in (("user", username.casefold()), ("client", client)):
            recent = self._recent(key, now)
            if len(recent) >= self._limits[key[0]]:
                wait = (recent[0] + self._window - now).total_seconds()
                raise TooManyAttempts(max(1, math.ceil(wait)))

    def failed(self, username: str, client: str, now: datetime) -> None:
        for key in (("user", username.casefold()), ("client", client)):
            self._recent(key, now).append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        self._failures.pop(("user", username.casefold()), None)

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] + self._window <= now:
            times.popleft()
        return times


STATE_KEY = "sign_in_throttle"


def throttle_of(app: Any) -> SignInThrottle:
    """The application's throttle (one per process), made on first use."""
    throttle: SignInThrottle | None = app.state.get(STATE_KEY)
    if throttle is None:
        throttle = SignInThrottle()
        app.state[STATE_KEY] = throttle
    return throttle
