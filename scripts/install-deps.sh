#!/usr/bin/env bash
# Installs what the service, its tests and benchmarks need on a fresh Debian machine (the suite
# starts its own PostgreSQL and Redis servers from these packages), then syncs the Python
# environment from uv.lock. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

UV_VERSION=0.13.9
# lua5.1: the operator tests run the Argo CD health check under the Lua dialect Argo CD embeds.
# redis-server: the shared rate-limit tests run a real Redis.
DEBIAN_PACKAGES=(postgresql redis-server wrk curl ca-certificates git make lua5.1)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a cluster on install; the tests and `make dev` run their own servers.
  if command -v pg_lsclusters >/dev/null && [[ -n "$(pg_lsclusters -h 2>/dev/null)" ]]; then
    systemctl disable --now postgresql >/dev/null 2>&1 || true
  fi
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

if ! command -v uv >/dev/null || [[ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]]; then
  echo "install-deps: installing uv $UV_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

uv sync --frozen --all-extras --quiet
echo "install-deps: ok ($(uv --version), $(ls -d /usr/lib/postgresql/*/bin | tail -1))"
