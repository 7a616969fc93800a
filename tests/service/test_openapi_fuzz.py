"""Schemathesis over every operation of the served document, against a real server and database.

Not only "no 5xx": every response must be documented for its operation (status, content type, headers,
body schema), invalid input must be rejected, undeclared methods answer 405 with an exact Allow, and a
protected operation must refuse a request without credentials.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import compile_path

from tests.postgres import PostgresServer
from tests.server_process import ServerProcess
from tests.service.served import start_served_app

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
)
# Random credentials and refresh tokens can only be refused.
ONLY_REFUSED = {"auth-login", "auth-refresh"}
# A normal user may not list accounts, and a random account id is someone else's.
FORBIDDEN_TO_A_USER = {"users-list", "users-read"}
PASSWORD = "fuzzing-pass"


@pytest.fixture
async def fuzz_server(postgres: PostgresServer) -> AsyncIterator[ServerProcess]:
    server = await start_served_app(postgres, "fuzz")
    yield server
    server.kill()


async def access_token(client: httpx.AsyncClient, email: str) -> str:
    registered = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    tokens = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    token: str = tokens.json()["access_token"]
    return token


def config_toml(token: str, disposable_token: str) -> str:
    checks = "".join(f"{check}.enabled = true\n" for check in CHECKS)
    return f"""\
seed = 20261125
request-timeout = 30
headers = {{ Authorization = "Bearer {token}" }}

[checks]
enabled = false
{checks}
# Deleting the account ends its token: this operation gets an account of its own.
[[operations]]
include-operation-id = "users-me-delete"
headers = {{ Authorization = "Bearer {disposable_token}" }}

# The schema says `format: email`; the service also refuses special-use domains such as `.test`,
# which JSON Schema cannot express.
[[operations]]
include-operation-id = "auth-register"
checks.positive_data_acceptance.enabled = false
"""


def interactions(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        request, response = node.get("request"), node.get("response")
        if isinstance(request, dict) and isinstance(response, dict) and "uri" in request:
            yield node
        for value in node.values():
            yield from interactions(value)
    elif isinstance(node, list):
        for value in node:
            yield from interactions(value)


def statuses_by_operation(document: dict[str, Any], report: Path) -> dict[str, set[int]]:
    """Every status the run received, per operation id, read from schemathesis's NDJSON events."""
    templates = sorted(document["paths"], key=lambda t: ("{" in t, -len(t)))
    patterns = [(compile_path(template)[0], template) for template in templates]
    seen: dict[str, set[int]] = defaultdict(set)
    for line in report.read_text().splitlines():
        for interaction in interactions(json.loads(line)):
            method = interaction["request"]["method"].lower()
            path = httpx.URL(interaction["request"]["uri"]).path
            template = next((t for pattern, t in patterns if pattern.match(path)), None)
            operation = document["paths"].get(template, {}).get(method) if template else None
            if operation is not None:
                seen[operation["operationId"]].add(int(interaction["response"]["status_code"]))
    return seen


async def test_every_response_conforms_to_the_document(fuzz_server: ServerProcess, tmp_path: Path) -> None:
    import anyio

    base = fuzz_server.base_url
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        token = await access_token(client, "fuzz@example.com")
        disposable = await access_token(client, "fuzz-disposable@example.com")
        document = (await client.get("/api/v1/openapi.json")).json()
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(token, disposable))
    report = tmp_path / "events.ndjson"

    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    command = [
        executable,
        "--config-file",
        str(config),
        "run",
        f"{base}/api/v1/openapi.json",
        "--max-examples",
        os.environ.get("MOORAGE_FUZZ_EXAMPLES", "20"),
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    result = await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, capture_output=True, text=True, check=False, timeout=1200)
    )
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-2000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert summary is not None, result.stdout[-4000:]
    assert summary.group(1) == summary.group(2)

    seen = statuses_by_operation(document, report)
    every_operation = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert set(seen) == every_operation
    for operation_id, statuses in seen.items():
        assert not any(status >= 500 for status in statuses), (operation_id, statuses)
        if operation_id in ONLY_REFUSED:
            assert 401 in statuses, (operation_id, statuses)
        elif operation_id in FORBIDDEN_TO_A_USER:
            assert 403 in statuses, (operation_id, statuses)
        else:
            # The token was accepted: the operation itself ran, not only its refusals.
            assert any(200 <= status < 300 for status in statuses), (operation_id, statuses)
