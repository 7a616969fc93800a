"""Generated values are never rendered; the generator Job, its Role and the order Helm and Argo CD give them.

The cluster side (the values survive re-syncs and upgrades) is e2e/suite/test_gitops.py.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.charts import argo
from tests.charts.helm import APP_CHART, Manifest, container, find, helm, render

FULLNAME = "demo-moorage"
GENERATOR = f"{FULLNAME}-secret-generator"
GENERATED = f"{FULLNAME}-generated"
CI = APP_CHART / "ci"


def env_of(manifests: list[Manifest], kind: str, name: str, container_name: str) -> list[dict[str, Any]]:
    spec = find(manifests, kind, name)["spec"]["template"]["spec"]
    return list(container(spec, container_name)["env"])


def test_two_renders_are_identical() -> None:
    """What Argo CD's repo server sees on every refresh: no random value, so no drift and no new key."""
    args = ["template", "demo", str(APP_CHART), "--namespace", "moorage"]
    first, second = helm(*args).stdout, helm(*args).stdout
    assert first == second
    hermetic = [*args, "-f", str(CI / "kind-values.yaml"), "-f", str(CI / "kind-hermetic-values.yaml")]
    assert helm(*hermetic).stdout == helm(*hermetic).stdout


def test_no_secret_holds_a_generated_value() -> None:
    manifests = render()
    secrets = [m for m in manifests if m["kind"] == "Secret"]
    assert [s["metadata"]["name"] for s in secrets] == [FULLNAME]
    assert not secrets[0].get("data"), "nothing given, nothing rendered"
    given = render(
        set_values={
            "secret.secretKey": "k" * 40,
            "secret.secretKeyPrevious": "p" * 40,
            "postgresql.auth.password": "given-password",
        }
    )
    data = {k: base64.b64decode(v).decode() for k, v in find(given, "Secret", FULLNAME)["data"].items()}
    assert data == {
        "SECRET_KEY": "k" * 40,
        "SECRET_KEY_PREVIOUS": "p" * 40,
        "POSTGRES_PASSWORD": "given-password",
    }
    assert not [m for m in given if m["metadata"]["name"].startswith(GENERATOR)], "nothing to generate"


def test_generator_job_and_its_narrow_role() -> None:
    manifests = render()
    job = find(manifests, "Job", GENERATOR)
    spec = job["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == GENERATOR
    assert spec["automountServiceAccountToken"] is True
    generate = container(spec, "generate")
    assert generate["command"] == ["python", "-c"]
    assert "def ensure" in generate["args"][0]
    env = {e["name"]: e.get("value") for e in generate["env"]}
    assert env["SECRET_NAME"] == GENERATED
    assert env["GENERATE"] == "SECRET_KEY=64,POSTGRES_PASSWORD=32"
    # An older chart version generated these with lookup: the Job keeps them.
    assert env["SEED"] == f"SECRET_KEY={FULLNAME}/SECRET_KEY,POSTGRES_PASSWORD={FULLNAME}-postgresql/password"
    assert "app.kubernetes.io/instance" not in env["SECRET_LABELS"]  # Argo CD label tracking would prune it
    assert generate["securityContext"]["readOnlyRootFilesystem"] is True

    rules = find(manifests, "Role", GENERATOR)["rules"]
    assert rules == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [GENERATED],
            "verbs": ["get", "patch"],
        },
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [FULLNAME, f"{FULLNAME}-postgresql"],
            "verbs": ["get"],
        },
    ]
    binding = find(manifests, "RoleBinding", GENERATOR)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": GENERATOR, "namespace": "moorage"}]


def test_only_what_is_missing_is_generated() -> None:
    key_given = render(set_values={"secret.secretKey": "k" * 40})
    env = {e["name"]: e.get("value") for e in env_of(key_given, "Job", GENERATOR, "generate")}
    assert env["GENERATE"] == "POSTGRES_PASSWORD=32"
    external = render(values_files=[CI / "production-values.yaml"])
    assert not [m for m in external if m["metadata"]["name"] == GENERATOR]
    existing = render(values_files=[CI / "existing-secret-values.yaml"])
    assert not [m for m in existing if m["metadata"]["name"] == GENERATOR]
    generated_key = render(
        set_values={"postgresql.enabled": "false", "externalDatabase.url": "postgresql://u:p@db/x"}
    )
    env = {e["name"]: e.get("value") for e in env_of(generated_key, "Job", GENERATOR, "generate")}
    assert env["GENERATE"] == "SECRET_KEY=64"


