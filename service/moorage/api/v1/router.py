from fastapi import APIRouter, FastAPI

from moorage.api.v1 import auth, health, items, users
from moorage.paths import API_PREFIX

# Health first: probes are the most frequent requests and match earliest.
ROUTERS: tuple[APIRouter, ...] = (health.router, auth.router, users.router, items.router)


def include_api(app: FastAPI) -> None:
    # Included one level deep: every extra level of nested routers costs each request a match.
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
