#!/usr/bin/env bash
# `make dev`: the service alone on this machine, against a local PostgreSQL started from
# Debian's postgresql package (scripts/dev-postgres.sh), migrated, serving with reload.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
scripts/dev-postgres.sh start
KEY_FILE="${MOORAGE_CACHE:-$HOME/.cache/moorage}/dev-secret-key"
[[ -s "$KEY_FILE" ]] || uv run --frozen python -c "import secrets; print(secrets.token_urlsafe(48))" > "$KEY_FILE"

export DATABASE_URL="${DATABASE_URL:-$(scripts/dev-postgres.sh url)}"
export SECRET_KEY="${SECRET_KEY:-$(cat "$KEY_FILE")}"
export ENVIRONMENT="${ENVIRONMENT:-development}"
uv run --frozen moorage migrate
echo "moorage: http://127.0.0.1:${PORT:-8000}/api/v1/docs  (stop with Ctrl-C; scripts/dev-postgres.sh stop)"
exec uv run --frozen moorage serve --host 127.0.0.1 --reload
