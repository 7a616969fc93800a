from fastapi import APIRouter

from moorage.api.v1 import auth, health, items, users

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(items.router)
