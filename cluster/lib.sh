# Shared helpers for cluster/*.sh. Source it; it sources versions.env.
# shellcheck shell=bash
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CLUSTER_DIR/.." && pwd)"
# shellcheck source=versions.env
source "$CLUSTER_DIR/versions.env"

MOORAGE_CACHE="${MOORAGE_CACHE:-$HOME/.cache/moorage}"
MOORAGE_BIN="$MOORAGE_CACHE/bin"
CLUSTER_NAME="${MOORAGE_CLUSTER_NAME:-moorage}"
# Where our own locally built images are tagged (never an official name).
LOCAL_PREFIX="${MOORAGE_LOCAL_PREFIX:-moorage.local}"
SERVICE_IMAGE="${MOORAGE_SERVICE_IMAGE:-moorage/service:dev}"
OPERATOR_IMAGE="${MOORAGE_OPERATOR_IMAGE:-moorage/operator:dev}"

# Go builds: persistent caches so a second run is warm; never fetch a toolchain.
export GOCACHE="${MOORAGE_GOCACHE:-$MOORAGE_CACHE/go/build}"
export GOMODCACHE="${MOORAGE_GOMODCACHE:-$MOORAGE_CACHE/go/mod}"
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export PATH="$MOORAGE_BIN:$PATH:/usr/local/go/bin"

mkdir -p "$MOORAGE_BIN" "$GOCACHE" "$GOMODCACHE"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# nice long builds: the machine is shared.
nicely() { nice -n "${MOORAGE_NICE:-10}" "$@"; }

# Seconds since epoch, for printing durations.
now() { date +%s; }
elapsed() { local s=$(( $(now) - $1 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# The host's CA bundle, passed to builds inside containers (pip/apt behind a TLS proxy).
host_ca_bundle() {
  local f
  for f in "${MOORAGE_EXTRA_CA:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
    [[ -n "$f" && -s "$f" ]] && { echo "$f"; return 0; }
  done
  return 1
}

# Whether this process's bounding set holds CAP_SYS_RESOURCE (bit 24).
has_cap_sys_resource() {
  local mask
  mask=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  (( (16#$mask >> 24) & 1 ))
}

# docker build with BuildKit (needed for --secret). A modern CLI has buildx;
# Debian's docker.io 20.10 CLI (/usr/bin/docker) has BuildKit built in, while a
# newer CLI without the buildx plugin has none, so pick the one that works.
docker_build() {
  if docker buildx version >/dev/null 2>&1; then
    nicely docker buildx build --load "$@"
  elif [[ -x /usr/bin/docker ]] && /usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.'; then
    DOCKER_BUILDKIT=1 nicely /usr/bin/docker build "$@"
  else
    DOCKER_BUILDKIT=1 nicely docker build "$@"
  fi
}

# Label value an image was built from (empty when absent).
image_label() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# A short hash of files/strings, used as cache keys.
recipe_hash() { { for a in "$@"; do if [[ -f "$a" ]]; then cat "$a"; else echo "$a"; fi; done; } | sha256sum | cut -c1-16; }

# The Debian mirror the host's apt uses (kept out of our files on purpose).
debian_mirror() {
  if [[ -n "${MOORAGE_DEBIAN_MIRROR:-}" ]]; then echo "$MOORAGE_DEBIAN_MIRROR"; return; fi
  local m
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [[ -n "$m" ]] || m=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n "$m" ]] || die "cannot find the Debian mirror in /etc/apt: set MOORAGE_DEBIAN_MIRROR"
  echo "$m"
}

# The fully qualified reference containerd gives an image from `docker save`.
docker_ref() {
  local r=$1 first=${1%%/*}
  if [[ "$r" != */* ]]; then r="docker.io/library/$r"
  elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then r="docker.io/$r"; fi
  echo "$r"
}

# apt-get install, refreshing the package lists once if they are missing or stale.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
}

# Whether the kind cluster exists. (Not `kind get clusters | grep -q`: with
# pipefail, grep's early exit can fail kind with SIGPIPE and the pipeline.)
cluster_exists() {
  local clusters
  clusters=$("$MOORAGE_BIN/kind" get clusters 2>/dev/null || true)
  grep -qx "$CLUSTER_NAME" <<<"$clusters"
}

# jq reads Go's and kubectl's JSON in these scripts; a fresh Debian may lack it.
if ! command -v jq >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  log "installing jq"
  apt_install jq
fi

# The hermetic path builds every image here; it is taken when no registry answers (a registry's /v2/
# endpoint answers 200 or 401; a proxy refusing the connection answers something else, no network
# nothing). MOORAGE_HERMETIC=1/0 decides instead. Prints 1 (hermetic) or 0 (standard).
hermetic_path() {
  case "${MOORAGE_HERMETIC:-auto}" in
    1|true|yes) echo 1 ;;
    0|false|no) echo 0 ;;
    *)
      local code
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 https://registry-1.docker.io/v2/ 2>/dev/null || true)
      if [[ "$code" == 200 || "$code" == 401 ]]; then echo 0; else echo 1; fi ;;
  esac
}

# Wait until CRDs are Established: `established <context> crd/<name>...` (kubectl from $KUBECTL), for
# up to 60 s. Polled, because on a definition created a moment ago `kubectl wait` fails at once
# (".status.conditions accessor error") instead of waiting.
established() {
  local context=$1 deadline=$((SECONDS + 60))
  shift
  until "$KUBECTL" --context "$context" wait --for=condition=Established --timeout=10s "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { "$KUBECTL" --context "$context" wait --for=condition=Established --timeout=1s "$@" >/dev/null; return; }
    sleep 2
  done
}

# A component binary from components.sh on our Debian base (node/component.Dockerfile), built once.
component_image() { # <binary> <version> <image>: prints <image>
  local bin=$1 version=$2 image=$3 ctx
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    ctx=$(mktemp -d)
    cp "$MOORAGE_CACHE/components/$bin-$version/$bin" "$ctx/"
    docker_build -q -f "$CLUSTER_DIR/node/component.Dockerfile" --build-arg "BASE=$LOCAL_PREFIX/debian:$DEBIAN_SUITE" \
      --build-arg "BIN=$bin" -t "$image" "$ctx" >/dev/null
    rm -rf "$ctx"
  fi
  echo "$image"
}
