"""The app chart deployed the way Argo CD deploys it, then taken over by helm, under steady load.

Argo CD renders with `helm template` (no `lookup`, no release) and applies with server-side apply in
its own order: PreSync hooks, then the Sync phase wave by wave, each step healthy before the next
(tests/charts/argo.py holds its ordering rules). This module does exactly that with kubectl: a first
sync with the embedded database, three re-syncs (the second changes the pod template, so new pods
start and must read the same secrets), then `helm upgrade --install` of the same release (the objects
adopted) and a `helm upgrade`. Promises checked: SECRET_KEY and the database password never change,
the data and a token issued before the first re-sync survive, no request of the load fails, and no
generated value shows up in a log.

Run: make cluster && uv run --frozen pytest -m cluster e2e/suite/test_gitops.py
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from e2e.suite.api import Api, service_url
from e2e.suite.conftest import Figures, module_namespace
from e2e.suite.load import Load
from e2e.suite.script_pods import start_toolbox
from tests.charts import argo
from tests.charts.helm import (
    APP_CHART,
    helm,
    helm_on_cluster,
    install_release,
    kind_values_files,
    values_file,
)
from tests.images import SERVICE_IMAGE, split_image
from tests.kube import apply, delete_namespace, kubectl, kubectl_json, kubectl_result, wait_for

pytestmark = pytest.mark.cluster

RELEASE = "moorage"
FULLNAME = "moorage"  # the release name contains the chart name
GENERATED = f"{FULLNAME}-generated"
SERVER = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=server"


@dataclass
class GitOps:
    namespace: str
    files: list[Path]
    api: Api
    logs: list[str] = field(default_factory=list)  # every hook Job's log, for the secret check
    sync_logs: list[str] = field(default_factory=list)  # the hook Job logs of the latest sync

    def render(self, **set_values: str) -> list[argo.Manifest]:
        args = [f for path in self.files for f in ("-f", str(path))]
        for key, value in set_values.items():
            args += ["--set-string", f"{key}={value}"]
        out = helm("template", RELEASE, str(APP_CHART), "-n", self.namespace, *args).stdout
        return [d for d in yaml.safe_load_all(out) if d]

    def run(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        return kubectl("-n", self.namespace, *args, stdin=stdin, timeout=timeout)

    def sync(self, manifests: list[argo.Manifest]) -> list[str]:
        """One Argo-CD-style sync; returns the steps it took, as "phase/wave: kind/name ..." lines."""
        taken = []
        self.sync_logs = []
        for step in argo.plan(manifests):
            hooks = [o for o in step.objects if argo.is_hook(o)]
            for hook in hooks:
                if "BeforeHookCreation" in argo.delete_policies(hook):
                    self.run(
                        "delete", f"{hook['kind']}/{hook['metadata']['name']}", "--ignore-not-found", "--wait"
                    )
            doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": step.objects})
            self.run(
                "apply",
                "--server-side",
                "--field-manager=argocd-controller",
                "--force-conflicts",
                "-f",
                "-",
                stdin=doc,
            )
            for obj in step.objects:
                self.wait_healthy(obj)
            for hook in hooks:
                if "HookSucceeded" in argo.delete_policies(hook):
                    self.run(
                        "delete", f"{hook['kind']}/{hook['metadata']['name']}", "--ignore-not-found", "--wait"
                    )
            taken.append(f"{step.phase}/{step.wave}: {' '.join(step.names())}")
        return taken

    def wait_healthy(self, obj: argo.Manifest) -> None:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind in ("Deployment", "StatefulSet"):
            self.run("rollout", "status", f"{kind.lower()}/{name}", "--timeout=300s", timeout=320)
        elif kind == "Job":

            def finished() -> bool:
                status = kubectl_json("-n", self.namespace, "get", "job", name).get("status") or {}
                conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
                if conditions.get("Failed") == "True":
                    raise pytest.fail.Exception(
                        f"Job {name} failed:\n{self.run('logs', f'job/{name}', '--all-containers')}"
                    )
                return conditions.get("Complete") == "True"

            wait_for(f"Job {name} complete", finished, 300, 2)
            log = self.run("logs", f"job/{name}", "--all-containers")
            self.logs.append(log)
            self.sync_logs.append(log)

    def secret(self, name: str) -> dict[str, str]:
        data = kubectl_json("-n", self.namespace, "get", "secret", name)["data"]
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    def server_pods(self) -> set[str]:
        pods = kubectl_json("-n", self.namespace, "get", "pods", "-l", SERVER)["items"]
        return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}

    def adopt_for_helm(self, manifests: list[argo.Manifest]) -> None:
        """What a team does to hand an Argo-CD-managed release to helm: ownership annotations."""
        for obj in manifests:
            if "helm.sh/hook" in argo.annotations_of(obj):
                continue
            self.run(
                "annotate",
                f"{obj['kind']}/{obj['metadata']['name']}",
                f"meta.helm.sh/release-name={RELEASE}",
                f"meta.helm.sh/release-namespace={self.namespace}",
                "--overwrite",
            )

    def helm_upgrade(self, **set_values: str) -> None:
        install_release(RELEASE, APP_CHART, self.namespace, self.files, set_strings=set_values)


@pytest.fixture(scope="module")
def gitops(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitOps]:
    namespace = module_namespace(request, "gitops")
    start_toolbox(namespace)
    repository, tag = split_image(SERVICE_IMAGE)
    values = {
        "image": {"repository": repository, "tag": tag},
        "replicaCount": 2,
        "config": {"rateLimit": {"enabled": False}},  # all load comes from one pod
    }
    files = [*kind_values_files(), values_file(tmp_path_factory.mktemp("gitops"), "gitops", values)]
    yield GitOps(namespace, files, Api(namespace, service_url(FULLNAME, namespace)))
    helm_on_cluster("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "2m", check=False)
    delete_namespace(namespace)


def test_argo_cd_syncs_then_helm_keep_secrets_tokens_and_data(gitops: GitOps, figures: Figures) -> None:
    first = gitops.sync(gitops.render())
    print("first sync:\n  " + "\n  ".join(first))
    generated = gitops.secret(GENERATED)
    assert set(generated) == {"SECRET_KEY", "POSTGRES_PASSWORD"}
    assert any("Secret moorage-generated created" in log for log in gitops.sync_logs), gitops.sync_logs

    api = gitops.api
    api.wait_serving()  # Argo CD's health is the rollout's; the Service routes a moment later
    token = api.register_and_login(f"gitops-{uuid.uuid4().hex[:8]}@moorage.dev")
    item = api.request("POST", "/api/v1/items", {"title": "before the re-syncs"}, token=token)
    assert item.status == 201, item

    load = Load(gitops.namespace, api.base, mix="live,me,items-list,items-create").start()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 30, 90, 2)
    hook_secret_uids = []
    for resync in (1, 2, 3):
        pods_before = gitops.server_pods()
        # The second re-sync is a commit that changes the pod template: new pods must read the same key.
        extra = {"podAnnotations.gitops/resync": str(resync)} if resync == 2 else {}
        gitops.sync(gitops.render(**extra))
        hook_secret_uids.append(
            kubectl_json("-n", gitops.namespace, "get", "secret", FULLNAME)["metadata"]["uid"]
        )
        assert gitops.secret(GENERATED) == generated, f"re-sync {resync} changed the generated Secret"
        assert any("nothing to do" in log for log in gitops.sync_logs), gitops.sync_logs
        if resync == 2:
            assert not pods_before & gitops.server_pods(), "the changed template rolled the pods"
        me = api.request("GET", "/api/v1/users/me", token=token)
        assert me.status == 200, (
            f"a token issued before the re-syncs was refused after re-sync {resync}: {me}"
        )
    argo_result = load.stop()
    figures.add("3 Argo-CD-style re-syncs", argo_result)
    assert len(set(hook_secret_uids)) == 3, (
        "each re-sync re-created the hook Secret (the step that used to regenerate)"
    )

    load = Load(gitops.namespace, api.base, mix="live,me,items-list,items-create").start()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 30, 90, 2)
    gitops.adopt_for_helm(gitops.render())
    gitops.helm_upgrade()  # install over the adopted objects
    gitops.helm_upgrade(
        **{"podAnnotations.gitops/resync": "helm"}
    )  # a real upgrade: pre-upgrade hooks, a rollout
    helm_result = load.stop()
    figures.add("helm install (adopting) + helm upgrade", helm_result)

    assert gitops.secret(GENERATED) == generated, "helm changed the generated Secret"
    assert api.request("GET", "/api/v1/users/me", token=token).status == 200
    kept = api.request("GET", f"/api/v1/items/{item.body['id']}", token=token)
    assert kept.status == 200 and kept.body["title"] == "before the re-syncs", kept
    print(f"re-syncs: {argo_result}; helm: {helm_result}; generated Secret unchanged ({sorted(generated)})")
    assert argo_result.requests > 0 and helm_result.requests > 0
    assert argo_result.failures == 0, argo_result.summary
    assert helm_result.failures == 0, helm_result.summary

    # No generated value in any log: hook Jobs and every pod of the release.
    pods = kubectl_json("-n", gitops.namespace, "get", "pods", "-l", f"app.kubernetes.io/instance={RELEASE}")
    logs = list(gitops.logs)
    for pod in pods["items"]:
        name = pod["metadata"]["name"]
        read = kubectl_result("-n", gitops.namespace, "logs", name, "--all-containers")
        # a pod of the old ReplicaSet may finish terminating between the list and its read
        gone = read.returncode != 0 and "NotFound" in read.stderr
        assert read.returncode == 0 or gone, read.stderr
        logs.append(read.stdout)
    for key, value in generated.items():
        assert not [log for log in logs if value in log], f"{key} appears in a log"


def test_values_of_the_lookup_era_chart_are_kept(request: pytest.FixtureRequest) -> None:
    """Chart versions before the generator kept generated values (via lookup) in the hook Secrets
    <release>-moorage (SECRET_KEY) and <release>-moorage-postgresql (password): an upgrade keeps them."""
    namespace = module_namespace(request, "gitops-old")
    old_key, old_password = uuid.uuid4().hex * 2, uuid.uuid4().hex
    legacy = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
        for name, data in (
            (FULLNAME, {"SECRET_KEY": old_key, "DATABASE_URL": "postgresql://stale"}),
            (f"{FULLNAME}-postgresql", {"password": old_password}),
        )
    ]
    apply(legacy, namespace)
    repository, tag = split_image(SERVICE_IMAGE)
    image = {"image.repository": repository, "image.tag": tag}
    try:
        install_release(RELEASE, APP_CHART, namespace, kind_values_files(), image)
        ops = GitOps(namespace, [], Api(namespace, ""))
        assert ops.secret(GENERATED) == {"SECRET_KEY": old_key, "POSTGRES_PASSWORD": old_password}
        # The database was initialised with that password and the pods log in with it.
        kubectl("-n", namespace, "rollout", "status", f"deploy/{FULLNAME}", "--timeout=120s", timeout=150)
    finally:
        helm_on_cluster("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "2m", check=False)
        delete_namespace(namespace)
