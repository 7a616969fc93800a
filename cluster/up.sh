#!/usr/bin/env bash
# `make cluster`: create or reuse the kind cluster "moorage" with our images
# loaded, metrics-server installed and a default StorageClass ("standard").
#
# Two paths, chosen automatically:
#   standard  a container registry answers: kind's node image, official bases.
#   hermetic  no registry: node, component and base images built here from
#             Debian packages, PyPI and Go modules (cluster/node-image.sh).
# MOORAGE_HERMETIC=1|0 forces one. Kubeconfig: the default file, context kind-moorage.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$(now)

# A registry's /v2/ endpoint answers 200 or 401 (auth needed); a proxy refusing
# the connection answers something else, and no network answers nothing.
registry_answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 https://registry-1.docker.io/v2/ 2>/dev/null || true)
  [[ "$code" == 200 || "$code" == 401 ]]
}

case "${MOORAGE_HERMETIC:-auto}" in
  1|true|yes) HERMETIC=1 ;;
  0|false|no) HERMETIC=0 ;;
  *) if registry_answers; then HERMETIC=0; else HERMETIC=1; fi ;;
esac
log "path: $([[ $HERMETIC == 1 ]] && echo "hermetic (no registry; everything built here)" || echo standard)"

"$CLUSTER_DIR/docker.sh"
"$CLUSTER_DIR/tools.sh" >/dev/null
kind_cmd() { "$MOORAGE_BIN/kind" "$@"; }
KUBECTL=$(command -v kubectl) || die "kubectl is not on PATH (cluster/tools.sh installs it)"
kc() { "$KUBECTL" --context "kind-$CLUSTER_NAME" "$@"; }

build_args=()
if [[ $HERMETIC == 1 ]]; then
  NODE_IMAGE=$("$CLUSTER_DIR/node-image.sh")
  "$CLUSTER_DIR/base-images.sh" python
  build_args+=(--build-arg "BASE_IMAGE=$LOCAL_PREFIX/python:$PYTHON_BASE_TAG")
  METRICS_IMAGE="$LOCAL_PREFIX/metrics-server:$METRICS_SERVER_VERSION"
  config=$(mktemp)
  sed "s#__ETCD_TAG__#${ETCD_VERSION#v}-0#" "$CLUSTER_DIR/kind-hermetic.yaml" >"$config"
else
  NODE_IMAGE=$KIND_NODE_IMAGE
  METRICS_IMAGE="registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION"
  config="$CLUSTER_DIR/kind.yaml"
fi
if ca=$(host_ca_bundle); then build_args+=(--secret "id=extra_ca,src=$ca"); fi

# ---- the cluster: reuse it when it runs our node image, else (re)create ----
node="$CLUSTER_NAME-control-plane"
if cluster_exists; then
  current=$(docker inspect -f '{{.Config.Image}}' "$node" 2>/dev/null || true)
  if [[ "$current" != "$NODE_IMAGE" ]]; then
    log "cluster $CLUSTER_NAME runs $current, want $NODE_IMAGE: re-creating"
    kind_cmd delete cluster --name "$CLUSTER_NAME"
  elif [[ "$(docker inspect -f '{{.State.Running}}' "$node" 2>/dev/null)" != true ]]; then
    # a stopped node (e.g. after dockerd restarted) may come back with another
    # IP than its certificates and manifests name: re-creating is the safe way
    log "cluster $CLUSTER_NAME is stopped: re-creating"
    kind_cmd delete cluster --name "$CLUSTER_NAME"
  else
    kind_cmd export kubeconfig --name "$CLUSTER_NAME" >/dev/null
    if kc --request-timeout=15s get --raw /readyz >/dev/null 2>&1; then
      log "reusing cluster $CLUSTER_NAME"
    else
      log "cluster $CLUSTER_NAME does not answer: re-creating"
      kind_cmd delete cluster --name "$CLUSTER_NAME"
    fi
  fi
fi
if ! cluster_exists; then
  t=$(now)
  log "creating cluster $CLUSTER_NAME from $NODE_IMAGE"
  kind_cmd create cluster --name "$CLUSTER_NAME" --image "$NODE_IMAGE" --config "$config" --wait 3m
  log "cluster created in $(elapsed "$t")"
fi
for _ in $(seq 1 60); do kc get --raw /readyz >/dev/null 2>&1 && break; sleep 2; done
kc get --raw /readyz >/dev/null || die "the API server of $CLUSTER_NAME does not answer"

# metrics-server first: it starts while our images build and load
sed "s#__IMAGE__#$METRICS_IMAGE#" "$CLUSTER_DIR/manifests/metrics-server.yaml" | kc apply -f - >/dev/null

# ---- our images ----
t=$(now)
log "building $SERVICE_IMAGE and $OPERATOR_IMAGE"
(cd "$REPO_ROOT" && docker_build "${build_args[@]}" --target service -t "$SERVICE_IMAGE" . >/dev/null)
(cd "$REPO_ROOT" && docker_build "${build_args[@]}" --target operator -t "$OPERATOR_IMAGE" . >/dev/null)
log "images built in $(elapsed "$t") (service $(docker image inspect -f '{{.Size}}' "$SERVICE_IMAGE" | numfmt --to=si))"
load_images=("$SERVICE_IMAGE" "$OPERATOR_IMAGE")
if [[ $HERMETIC == 0 ]]; then
  # The hermetic node image preloads the Debian PostgreSQL; the standard path loads the same image,
  # so examples/appinstance.yaml names one database image that every `make up` cluster has.
  "$CLUSTER_DIR/base-images.sh" postgres
  load_images+=("$LOCAL_PREFIX/postgres:15-$DEBIAN_SUITE")
fi
t=$(now)
kind_cmd load docker-image --name "$CLUSTER_NAME" "${load_images[@]}" >/dev/null
log "images loaded in $(elapsed "$t")"

# ---- add-ons: rollouts are awaited at the end ----
kc -n kube-system rollout status deploy/metrics-server --timeout=180s >/dev/null
kc get storageclass standard >/dev/null || die "no StorageClass \"standard\" in the cluster"
kc -n local-path-storage rollout status deploy/local-path-provisioner --timeout=180s >/dev/null
kc wait --for=condition=Ready nodes --all --timeout=180s >/dev/null
kc -n kube-system rollout status deploy/coredns --timeout=180s >/dev/null

log "cluster $CLUSTER_NAME ready in $(elapsed "$T0") (path: $([[ $HERMETIC == 1 ]] && echo hermetic || echo standard))"
cat >&2 <<MSG
  kubeconfig: ${KUBECONFIG:-$HOME/.kube/config}, context kind-$CLUSTER_NAME
    kubectl --context kind-$CLUSTER_NAME get pods -A
  tools:      export PATH="$MOORAGE_BIN:\$PATH"   (kind, helm$( [[ -e $MOORAGE_BIN/kubectl ]] && echo ", kubectl"))
  images:     $SERVICE_IMAGE, $OPERATOR_IMAGE, $LOCAL_PREFIX/postgres:15-$DEBIAN_SUITE$( [[ $HERMETIC == 1 ]] && echo " (preloaded)")
MSG
