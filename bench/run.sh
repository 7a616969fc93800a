#!/usr/bin/env bash
# `make bench`: prints figures and ratios to a baseline measured in the same run; asserts nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
echo "=== service: bare FastAPI vs moorage vs moorage traced"
uv run --frozen python -m bench.service_bench "$@"
if [[ -f bench/operator/run.sh ]]; then
  echo "=== operator: 50 AppInstances on kind"
  bench/operator/run.sh
fi
