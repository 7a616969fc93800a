from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, status

from moorage.api.deps import KeyRingDep, SessionDep, SettingsDep
from moorage.api.responses import EMAIL_TAKEN, LOGIN_REFUSED, PUBLIC_DATABASE_ROUTE, REFRESH_REFUSED, errors
from moorage.paths import API_PREFIX
from moorage.schemas.auth import LoginForm, RefreshRequest, TokenPair
from moorage.schemas.users import UserCreate, UserPublic
from moorage.services.auth import AuthService

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"], responses=PUBLIC_DATABASE_ROUTE)


@router.post(
    "/register",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="auth-register",
    responses=errors(400, EMAIL_TAKEN, 422),
)
async def register(
    data: UserCreate, session: SessionDep, settings: SettingsDep, ring: KeyRingDep
) -> UserPublic:
    user = await AuthService(session, settings, ring).register(data)
    return UserPublic.model_validate(user)


@router.post(
    "/token",
    response_model=TokenPair,
    operation_id="auth-login",
    responses=errors(400, LOGIN_REFUSED, 422),
)
async def login(
    form: Annotated[LoginForm, Form()],
    session: SessionDep,
    settings: SettingsDep,
    ring: KeyRingDep,
) -> TokenPair:
    return await AuthService(session, settings, ring).login(form.username, form.password)


@router.post(
    "/refresh",
    response_model=TokenPair,
    operation_id="auth-refresh",
    responses=errors(400, REFRESH_REFUSED, 422),
)
async def refresh(
    data: RefreshRequest, session: SessionDep, settings: SettingsDep, ring: KeyRingDep
) -> TokenPair:
    return await AuthService(session, settings, ring).refresh(data.refresh_token)
