"""Puts the v1 routes on the app itself.

FastAPI keeps an included router as a branch that every request walks twice (once to match, once
to dispatch), each route under it consulted with per-request bookkeeping. The routers here carry
their full prefix, so their routes are appended to the app's own list as they are: matched once,
like routes declared on the app. Tags, responses and operation ids live on each route already.
"""

from fastapi import APIRouter, FastAPI

from moorage.api.v1 import auth, health, items, users

# Health first: probes are the most frequent requests and match earliest.
ROUTERS: tuple[APIRouter, ...] = (health.router, auth.router, users.router, items.router)


def include_api(app: FastAPI) -> None:
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
