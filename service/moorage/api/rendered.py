"""Responses a handler renders itself, skipping FastAPI's second pass over its return value.

For a declared `response_model` FastAPI validates the returned object against the model again and
then serialises it. A handler that has just built the model from its row can hand over the bytes:
the same JSON (pydantic's serialiser of that model) with the same media type; the route's
`response_model` still documents it.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response

JSON = "application/json"


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.__pydantic_serializer__.to_json(model), status_code=status_code, media_type=JSON)
