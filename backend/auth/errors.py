"""Refusals of the auth layer, as the problem responses ``backend.problems`` renders.

Both are Litestar HTTP exceptions, so the application's existing handler turns them into
``application/problem+json`` with ``errors: [{field, rule, detail, ...}]``.
"""

from __future__ import annotations

from enum import StrEnum

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

# Told to a device in a header and in the problem's error entry.
DEVICE_ACTION_HEADER = "Folgja-Device-Action"


class DeviceAction(StrEnum):
    # The device was revoked: delete every tenant's data and the credential, now.
    WIPE = "wipe"
    # The offline lease ran out: the worker must sign in with the password again.
    REAUTHENTICATE = "reauthenticate"


class AuthRefused(NotAuthorizedException):
    """401: the caller is not (or no longer) who they claim to be."""

    def __init__(
        self,
        rule: str,
        detail: str,
        *,
        field: str = "authorization",
        action: DeviceAction | None = None,
    ) -> None:
        extra = {"field": field, "rule": rule, "detail": detail}
        headers = {"WWW-Authenticate": 'Bearer realm="folgja", error="invalid_token"'}
        if action is not None:
            extra["action"] = action.value
            headers[DEVICE_ACTION_HEADER] = action.value
        super().__init__(detail, extra=extra, headers=headers)
        self.rule = rule


class Forbidden(PermissionDeniedException):
    """403: the caller is known but may not do this."""

    def __init__(self, rule: str, detail: str, *, field: str = "authorization") -> None:
        super().__init__(detail, extra={"field": field, "rule": rule, "detail": detail})
        self.rule = rule


def invalid_credentials() -> AuthRefused:
    """The one answer to a failed password sign-in: never says which part was wrong."""
    return AuthRefused(
        "invalid_credentials", "the username or the password is wrong", field="credentials"
    )


def device_revoked() -> AuthRefused:
    return AuthRefused(
        "device_revoked",
        "this device has been revoked: delete all data held on it",
        field="device",
        action=DeviceAction.WIPE,
    )


def offline_lease_expired(days: int) -> AuthRefused:
    return AuthRefused(
        "offline_lease_expired",
        f"this device has not synced for more than {days} days: "
        "the worker must sign in with the password on it again",
        field="device",
        action=DeviceAction.REAUTHENTICATE,
    )
