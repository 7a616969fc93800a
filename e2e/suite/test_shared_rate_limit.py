"""Three replicas and the chart's embedded Redis enforce one rate limit, not three.

Run: make cluster && uv run --frozen pytest -m cluster e2e/suite/test_shared_rate_limit.py
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.suite.api import Api, service_url
from e2e.suite.conftest import module_namespace
from e2e.suite.script_pods import start_toolbox
from tests.charts.helm import APP_CHART, helm_on_cluster, kind_values_files, values_file
from tests.images import SERVICE_IMAGE, split_image
from tests.kube import delete_namespace, kubectl, pod_ready, pods

pytestmark = pytest.mark.cluster

RELEASE = "moorage"
SERVER = "app.kubernetes.io/instance=moorage,app.kubernetes.io/component=server"
REPLICAS = 3
LIMIT = 20
PATH = "/api/v1/openapi.json"  # rate limited, answered without the database


@pytest.fixture(scope="module")
def namespace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ns = module_namespace(request, "shared-limit")
    repository, tag = split_image(SERVICE_IMAGE)
    values: dict[str, object] = {
        "image": {"repository": repository, "tag": tag},
        "replicaCount": REPLICAS,
        "redis": {"enabled": True},
        # A window far longer than the test: every request below falls into the same one.
        "config": {"rateLimit": {"requests": LIMIT, "windowSeconds": 3600}},
        "resources": {"requests": {"cpu": "20m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
        "tests": {"enabled": False},
    }
    files: list[Path] = [*kind_values_files(), values_file(tmp_path_factory.mktemp("limit"), "limit", values)]
    args = [item for path in files for item in ("-f", str(path))]
    start_toolbox(ns)
    helm_on_cluster(
        "install", RELEASE, str(APP_CHART), "-n", ns, *args, "--wait", "--timeout", "8m", timeout=600
    )
    yield ns
    helm_on_cluster("uninstall", RELEASE, "-n", ns, "--wait", "--timeout", "2m", check=False)
    delete_namespace(ns)


def test_replicas_share_one_limit_through_the_embedded_redis(namespace: str) -> None:
    servers = [p for p in pods(namespace, SERVER) if pod_ready(p)]
    assert len(servers) == REPLICAS, [p["metadata"]["name"] for p in servers]
    api = Api(namespace, service_url(RELEASE, namespace))
    ready = api.request("GET", "/api/v1/health/ready")
    assert ready.status == 200 and ready.body["checks"] == {"database": "ok", "redis": "ok"}, ready

    # One client (the toolbox pod), 3 x LIMIT requests on fresh connections through the Service.
    metrics = [f"http://{p['status']['podIP']}:8000/metrics" for p in servers]
    args = ["python", "/load/burst.py", f"{api.base}{PATH}", str(REPLICAS * LIMIT), "--match", "openapi"]
    for url in metrics:
        args += ["--metrics", url]
    out = kubectl("-n", namespace, "exec", "toolbox", "--", *args, timeout=300)
    result = json.loads(out.strip().splitlines()[-1])
    per_pod = result["pods"]
    print(f"shared limit: statuses {result['statuses']}; per pod {json.dumps(per_pod)}")

    assert result["statuses"] == {"200": LIMIT, "429": 2 * LIMIT}, result["statuses"]
    assert result["sequence"][:LIMIT] == [200] * LIMIT
    # Every replica took part: per process, each would have admitted up to LIMIT on its own.
    for url, counts in per_pod.items():
        assert sum(counts.values()) >= 1, f"{url} served nothing: {per_pod}"
    assert sum(counts.get("200", 0) for counts in per_pod.values()) == LIMIT
