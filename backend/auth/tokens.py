"""Opaque bearer tokens: random strings handed out once, stored only as their SHA-256.

Three kinds:

- access: 15 minutes; the ``Authorization: Bearer`` credential of every call;
- refresh: 12 hours, single use: using it revokes it and hands out a new pair, and using
  a refresh token that was already used revokes every token of its sign-in (family);
- device: a tablet's long-lived credential, bound to one worker and one device; it has
  no expiry and lives until the device is revoked, and it is exchanged for access tokens
  while the device's offline lease holds.

The prefix says the kind to a human or a secret scanner; the server trusts only the
kind stored with the hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID

import msgspec

from backend.auth.roles import TokenKind

ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(hours=12)
TOKEN_BYTES = 32

PREFIX = {TokenKind.ACCESS: "fga_", TokenKind.REFRESH: "fgr_", TokenKind.DEVICE: "fgd_"}
# Longer strings are not ours; refuse them before hashing anything.
MAX_TOKEN_LENGTH = 128


def new_token(kind: TokenKind) -> str:
    return PREFIX[kind] + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenPair(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    token_type: str = "Bearer"


class AccessGrant(msgspec.Struct, frozen=True, kw_only=True):
    """An access token without a refresh token (a device's credential exchange)."""

    access_token: str
    expires_in: int
    device_id: UUID
    token_type: str = "Bearer"
