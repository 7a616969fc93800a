"""The app chart released by Flux's real helm-controller, from a real source-controller, under load.

cluster/flux.sh puts source-controller and helm-controller (versions in cluster/versions.env) into
namespace flux-system: built from their Go modules on the hermetic path, cached after the first run.
The chart comes from a HelmRepository that this module serves inside the cluster (`helm package` +
`helm repo index`, a python http.server pod): source-controller fetches the index, downloads and
packages the chart into its artifact store, and helm-controller installs that artifact with the Helm
SDK, hooks included, exactly as on a Flux cluster.

A HelmRelease with the embedded database must be Ready on its first reconcile (one install, no
remediation). Then three changes of its values, each a real `helm upgrade` (the Helm history grows
by one, pre-upgrade hooks run, the pods roll) under load: SECRET_KEY and the database password keep
their digests, the data and a token issued before the first upgrade survive, no request fails.
Deleting the HelmRelease makes helm-controller uninstall the release.

Run: make cluster && uv run --frozen pytest -m cluster e2e/suite/test_flux.py
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.suite.api import Api, service_url
from e2e.suite.conftest import Figures, module_namespace
from e2e.suite.load import Load
from e2e.suite.script_pods import script_pod, start_toolbox, try_connect, wait_pod_running
from tests.charts.helm import APP_CHART, ROOT, helm, helm_on_cluster, kind_values_files
from tests.images import SERVICE_IMAGE, split_image
from tests.kube import CLUSTER_NAME, apply, delete_namespace, kubectl, kubectl_json, kubectl_result, wait_for

pytestmark = pytest.mark.cluster

RELEASE = "moorage"
FULLNAME = "moorage"  # the release name contains the chart name
GENERATED = f"{FULLNAME}-generated"
SERVER = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=server"
HELM_RELEASE = "helmrelease.helm.toolkit.fluxcd.io"
REPO = "chart-repo"
# cold on the hermetic path: two Go builds of 15-17 min each on this 2-core VM (cluster/README.md)
FLUX_SETUP_TIMEOUT = float(os.environ.get("MOORAGE_FLUX_SETUP_TIMEOUT", "3600"))


def flux_controllers() -> None:
    """cluster/flux.sh: builds (once), loads and starts source-controller and helm-controller."""
    env = {**os.environ, "MOORAGE_CLUSTER_NAME": CLUSTER_NAME}
    proc = subprocess.run(
        [str(ROOT / "cluster" / "flux.sh")],
        capture_output=True,
        text=True,
        timeout=FLUX_SETUP_TIMEOUT,
        check=False,
        env=env,
    )
    print(proc.stderr[-3000:])
    assert proc.returncode == 0, f"cluster/flux.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}"


def chart_repository(namespace: str, workdir: Path) -> str:
    """An HTTP Helm repository serving the packaged app chart in ``namespace``; returns its URL."""
    url = f"http://{REPO}.{namespace}.svc.cluster.local."
    helm("package", str(APP_CHART), "-d", str(workdir))
    helm("repo", "index", str(workdir), "--url", url)
    (archive,) = workdir.glob("moorage-*.tgz")
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": REPO},
        "data": {"index.yaml": (workdir / "index.yaml").read_text()},
        "binaryData": {archive.name: base64.b64encode(archive.read_bytes()).decode()},
    }
    pod = script_pod(REPO, ["-m", "http.server", "8080", "--directory", "/repo"], {"app": REPO})
    pod["spec"]["containers"][0]["volumeMounts"].append({"name": "repo", "mountPath": "/repo"})
    pod["spec"]["volumes"].append({"name": "repo", "configMap": {"name": REPO}})
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": REPO},
        "spec": {"selector": {"app": REPO}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    apply([configmap, pod, service], namespace)
    wait_pod_running(namespace, REPO)
    return url


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


@dataclass
class Flux:
    namespace: str
    api: Api

    def helm_release(self) -> dict[str, Any]:
        found: dict[str, Any] = kubectl_json("-n", self.namespace, "get", HELM_RELEASE, RELEASE)
        return found

    def ready(self) -> dict[str, Any] | None:
        """The HelmRelease once helm-controller reports the current generation Ready; fails on a
        Ready=False that is final (Stalled)."""
        hr = self.helm_release()
        status = hr.get("status") or {}
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        if "Stalled" in conditions and conditions["Stalled"]["status"] == "True":
            pytest.fail(f"HelmRelease stalled: {conditions['Stalled']['message']}")
        if status.get("observedGeneration") != hr["metadata"]["generation"]:
            return None
        ready = conditions.get("Ready")
        return hr if ready is not None and ready["status"] == "True" else None

    def wait_ready(self, what: str) -> dict[str, Any]:
        found: dict[str, Any] = wait_for(what, self.ready, 900, 3, describe=self.describe)
        return found

    def describe(self) -> str:
        hr = kubectl_result("-n", self.namespace, "get", HELM_RELEASE, RELEASE, "-o", "yaml").stdout
        charts = kubectl_result(
            "-n", self.namespace, "get", "helmcharts,helmrepositories", "-o", "yaml"
        ).stdout
        logs = kubectl_result("-n", "flux-system", "logs", "deploy/helm-controller", "--tail=40").stdout
        return f"{hr}\n{charts}\nhelm-controller:\n{logs}"

    def set_values(self, values: dict[str, Any]) -> None:
        kubectl(
            "-n",
            self.namespace,
            "patch",
            HELM_RELEASE,
            RELEASE,
            "--type=merge",
            "-p",
            yaml.safe_dump({"spec": {"values": values}}),
        )

    def helm_history(self) -> list[dict[str, Any]]:
        out = helm_on_cluster("history", RELEASE, "-n", self.namespace, "-o", "json").stdout
        history: list[dict[str, Any]] = yaml.safe_load(out)
        return history

    def secret_digests(self, name: str) -> dict[str, str]:
        data = kubectl_json("-n", self.namespace, "get", "secret", name)["data"]
        return {k: digest(base64.b64decode(v).decode()) for k, v in data.items()}

    def server_pods(self) -> set[str]:
        pods = kubectl_json("-n", self.namespace, "get", "pods", "-l", SERVER)["items"]
        return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}


@pytest.fixture(scope="module")
def flux(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flux]:
    flux_controllers()
    namespace = module_namespace(request, "flux")
    start_toolbox(namespace)
    url = chart_repository(namespace, tmp_path_factory.mktemp("flux-repo"))
    repository, tag = split_image(SERVICE_IMAGE)
    test_values = {
        "image": {"repository": repository, "tag": tag},
        "replicaCount": 2,
        "config": {"rateLimit": {"enabled": False}},  # all load comes from one pod
    }
    # The values files a CLI install passes with -f, in order, as the HelmRelease's valuesFrom.
    files = {path.name: path.read_text() for path in kind_values_files()}
    files["test-values.yaml"] = yaml.safe_dump(test_values)
    values = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "moorage-values"}, "data": files}
    source = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "moorage"},
        "spec": {"url": url, "interval": "10m", "timeout": "60s"},
    }
    helm_release = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": RELEASE},
        "spec": {
            "interval": "10m",
            "releaseName": RELEASE,
            "timeout": "10m",
            "chart": {
                "spec": {
                    "chart": "moorage",
                    "version": "0.1.0",
                    "sourceRef": {"kind": "HelmRepository", "name": "moorage"},
                    "interval": "10m",
                }
            },
            # no retries: the first install must succeed as it is
            "install": {"remediation": {"retries": 0}},
            "upgrade": {"remediation": {"retries": 0}},
            "valuesFrom": [{"kind": "ConfigMap", "name": "moorage-values", "valuesKey": k} for k in files],
        },
    }
    apply([values, source, helm_release], namespace)
    yield Flux(namespace, Api(namespace, service_url(FULLNAME, namespace)))
    kubectl(
        "-n", namespace, "delete", HELM_RELEASE, RELEASE, "--ignore-not-found", "--timeout=180s", check=False
    )
    helm_on_cluster("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "2m", check=False)
    delete_namespace(namespace)


def test_flux_helm_controller_installs_then_upgrades_keeping_secrets_tokens_and_data(
    flux: Flux, figures: Figures
) -> None:
    hr = flux.wait_ready("the HelmRelease Ready after its first reconcile")
    status = hr["status"]
    # First reconcile: one install, no failure, no remediation.
    assert not status.get("installFailures"), status
    assert [(s["version"], s["status"]) for s in status["history"]] == [(1, "deployed")], status["history"]
    assert status["lastAttemptedReleaseAction"] == "install", status
    chart = kubectl_json("-n", flux.namespace, "get", "helmchart", f"{flux.namespace}-{RELEASE}")
    assert chart["status"]["artifact"]["url"].startswith(
        "http://source-controller.flux-system.svc.cluster.local./"
    ), chart["status"]
    print(f"installed from source-controller's artifact {chart['status']['artifact']['url']}")
    history = flux.helm_history()
    assert [(h["revision"], h["status"]) for h in history] == [(1, "deployed")], history
    # The pre-install hooks ran under helm-controller: the generator created the Secret.
    generated = flux.secret_digests(GENERATED)
    assert set(generated) == {"SECRET_KEY", "POSTGRES_PASSWORD"}

    api = flux.api
    api.wait_serving()
    token = api.register_and_login(f"flux-{uuid.uuid4().hex[:8]}@moorage.dev")
    item = api.request("POST", "/api/v1/items", {"title": "before the upgrades"}, token=token)
    assert item.status == 201, item

    load = Load(flux.namespace, api.base, mix="live,me,items-list,items-create").start()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 30, 90, 2)
    for upgrade in (1, 2, 3):
        pods_before = flux.server_pods()
        # a harmless change in Git: the pod template changes, so helm upgrades and the pods roll
        flux.set_values({"podAnnotations": {"flux/resync": str(upgrade)}})
        hr = flux.wait_ready(f"the HelmRelease Ready after upgrade {upgrade}")
        assert hr["status"]["lastAttemptedReleaseAction"] == "upgrade", hr["status"]
        assert hr["status"]["history"][0]["version"] == upgrade + 1, hr["status"]["history"]
        history = flux.helm_history()
        assert len(history) == upgrade + 1, f"upgrade {upgrade}: helm history {history}"
        assert history[-1]["status"] == "deployed" and "Upgrade complete" in history[-1]["description"]
        assert not pods_before & flux.server_pods(), f"upgrade {upgrade} did not roll the pods"
        assert flux.secret_digests(GENERATED) == generated, f"upgrade {upgrade} changed the generated Secret"
        me = api.request("GET", "/api/v1/users/me", token=token)
        assert me.status == 200, (
            f"a token issued before the upgrades was refused after upgrade {upgrade}: {me}"
        )
    result = load.stop()
    figures.add("helm-controller: 3 upgrades", result)

    kept = api.request("GET", f"/api/v1/items/{item.body['id']}", token=token)
    assert kept.status == 200 and kept.body["title"] == "before the upgrades", kept
    revisions = [h["revision"] for h in flux.helm_history()]
    print(f"helm-controller upgrades: {result}; helm revisions {revisions}; generated Secret unchanged")
    assert revisions == [1, 2, 3, 4]
    assert result.requests > 0
    assert result.failures == 0, result.summary

    # Deleting the HelmRelease: helm-controller uninstalls the release, then lets the object go.
    kubectl("-n", flux.namespace, "delete", HELM_RELEASE, RELEASE, "--timeout=300s", timeout=320)
    releases = helm_on_cluster("list", "-n", flux.namespace, "-a", "-q").stdout.split()
    assert RELEASE not in releases, releases
    wait_for(
        "the release's Deployment gone",
        lambda: kubectl_result("-n", flux.namespace, "get", "deploy", FULLNAME).returncode != 0,
        120,
        2,
    )


def test_the_readme_flux_example_is_valid_for_the_controllers_api(flux: Flux) -> None:
    """charts/moorage/README.md's GitRepository and HelmRelease pass the installed CRDs' schemas
    (server-side dry run, unknown fields refused), in this module's namespace."""
    readme = (APP_CHART / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```yaml\n")[1:]]
    docs = [d for b in blocks for d in yaml.safe_load_all(b) if d and "fluxcd.io" in d["apiVersion"]]
    assert sorted(d["kind"] for d in docs) == ["GitRepository", "HelmRelease"], docs
    for doc in docs:
        doc["metadata"]["namespace"] = flux.namespace
        doc["metadata"]["name"] = f"readme-{doc['metadata']['name']}"
        ref = doc.get("spec", {}).get("chart", {}).get("spec", {}).get("sourceRef")
        if ref:
            ref.update(name=f"readme-{ref['name']}", namespace=flux.namespace)
    text = "\n---\n".join(yaml.safe_dump(d) for d in docs)
    kubectl("apply", "--dry-run=server", "--validate=strict", "-f", "-", stdin=text)


def test_flux_system_admits_only_its_own_pods_except_metrics(flux: Flux) -> None:
    """cluster/manifests/flux.yaml's NetworkPolicy: the artifact port is closed to other namespaces
    (helm-controller, inside flux-system, fetched the chart from it above), metrics are open."""
    pods = kubectl_json("-n", "flux-system", "get", "pods", "-l", "app=source-controller")["items"]
    address = pods[0]["status"]["podIP"]
    assert try_connect(flux.namespace, "toolbox", address, 9090)["outcome"] == "timeout"
    assert try_connect(flux.namespace, "toolbox", address, 8080)["outcome"] == "connected"
