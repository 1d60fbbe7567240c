"""Password guessing is slowed down, without letting one user lock out an office.

Failed password sign-ins are counted under three keys, each in a sliding window of
``WINDOW`` (15 minutes):

- the username and the client address together: ``MAX_FAILURES_PER_USER_ADDRESS`` (5).
  This is what one mistyping user (or one guessing script) runs into;
- the username, from any address: ``MAX_FAILURES_PER_USER`` (10). As the pair above
  stops counting at 5, this needs failures from two or more addresses: a distributed
  guess at one account;
- the client address, for any username: ``MAX_FAILURES_PER_ADDRESS`` (100), twenty
  times the pair's limit. Only an address that fails for at least twenty usernames
  within the window reaches it (password spraying, credential stuffing): it is then
  *clearly attacking* and every sign-in from it is refused.

A sign-in is refused 429 ``too_many_attempts`` (``errors[0].scope`` ``account`` or
``address``) with ``Retry-After`` while any of its keys is at its limit, until the
oldest failure counted under that key leaves the window (so at most 15 minutes after
the failures that locked it), even with the right password: a guesser cannot learn that
a guess was right. The check comes before the password hash is computed, so refusals
are cheap, and refused attempts are not counted. Other usernames' failures from the same
address never refuse a sign-in below the address's ceiling: a municipality's office
behind one NAT or proxy address keeps signing in while one of its users is locked.

Unknown usernames count the same way (the answer says nothing about which users exist).
A successful sign-in forgets the failures of that username from that address (under all
three keys): they were the user's own typing. Failures of the username from other
addresses stay counted.

Kept in the server process's memory: several processes each keep their own count (the
limits are then per process), and a restart forgets. A municipality's identity provider
(OIDC, see docs/access.md) brings its own lockout policy.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Any, Literal

from litestar.exceptions import TooManyRequestsException

log = logging.getLogger(__name__)

MAX_FAILURES_PER_USER_ADDRESS = 5
MAX_FAILURES_PER_USER = 10
MAX_FAILURES_PER_ADDRESS = 100
WINDOW = timedelta(minutes=15)
# A sprayer of random usernames from many addresses must not grow the table without end:
# the keys failed longest ago go first.
MAX_TRACKED = 30_000

Scope = Literal["account", "address"]
KeyKind = Literal["user", "pair", "address"]

_LIMITS: dict[KeyKind, int] = {
    "user": MAX_FAILURES_PER_USER,
    "pair": MAX_FAILURES_PER_USER_ADDRESS,
    "address": MAX_FAILURES_PER_ADDRESS,
}
_DETAIL: dict[Scope, str] = {
    "account": "too many failed sign-ins for this username: try again later",
    "address": "too many failed sign-ins from this network address: try again later",
}


class TooManyAttempts(TooManyRequestsException):
    def __init__(self, retry_after_s: int, scope: Scope) -> None:
        detail = _DETAIL[scope]
        super().__init__(
            detail,
            extra={
                "field": "credentials",
                "rule": "too_many_attempts",
                "detail": detail,
                "scope": scope,
            },
            headers={"Retry-After": str(retry_after_s)},
        )
        self.scope = scope


# A failure: when, and who it was (the username under the address key, the address under
# the username key), so that a success can forget the user's own failures.
_Failure = tuple[datetime, str]
_Key = tuple[str, ...]


class SignInThrottle:
    def __init__(
        self,
        *,
        max_failures_per_user_address: int = MAX_FAILURES_PER_USER_ADDRESS,
        max_failures_per_user: int = MAX_FAILURES_PER_USER,
        max_failures_per_address: int = MAX_FAILURES_PER_ADDRESS,
        window: timedelta = WINDOW,
    ) -> None:
        self._limits: dict[KeyKind, int] = {
            "pair": max_failures_per_user_address,
            "user": max_failures_per_user,
            "address": max_failures_per_address,
        }
        self._window = window
        self._failures: OrderedDict[_Key, deque[_Failure]] = OrderedDict()

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[KeyKind, _Key, str], ...]:
        """(kind, key, the failure's other half) for the three counts of one attempt."""
        user = username.casefold()
        return (
            ("address", ("address", address), user),
            ("user", ("user", user), address),
            ("pair", ("pair", user, address), address),
        )

    def check(self, username: str, address: str, now: datetime) -> None:
        """Raise :class:`TooManyAttempts` if any key of this attempt is at its limit."""
        waits: dict[Scope, float] = {}
        for kind, key, _ in self._keys(username, address):
            recent = self._recent(key, now)
            if recent is not None and len(recent) >= self._limits[kind]:
                scope: Scope = "address" if kind == "address" else "account"
                wait = (recent[0][0] + self._window - now).total_seconds()
                waits[scope] = max(waits.get(scope, 0.0), wait)
        if waits:
            # The address refusal says the most: nobody signs in from there for now.
            scope = "address" if "address" in waits else "account"
            raise TooManyAttempts(max(1, math.ceil(max(waits.values()))), scope)

    def failed(self, username: str, address: str, now: datetime) -> None:
        for kind, key, other in self._keys(username, address):
            recent = self._recent(key, now)
            if recent is None:
                recent = self._failures[key] = deque()
            recent.append((now, other))
            self._failures.move_to_end(key)
            if len(recent) == self._limits[kind]:
                # Not tenant data; the operator wants to know who is being guessed at.
                log.warning(
                    "sign-in throttle: %s %r reached %d failures in %s",  # %r: no log injection
                    kind,
                    key[1:],
                    len(recent),
                    self._window,
                )
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        """Forget this username's failures from this address: they were the user's own."""
        user = username.casefold()
        self._failures.pop(("pair", user, address), None)
        for key, own in ((("user", user), address), (("address", address), user)):
            failures = self._failures.get(key)
            if failures:
                kept = deque(f for f in failures if f[1] != own)
                if kept:
                    self._failures[key] = kept
                else:
                    del self._failures[key]

    def _recent(self, key: _Key, now: datetime) -> deque[_Failure] | None:
        """The failures under ``key`` still in the window; None if there are none."""
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0][0] + self._window <= now:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times


STATE_KEY = "sign_in_throttle"


def throttle_of(app: Any) -> SignInThrottle:
    """The application's throttle (one per process), made on first use."""
    throttle: SignInThrottle | None = app.state.get(STATE_KEY)
    if throttle is None:
        throttle = SignInThrottle()
        app.state[STATE_KEY] = throttle
    return throttle
