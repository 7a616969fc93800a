#!/usr/bin/env bash
# Make sure a Docker daemon answers. Uses a running one; otherwise (root on
# Debian) installs docker.io and starts dockerd in the background, logging to
# ~/.cache/moorage/logs/dockerd.log. When root lacks CAP_SYS_RESOURCE, the runc
# wrapper (cluster/runc-wrapper) becomes dockerd's default runtime so that
# --privileged containers (kind nodes) can start.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WRAPPER=/usr/local/sbin/moorage-runc

docker_up() { timeout 10 docker info >/dev/null 2>&1; }

# Build the wrapper from source, cached by the source's hash.
install_wrapper() {
  local src="$CLUSTER_DIR/runc-wrapper" hash dest
  hash=$(cat "$src"/go.mod "$src"/*.go | sha256sum | cut -c1-16)
  dest="$MOORAGE_CACHE/runc-wrapper/$hash/runc-wrapper"
  if [[ ! -x "$dest" ]]; then
    log "building the runc wrapper"
    mkdir -p "$(dirname "$dest")"
    (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$dest" .)
  fi
  if ! cmp -s "$dest" "$WRAPPER"; then
    install -m 0755 "$dest" "$WRAPPER"
  fi
}

if docker_up; then
  log "docker daemon is running"
  if ! has_cap_sys_resource && ! docker info --format '{{.DefaultRuntime}}' | grep -q moorage; then
    log "WARNING: CAP_SYS_RESOURCE is missing and dockerd's default runtime is not the moorage runc wrapper;"
    log "         privileged containers (kind nodes) may fail with 'unable to apply caps'."
  fi
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "no Docker daemon answers and we are not root: start Docker and retry"

if ! command -v dockerd >/dev/null; then
  command -v apt-get >/dev/null || die "no Docker daemon and no apt-get to install docker.io"
  log "installing Debian's docker.io"
  apt_install docker.io
fi

args=(--host unix:///var/run/docker.sock)
if ! has_cap_sys_resource; then
  install_wrapper
  args+=(--add-runtime "moorage-runc=$WRAPPER" --default-runtime moorage-runc)
  log "CAP_SYS_RESOURCE missing: dockerd's default runtime is the runc wrapper ($WRAPPER)"
fi

mkdir -p "$MOORAGE_CACHE/logs"
logfile="$MOORAGE_CACHE/logs/dockerd.log"
log "starting dockerd (log: $logfile)"
# containerd is started by dockerd itself when no system containerd runs.
setsid nohup dockerd "${args[@]}" >>"$logfile" 2>&1 </dev/null &

for _ in $(seq 1 60); do
  if docker_up; then
    log "docker daemon is up ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
tail -20 "$logfile" >&2
die "dockerd did not answer within 60 s"
