"""One table of kinds: the chart's RBAC, the kopf indexes, the observed fields and the API paths follow it."""

from __future__ import annotations

import dataclasses
import subprocess
from typing import Any

import kopf
import pytest
import yaml
from moorage_operator import handlers
from moorage_operator.kube import collection_path
from moorage_operator.reconcile import Observed
from moorage_operator.reconcile.kinds import CHILDREN, INSTANCE, READ_ONLY, REFERENCED

from tests.charts.helm import KUBE_VERSION
from tests.tools import locate_tool

from .conftest import ROOT


def _rules(values: list[str]) -> list[dict[str, Any]]:
    helm = locate_tool("helm")
    if helm is None:
        pytest.skip("helm is not installed: run cluster/tools.sh")
    rendered = subprocess.run(
        [
            helm,
            "template",
            "rbac",
            str(ROOT / "charts" / "moorage-operator"),
            "--kube-version",
            KUBE_VERSION,
            *values,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] in ("ClusterRole", "Role")]
    namespaced = [d for d in docs if not d["metadata"]["name"].endswith("-framework")]
    assert namespaced, "the chart renders no role for the children"
    return [rule for doc in namespaced for rule in doc["rules"]]


def _granted(rules: list[dict[str, Any]], group: str, plural: str) -> set[str]:
    verbs: set[str] = set()
    for rule in rules:
        if group in rule["apiGroups"] and plural in rule["resources"]:
            verbs |= set(rule["verbs"])
    return verbs


@pytest.mark.parametrize(
    "values",
    [["--set", "clusterWide=true"], [], ["--set", "watchNamespaces={team-a}"]],
    ids=["cluster", "release-namespace", "namespaced"],
)
def test_chart_grants_exactly_what_the_table_needs(values: list[str]) -> None:
    rules = _rules(values)
    for kind in (*CHILDREN, *READ_ONLY):
        assert _granted(rules, kind.group, kind.plural) == set(kind.verbs), kind.kind
    for kind in REFERENCED:  # the user's Secrets and ConfigMaps: watched (the children's rules cover them)
        assert set(kind.verbs) <= _granted(rules, kind.group, kind.plural), kind.kind
    child_resources = {(k.group, k.plural) for k in (*CHILDREN, *READ_ONLY)}
    framework = {
        (INSTANCE.group, r) for r in ("appinstances", "appinstances/status", "appinstances/finalizers")
    }
    events = {("", "events"), ("events.k8s.io", "events")}
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert (group, resource) in child_resources | framework | events, (group, resource)


def test_one_index_per_child_kind_and_an_observed_field_for_each() -> None:
    registry = kopf.get_default_registry()
    ids = {h.id for h in registry._indexing.get_all_handlers()}
    assert ids == {k.index for k in (*CHILDREN, *REFERENCED)}
    fields = {f.name for f in dataclasses.fields(Observed)}
    assert {k.field for k in CHILDREN} <= fields
    kwargs: dict[str, Any] = {k.index: {} for k in (*CHILDREN, *REFERENCED)} | {"unrelated": 1}
    assert set(handlers._indexes(kwargs)) == {k.index for k in (*CHILDREN, *REFERENCED)}


def test_api_paths_come_from_the_table() -> None:
    for kind in (*CHILDREN, *READ_ONLY, INSTANCE):
        assert collection_path(kind.api_version, kind.kind, "ns").endswith(f"/namespaces/ns/{kind.plural}")
