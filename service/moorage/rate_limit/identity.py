"""Whom a request is counted against: its authenticated user, else its client address."""

from __future__ import annotations

from moorage.errors import UnauthorizedError
from moorage.middleware.asgi import Scope, header
from moorage.tokens import TokenType, TokenVerifier

_BEARER = b"bearer "
# The limiter's (Authorization header, principal) for a valid access token, reused by the auth
# dependency when the header is the same: one verification and one header parse a request.
VERIFIED_PRINCIPAL = "moorage.verified_principal"


def rate_limit_key(scope: Scope, tokens: TokenVerifier) -> str:
    """`user:<id>` for a valid access token; otherwise `ip:<address>`.

    An invalid, expired or foreign token counts against the address, so inventing tokens
    cannot buy a fresh bucket. The address is the real client's when the peer is a trusted
    proxy (FORWARDED_ALLOW_IPS): uvicorn rewrites `scope["client"]` before the app runs.
    """
    authorization = header(scope, b"authorization")
    if authorization is not None and authorization[:7].lower() == _BEARER:
        token = authorization[7:].strip().decode("latin-1")
        try:
            principal = tokens.verify(token, expected_type=TokenType.access)
        except UnauthorizedError:
            pass
        else:
            scope.setdefault("state", {})[VERIFIED_PRINCIPAL] = (authorization, principal)
            return f"user:{principal.subject}"
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"
