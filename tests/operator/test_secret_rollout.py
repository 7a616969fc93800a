"""A changed database Secret rolls the pods through a salted hash in the pod template, never the values."""

from __future__ import annotations

import base64
import json
from typing import Any

from moorage_operator import names
from moorage_operator.reconcile import plan
from moorage_operator.reconcile.secrets import secret_data_hash

from .conftest import NOW
from .test_planner import ready_world, reasons

PASSWORD = "postgresql://moorage:s3cret-one@db/moorage"


def secret(value: str) -> dict[str, Any]:
    return {"data": {"DATABASE_URL": base64.b64encode(value.encode()).decode()}}


def template_hash(obj: dict[str, Any]) -> str | None:
    annotations: dict[str, str] = obj["spec"]["template"]["metadata"]["annotations"]
    return annotations.get(names.ANN_DATABASE_HASH)


def test_hash_is_salted_stable_and_missing_when_a_key_is() -> None:
    refs = {("db", "DATABASE_URL")}
    one = secret_data_hash("uid-1", refs, {"db": secret(PASSWORD)})
    assert one is not None
    assert one == secret_data_hash("uid-1", refs, {"db": secret(PASSWORD)})
    assert one != secret_data_hash("uid-2", refs, {"db": secret(PASSWORD)})
    assert one != secret_data_hash("uid-1", refs, {"db": secret(PASSWORD + "x")})
    assert secret_data_hash("uid-1", refs, {"db": None}) is None
    assert secret_data_hash("uid-1", {("db", "OTHER")}, {"db": secret(PASSWORD)}) is None


def test_a_new_hash_rolls_the_pods_and_the_event_names_only_the_secret() -> None:
    world = ready_world()
    first = world.observed()
    first.database_secret_hash = secret_data_hash("uid-1", {("db", "DATABASE_URL")}, {"db": secret(PASSWORD)})
    result = world.step()  # no hash read yet: nothing rolls
    assert not result.applies
    result = plan(world.instance(), first, NOW)
    [dep] = [o for o in result.applies if o["kind"] == "Deployment"]
    assert template_hash(dep) == first.database_secret_hash
    world.objects[("Deployment", "shop")] = dep | {"status": world.objects[("Deployment", "shop")]["status"]}
    rotated = world.observed()
    rotated.database_secret_hash = secret_data_hash(
        "uid-1", {("db", "DATABASE_URL")}, {"db": secret(PASSWORD.replace("one", "two"))}
    )
    result = plan(world.instance(), rotated, NOW)
    [dep] = [o for o in result.applies if o["kind"] == "Deployment"]
    assert template_hash(dep) == rotated.database_secret_hash
    assert {"DatabaseSecretChanged", "RollingOut"} <= set(reasons(result))
    text = json.dumps([e.message for e in result.events]) + json.dumps(result.applies)
    assert "s3cret" not in text
    assert base64.b64encode(PASSWORD.encode()).decode() not in text
    # Not read this time: the pods keep the hash they have.
    unread = world.observed()
    assert not [o for o in plan(world.instance(), unread, NOW).applies if o["kind"] == "Deployment"]
