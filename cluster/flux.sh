#!/usr/bin/env bash
# Flux's source-controller and helm-controller in namespace flux-system of the
# running cluster, for e2e/suite/test_flux.py (its fixture runs this; rerunning
# is cheap: every step is cached or idempotent).
#   hermetic path: both built from their Go modules (cluster/components.sh:
#                  15-17 min each cold, cached after), on our Debian base, `kind load`ed.
#   standard path: the published images of the same versions, pulled by the nodes.
# CRDs: the modules' config/crd/bases, checksummed by the Go toolchain like any
# module, never downloaded at test time. Prints nothing; logs go to stderr.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$(now)
KUBECTL=$(command -v kubectl) || die "kubectl is not on PATH (cluster/tools.sh installs it)"
kc() { "$KUBECTL" --context "kind-$CLUSTER_NAME" "$@"; }

HELM_MODULE="github.com/fluxcd/helm-controller@$FLUX_HELM_CONTROLLER_VERSION"
SOURCE_MODULE="github.com/fluxcd/source-controller@$FLUX_SOURCE_CONTROLLER_VERSION"

path=$(kc -n kube-public get configmap moorage-cluster -o jsonpath='{.data.path}') \
  || die "no cluster $CLUSTER_NAME (or no kube-public/moorage-cluster): run make cluster"

if [[ $path == hermetic ]]; then
  log "Flux controllers: building (cached after the first run)"
  "$CLUSTER_DIR/components.sh" helm-controller source-controller
  "$CLUSTER_DIR/base-images.sh" debian
  SOURCE_IMAGE=$(component_image source-controller "$FLUX_SOURCE_CONTROLLER_VERSION" \
    "$LOCAL_PREFIX/flux-source-controller:$FLUX_SOURCE_CONTROLLER_VERSION")
  HELM_IMAGE=$(component_image helm-controller "$FLUX_HELM_CONTROLLER_VERSION" \
    "$LOCAL_PREFIX/flux-helm-controller:$FLUX_HELM_CONTROLLER_VERSION")
  # kind skips the nodes that already hold an image
  "$MOORAGE_BIN/kind" load docker-image --name "$CLUSTER_NAME" "$SOURCE_IMAGE" "$HELM_IMAGE" >/dev/null
else
  SOURCE_IMAGE="ghcr.io/fluxcd/source-controller:$FLUX_SOURCE_CONTROLLER_VERSION"
  HELM_IMAGE="ghcr.io/fluxcd/helm-controller:$FLUX_HELM_CONTROLLER_VERSION"
fi

crds=()
for module in "$SOURCE_MODULE" "$HELM_MODULE"; do
  dir=$(go mod download -json "$module" | jq -r .Dir)
  [[ -d "$dir/config/crd/bases" ]] || die "no config/crd/bases in $module"
  crds+=("$dir"/config/crd/bases/*.yaml)
done
for f in "${crds[@]}"; do echo "---"; cat "$f"; done | kc apply --server-side --force-conflicts -f - >/dev/null
established "kind-$CLUSTER_NAME" crd/helmreleases.helm.toolkit.fluxcd.io \
  crd/helmrepositories.source.toolkit.fluxcd.io crd/helmcharts.source.toolkit.fluxcd.io

sed -e "s#__SOURCE_CONTROLLER_IMAGE__#$SOURCE_IMAGE#" -e "s#__HELM_CONTROLLER_IMAGE__#$HELM_IMAGE#" \
  "$CLUSTER_DIR/manifests/flux.yaml" | kc apply -f - >/dev/null
kc -n flux-system rollout status deploy/source-controller --timeout=180s >/dev/null
kc -n flux-system rollout status deploy/helm-controller --timeout=180s >/dev/null
log "Flux source-controller $FLUX_SOURCE_CONTROLLER_VERSION and helm-controller $FLUX_HELM_CONTROLLER_VERSION ready in flux-system ($path path, $(elapsed "$T0"))"
