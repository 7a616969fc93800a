"""spec.expose (Ingress / HTTPRoute, URL, trusted proxies) and spec.networkPolicy, as built objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from moorage_operator import manifests, names
from moorage_operator.keyring import KeyRing
from moorage_operator.reconcile import Instance, Observed, Ref, plan, platform
from moorage_operator.spec import InvalidSpec, parse_spec

from .conftest import NOW, spec

OWNER = manifests.Owner("shop", "team-a", "uid-1", {})
RING = KeyRing(current="k" * 40, rotated_at=datetime(2026, 1, 1, tzinfo=UTC))
INGRESS = {"ingress": {"className": "traefik", "host": "shop.example.com", "tlsSecretName": "shop-tls"}}
ROUTE = {
    "httpRoute": {
        "parentRefs": [{"name": "moorage", "namespace": "traefik", "sectionName": "web"}],
        "hostnames": ["shop.example.com"],
        "path": "/api",
    }
}
TRAEFIK = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
}


def children(**fields: Any) -> dict[str, dict[str, Any]]:
    """The extra children by kind; the migration Job's NetworkPolicy under its own key."""
    out: dict[str, dict[str, Any]] = {}
    for obj in platform.wanted(parse_spec(spec(**fields)), OWNER):
        migration = obj["metadata"]["name"].endswith("-migrate")
        out[f"{obj['kind']}{'/migrate' if migration else ''}"] = obj
    return out


