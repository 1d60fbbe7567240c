"""Password hashes: scrypt with a per-user salt, stored as ``scrypt$n$r$p$salt$hash``.

The parameters travel with each hash, so they can be raised later: a hash made with older
ones still verifies (and :func:`needs_rehash` says to replace it at the next sign-in).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

# 2**15 * 8 * 128 bytes = 32 MiB of memory per hash, ~0.1 s on one core.
N = 2**15
R = 8
P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_MEMORY = 64 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=KEY_BYTES
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_derive(password, salt, N, R, P))}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; a missing or malformed hash never matches.

    With no stored hash (unknown user, or one who signs in elsewhere) a dummy hash is
    checked all the same, so the answer takes as long as for a real user.
    """
    try:
        scheme, n, r, p, salt, expected = (stored or _dummy()).split("$")
        if scheme != "scrypt":
            return False
        key = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
        return stored is not None and hmac.compare_digest(key, base64.b64decode(expected))
    except (ValueError, TypeError):
        return False


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(f"scrypt${N}${R}${P}$")


@cache
def _dummy() -> str:
    return hash_password(secrets.token_urlsafe(16))
