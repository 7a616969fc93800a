"""Argon2id password hashing, run off the event loop."""

from __future__ import annotations

from functools import cache

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so both paths cost the same.

    Made on first use, not at import: one Argon2 hash is a noticeable part of start-up.
    """
    return _hasher.hash("moorage-timing-equaliser")


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await to_thread.run_sync(_verify)