def server_env(**fields: Any) -> dict[str, Any]:
    app = parse_spec(spec(**fields))
    container = manifests.deployment(app, OWNER, image=app.image, ring=RING)["spec"]["template"]["spec"][
        "containers"
    ][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_an_ingress_routes_the_host_to_the_service_with_tls() -> None:
    ingress = children(expose=INGRESS)["Ingress"]
    assert ingress["metadata"]["name"] == "shop"
    assert ingress["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert ingress["metadata"]["labels"][names.LABEL_OWNER] == "shop"
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "shop.example.com"
    assert rule["http"]["paths"] == [
        {
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": "shop", "port": {"name": "http"}}},
        }
    ]
    assert "HTTPRoute" not in children(expose=INGRESS)


def test_an_http_route_attaches_to_the_gateway() -> None:
    route = children(expose=ROUTE)["HTTPRoute"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == ROUTE["httpRoute"]["parentRefs"]
    assert route["spec"]["hostnames"] == ["shop.example.com"]
    assert route["spec"]["rules"] == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
            "backendRefs": [{"name": "shop", "port": manifests.SERVICE_PORT}],
        }
    ]
    assert "Ingress" not in children(expose=ROUTE)


def test_exposed_the_service_trusts_the_proxy_like_the_chart() -> None:
    assert "FORWARDED_ALLOW_IPS" not in server_env()
    assert server_env(expose=INGRESS)["FORWARDED_ALLOW_IPS"] == "127.0.0.1,10.244.0.0/16"
    custom = {**ROUTE, "trustedProxies": ["10.0.0.5", "192.168.0.0/24"]}
    assert server_env(expose=custom)["FORWARDED_ALLOW_IPS"] == "127.0.0.1,10.0.0.5,192.168.0.0/24"
    # An explicit spec.config value wins (it reaches the pods through the ConfigMap).
    config = [{"name": "FORWARDED_ALLOW_IPS", "value": "*"}]
    assert "FORWARDED_ALLOW_IPS" not in server_env(expose=INGRESS, config=config)


@pytest.mark.parametrize(
    ("expose", "named"),
    [
        ({**INGRESS, **ROUTE}, "exactly one"),
        ({"trustedProxies": ["10.0.0.0/8"]}, "exactly one"),
        ({"ingress": {"className": "x"}}, "spec.expose.ingress.host"),
        ({"httpRoute": {"parentRefs": []}}, "parentRefs"),
    ],
)
def test_an_invalid_exposure_is_reported(expose: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_spec(spec(expose=expose))
    assert named in caught.value.message


def instance(**fields: Any) -> Instance:
    return Instance(
        name="shop", namespace="team-a", uid="uid-1", generation=1, spec=spec(**fields), status={}
    )


def test_status_url_event_and_garbage_collection_of_the_exposure() -> None:
    first = plan(instance(expose=INGRESS), Observed(), NOW)
    assert first.status["url"] == "https://shop.example.com/"
    assert [e.message for e in first.events if e.reason == "Exposed"] == [
        "serving at https://shop.example.com/"
    ]
    ingress = next(o for o in first.applies if o["kind"] == "Ingress")
    # Switching to a route deletes the Ingress; dropping spec.expose deletes whichever exists.
    switched = plan(instance(expose=ROUTE), Observed(ingress=ingress), NOW)
    assert any(o["kind"] == "HTTPRoute" for o in switched.applies)
    assert [(r.kind, r.name) for r in switched.deletes] == [("Ingress", "shop")]
    assert switched.status["url"] == "http://shop.example.com/api"
    dropped = plan(instance(), Observed(ingress=ingress), NOW)
    assert [(r.kind, r.name) for r in dropped.deletes] == [("Ingress", "shop")]
    assert dropped.status["url"] is None  # removed from the status by the merge patch
    unnamed = {"httpRoute": {"parentRefs": [{"name": "gw"}]}}
    assert plan(instance(expose=unnamed), Observed(), NOW).status["url"] is None


def test_network_policy_shape_matches_the_chart() -> None:
    assert "NetworkPolicy" not in children()
    assert "NetworkPolicy" not in children(networkPolicy={"enabled": False})
    policy = children(networkPolicy={"enabled": True, "ingressFrom": [TRAEFIK]})["NetworkPolicy"]
    body = policy["spec"]
    assert body["podSelector"] == {"matchLabels": names.selector_labels("shop")}
    assert body["policyTypes"] == ["Ingress", "Egress"]
    [rule] = body["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    own = {"podSelector": {"matchLabels": {names.LABEL_NAME: "moorage", names.LABEL_INSTANCE: "shop"}}}
    assert rule["from"] == [own, TRAEFIK]
    assert body["egress"] == [
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        {"ports": [{"port": 5432, "protocol": "TCP"}]},
    ]
    assert policy["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_the_migration_job_gets_the_charts_migrate_policy() -> None:
    policy = children(networkPolicy={"enabled": True, "databasePort": 6432})["NetworkPolicy/migrate"]
    assert policy["metadata"]["name"] == "shop-migrate"
    body = policy["spec"]
    assert body["podSelector"]["matchLabels"][names.LABEL_COMPONENT] == "migration"
    assert body["podSelector"]["matchLabels"][names.LABEL_INSTANCE] == "shop"
    assert body["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in body  # nothing reaches a migration
    assert body["egress"][1] == {"ports": [{"port": 6432, "protocol": "TCP"}]}


def test_network_policy_egress_follows_otlp_redis_and_cidrs() -> None:
    policy = children(
        networkPolicy={"enabled": True, "databaseCIDRs": ["10.1.0.0/16"], "otlpCIDRs": ["10.2.0.0/16"]},
        config=[{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel:4318"}],
        redis={"secretRef": {"name": "redis"}},
    )["NetworkPolicy"]
    egress = policy["spec"]["egress"]
    assert egress[1] == {
        "ports": [{"port": 5432, "protocol": "TCP"}],
        "to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}],
    }
    assert egress[2] == {
        "ports": [{"port": 4318, "protocol": "TCP"}],
        "to": [{"ipBlock": {"cidr": "10.2.0.0/16"}}],
    }
    assert egress[3] == {"ports": [{"port": 6379, "protocol": "TCP"}]}


def test_an_extra_already_being_deleted_is_not_deleted_again() -> None:
    ingress = children(expose=INGRESS)["Ingress"]
    terminating = {
        **ingress,
        "metadata": {**ingress["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"},
    }
    app = parse_spec(spec())
    assert platform.plan_platform(app, Observed(ingress=terminating), OWNER).deletes == []
    assert platform.plan_platform(app, Observed(ingress=ingress), OWNER).deletes == [
        Ref("networking.k8s.io/v1", "Ingress", "shop")
    ]
