"""``spec.expose``: an Ingress or a Gateway API HTTPRoute in front of the instance's Service.

The object is named like the instance and owned by it. When exposed, the service believes the
proxy's forwarded client address (``FORWARDED_ALLOW_IPS``) the way the app chart sets it: loopback
plus the proxies' CIDRs (default the kind/kubeadm pod subnet), unless ``spec.config`` sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moorage_operator import names

SERVICE_PORT = 80  # the instance Service's port (manifests.SERVICE_PORT)
DEFAULT_TRUSTED_PROXIES = ("10.244.0.0/16",)
FORWARDED_ENV = "FORWARDED_ALLOW_IPS"


@dataclass(frozen=True, slots=True)
class IngressExposure:
    host: str
    path: str = "/"
    path_type: str = "Prefix"
    class_name: str | None = None
    tls_secret_name: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RouteExposure:
    parent_refs: tuple[Mapping[str, Any], ...]
    hostnames: tuple[str, ...] = ()
    path: str = "/"
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Exposure:
    ingress: IngressExposure | None = None
    route: RouteExposure | None = None
    trusted_proxies: tuple[str, ...] = DEFAULT_TRUSTED_PROXIES


def parse_exposure(raw: Any) -> Exposure | None:
    """``spec.expose``; ``ValueError`` names what the schema should have caught."""
    if not raw:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError("spec.expose must be an object")
    ing: Any = raw.get("ingress")
    route: Any = raw.get("httpRoute")
    if bool(ing) == bool(route):
        raise ValueError("spec.expose: set exactly one of ingress and httpRoute")
    proxies = tuple(str(c) for c in raw.get("trustedProxies") or DEFAULT_TRUSTED_PROXIES)
    if ing:
        if not ing.get("host"):
            raise ValueError("spec.expose.ingress.host is required")
        return Exposure(
            ingress=IngressExposure(
                host=str(ing["host"]),
                path=str(ing.get("path") or "/"),
                path_type=str(ing.get("pathType") or "Prefix"),
                class_name=str(ing["className"]) if ing.get("className") else None,
                tls_secret_name=str(ing["tlsSecretName"]) if ing.get("tlsSecretName") else None,
                annotations={str(k): str(v) for k, v in (ing.get("annotations") or {}).items()},
            ),
            trusted_proxies=proxies,
        )
    refs = route.get("parentRefs") or []
    if not refs:
        raise ValueError("spec.expose.httpRoute.parentRefs needs at least one Gateway")
    return Exposure(
        route=RouteExposure(
            parent_refs=tuple(dict(r) for r in refs),
            hostnames=tuple(str(h) for h in route.get("hostnames") or ()),
            path=str(route.get("path") or "/"),
            annotations={str(k): str(v) for k, v in (route.get("annotations") or {}).items()},
        ),
        trusted_proxies=proxies,
    )


def _meta(instance: str, namespace: str, annotations: Mapping[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": instance, "namespace": namespace, "labels": names.child_labels(instance)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def ingress(exposure: IngressExposure, instance: str, namespace: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": exposure.host,
                "http": {
                    "paths": [
                        {
                            "path": exposure.path,
                            "pathType": exposure.path_type,
                            "backend": {"service": {"name": instance, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ]
    }
    if exposure.class_name:
        spec["ingressClassName"] = exposure.class_name
    if exposure.tls_secret_name:
        spec["tls"] = [{"hosts": [exposure.host], "secretName": exposure.tls_secret_name}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(instance, namespace, exposure.annotations),
        "spec": spec,
    }


def http_route(exposure: RouteExposure, instance: str, namespace: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "parentRefs": [dict(r) for r in exposure.parent_refs],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": exposure.path}}],
                "backendRefs": [{"name": instance, "port": SERVICE_PORT}],
            }
        ],
    }
    if exposure.hostnames:
        spec["hostnames"] = list(exposure.hostnames)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(instance, namespace, exposure.annotations),
        "spec": spec,
    }


def exposure_object(exposure: Exposure | None, instance: str, namespace: str) -> dict[str, Any] | None:
    if exposure is None:
        return None
    if exposure.ingress is not None:
        return ingress(exposure.ingress, instance, namespace)
    assert exposure.route is not None
    return http_route(exposure.route, instance, namespace)


def url(exposure: Exposure | None) -> str | None:
    """Where clients reach the instance; None when not exposed or a route has no hostname."""
    if exposure is None:
        return None
    if exposure.ingress is not None:
        scheme = "https" if exposure.ingress.tls_secret_name else "http"
        return f"{scheme}://{exposure.ingress.host}{exposure.ingress.path}"
    assert exposure.route is not None
    if not exposure.route.hostnames:
        return None
    return f"http://{exposure.route.hostnames[0]}{exposure.route.path}"


def forwarded_env(exposure: Exposure | None, config: Mapping[str, str]) -> list[dict[str, Any]]:
    """``FORWARDED_ALLOW_IPS`` for an exposed instance, as the app chart sets it; spec.config wins."""
    if exposure is None or FORWARDED_ENV in config:
        return []
    return [{"name": FORWARDED_ENV, "value": ",".join(("127.0.0.1", *exposure.trusted_proxies))}]
