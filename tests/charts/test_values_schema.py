"""values.schema.json: a typo or a wrong type fails the install with a message naming the value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.charts.helm import APP_CHART, OPERATOR_CHART, render_error

# (chart, --set overrides, text the error must contain: the path of the offending value)
INVALID: list[tuple[Path, dict[str, str], str]] = [
    (APP_CHART, {"replicaCount": "two"}, "/replicaCount"),
    (APP_CHART, {"image.pullPolicy": "Sometimes"}, "/image/pullPolicy"),
    (APP_CHART, {"image.tagg": "1.0"}, "tagg"),
    (APP_CHART, {"image.digest": "md5:abc"}, "/image/digest"),
    (APP_CHART, {"service.port": "70000"}, "/service/port"),
    (APP_CHART, {"service.type": "Magic"}, "/service/type"),
    (APP_CHART, {"config.environment": "prod"}, "/config/environment"),
    (APP_CHART, {"config.logFormat": "xml"}, "/config/logFormat"),
    (APP_CHART, {"config.workers": "0"}, "/config/workers"),
    (APP_CHART, {"secret.secretKey": "too-short"}, "/secret/secretKey"),
    (APP_CHART, {"externalDatabase.url": "mysql://db/x"}, "/externalDatabase/url"),
    (APP_CHART, {"autoscaling.maxReplicas": "0"}, "/autoscaling/maxReplicas"),
    (APP_CHART, {"pdb.maxUnavailable": "-1"}, "/pdb/maxUnavailable"),
    (APP_CHART, {"ingress.hosts[0].paths[0].pathType": "Glob"}, "/ingress/hosts/0/paths/0/pathType"),
    (APP_CHART, {"networkPolicy.otlpCIDRs[0]": "everywhere"}, "/networkPolicy/otlpCIDRs/0"),
    (APP_CHART, {"postgresql.auth.password": "p@ss word"}, "/postgresql/auth/password"),
    (APP_CHART, {"postgresql.persistence.size": "lots"}, "/postgresql/persistence/size"),
    (APP_CHART, {"serviceMonitor.interval": "often"}, "/serviceMonitor/interval"),
    (APP_CHART, {"migration.backoffLimit": "100"}, "/migration/backoffLimit"),
    (APP_CHART, {"containerSecurityContext.runAsUser": "-5"}, "/containerSecurityContext/runAsUser"),
    (APP_CHART, {"resources.limit.cpu": "1"}, "limit"),
    (APP_CHART, {"fullnameOverride": "Not_A_Name"}, "/fullnameOverride"),
    (OPERATOR_CHART, {"watchNamespaces[0]": "Team_A"}, "/watchNamespaces/0"),
    (OPERATOR_CHART, {"logFormat": "yaml"}, "/logFormat"),
    (OPERATOR_CHART, {"rbac.create": "maybe"}, "/rbac/create"),
    (OPERATOR_CHART, {"healthPort": "80"}, "/healthPort"),
    (OPERATOR_CHART, {"peering.enable": "true"}, "enable"),
]


@pytest.mark.parametrize(
    ("chart", "values", "named"), INVALID, ids=[f"{c.name}:{next(iter(v))}" for c, v, _ in INVALID]
)
def test_invalid_values_are_rejected_naming_the_value(
    chart: Path, values: dict[str, str], named: str
) -> None:
    error = render_error(chart, set_values=values)
    assert "values don't meet the specifications of the schema" in error
    assert named in error, error


def test_contradictory_values_fail_with_a_message() -> None:
    error = render_error(set_values={"postgresql.enabled": "false"})
    assert "externalDatabase.url" in error


def schema_paths(schema: dict[str, object], prefix: str = "") -> set[str]:
    paths = set()
    for key, sub in (schema.get("properties") or {}).items():  # type: ignore[attr-defined]
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(sub, dict) and sub.get("additionalProperties") is False:
            paths |= schema_paths(sub, path + ".")
    return paths


def value_paths(values: object, prefix: str = "") -> set[str]:
    paths = set()
    if isinstance(values, dict):
        for key, sub in values.items():
            path = f"{prefix}{key}"
            paths.add(path)
            paths |= value_paths(sub, path + ".")
    return paths


@pytest.mark.parametrize("chart", [APP_CHART, OPERATOR_CHART], ids=lambda c: c.name)
def test_the_schema_covers_every_value_and_closes_every_object(chart: Path) -> None:
    schema = json.loads((chart / "values.schema.json").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text())
    declared = schema_paths(schema)
    # Every value has a schema entry; objects the chart owns are closed (a typo is an error),
    # Kubernetes pass-through objects (resources, securityContext, affinity, ...) stay open.
    missing = {
        p
        for p in value_paths(values)
        if p not in declared and p.rsplit(".", 1)[0] in declared and _closed(schema, p.rsplit(".", 1)[0])
    }
    top_missing = {p for p in values if p not in declared}
    assert not missing
    assert not top_missing
    assert schema["additionalProperties"] is False


def _closed(schema: dict[str, object], dotted: str) -> bool:
    node: object = schema
    for part in dotted.split("."):
        node = node["properties"][part]  # type: ignore[index]
    return isinstance(node, dict) and node.get("additionalProperties") is False
