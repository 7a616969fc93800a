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
uv run --frozen pytest -m cluster tests e2e

stage "done"
