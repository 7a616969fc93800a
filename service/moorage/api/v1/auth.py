from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from moorage.api.deps import KeyRingDep, SessionDep, SettingsDep
from moorage.schemas.auth import RefreshRequest, TokenPair
from moorage.schemas.users import UserCreate, UserPublic
from moorage.services.auth import AuthService

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def register(
    data: UserCreate, session: SessionDep, settings: SettingsDep, ring: KeyRingDep
) -> UserPublic:
    user = await AuthService(session, settings, ring).register(data)
    return UserPublic.model_validate(user)


@router.post("/token", response_model=TokenPair)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    ring: KeyRingDep,
) -> TokenPair:
    return await AuthService(session, settings, ring).login(form.username, form.password)


@router.post("/refresh", response_model=TokenPair)
async def refresh(
    data: RefreshRequest, session: SessionDep, settings: SettingsDep, ring: KeyRingDep
) -> TokenPair:
    return await AuthService(session, settings, ring).refresh(data.refresh_token)
