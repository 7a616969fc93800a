"""Registration, password login and refresh: the rules, not the transport."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.config import Settings
from moorage.errors import ConflictError, UnauthorizedError
from moorage.keys import KeyRing
from moorage.models import User
from moorage.passwords import hash_password, verify_password
from moorage.repositories.users import UserRepository
from moorage.schemas.auth import TokenPair
from moorage.schemas.users import UserCreate
from moorage.tokens import TokenType, issue_token, verify_token


class AuthService:
    def __init__(self, session: AsyncSession, settings: Settings, ring: KeyRing) -> None:
        self._users = UserRepository(session)
        self._session = session
        self._settings = settings
        self._ring = ring

    async def register(self, data: UserCreate) -> User:
        if await self._users.get_by_email(data.email) is not None:
            raise ConflictError("A user with this email already exists.", code="email_taken")
        user = User(
            email=data.email,
            hashed_password=await hash_password(data.password),
            full_name=data.full_name,
        )
        try:
            return await self._users.add(user)
        except IntegrityError:
            # Lost a race with a concurrent registration of the same address.
            await self._session.rollback()
            raise ConflictError("A user with this email already exists.", code="email_taken") from None

    async def login(self, email: str, password: str) -> TokenPair:
        # NUL cannot be in a stored address, and PostgreSQL would refuse to compare it.
        user = None if "\x00" in email else await self._users.get_by_email(email.lower())
        valid = await verify_password(password, user.hashed_password if user else None)
        if user is None or not valid:
            raise UnauthorizedError("Incorrect email or password.", code="invalid_credentials")
        if not user.is_active:
            raise UnauthorizedError("This account is disabled.", code="inactive_user")
        return self._pair_for(user)

    async def refresh(self, refresh_token: str) -> TokenPair:
        principal = verify_token(self._ring, refresh_token, expected_type=TokenType.refresh)
        user = await self._users.get(principal.user_id)
        if user is None or not user.is_active:
            raise UnauthorizedError("The account behind this token no longer exists.", code="invalid_token")
        return self._pair_for(user)

    def _pair_for(self, user: User) -> TokenPair:
        settings = self._settings
        return TokenPair(
            access_token=issue_token(
                self._ring,
                user_id=user.id,
                is_superuser=user.is_superuser,
                token_type=TokenType.access,
                ttl_seconds=settings.access_token_ttl_seconds,
            ),
            refresh_token=issue_token(
                self._ring,
                user_id=user.id,
                is_superuser=user.is_superuser,
                token_type=TokenType.refresh,
                ttl_seconds=settings.refresh_token_ttl_seconds,
            ),
            expires_in=settings.access_token_ttl_seconds,
        )
