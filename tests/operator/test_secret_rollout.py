"""Changed referenced data rolls the pods through salted hashes in the pod template, never the values.

The hash builder on its own, then the World: the database Secret, spec.env/envFrom and spec.redis
references roll the serving pods; the migration Secret retries a failed migration and rolls nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import kopf
from moorage_operator import handlers, names
from moorage_operator.reconcile import Plan
from moorage_operator.reconcile.kinds import REFERENCED
from moorage_operator.reconcile.references import (
    CONFIG_MAP,
    SECRET,
    Digests,
    Reference,
    digests,
    resolve,
)

from .conftest import spec
from .test_planner import IMAGE_A, IMAGE_B, World, reasons

PASSWORD = "postgresql://moorage:s3cret-one@db/moorage"
EXTRA = "platform-token-one"


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def secret(**data: str) -> dict[str, Any]:
    return {"kind": "Secret", "data": {k: b64(v) for k, v in data.items()}}


def config_map(**data: str) -> dict[str, Any]:
    return {"kind": "ConfigMap", "data": dict(data)}


def lookup_in(objects: dict[tuple[str, str], dict[str, Any]]) -> Any:
    def lookup(kind: str, name: str) -> Digests | None:
        body = objects.get((kind, name))
        return None if body is None else digests(body)

    return lookup


def template_annotations(obj: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = obj["spec"]["template"]["metadata"]["annotations"]
    return found


def deployment_applies(result: Plan) -> list[dict[str, Any]]:
    return [o for o in result.applies if o["kind"] == "Deployment"]


def written(result: Plan) -> str:
    """Everything a plan would write or say: events, objects, status."""
    return json.dumps(
        [[e.message for e in result.events], result.applies, result.job_create, result.status], default=str
    )


KEYED = Reference(SECRET, "extra", "TOKEN", False, "spec.env[0].valueFrom.secretKeyRef")
WHOLE = Reference(SECRET, "platform", None, False, "spec.envFrom[0].secretRef")
FLAGS = Reference(CONFIG_MAP, "flags", "MODE", False, "spec.env[1].valueFrom.configMapKeyRef")
SOURCES = {
    (SECRET, "extra"): secret(TOKEN=EXTRA, UNUSED="x"),
    (SECRET, "platform"): secret(A="1", B="2"),
    (CONFIG_MAP, "flags"): config_map(MODE="fast"),
}


def test_hash_is_salted_stable_and_order_independent() -> None:
    refs = [KEYED, WHOLE, FLAGS]
    one = resolve("uid-1", refs, lookup_in(SOURCES))
    assert one.hash is not None
    assert not one.missing
    assert resolve("uid-1", list(reversed(refs)), lookup_in(SOURCES)) == one
    assert resolve("uid-1", [*refs, KEYED], lookup_in(SOURCES)) == one
    assert resolve("uid-2", refs, lookup_in(SOURCES)).hash != one.hash
    assert resolve("uid-1", [], lookup_in(SOURCES)).hash is None


def test_hash_changes_with_any_referenced_value_and_only_with_those() -> None:
    refs = [KEYED, WHOLE, FLAGS]
    base = resolve("uid-1", refs, lookup_in(SOURCES)).hash
    changes = [
        {(SECRET, "extra"): secret(TOKEN="other", UNUSED="x")},
        {(SECRET, "platform"): secret(A="1", B="3")},
        {(SECRET, "platform"): secret(A="1", B="2", C="new")},  # envFrom takes every key
        {(CONFIG_MAP, "flags"): config_map(MODE="slow")},
    ]
    hashes = {resolve("uid-1", refs, lookup_in(SOURCES | change)).hash for change in changes}
    assert base not in hashes
    assert len(hashes) == len(changes)
    # A key the pods do not read is not their business.
    unused = SOURCES | {(SECRET, "extra"): secret(TOKEN=EXTRA, UNUSED="changed")}
    assert resolve("uid-1", refs, lookup_in(unused)).hash == base
    # The same data under the other kind is another object.
    as_secret = {(SECRET, "flags"): secret(MODE="fast")}
    assert resolve("uid-1", [FLAGS], lookup_in(as_secret)).missing == (FLAGS,)


def test_missing_required_references_are_named_optional_ones_count_as_absent() -> None:
    gone = {k: v for k, v in SOURCES.items() if k != (SECRET, "platform")}
    result = resolve("uid-1", [KEYED, WHOLE], lookup_in(gone))
    assert result.hash is None
    assert result.missing == (WHOLE,)
    assert "'platform'" in WHOLE.describe() and "spec.envFrom[0].secretRef" in WHOLE.describe()
    no_key = resolve("uid-1", [Reference(SECRET, "extra", "NOPE", False, "w")], lookup_in(SOURCES))
    assert no_key.hash is None and no_key.missing
    optional = Reference(SECRET, "platform", None, True, "spec.envFrom[0].secretRef")
    absent = resolve("uid-1", [KEYED, optional], lookup_in(gone))
    assert absent.hash is not None and not absent.missing
    # Its appearance changes the hash: env is read only when a container starts.
    assert resolve("uid-1", [KEYED, optional], lookup_in(SOURCES)).hash != absent.hash
    # Optional and required references to one object: required wins.
    both = resolve("uid-1", [optional, WHOLE], lookup_in(gone))
    assert both.missing == (WHOLE,)


def test_digests_hold_no_value() -> None:
    held = digests(secret(TOKEN=EXTRA)) | digests(config_map(MODE="fast"))
    assert set(held) == {"TOKEN", "MODE"}
    assert EXTRA not in json.dumps(held) and b64(EXTRA) not in json.dumps(held)
    assert "fast" not in json.dumps(held)


def test_the_watch_indexes_every_secret_and_config_map_by_name_as_digests() -> None:
    """Any Secret or ConfigMap of the namespace feeds the index the resync reads: that is the wake-up."""
    registry = kopf.get_default_registry()
    by_id = {str(h.id): h for h in registry._indexing.get_all_handlers()}
    for kind in REFERENCED:
        handler = by_id[kind.index]
        assert handler.labels is None  # not only the operator's own children
    raw: Any = {"metadata": {"name": "extra", "namespace": "team-a"}, "data": {"TOKEN": b64(EXTRA)}}
    body = kopf.Body(raw)
    entry = asyncio.run(handlers._digester(REFERENCED[0])(namespace="team-a", name="extra", body=body))
    assert entry == {("team-a", "extra"): digests(secret(TOKEN=EXTRA))}


PLATFORM_ENV = [
    {"name": "PLATFORM_TOKEN", "valueFrom": {"secretKeyRef": {"name": "extra", "key": "TOKEN"}}},
    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "flags", "key": "MODE", "optional": True}}},
]
PLATFORM_ENV_FROM = [
    {"secretRef": {"name": "platform"}},
    {"configMapRef": {"name": "more", "optional": True}},
]


def referencing_world(**overrides: Any) -> World:
    """A Ready instance whose pods consume platform Secrets/ConfigMaps, all present except the optional."""
    world = World(image=IMAGE_A, env=PLATFORM_ENV, envFrom=PLATFORM_ENV_FROM, **overrides)
    world.sources = {
        (SECRET, "db"): secret(DATABASE_URL=PASSWORD),
        (SECRET, "extra"): secret(TOKEN=EXTRA),
        (SECRET, "platform"): secret(FEATURE="on"),
        (SECRET, "cache"): secret(REDIS_URL="redis://cache:6379/0"),
    }
    world.step()
    world.finish_job(IMAGE_A, ok=True)
    world.step()
    world.finish_rollout()
    world.step()
    assert world.condition("Ready")["status"] == "True", world.status
    return world


def test_a_changed_envfrom_secret_rolls_the_pods_and_names_only_the_objects() -> None:
    world = referencing_world()
    dep = world.get("Deployment")
    assert dep is not None
    before = template_annotations(dep)[names.ANN_REFERENCES_HASH]
    assert not world.step().applies  # stable: nothing changed, nothing rolls
    assert world.sources is not None
    world.sources[(SECRET, "platform")] = secret(FEATURE="off-and-secret-value")
    result = world.step()
    [rolled] = deployment_applies(result)
    assert template_annotations(rolled)[names.ANN_REFERENCES_HASH] != before
    assert (
        template_annotations(rolled)[names.ANN_DATABASE_HASH]
        == template_annotations(dep)[names.ANN_DATABASE_HASH]
    )
    assert {"ReferencedDataChanged", "RollingOut"} <= set(reasons(result))
    [message] = [e.message for e in result.events if e.reason == "ReferencedDataChanged"]
    assert "Secret platform" in message and "ConfigMap flags" in message
    text = written(result)
    assert "off-and-secret-value" not in text and b64("off-and-secret-value") not in text
    assert EXTRA not in text and b64(EXTRA) not in text


def test_each_kind_of_reference_rolls_and_an_optional_one_appearing_rolls_too() -> None:
    world = referencing_world(redis={"secretRef": {"name": "cache"}})
    assert world.sources is not None
    changes: list[tuple[tuple[str, str], dict[str, Any]]] = [
        ((SECRET, "extra"), secret(TOKEN="platform-token-two")),  # env secretKeyRef
        ((CONFIG_MAP, "flags"), config_map(MODE="slow")),  # optional configMapKeyRef appears
        ((CONFIG_MAP, "more"), config_map(ANY="1")),  # optional envFrom configMapRef appears
        ((SECRET, "cache"), secret(REDIS_URL="redis://cache:6380/0")),  # spec.redis.secretRef
    ]
    for key, body in changes:
        dep = world.get("Deployment")
        assert dep is not None
        before = template_annotations(dep)[names.ANN_REFERENCES_HASH]
        world.sources[key] = body
        result = world.step()
        [rolled] = deployment_applies(result)
        assert template_annotations(rolled)[names.ANN_REFERENCES_HASH] != before, key
        world.finish_rollout()
        world.step()
    # Data no pod reads rolls nothing.
    world.sources[(SECRET, "unrelated")] = secret(X="1")
    assert not deployment_applies(world.step())


def test_a_missing_required_reference_degrades_and_rolls_nothing() -> None:
    world = referencing_world()
    assert world.sources is not None
    dep = world.get("Deployment")
    del world.sources[(SECRET, "platform")]
    world.spec = {**world.spec, "replicas": 3}  # even a spec change waits: its pods could not start
    world.generation = 2
    result = world.step()
    assert not deployment_applies(result)
    assert world.get("Deployment") == dep
    degraded = world.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "ReferenceMissing")
    assert "'platform'" in degraded["message"] and "spec.envFrom[0].secretRef" in degraded["message"]
    assert world.condition("Ready")["status"] == "False"
    assert world.condition("Stalled")["status"] == "True"
    # It appears: the rollout goes ahead and the condition clears.
    world.sources[(SECRET, "platform")] = secret(FEATURE="on")
    [rolled] = deployment_applies(world.step())
    assert rolled["spec"]["replicas"] == 3
    assert world.condition("Degraded")["status"] == "False"


def test_a_missing_reference_blocks_the_first_deployment_and_the_migration() -> None:
    world = World(image=IMAGE_A, envFrom=[{"secretRef": {"name": "platform"}}])
    world.sources = {(SECRET, "db"): secret(DATABASE_URL=PASSWORD)}
    result = world.step()
    assert result.job_create is None
    assert not deployment_applies(result)
    assert world.status["migration"]["state"] == "Blocked"
    assert world.condition("Degraded")["reason"] == "ReferenceMissing"


def test_a_rotated_database_secret_rolls_the_pods_without_its_value() -> None:
    world = referencing_world()
    assert world.sources is not None
    dep = world.get("Deployment")
    assert dep is not None
    world.sources[(SECRET, "db")] = secret(DATABASE_URL=PASSWORD.replace("one", "two"))
    result = world.step()
    [rolled] = deployment_applies(result)
    was, now = template_annotations(dep), template_annotations(rolled)
    assert now[names.ANN_DATABASE_HASH] != was[names.ANN_DATABASE_HASH]
    assert now[names.ANN_REFERENCES_HASH] == was[names.ANN_REFERENCES_HASH]
    assert {"DatabaseSecretChanged", "RollingOut"} <= set(reasons(result))
    assert "ReferencedDataChanged" not in reasons(result)
    text = written(result)
    assert "s3cret" not in text and b64(PASSWORD) not in text


def test_a_spec_change_of_the_references_is_no_data_change_event() -> None:
    world = referencing_world()
    world.spec = {**world.spec, "envFrom": []}
    world.generation = 2
    result = world.step()
    [rolled] = deployment_applies(result)
    assert "ReferencedDataChanged" not in reasons(result)
    # PLATFORM_ENV still references extra and flags: the hash follows the new set.
    assert template_annotations(rolled)[names.ANN_REFERENCES_HASH]
    world.spec = {**world.spec, "env": []}
    world.generation = 3
    [bare] = deployment_applies(world.step())
    assert names.ANN_REFERENCES_HASH not in template_annotations(bare)


MIGRATION_DB = {"secretRef": {"name": "db"}, "migrationSecretRef": {"name": "ddl"}}


def failed_migration_world() -> World:
    """Ready on IMAGE_A, then IMAGE_B's migration fails with the ddl Secret's wrong password."""
    world = World(image=IMAGE_A, database=MIGRATION_DB)
    world.sources = {
        (SECRET, "db"): secret(DATABASE_URL=PASSWORD),
        (SECRET, "ddl"): secret(DATABASE_URL="postgresql://owner:wrong-password@db/moorage"),
    }
    world.step()
    world.finish_job(IMAGE_A, ok=True, inputs="ddl/DATABASE_URL/")
    world.step()
    world.finish_rollout()
    world.step()
    world.spec = spec(image=IMAGE_B, database=MIGRATION_DB)
    world.generation = 2
    assert world.step().job_create is not None
    world.finish_job(IMAGE_B, ok=False, inputs="ddl/DATABASE_URL/")
    world.step()
    assert world.condition("Degraded")["reason"] == "MigrationFailed"
    return world


def test_a_corrected_migration_secret_retries_the_failed_migration_at_once_and_rolls_nothing() -> None:
    world = failed_migration_world()
    assert world.sources is not None
    dep = world.get("Deployment")
    assert world.step().job_create is None  # the back-off (30 s) is not over
    world.sources[(SECRET, "ddl")] = secret(DATABASE_URL="postgresql://owner:right-password@db/moorage")
    result = world.step()  # still NOW: well inside the back-off
    assert result.job_create is not None
    assert result.job_create["metadata"]["annotations"][names.ANN_ATTEMPT] == "1"
    assert "MigrationSecretChanged" in reasons(result)
    assert not deployment_applies(result)
    assert world.get("Deployment") == dep
    text = written(result)
    assert "right-password" not in text and "wrong-password" not in text


def test_a_changed_migration_secret_never_rolls_the_serving_pods() -> None:
    world = World(image=IMAGE_A, database=MIGRATION_DB)
    world.sources = {(SECRET, "db"): secret(DATABASE_URL=PASSWORD), (SECRET, "ddl"): secret(DATABASE_URL="a")}
    world.step()
    world.finish_job(IMAGE_A, ok=True, inputs="ddl/DATABASE_URL/")
    world.step()
    world.finish_rollout()
    world.step()
    world.sources[(SECRET, "ddl")] = secret(DATABASE_URL="b")
    result = world.step()
    assert not result.applies and result.job_create is None and not result.events
    # Gone while nothing migrates: nothing to say either.
    del world.sources[(SECRET, "ddl")]
    assert not world.step().applies
    assert world.condition("Ready")["status"] == "True"


def test_a_missing_migration_secret_holds_the_migration_only() -> None:
    world = World(image=IMAGE_A, database=MIGRATION_DB)
    world.sources = {(SECRET, "db"): secret(DATABASE_URL=PASSWORD)}
    result = world.step()
    assert result.job_create is None
    degraded = world.condition("Degraded")
    assert degraded["reason"] == "DatabaseSecretMissing"
    assert "'ddl'" in degraded["message"] and "migrationSecretRef" in degraded["message"]
    world.sources[(SECRET, "ddl")] = secret(DATABASE_URL="a")
    assert world.step().job_create is not None
