import base64

from moorage_operator.__main__ import kopf_arguments
from moorage_operator.kube import _pem, collection_path


def test_all_namespaces_by_default() -> None:
    args = kopf_arguments({}, [])
    assert args[:3] == ["run", "-m", "moorage_operator"]
    assert "--all-namespaces" in args
    assert args[args.index("--liveness") + 1] == "http://0.0.0.0:8080/healthz"


def test_watched_namespaces_and_extra_arguments() -> None:
    args = kopf_arguments(
        {"MOORAGE_WATCH_NAMESPACES": "team-a, team-b", "MOORAGE_LOG_FORMAT": "json"}, ["--standalone"]
    )
    assert "--all-namespaces" not in args
    assert [args[i + 1] for i, a in enumerate(args) if a == "--namespace"] == ["team-a", "team-b"]
    assert args[args.index("--log-format") + 1] == "json"
    assert args[-1] == "--standalone"


def test_api_paths() -> None:
    assert collection_path("v1", "Secret", "ns") == "/api/v1/namespaces/ns/secrets"
    assert collection_path("apps/v1", "Deployment", "ns") == "/apis/apps/v1/namespaces/ns/deployments"
    assert collection_path("apps.moorage.dev/v1alpha1", "AppInstance", "ns").endswith("/appinstances")


def test_pem_accepts_kubeconfig_base64_and_plain_pem() -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    assert _pem(base64.b64encode(pem).decode()) == pem
    assert _pem(pem) == pem
