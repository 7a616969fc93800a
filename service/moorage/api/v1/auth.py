from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, status

from moorage.api.deps import KeyRingDep, SessionDep, SettingsDep
from moorage.api.responses import PUBLIC_DATABASE_ROUTE, errors
from moorage.schemas.auth import LoginForm, RefreshRequest, TokenPair
from moorage.schemas.users import UserCreate, UserPublic
from moorage.services.auth import AuthService

router = APIRouter(prefix="/auth", tags=["auth"], responses=PUBLIC_DATABASE_ROUTE)


@router.post(
    "/register",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="auth-register",
    responses=errors(400, 409, 422, described={409: "The email is already registered (`email_taken`)."}),
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
    responses=errors(
        400,
        401,
        422,
        described={
            401: "Wrong email or password (`invalid_credentials`) or a disabled account (`inactive_user`)."
        },
    ),
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
    responses=errors(
        400,
        401,
        422,
        described={
            401: "The refresh token is malformed, expired, of the wrong type or signed with an unknown key "
            "(`invalid_token`, `token_expired`, `unknown_key`), or its account is gone."
        },
    ),
)
async def refresh(
    data: RefreshRequest, session: SessionDep, settings: SettingsDep, ring: KeyRingDep
) -> TokenPair:
    return await AuthService(session, settings, ring).refresh(data.refresh_token)
