"""Static checks of the CRD: documented fields and defaults that agree with the operator's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from moorage_operator import names, spec

Schema = dict[str, Any]


def version(crd: Schema) -> Schema:
    found: Schema = crd["spec"]["versions"][0]
    return found


def walk(schema: Schema, path: str) -> Iterator[tuple[str, Schema]]:
    for name, child in (schema.get("properties") or {}).items():
        yield f"{path}.{name}", child
        yield from walk(child, f"{path}.{name}")
    items = schema.get("items")
    if isinstance(items, dict):
        yield f"{path}[]", items
        yield from walk(items, f"{path}[]")


def test_identity(crd: Schema) -> None:
    assert crd["spec"]["group"] == names.GROUP
    assert crd["spec"]["names"]["kind"] == names.KIND
    assert crd["spec"]["names"]["plural"] == names.PLURAL
    assert crd["spec"]["names"]["shortNames"]
    assert crd["spec"]["scope"] == "Namespaced"
    assert version(crd)["name"] == names.VERSION
    assert version(crd)["subresources"] == {"status": {}}


def test_every_field_is_described(crd: Schema) -> None:
    root = version(crd)["schema"]["openAPIV3Schema"]
    undocumented = [
        path for path, child in walk(root, "") if path != ".metadata" and not child.get("description")
    ]
    assert undocumented == []


def test_printer_columns(crd: Schema) -> None:
    columns = {c["name"]: c["jsonPath"] for c in version(crd)["additionalPrinterColumns"]}
    assert columns["Image"] == ".spec.image"
    assert "Ready" in columns["Ready"]
    assert columns["Migrated"] == ".status.migratedImage"
    assert columns["Last Rotation"] == ".status.lastRotationTime"
    assert columns["Rolled Back"] == ".status.rollback.fromImage"
    assert "Age" in columns


def test_defaults_match_the_operator(crd: Schema) -> None:
    props = version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    rotation = props["secretRotation"]["properties"]
    assert rotation["interval"]["default"] == spec.DEFAULT_ROTATION_INTERVAL
    assert rotation["gracePeriod"]["default"] == spec.DEFAULT_GRACE_PERIOD
    migrations = props["migrations"]["properties"]
    assert migrations["timeoutSeconds"]["default"] == spec.DEFAULT_MIGRATION_TIMEOUT
    assert migrations["backoffLimit"]["default"] == spec.DEFAULT_BACKOFF_LIMIT
    assert migrations["enabled"]["default"] is True
    rollout = props["rollout"]["properties"]
    assert rollout["progressDeadlineSeconds"]["default"] == spec.DEFAULT_PROGRESS_DEADLINE
    assert rollout["autoRollback"]["default"] is spec.Rollout().auto_rollback is True


def test_cross_field_rules_are_cel(crd: Schema) -> None:
    spec_schema = version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"]
    rules = [r["rule"] for r in spec_schema["x-kubernetes-validations"]]
    rules += [r["rule"] for r in spec_schema["properties"]["autoscaling"]["x-kubernetes-validations"]]
    rules += [r["rule"] for r in spec_schema["properties"]["secretRotation"]["x-kubernetes-validations"]]
    assert any("minReplicas <= self.maxReplicas" in r for r in rules)
    assert any("duration(self.gracePeriod) < duration(self.interval)" in r for r in rules)
