#!/usr/bin/env bash
# Build Kubernetes binaries from the k8s.io/kubernetes Go module at K8S_VERSION.
# The module's own go.mod replaces its k8s.io/* staging modules with ./staging
# paths that its zip does not contain, so we build through a small wrapper
# module that pins each staging module to K8S_STAGING_VERSION instead.
#   cluster/k8s-build.sh [all|kubectl|<component>...]
# Output: ~/.cache/moorage/k8s/<version>/bin/<component>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl)
want=("$@")
[[ ${#want[@]} -eq 0 || "${want[0]}" == all ]] && want=("${ALL[@]}")

root="$MOORAGE_CACHE/k8s/$K8S_VERSION"
out="$root/bin"
mod="$root/module"
mkdir -p "$out" "$mod"

missing=()
for c in "${want[@]}"; do [[ -x "$out/$c" ]] || missing+=("$c"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "kubernetes $K8S_VERSION binaries cached: ${want[*]}"
  exit 0
fi

if [[ ! -s "$mod/go.sum" ]]; then
  log "preparing the wrapper module for k8s.io/kubernetes@$K8S_VERSION"
  upstream_mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .GoMod)
  {
    echo "module moorage.local/k8sbuild"
    echo
    echo "go $(awk '/^go / {print $2; exit}' "$upstream_mod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # every "k8s.io/x => ./staging/src/k8s.io/x" becomes "k8s.io/x => k8s.io/x vSTAGING"
    sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$upstream_mod" |
      while read -r m; do echo "	$m => $m $K8S_STAGING_VERSION"; done
    echo ")"
  } >"$mod/go.mod"
  {
    echo "//go:build tools"
    echo
    echo "package tools"
    echo
    echo "import ("
    for c in "${ALL[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
    echo ")"
  } >"$mod/tools.go"
  (cd "$mod" && nicely go mod tidy)
fi

ver="${K8S_VERSION#v}"
major=${ver%%.*}
minor=$(echo "$ver" | cut -d. -f2)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

t0=$(now)
log "building kubernetes $K8S_VERSION: ${missing[*]} (cold: tens of minutes on 2 cores; warm: seconds)"
pkgs=()
for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
(cd "$mod" && CGO_ENABLED=0 nicely go build -trimpath -ldflags="$ldflags" -o "$out/" "${pkgs[@]}")
log "kubernetes binaries built in $(elapsed "$t0"): ${missing[*]}"
