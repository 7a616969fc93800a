"""values.schema.json: a typo or a wrong type fails the install with a message naming the value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    (OPERATOR_CHART, {"clusterWide": "yes"}, "/clusterWide"),
    (OPERATOR_CHART, {"metrics.port": "80"}, "/metrics/port"),
    (OPERATOR_CHART, {"metrics.serviceMonitor.interval": "often"}, "/metrics/serviceMonitor/interval"),
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


def uncovered(schema: dict[str, Any], values: Any, prefix: str = "") -> list[str]:
    """Value paths the schema does not declare, down to where the schema leaves an object open."""
    if not isinstance(values, dict):
        return []
    missing: list[str] = []
    properties = schema.get("properties") or {}
    for key, sub in values.items():
        if key in properties:
            missing += uncovered(properties[key], sub, f"{prefix}{key}.")
        elif schema.get("additionalProperties", True) is False:
            missing.append(f"{prefix}{key}")
    return missing


@pytest.mark.parametrize("chart", [APP_CHART, OPERATOR_CHART], ids=lambda c: c.name)
def test_the_schema_covers_every_value(chart: Path) -> None:
    schema = json.loads((chart / "values.schema.json").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text())
    assert schema["additionalProperties"] is False
    assert uncovered(schema, values) == []


def test_uncovered_finds_an_undeclared_value() -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "a": {"type": "object", "additionalProperties": False, "properties": {}},
            "open": {"type": "object"},
        },
    }
    assert uncovered(schema, {"a": {"b": 1}, "open": {"anything": 1}, "c": 2}) == ["a.b", "c"]
