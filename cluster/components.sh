#!/usr/bin/env bash
# Build the non-Kubernetes binaries of the hermetic node from Go modules at the
# pinned versions: etcd, coredns, crictl, metrics-server, local-path-provisioner
# and our pause. Output: ~/.cache/moorage/components/<name>-<version>/<name>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMP="$MOORAGE_CACHE/components"

build() { # <name> <version> <how...>
  local name=$1 version=$2; shift 2
  local dest="$COMP/$name-$version"
  [[ -x "$dest/$name" ]] && { log "$name $version cached"; return; }
  local t0; t0=$(now)
  log "building $name $version"
  mkdir -p "$dest"
  "$@" "$dest"
  [[ -x "$dest/$name" ]] || die "$name was not built"
  log "$name $version built in $(elapsed "$t0")"
}

gi() { # <package@version> <dest>  (go install a module without replace directives)
  GOBIN="$2" CGO_ENABLED=0 nicely go install -trimpath -ldflags="-s -w" "$1"
}

local_module() { # <source dir> <binary name> <dest>
  local work; work=$(mktemp -d)
  cp -r "$1"/. "$work/"
  (cd "$work" && CGO_ENABLED=0 nicely go build -trimpath -ldflags="-s -w" -o "$3/$2" .)
  rm -rf "$work"
}

etcd_build() { # <dest>: through a wrapper module, see node/etcd/main.go
  local work; work=$(mktemp -d)
  cp "$CLUSTER_DIR/node/etcd/main.go" "$work/"
  (
    cd "$work"
    go mod init moorage.local/etcd >/dev/null 2>&1
    go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do go mod edit -require="go.etcd.io/etcd/$m@$ETCD_VERSION"; done
    nicely go mod tidy >/dev/null 2>&1 || nicely go mod tidy
    CGO_ENABLED=0 nicely go build -trimpath -ldflags="-s -w" -o "$1/etcd" .
  )
  rm -rf "$work"
}

build pause "$(recipe_hash "$CLUSTER_DIR"/node/pause/*)" local_module "$CLUSTER_DIR/node/pause" pause
build crictl "$CRICTL_VERSION" gi "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
build etcd "$ETCD_VERSION" etcd_build
build coredns "$COREDNS_VERSION" gi "github.com/coredns/coredns@$COREDNS_VERSION"
build local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" gi "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"
build metrics-server "$METRICS_SERVER_VERSION" gi "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
