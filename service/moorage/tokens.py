"""JWT access and refresh tokens signed with the key ring's current key."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from moorage.errors import UnauthorizedError
from moorage.keys import KeyRing

ALGORITHM = "HS256"
ISSUER = "moorage"
VERIFIED_CACHE_SIZE = 4096


class TokenType(StrEnum):
    access = "access"
    refresh = "refresh"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for."""

    user_id: uuid.UUID
    is_superuser: bool
    token_type: TokenType
    key_id: str
    # `str(user_id)`, formatted once per verified token (the rate limiter keys every request by it).
    subject: str


def issue_token(
    ring: KeyRing,
    *,
    user_id: uuid.UUID,
    is_superuser: bool,
    token_type: TokenType,
    ttl_seconds: int,
    now: datetime | None = None,
) -> str:
    issued_at = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "su": is_superuser,
        "typ": token_type.value,
        "iss": ISSUER,
        "iat": issued_at,
        "exp": issued_at + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, ring.current_key, algorithm=ALGORITHM, headers={"kid": ring.current_id})


def verify_token(ring: KeyRing, token: str, *, expected_type: TokenType) -> Principal:
    return _verify(ring, token, expected_type, time.time())[0]


def _verify(ring: KeyRing, token: str, expected_type: TokenType, now: float) -> tuple[Principal, float]:
    """The principal and the token's `exp` as a POSIX timestamp.

    `exp` is checked here against `now` rather than by PyJWT, so a remembered token and a fresh
    verification expire by the same clock.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise UnauthorizedError("The token is malformed.", code="invalid_token") from None
    kid = header.get("kid")
    key = ring.lookup(kid) if isinstance(kid, str) else None
    if key is None:
        raise UnauthorizedError("The token was signed with an unknown key.", code="unknown_key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        raise UnauthorizedError("The token is invalid.", code="invalid_token") from None
    expires_at = claims["exp"]
    if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
        raise UnauthorizedError("The token is invalid.", code="invalid_token")
    if expires_at <= now:
        raise UnauthorizedError("The token has expired.", code="token_expired")
    if claims.get("typ") != expected_type.value:
        raise UnauthorizedError(f"An {expected_type.value} token is required.", code="invalid_token")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise UnauthorizedError("The token is invalid.", code="invalid_token") from None
    principal = Principal(
        user_id=user_id,
        is_superuser=bool(claims.get("su", False)),
        token_type=expected_type,
        key_id=str(kid),
        subject=str(user_id),
    )
    return principal, float(expires_at)


class TokenVerifier:
    """Verifies tokens against the ring and remembers verified ones, bounded, until they expire.

    A client sends the same access token on every request; checking its signature and claims once
    is enough. A remembered token is still re-checked on each use: not expired, and its key still
    in the ring. Anything else (a miss, another token type) takes the full verification.
    """

    def __init__(
        self,
        ring: KeyRing,
        *,
        cache_size: int = VERIFIED_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ring = ring
        self._cache_size = cache_size
        self._clock = clock
        self._verified: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str, *, expected_type: TokenType) -> Principal:
        now = self._clock()
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires_at = remembered
            if (
                principal.token_type is expected_type
                and now < expires_at
                and self.ring.lookup(principal.key_id) is not None
            ):
                return principal
            del self._verified[token]
        principal, expires_at = _verify(self.ring, token, expected_type, now)
        if len(self._verified) >= self._cache_size:
            # Oldest first: dicts keep insertion order, so this is a FIFO bound.
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, expires_at)
        return principal
