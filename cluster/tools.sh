#!/usr/bin/env bash
# Install the pinned cluster tools (kind, helm, and kubectl when the one on PATH
# is missing or too far from our Kubernetes version) into ~/.cache/moorage/bin,
# built from Go modules. Prints the bin directory on stdout.
#   eval "$(cluster/tools.sh --env)"   puts it on PATH in the calling shell.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

go_install() { # <name> <version> <package@version> [ldflags]
  local name=$1 version=$2 pkg=$3 ldflags=${4:-}
  # The ldflags are part of the key: a binary linked with other -X values is another build.
  local dest="$MOORAGE_CACHE/tools/$name-$version${ldflags:+-$(recipe_hash "$ldflags")}"
  if [[ ! -x "$dest/$name" ]]; then
    local t0; t0=$(now)
    log "building $name $version from Go modules (first time only)"
    mkdir -p "$dest"
    GOBIN="$dest" CGO_ENABLED=0 nicely go install -trimpath -ldflags="-s -w $ldflags" "$pkg"
    log "$name $version built in $(elapsed "$t0")"
  fi
  ln -sfn "$dest/$name" "$MOORAGE_BIN/$name"
}

# kubectl works against servers within one minor version of its own.
kubectl_fits() {
  local bin=$1 want minor
  want=$(echo "$K8S_VERSION" | cut -d. -f2)
  minor=$("$bin" version --client -o json 2>/dev/null | jq -r '.clientVersion.minor' | tr -dc 0-9) || return 1
  [[ -n "$minor" ]] && (( minor >= want - 1 && minor <= want + 1 ))
}

# The -X flags helm's own Makefile links with: its version, and the default Kubernetes version of
# `helm template`/`lint` (.Capabilities.KubeVersion), which the Makefile derives from the client-go
# module helm is built against (v0.X.Y -> 1.X). Without them helm claims Kubernetes v1.20.
helm_ldflags() {
  local gomod client_go minor
  gomod=$(nicely go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | jq -r .GoMod)
  client_go=$(awk '$1 == "k8s.io/client-go" {print $2; exit}' "$gomod")
  [[ "$client_go" =~ ^v0\.([0-9]+)\. ]] || die "cannot read k8s.io/client-go's version from $gomod"
  minor=${BASH_REMATCH[1]}
  local v=helm.sh/helm/v3/internal/version
  printf '%s ' "-X $v.version=$HELM_VERSION" "-X $v.metadata=" "-X $v.gitTreeState=clean"
  local pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    printf '%s ' "-X helm.sh/helm/v3/$pkg.k8sVersionMajor=1" "-X helm.sh/helm/v3/$pkg.k8sVersionMinor=$minor"
  done
}

install_tools() {
  go_install kind "$KIND_VERSION" "sigs.k8s.io/kind@$KIND_VERSION"
  go_install helm "$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$(helm_ldflags)"

  local sys_kubectl
  sys_kubectl=$(PATH="${PATH#"$MOORAGE_BIN:"}" command -v kubectl || true)
  if [[ -L "$MOORAGE_BIN/kubectl" || -x "$MOORAGE_BIN/kubectl" ]] && kubectl_fits "$MOORAGE_BIN/kubectl"; then
    :
  elif [[ -n "$sys_kubectl" ]] && kubectl_fits "$sys_kubectl"; then
    log "using $sys_kubectl"
  else
    log "kubectl on PATH is missing or outside the supported skew of $K8S_VERSION: building it"
    "$CLUSTER_DIR/k8s-build.sh" kubectl
    ln -sfn "$MOORAGE_CACHE/k8s/$K8S_VERSION/bin/kubectl" "$MOORAGE_BIN/kubectl"
  fi
}

install_tools
if [[ "${1:-}" == "--env" ]]; then
  echo "export PATH=\"$MOORAGE_BIN:\$PATH\""
else
  echo "$MOORAGE_BIN"
fi
