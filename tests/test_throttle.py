"""Sign-in throttling through the real app: per username and address, per username, and a
much higher per-address ceiling, so one office behind one NAT address keeps signing in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.testing import TestClient

from backend.auth import throttle
from tests.api import assert_problem
from tests.auth_api import PASSWORD, login, make_user
from tests.conftest import Clock

OFFICE = "10.20.30.40"  # a municipality's NAT address, shared by everyone at the office


@contextmanager
def from_address(client: TestClient, host: str) -> Iterator[None]:
    """Requests inside come from ``host`` (the test transport otherwise says 'testclient')."""
    transport: Any = client._transport  # the test harness's own transport
    parse = transport.parse_request

    def parse_from(request: Any) -> dict[str, Any]:
        scope: dict[str, Any] = parse(request)
        scope["client"] = (host, 50000)
        return scope

    transport.parse_request = parse_from
    try:
        yield
    finally:
        del transport.parse_request


def attempt(
    client: TestClient, username: str, password: str = "wrong password", *, at: str = OFFICE
) -> Any:
    with from_address(client, at):
        return client.post("/auth/login", json={"username": username, "password": password})


def assert_throttled(response: Any, scope: str) -> int:
    """A 429 problem naming ``credentials``/``too_many_attempts``; its Retry-After."""
    body = assert_problem(response, 429, "credentials", "too_many_attempts")
    assert body["errors"][0]["scope"] == scope, body
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    return retry_after


def test_a_username_is_locked_at_one_address_after_five_failures_until_the_window_passes(
    client: TestClient, clock: Clock
) -> None:
    make_user(client, "kari")
    for _ in range(throttle.MAX_FAILURES_PER_USER_ADDRESS):
        assert_problem(attempt(client, "kari"), 401, "credentials", "invalid_credentials")
        clock.advance(minutes=1)

    # Even the right password is refused now, before any hashing, for 15 minutes after
    # the first of the five failures (it was 5 minutes ago).
    refused = attempt(client, "Kari", PASSWORD)
    assert assert_throttled(refused, "account") == 10 * 60

    clock.advance(minutes=10)  # the first failure has left the 15-minute window
    response = attempt(client, "kari", PASSWORD)
    assert response.status_code == 200, response.text


def test_one_user_mistyping_twenty_five_times_does_not_stop_a_colleague_at_the_same_address(
    client: TestClient,
) -> None:
    make_user(client, "kari")
    make_user(client, "per")
    answers = [attempt(client, "kari").status_code for _ in range(25)]
    assert answers == [401] * 5 + [429] * 20  # the mistyping user is throttled ...
    assert_throttled(attempt(client, "kari", PASSWORD), "account")  # ... even when right
    # ... and a colleague behind the same address signs in.
    assert attempt(client, "per", PASSWORD).status_code == 200


def test_an_office_where_many_users_mistype_keeps_signing_in(client: TestClient) -> None:
    # Twenty-five failures by five users from one address in a few minutes: a busy
    # Monday morning at the office, not an attack. (This locked the office out before.)
    make_user(client, "kari")
    for n in range(5):
        for _ in range(throttle.MAX_FAILURES_PER_USER_ADDRESS):
            assert_problem(attempt(client, f"bruker{n}"), 401, "credentials", "invalid_credentials")
        assert_throttled(attempt(client, f"bruker{n}"), "account")
    assert attempt(client, "kari", PASSWORD).status_code == 200


def test_an_address_spraying_many_usernames_is_refused_beyond_its_ceiling(
    client: TestClient, clock: Clock
) -> None:
    make_user(client, "kari")
    for n in range(throttle.MAX_FAILURES_PER_ADDRESS):
        response = attempt(client, f"user{n}", at="203.0.113.9")
        assert_problem(response, 401, "credentials", "invalid_credentials")
    # Clearly attacking: every sign-in from that address is refused, right or wrong ...
    retry_after = assert_throttled(attempt(client, "kari", PASSWORD, at="203.0.113.9"), "address")
    assert_throttled(attempt(client, "someone new", at="203.0.113.9"), "address")
    # ... while the users it guessed at still sign in from their own addresses.
    assert attempt(client, "kari", PASSWORD, at=OFFICE).status_code == 200

    clock.advance(seconds=retry_after)  # the first failure has left the window
    assert attempt(client, "kari", PASSWORD, at="203.0.113.9").status_code == 200


def test_guessing_one_username_from_several_addresses_locks_it_everywhere(
    client: TestClient,
) -> None:
    make_user(client, "kari")
    per_address = throttle.MAX_FAILURES_PER_USER_ADDRESS
    addresses = [f"198.51.100.{n}" for n in range(throttle.MAX_FAILURES_PER_USER // per_address)]
    for address in addresses:
        for _ in range(per_address):
            assert_problem(
                attempt(client, "kari", at=address), 401, "credentials", "invalid_credentials"
            )
    # The account is protected from every address, the right password included ...
    assert_throttled(attempt(client, "kari", PASSWORD, at=OFFICE), "account")
    # ... and only that account: a colleague at the office is not affected.
    make_user(client, "per")
    assert attempt(client, "per", PASSWORD, at=OFFICE).status_code == 200


def test_a_successful_sign_in_forgets_only_the_users_own_failures(client: TestClient) -> None:
    make_user(client, "kari")
    # Someone elsewhere guesses at kari four times (under both limits).
    for _ in range(4):
        attempt(client, "kari", at="198.51.100.7")
    # Kari mistypes four times at the office, then gets it right: those were her own.
    for _ in range(4):
        attempt(client, "kari")
    assert attempt(client, "kari", PASSWORD).status_code == 200
    for _ in range(4):
        attempt(client, "kari")
    # 4 elsewhere + 4 here since the success: under the username's 10.
    assert attempt(client, "kari", PASSWORD).status_code == 200
    # The guesses from elsewhere still count: 4 + 4 + 2 reach the username's limit.
    for _ in range(4):
        attempt(client, "kari")
    attempt(client, "kari", at="198.51.100.8")
    attempt(client, "kari", at="198.51.100.8")
    assert_throttled(attempt(client, "kari", PASSWORD), "account")


def test_an_unknown_username_is_throttled_the_same_way(client: TestClient) -> None:
    for _ in range(throttle.MAX_FAILURES_PER_USER_ADDRESS):
        assert_problem(attempt(client, "nobody"), 401, "credentials", "invalid_credentials")
    assert_throttled(attempt(client, "nobody"), "account")


def test_signing_in_on_a_device_goes_through_the_same_throttle(client: TestClient) -> None:
    make_user(client, "kari")
    body = {
        "username": "kari",
        "password": "wrong password",
        "device_id": "00000000-0000-4000-8000-000000000001",
    }
    with from_address(client, OFFICE):
        for _ in range(throttle.MAX_FAILURES_PER_USER_ADDRESS):
            response = client.post("/auth/login", json=body)
            assert_problem(response, 401, "credentials", "invalid_credentials")
        refused = client.post("/auth/login", json={**body, "password": PASSWORD})
    assert_throttled(refused, "account")
    assert login(client, "kari")["access_token"]  # from another address
