"""The bearer scheme as one dependency: reads the access token and resolves it to its principal.

FastAPI resolves every dependency level with its own pass over path, query, header and cookie
parameters; a scheme that returned the raw token plus a second dependency that verified it cost
the hot path two levels where one does. It stays an `OAuth2PasswordBearer`, under that scheme's
name, so the OpenAPI document declares the same security scheme on the same routes.
"""

from __future__ import annotations

from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from moorage.errors import UnauthorizedError
from moorage.middleware.asgi import header
from moorage.paths import TOKEN_PATH
from moorage.rate_limit.identity import VERIFIED_PRINCIPAL
from moorage.resources import request_resources
from moorage.tokens import Principal, TokenType


def bearer_token(authorization: bytes | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class BearerPrincipal(OAuth2PasswordBearer):
    async def __call__(self, request: HTTPConnection) -> Principal:  # type: ignore[override]
        authorization = header(request.scope, b"authorization")
        verified = request.scope.get("state", {}).get(VERIFIED_PRINCIPAL)  # set by the rate limiter
        if verified is not None and authorization is not None and verified[0] == authorization:
            principal: Principal = verified[1]
            return principal
        token = bearer_token(authorization)
        if token is None:
            raise UnauthorizedError("Not authenticated.")
        return request_resources(request).tokens.verify(token, expected_type=TokenType.access)


bearer_principal = BearerPrincipal(
    tokenUrl=TOKEN_PATH,
    scheme_name="OAuth2PasswordBearer",
    auto_error=False,
    description="An access token from `POST /api/v1/auth/token`, sent as `Authorization: Bearer <token>`.",
)
