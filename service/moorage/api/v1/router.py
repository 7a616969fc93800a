"""Puts the v1 routes on the app itself, ahead of FastAPI's documentation routes.

FastAPI keeps an included router as a branch that every request walks twice (once to match, once
to dispatch), each route under it consulted with per-request bookkeeping. The routers here carry
their full prefix, so their routes go into the app's own list as they are and are matched once,
like routes declared on the app. Tags, responses and operation ids live on each route already.

The list is matched in order and the prefixes do not overlap, so the order only decides what a
request pays: probes, then items and users, then auth; the docs and the OpenAPI document (added
by FastAPI when the app is created) last. The OpenAPI document keeps its reading order.
"""

from collections.abc import Iterable, Sequence

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from moorage.api.v1 import auth, health, items, users

DOCUMENTED: tuple[APIRouter, ...] = (health.router, auth.router, users.router, items.router)
MATCHED: tuple[APIRouter, ...] = (health.router, items.router, users.router, auth.router)


def include_api(app: FastAPI) -> None:
    app.router.routes[0:0] = [route for router in MATCHED for route in router.routes]


def documented_order(routes: Iterable[BaseRoute]) -> Sequence[BaseRoute]:
    """The routes with the v1 ones in DOCUMENTED order; any other keeps its place after them."""
    rank = {id(route): index for index, route in enumerate(r for router in DOCUMENTED for r in router.routes)}
    return sorted(routes, key=lambda route: rank.get(id(route), len(rank)))
