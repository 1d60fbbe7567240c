"""Password guessing is slowed down: failed sign-ins per username and per client."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from backend.auth import throttle
from tests.api import assert_problem
from tests.auth_api import PASSWORD, login, make_user
from tests.conftest import Clock


def attempt(client: TestClient, username: str, password: str = "wrong password") -> Any:
    return client.post("/auth/login", json={"username": username, "password": password})


def test_a_username_is_locked_after_five_failures_until_the_window_passes(
    client: TestClient, clock: Clock
) -> None:
    make_user(client, "kari")
    for _ in range(throttle.MAX_FAILURES):
        assert_problem(attempt(client, "kari"), 401, "credentials", "invalid_credentials")
        clock.advance(minutes=1)

    # Even the right password is refused now, before any hashing.
    refused = attempt(client, "Kari", PASSWORD)
    assert_problem(refused, 429, "credentials", "too_many_attempts")
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60

    clock.advance(minutes=11)  # the first failure has left the 15-minute window
    assert login(client, "kari")["access_token"]


def test_a_successful_sign_in_clears_the_failures(client: TestClient) -> None:
    make_user(client, "kari")
    for _ in range(throttle.MAX_FAILURES - 1):
        attempt(client, "kari")
    login(client, "kari")
    for _ in range(throttle.MAX_FAILURES - 1):
        attempt(client, "kari")
    assert login(client, "kari")["access_token"]


def test_an_unknown_username_is_throttled_the_same_way(client: TestClient) -> None:
    for _ in range(throttle.MAX_FAILURES):
        assert_problem(attempt(client, "nobody"), 401, "credentials", "invalid_credentials")
    assert_problem(attempt(client, "nobody"), 429, "credentials", "too_many_attempts")


def test_one_client_spraying_many_usernames_is_throttled(client: TestClient) -> None:
    make_user(client, "kari")
    for n in range(throttle.MAX_FAILURES_PER_CLIENT):
        assert_problem(attempt(client, f"user{n}"), 401, "credentials", "invalid_credentials")
    assert_problem(attempt(client, "kari", PASSWORD), 429, "credentials", "too_many_attempts")
