#!/usr/bin/env bash
# `make test`: every test, in order of cost. Installs what it needs first (scripts/install-deps.sh),
# then lint and types; the suites that need no cluster (service on a real PostgreSQL, charts,
# operator units) beside the kind cluster (`make cluster`) and the tests that disrupt it; then
# everything else that runs against the cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
stage() { printf '\n=== %s (%ss)\n' "$1" "$(($(date +%s) - started))"; }

stage "dependencies"
scripts/install-deps.sh
./cluster/tools.sh >/dev/null  # helm and kind, pinned, from their Go modules
export PATH="$HOME/.cache/moorage/bin:$PATH"
# A skipped test fails the run: nothing here may pass by not running.
export MOORAGE_NO_SKIP=1
# On the hermetic path e2e/suite/test_flux.py needs Flux's controllers built from their Go modules
# (about 30 min cold, cached after): start that now, so a cold run overlaps it with what comes first;
# the test's fixture waits for the same build (it is locked), warm it costs nothing.
if [[ $(bash -c 'source cluster/lib.sh && hermetic_path') == 1 ]]; then
  mkdir -p "$HOME/.cache/moorage/logs"
  ./cluster/components.sh helm-controller source-controller >"$HOME/.cache/moorage/logs/build-flux.log" 2>&1 &
fi

stage "lint and types"
uv run --frozen ruff check .
uv run --frozen ruff format --check .
uv run --frozen mypy

# Pytest runs started in the background, each with its own log: `run_bg NAME ARGS...`, then
# `wait_bg NAME...` prints each log in turn and fails when any of them failed.
declare -A bg_pid bg_log
run_bg() {
  local name=$1
  shift
  bg_log[$name]=$(mktemp)
  uv run --frozen pytest "$@" >"${bg_log[$name]}" 2>&1 &
  bg_pid[$name]=$!
}
wait_bg() {
  local name rc failed=0
  for name in "$@"; do
    rc=0
    wait "${bg_pid[$name]}" || rc=$?
    stage "$name (rc=$rc)"
    cat "${bg_log[$name]}"
    rm -f "${bg_log[$name]}"
    if [ "$rc" -ne 0 ]; then failed=1; fi
  done
  return "$failed"
}

stage "service, charts and operator without a cluster, beside the cluster's own tests"
# The tests that need no cluster never touch it, so they run while the cluster is made, has a worker
# drained and then stopped (test_nodes.py), and is re-created from the warm cache (the last test of
# e2e/test_cluster.py): those disturb every workload on it, so nothing else runs on the cluster
# meanwhile, and the re-create hands the next stage a fresh cluster.
run_bg "service, charts and operator without a cluster" tests -m "not cluster"
cluster_rc=0
{
  stage "kind cluster" && ./cluster/up.sh &&
    stage "drain and node loss" && uv run --frozen pytest -m cluster e2e/suite/test_nodes.py &&
    stage "the cluster itself: warm delete + re-create" &&
    uv run --frozen pytest -s -m cluster e2e/test_cluster.py::test_recreating_the_cluster_warm
} || cluster_rc=$?
wait_bg "service, charts and operator without a cluster"
if [ "$cluster_rc" -ne 0 ]; then exit 1; fi

stage "cluster, charts, operator and e2e on kind: three pytest processes"
# Most of these tests wait (grace periods, rollouts, autoscaling), each in namespaces of its own, so
# three pytest processes share the cluster, split by file into about equal run times.
on_cluster=(-m cluster --durations=10)
run_bg "tests/ on the cluster" "${on_cluster[@]}" tests
run_bg "e2e: Argo-CD-style, operator, shared limit, the cluster's checks" "${on_cluster[@]}" \
  e2e/suite/test_gitops.py e2e/suite/test_operator.py e2e/suite/test_shared_rate_limit.py e2e/test_cluster.py \
  --deselect e2e/test_cluster.py::test_recreating_the_cluster_warm
run_bg "e2e: helm, Flux, ingress, NetworkPolicy, examples, bad input" "${on_cluster[@]}" e2e/suite \
  --ignore=e2e/suite/test_gitops.py --ignore=e2e/suite/test_operator.py \
  --ignore=e2e/suite/test_shared_rate_limit.py --ignore=e2e/suite/test_nodes.py
wait_bg "tests/ on the cluster" "e2e: Argo-CD-style, operator, shared limit, the cluster's checks" \
  "e2e: helm, Flux, ingress, NetworkPolicy, examples, bad input"

stage "done"