def test_pods_read_generated_values_and_compose_the_url() -> None:
    manifests = render()
    for kind, name, cname in (
        ("Deployment", FULLNAME, "moorage"),
        ("Deployment", FULLNAME, "migrate"),
        ("Job", f"{FULLNAME}-migrate", "migrate"),
    ):
        env = env_of(manifests, kind, name, cname)
        names = [e["name"] for e in env]
        by_name = {e["name"]: e for e in env}
        assert by_name["SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": GENERATED, "key": "SECRET_KEY"}
        assert by_name["MOORAGE_DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": GENERATED,
            "key": "POSTGRES_PASSWORD",
        }
        # $(VAR) expansion only sees variables defined earlier in the list.
        assert names.index("MOORAGE_DATABASE_PASSWORD") < names.index("DATABASE_URL")
        assert by_name["DATABASE_URL"]["value"] == (
            f"postgresql://moorage:$(MOORAGE_DATABASE_PASSWORD)@{FULLNAME}-postgresql.moorage.svc:5432/moorage"
        )
    database = env_of(manifests, "StatefulSet", f"{FULLNAME}-postgresql", "postgresql")
    password = next(e for e in database if e["name"] == "POSTGRES_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {"name": GENERATED, "key": "POSTGRES_PASSWORD"}


def test_rotation_values_reach_the_pods() -> None:
    manifests = render(set_values={"secret.secretKey": "n" * 40, "secret.secretKeyPrevious": "o" * 40})
    env = {e["name"]: e for e in env_of(manifests, "Deployment", FULLNAME, "moorage")}
    assert env["SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": FULLNAME, "key": "SECRET_KEY"}
    assert env["SECRET_KEY_PREVIOUS"]["valueFrom"]["secretKeyRef"] == {
        "name": FULLNAME,
        "key": "SECRET_KEY_PREVIOUS",
        "optional": True,
    }


def test_helm_hook_order_generator_then_secret_then_migration() -> None:
    manifests = render()
    weights = {
        f"{m['kind']}/{m['metadata']['name']}": int(m["metadata"]["annotations"]["helm.sh/hook-weight"])
        for m in manifests
        if "helm.sh/hook-weight" in (m["metadata"].get("annotations") or {})
    }
    assert weights[f"Role/{GENERATOR}"] < weights[f"Job/{GENERATOR}"] < weights[f"Secret/{FULLNAME}"]
    assert weights[f"Secret/{FULLNAME}"] < weights[f"Job/{FULLNAME}-migrate"]


def test_argo_cd_first_sync_order_with_the_embedded_database() -> None:
    steps = argo.plan(render())
    order = [(s.phase, s.wave, s.names()) for s in steps]
    flat = [(phase, name) for phase, _, names in order for name in names]
    position = {name: i for i, (_, name) in enumerate(flat)}
    phase_of = dict((name, phase) for phase, name in flat)
    assert phase_of[f"Job/{GENERATOR}"] == "PreSync"
    assert phase_of[f"Secret/{FULLNAME}"] == "PreSync"
    assert position[f"Role/{GENERATOR}"] < position[f"Job/{GENERATOR}"] < position[f"Secret/{FULLNAME}"]
    # The migration waits for the database: a Sync hook in the wave after it, before the Deployment.
    assert phase_of[f"Job/{FULLNAME}-migrate"] == "Sync"
    waves = {name: wave for _, wave, names in order for name in names}
    assert waves[f"StatefulSet/{FULLNAME}-postgresql"] < waves[f"Job/{FULLNAME}-migrate"]
    assert waves[f"Job/{FULLNAME}-migrate"] < waves[f"Deployment/{FULLNAME}"]
    assert f"Pod/{FULLNAME}-test-ready" not in position  # Argo CD skips helm test hooks


def test_argo_cd_external_database_migrates_in_presync() -> None:
    steps = argo.plan(render(values_files=[CI / "production-values.yaml"]))
    phase_of = {name: s.phase for s in steps for name in s.names()}
    assert phase_of[f"Job/{FULLNAME}-migrate"] == "PreSync"
    assert phase_of[f"Deployment/{FULLNAME}"] == "Sync"
