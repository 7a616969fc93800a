"""JWT access and refresh tokens signed with the key ring's current key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from moorage.errors import UnauthorizedError
from moorage.keys import KeyRing

ALGORITHM = "HS256"
ISSUER = "moorage"


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
            options={"require": ["exp", "iat", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError:
        raise UnauthorizedError("The token has expired.", code="token_expired") from None
    except jwt.PyJWTError:
        raise UnauthorizedError("The token is invalid.", code="invalid_token") from None
    if claims.get("typ") != expected_type.value:
        raise UnauthorizedError(f"An {expected_type.value} token is required.", code="invalid_token")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise UnauthorizedError("The token is invalid.", code="invalid_token") from None
    return Principal(
        user_id=user_id,
        is_superuser=bool(claims.get("su", False)),
        token_type=expected_type,
        key_id=str(kid),
    )
