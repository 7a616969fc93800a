#!/usr/bin/env bash
# `make test`: every test, in order of cost. Installs what it needs first (scripts/install-deps.sh),
# then lint and types, the suites that need no cluster (service on a real PostgreSQL, charts,
# operator units), then the kind cluster (`make cluster`) and everything that runs against it.
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

stage "service, charts and operator without a cluster"
uv run --frozen pytest tests -m "not cluster"

stage "kind cluster"
./cluster/up.sh

stage "cluster, charts, operator and e2e on kind"
# Most of these tests wait (grace periods, rollouts, autoscaling), each in namespaces of its own, so
# two pytest processes share the cluster: the tests/ cluster tests with the Argo-CD-style e2e, and
# the rest of the e2e suite. Drain/node loss and e2e/test_cluster.py (it re-creates the cluster) run
# alone afterwards.
e2e_log=$(mktemp)
uv run --frozen pytest -m cluster --durations=15 e2e --ignore=e2e/suite/test_gitops.py \
  --ignore=e2e/suite/test_nodes.py --ignore=e2e/test_cluster.py >"$e2e_log" 2>&1 &
e2e_pid=$!
main_rc=0
uv run --frozen pytest -m cluster --durations=15 tests e2e/suite/test_gitops.py || main_rc=$?
e2e_rc=0
wait "$e2e_pid" || e2e_rc=$?
stage "e2e beside them: helm, operator, examples, ingress, NetworkPolicy, shared limit (rc=$e2e_rc)"
cat "$e2e_log"
rm -f "$e2e_log"
if [ "$main_rc" -ne 0 ] || [ "$e2e_rc" -ne 0 ]; then exit 1; fi

stage "drain and node loss (alone: it drains, then stops a worker)"
uv run --frozen pytest -m cluster e2e/suite/test_nodes.py

stage "the cluster itself (last: re-creates it)"
uv run --frozen pytest -m cluster e2e/test_cluster.py

stage "done"
