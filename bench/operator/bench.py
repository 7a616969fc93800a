"""Operator benchmark on the kind cluster: one AppInstance alone (the same-run baseline), then N at once.

Prints: seconds from apply to Ready for the single instance and for all N, the migration Jobs'
durations, and the operator's peak RSS (VmHWM of its process). The operator runs as a subprocess
(``python -m moorage_operator``) watching only the benchmark's namespace.

    uv run --frozen --extra operator python bench/operator/bench.py [--count 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.kube import CONTEXT, apply, kubectl  # noqa: E402 - the test helpers are the one place that knows the cluster
from tests.operator.cluster import (  # noqa: E402
    cluster_available,
    database_manifests,
    install_crd,
    instance_manifest,
    write_kubeconfig,
)

BENCH_CONFIG = [
    {"name": name, "value": value}
    for name, value in {"ENVIRONMENT": "staging", "DB_POOL_SIZE": "1", "DB_MAX_OVERFLOW": "2"}.items()
]


def instances(namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(kubectl("-n", namespace, "get", "appinstances", "-o", "json"))[
        "items"
    ]
    return items


def is_ready(obj: dict[str, Any]) -> bool:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def apply_and_wait(namespace: str, names: list[str], timeout: float) -> dict[str, float]:
    """Apply the instances in one request; return seconds from apply to Ready for each."""
    docs = [
        instance_manifest(namespace, name, config=BENCH_CONFIG, migrations={"timeoutSeconds": 1800})
        for name in names
    ]
    start = time.monotonic()
    apply(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": docs}))
    ready: dict[str, float] = {}
    while len(ready) < len(names):
        if time.monotonic() - start > timeout:
            missing = sorted(set(names) - set(ready))
            print(
                f"  timed out after {timeout:.0f} s: {len(ready)} of {len(names)} Ready;",
                f"not Ready: {missing[:10]}",
            )
            return ready
        for obj in instances(namespace):
            name = obj["metadata"]["name"]
            if name in names and name not in ready and is_ready(obj):
                ready[name] = time.monotonic() - start
        time.sleep(1.0)
    return ready


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def phases(namespace: str) -> dict[str, list[float]]:
    """Per instance, from the cluster's own timestamps (1 s resolution): where the time went.

    reaction: AppInstance created -> its migration Job created (the operator's share);
    job: Job started -> Job complete (the migration itself, pod start included);
    gate: Job complete -> Deployment created (the operator noticing and rolling out).
    """

    def items(kind: str) -> dict[str, dict[str, Any]]:
        listed = json.loads(kubectl("-n", namespace, "get", kind, "-o", "json"))["items"]
        return {
            (o["metadata"].get("labels") or {}).get("apps.moorage.dev/instance", o["metadata"]["name"]): o
            for o in listed
        }

    instances_, jobs, deployments = items("appinstances"), items("jobs"), items("deployments")
    out: dict[str, list[float]] = {"reaction": [], "job": [], "gate": []}
    for name, obj in instances_.items():
        job, dep = jobs.get(name), deployments.get(name)
        if job is None:
            continue
        created = _time(obj["metadata"]["creationTimestamp"])
        out["reaction"].append((_time(job["metadata"]["creationTimestamp"]) - created).total_seconds())
        st = job.get("status") or {}
        if st.get("startTime") and st.get("completionTime"):
            out["job"].append((_time(st["completionTime"]) - _time(st["startTime"])).total_seconds())
            if dep is not None:
                gate = _time(dep["metadata"]["creationTimestamp"]) - _time(st["completionTime"])
                out["gate"].append(gate.total_seconds())
    return out


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"median {statistics.median(values):.1f} s, max {max(values):.1f} s (n={len(values)})"


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the namespace for inspection")
    args = parser.parse_args()
    if not cluster_available():
        raise SystemExit(f"the kind cluster ({CONTEXT}) is not reachable: run make cluster")

    workdir = Path(tempfile.mkdtemp(prefix="moorage-bench-"))
    kubeconfig = workdir / "kubeconfig"
    write_kubeconfig(kubeconfig)
    install_crd()
    namespace = f"moorage-bench-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", namespace)
    apply(database_manifests(namespace))
    kubectl("-n", namespace, "rollout", "status", "deployment/example-db", "--timeout=180s", timeout=200)

    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "MOORAGE_WATCH_NAMESPACES": namespace,
        "MOORAGE_LIVENESS": "http://127.0.0.1:0/healthz",
    }
    log = (workdir / "operator.log").open("w")
    operator = subprocess.Popen(
        [sys.executable, "-m", "moorage_operator", "--standalone"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(3)
        single = apply_and_wait(namespace, ["solo"], args.timeout)["solo"]
        print(f"  single instance: apply -> Ready {single:.1f} s (measured first, alone)", flush=True)
        names = [f"bench-{i:03d}" for i in range(args.count)]
        ready = apply_and_wait(namespace, names, args.timeout)
        rss = peak_rss_mib(operator.pid)
        spent = phases(namespace)
        every = max(ready.values()) if len(ready) == len(names) else float("nan")
        print(f"operator benchmark ({args.count} AppInstances, 1 replica each, kind context {CONTEXT})")
        print(f"  single instance: apply -> Ready          {single:7.1f} s   (target <= 30 s)")
        print(f"  {args.count} instances: apply -> all Ready      {every:7.1f} s   (target <= 180 s)")
        if ready:
            print(
                f"  {args.count} instances: median apply -> Ready  ",
                f"{statistics.median(ready.values()):7.1f} s",
            )
        print(f"  ratio all-Ready / single (same run)      {every / single:7.2f}")
        print(f"  migration Job run (start -> complete):   {summary(spent['job'])}")
        print(f"  operator reaction (apply -> Job):        {summary(spent['reaction'])}")
        print(f"  operator gate (Job done -> Deployment):  {summary(spent['gate'])}")
        print(f"  load average (1/5/15 min) at the end:    {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
        print(f"  operator peak RSS                        {rss:7.1f} MiB (target <= 150 MB)")
        print(f"  operator log: {workdir / 'operator.log'}")
    finally:
        if not args.keep:
            kubectl(
                "-n", namespace, "delete", "appinstances", "--all", "--timeout=300s", check=False, timeout=320
            )
        operator.terminate()
        operator.wait(timeout=60)
        if not args.keep:
            kubectl("delete", "namespace", namespace, "--wait=false", check=False)


if __name__ == "__main__":
    main()
