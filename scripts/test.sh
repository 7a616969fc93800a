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

stage "lint and types"
uv run --frozen ruff check .
uv run --frozen ruff format --check .
uv run --frozen mypy

stage "service, charts and operator without a cluster"
uv run --frozen pytest tests -m "not cluster"

stage "kind cluster"
./cluster/up.sh

stage "cluster, charts, operator and e2e on kind"
# The ingress/NetworkPolicy scenarios mostly wait: they run beside the rest, in their own namespaces.
# e2e/test_cluster.py re-creates the cluster, so it comes last.
edge_log=$(mktemp)
uv run --frozen pytest -m cluster e2e/suite/test_edge.py >"$edge_log" 2>&1 &
edge_pid=$!
main_rc=0
uv run --frozen pytest -m cluster --durations=25 tests e2e --ignore=e2e/suite/test_edge.py \
  --ignore=e2e/suite/test_nodes.py --ignore=e2e/test_cluster.py || main_rc=$?
edge_rc=0
wait "$edge_pid" || edge_rc=$?
stage "e2e beside the rest: ingress, route and NetworkPolicy (rc=$edge_rc)"
cat "$edge_log"
rm -f "$edge_log"
if [ "$main_rc" -ne 0 ] || [ "$edge_rc" -ne 0 ]; then exit 1; fi

stage "drain and node loss (alone: it drains, then stops a worker)"
uv run --frozen pytest -m cluster e2e/suite/test_nodes.py

stage "the cluster itself (last: re-creates it)"
uv run --frozen pytest -m cluster e2e/test_cluster.py

stage "done"
