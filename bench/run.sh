#!/usr/bin/env bash
# `make bench`: prints figures and ratios to a baseline measured in the same run; asserts nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
echo "=== service: bare FastAPI vs moorage vs moorage traced"
uv run --frozen python -m bench.service_bench "$@"
echo "=== operator: 50 AppInstances on kind (make cluster first)"
./cluster/tools.sh >/dev/null
export PATH="$HOME/.cache/moorage/bin:$PATH"
uv run --frozen --all-extras python bench/operator/bench.py --count "${MOORAGE_BENCH_INSTANCES:-50}"
