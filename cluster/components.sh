#!/usr/bin/env bash
# Build the non-Kubernetes binaries of the hermetic node from Go modules at the
# pinned versions: etcd, coredns, crictl, metrics-server, local-path-provisioner
# our pause, and the cluster's network and ingress: kube-network-policies, our
# node routing agent (cluster/node/netagent) and Traefik; on request only,
# Flux's helm-controller and source-controller (cluster/flux.sh).
#   cluster/components.sh [name...]   (default: all but Flux's)
# Output: ~/.cache/moorage/components/<name>-<version>/<name>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMP="$MOORAGE_CACHE/components"

build() { # <name> <version> <how...>
  local name=$1 version=$2; shift 2
  local dest="$COMP/$name-$version"
  [[ -x "$dest/$name" ]] && { log "$name $version cached"; return; }
  # one build per component at a time, even across concurrent runs sharing the cache
  local lock
  mkdir -p "$COMP"
  exec {lock}>"$COMP/.$name-$version.lock"
  if ! flock -n "$lock"; then
    log "$name $version: another run is building it, waiting"
    flock "$lock"
  fi
  if [[ -x "$dest/$name" ]]; then log "$name $version built by another run"; exec {lock}>&-; return; fi
  local t0; t0=$(now)
  log "building $name $version"
  mkdir -p "$dest"
  "$@" "$dest"
  [[ -x "$dest/$name" ]] || die "$name was not built"
  log "$name $version built in $(elapsed "$t0")"
  exec {lock}>&-
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

module_source_build() { # <module@version> <package> <binary> <ldflags> <dest>
  # for modules whose go.mod has replace directives: build inside a copy of the
  # module, where they apply (go install refuses them)
  # (a fixed directory per module version, so that a rerun hits Go's build cache)
  local dir work="$MOORAGE_CACHE/src/${1//[@\/]/_}"
  dir=$(go mod download -json "$1" | jq -r .Dir)
  rm -rf "$work" && mkdir -p "$work"
  cp -r "$dir"/. "$work/" && chmod -R u+w "$work"
  nested_modules "$work"
  (cd "$work" && CGO_ENABLED=0 nicely go build -trimpath -ldflags="-s -w $4" -o "$5/$3" "$2")
  rm -rf "$work"
}

nested_modules() { # <module copy>: fill in `replace <path> => ./<dir>` targets the zip lacks
  # A module zip leaves out nested modules (e.g. fluxcd's ./api); fetch each one at the version
  # the go.mod requires, from the module proxy like any other dependency.
  local work=$1 path dir version src
  while read -r path dir; do
    [[ -e "$work/$dir/go.mod" ]] && continue
    version=$(cd "$work" && go mod edit -json | jq -r --arg p "$path" '.Require[] | select(.Path == $p) | .Version')
    [[ -n "$version" ]] || die "$path is replaced by ./$dir but not required"
    src=$(go mod download -json "$path@$version" | jq -r .Dir)
    mkdir -p "$work/$dir" && cp -r "$src"/. "$work/$dir/" && chmod -R u+w "$work/$dir"
  done < <(cd "$work" && go mod edit -json | jq -r '.Replace[]? | select(.New.Path | startswith("./")) | "\(.Old.Path) \(.New.Path | ltrimstr("./"))"')
}

gi_as() { # <package@version> <binary name> <dest>: go install, renamed (main package "cmd")
  local tmp; tmp=$(mktemp -d)
  gi "$1" "$tmp"
  mv "$tmp"/* "$3/$2"
  rm -rf "$tmp"
}

want=("$@")
wanted() { [[ ${#want[@]} -eq 0 ]] || [[ " ${want[*]} " == *" $1 "* ]]; }

wanted pause && build pause "$(recipe_hash "$CLUSTER_DIR"/node/pause/*)" local_module "$CLUSTER_DIR/node/pause" pause
wanted crictl && build crictl "$CRICTL_VERSION" gi "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
wanted etcd && build etcd "$ETCD_VERSION" etcd_build
wanted coredns && build coredns "$COREDNS_VERSION" gi "github.com/coredns/coredns@$COREDNS_VERSION"
wanted local-path-provisioner && build local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" gi "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"
wanted metrics-server && build metrics-server "$METRICS_SERVER_VERSION" gi "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
wanted netagent && build netagent "$(recipe_hash "$CLUSTER_DIR"/node/netagent/*)" local_module "$CLUSTER_DIR/node/netagent" netagent
wanted kube-network-policies && build kube-network-policies "$KUBE_NETWORK_POLICIES_VERSION" gi_as \
  "sigs.k8s.io/kube-network-policies/cmd@$KUBE_NETWORK_POLICIES_VERSION" kube-network-policies
wanted traefik && build traefik "$TRAEFIK_VERSION" module_source_build "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" \
  ./cmd/traefik traefik "-X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION"
# Flux's two controllers, only when asked for (cluster/flux.sh): not in the default set
[[ " ${want[*]} " == *" helm-controller "* ]] && build helm-controller "$FLUX_HELM_CONTROLLER_VERSION" module_source_build \
  "github.com/fluxcd/helm-controller@$FLUX_HELM_CONTROLLER_VERSION" . helm-controller ""
[[ " ${want[*]} " == *" source-controller "* ]] && build source-controller "$FLUX_SOURCE_CONTROLLER_VERSION" module_source_build \
  "github.com/fluxcd/source-controller@$FLUX_SOURCE_CONTROLLER_VERSION" . source-controller ""
true
