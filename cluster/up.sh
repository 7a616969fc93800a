#!/usr/bin/env bash
# `make cluster`: create or reuse the kind cluster "moorage": one control plane
# and MOORAGE_WORKERS workers (default 2), pod networking across nodes with
# NetworkPolicy enforced, Traefik serving Ingress and Gateway API HTTPRoutes on
# 127.0.0.1:MOORAGE_INGRESS_PORT, our images loaded on every node,
# metrics-server and a default StorageClass ("standard").
#
# Two paths, chosen automatically:
#   standard  a container registry answers: kind's node image, official bases.
#   hermetic  no registry: node, component and base images built here from
#             Debian packages, PyPI and Go modules (cluster/node-image.sh).
# MOORAGE_HERMETIC=1|0 forces one. Kubeconfig: the default file, context kind-moorage.
#
#   cluster/up.sh --check   only say whether the running cluster would be
#                           reused ("reuse"), or why it would be re-created
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$(now)
CHECK_ONLY=0
[[ "${1:-}" == --check ]] && CHECK_ONLY=1

HERMETIC=$(hermetic_path)
log "path: $([[ $HERMETIC == 1 ]] && echo "hermetic (no registry; everything built here)" || echo standard)"

"$CLUSTER_DIR/docker.sh"
"$CLUSTER_DIR/tools.sh" >/dev/null
kind_cmd() { "$MOORAGE_BIN/kind" "$@"; }
KUBECTL=$(command -v kubectl) || die "kubectl is not on PATH (cluster/tools.sh installs it)"
kc() { "$KUBECTL" --context "kind-$CLUSTER_NAME" "$@"; }

WORKERS="${MOORAGE_WORKERS:-2}"
[[ "$WORKERS" =~ ^[0-9]+$ ]] || die "MOORAGE_WORKERS must be a number of worker nodes (got \"$WORKERS\")"
INGRESS_ADDRESS="${MOORAGE_INGRESS_ADDRESS:-127.0.0.1}"
INGRESS_PORT="${MOORAGE_INGRESS_PORT:-18080}"
GATEWAY_CRDS=$("$CLUSTER_DIR/gateway-api.sh")

# Traefik on the hermetic path: its own (long, cached) Go build runs beside the
# node image's; the image is loaded into the nodes rather than baked into the
# node image, so a Traefik bump never rebuilds the node.

build_args=()
if [[ $HERMETIC == 1 ]]; then
  TRAEFIK_LOG="$MOORAGE_CACHE/logs/build-traefik.log"
  mkdir -p "$(dirname "$TRAEFIK_LOG")"
  if ((CHECK_ONLY)); then TRAEFIK_BUILD=""; else
    "$CLUSTER_DIR/components.sh" traefik >"$TRAEFIK_LOG" 2>&1 &
    TRAEFIK_BUILD=$!
  fi
  NODE_IMAGE=$("$CLUSTER_DIR/node-image.sh")
  "$CLUSTER_DIR/base-images.sh" python
  build_args+=(--build-arg "BASE_IMAGE=$LOCAL_PREFIX/python:$PYTHON_BASE_TAG")
  METRICS_IMAGE="$LOCAL_PREFIX/metrics-server:$METRICS_SERVER_VERSION"
  NETWORK_DAEMONSETS=(moorage-netagent kube-network-policies)
  template="$CLUSTER_DIR/kind-hermetic.yaml"
else
  NODE_IMAGE=$KIND_NODE_IMAGE
  METRICS_IMAGE="registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION"
  TRAEFIK_IMAGE="traefik:$TRAEFIK_VERSION"
  NETWORK_DAEMONSETS=(kindnet)
  template="$CLUSTER_DIR/kind.yaml"
fi
if ca=$(host_ca_bundle); then build_args+=(--secret "id=extra_ca,src=$ca"); fi

# The kind config: the path's template, the ingress port, one entry per worker.
config="$MOORAGE_CACHE/kind-$CLUSTER_NAME.yaml"
{
  sed -e "s#__ETCD_TAG__#${ETCD_VERSION#v}-0#" -e "s#__INGRESS_PORT__#$INGRESS_PORT#" \
      -e "s#__INGRESS_ADDRESS__#$INGRESS_ADDRESS#" "$template"
  for ((i = 0; i < WORKERS; i++)); do echo "  - role: worker"; done
} >"$config"
# What the cluster must be: a running cluster of another shape is re-created.
SHAPE=$(recipe_hash "$NODE_IMAGE" "$config")
NODES_WANTED=$((WORKERS + 1))

# ---- the cluster: reuse it when its shape matches, else (re)create ----
node="$CLUSTER_NAME-control-plane"
cluster_mismatch() { # prints why the existing cluster cannot be reused
  local current n
  current=$(docker inspect -f '{{.Config.Image}}' "$node" 2>/dev/null || true)
  [[ "$current" == "$NODE_IMAGE" ]] || { echo "it runs $current, want $NODE_IMAGE"; return; }
  n=$(kind_cmd get nodes --name "$CLUSTER_NAME" 2>/dev/null | wc -l)
  ((n == NODES_WANTED)) || { echo "it has $n nodes, want $NODES_WANTED"; return; }
  # a stopped node (e.g. after dockerd restarted) may come back with another
  # IP than its certificates and manifests name: re-creating is the safe way
  local c
  for c in $(kind_cmd get nodes --name "$CLUSTER_NAME" 2>/dev/null); do
    [[ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" == true ]] || { echo "node $c is stopped"; return; }
  done
  kind_cmd export kubeconfig --name "$CLUSTER_NAME" >/dev/null
  kc --request-timeout=15s get --raw /readyz >/dev/null 2>&1 || { echo "it does not answer"; return; }
  current=$(kc -n kube-public get configmap moorage-cluster -o jsonpath='{.data.shape}' 2>/dev/null || true)
  [[ "$current" == "$SHAPE" ]] || echo "its config differs (shape ${current:-unknown}, want $SHAPE)"
}
if ((CHECK_ONLY)); then
  if ! cluster_exists; then echo "create: no cluster $CLUSTER_NAME"
  else why=$(cluster_mismatch); if [[ -n "$why" ]]; then echo "re-create: $why"; else echo reuse; fi; fi
  exit 0
fi
if cluster_exists; then
  why=$(cluster_mismatch)
  if [[ -n "$why" ]]; then
    log "cluster $CLUSTER_NAME: $why: re-creating"
    kind_cmd delete cluster --name "$CLUSTER_NAME"
  else
    log "reusing cluster $CLUSTER_NAME ($NODES_WANTED nodes)"
  fi
fi
if ! cluster_exists; then
  if (exec 3<>"/dev/tcp/$INGRESS_ADDRESS/$INGRESS_PORT") 2>/dev/null; then
    die "$INGRESS_ADDRESS:$INGRESS_PORT is taken (another kind cluster?): pick a free MOORAGE_INGRESS_PORT"
  fi
  t=$(now)
  log "creating cluster $CLUSTER_NAME: 1 control plane + $WORKERS workers from $NODE_IMAGE"
  kind_cmd create cluster --name "$CLUSTER_NAME" --image "$NODE_IMAGE" --config "$config" --wait 3m
  log "cluster created in $(elapsed "$t")"
fi
for _ in $(seq 1 60); do kc get --raw /readyz >/dev/null 2>&1 && break; sleep 2; done
kc get --raw /readyz >/dev/null || die "the API server of $CLUSTER_NAME does not answer"

kc apply --server-side --force-conflicts -f "$GATEWAY_CRDS" >/dev/null

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
if [[ $HERMETIC == 1 ]]; then
  if kill -0 "$TRAEFIK_BUILD" 2>/dev/null; then log "waiting for Traefik's Go build (log: $TRAEFIK_LOG)"; fi
  wait "$TRAEFIK_BUILD" || { tail -20 "$TRAEFIK_LOG" >&2; die "Traefik's build failed (log: $TRAEFIK_LOG)"; }
  grep -h ' built in ' "$TRAEFIK_LOG" >&2 || true
  TRAEFIK_IMAGE=$(component_image traefik "$TRAEFIK_VERSION" "$LOCAL_PREFIX/traefik:$TRAEFIK_VERSION")
  load_images+=("$TRAEFIK_IMAGE")
fi
# kind skips the nodes that already hold an image
kind_cmd load docker-image --name "$CLUSTER_NAME" "${load_images[@]}" >/dev/null
log "images loaded on every node in $(elapsed "$t")"

# ---- ingress: Gateway API CRDs (applied above), Traefik, its classes and Gateway ----
established "kind-$CLUSTER_NAME" crd/gateways.gateway.networking.k8s.io \
  crd/httproutes.gateway.networking.k8s.io crd/gatewayclasses.gateway.networking.k8s.io
sed "s#__TRAEFIK_IMAGE__#$TRAEFIK_IMAGE#" "$CLUSTER_DIR/manifests/traefik.yaml" | kc apply -f - >/dev/null

# ---- what tests and charts read about this cluster (see CONTRACTS in README) ----
kc -n kube-public create configmap moorage-cluster --dry-run=client -o yaml \
  --from-literal=shape="$SHAPE" --from-literal=workers="$WORKERS" \
  --from-literal=path="$([[ $HERMETIC == 1 ]] && echo hermetic || echo standard)" \
  --from-literal=podSubnet=10.244.0.0/16 \
  --from-literal=ingressURL="http://$INGRESS_ADDRESS:$INGRESS_PORT" \
  --from-literal=ingressInClusterURL=http://traefik.traefik.svc \
  --from-literal=ingressClass=traefik --from-literal=gatewayClass=traefik \
  --from-literal=gatewayNamespace=traefik --from-literal=gatewayName=moorage \
  --from-literal=gatewayListener=web | kc apply -f - >/dev/null

# ---- add-ons: rollouts are awaited at the end ----
for ds in "${NETWORK_DAEMONSETS[@]}"; do kc -n kube-system rollout status "ds/$ds" --timeout=180s >/dev/null; done
kc -n kube-system rollout status deploy/metrics-server --timeout=180s >/dev/null
kc get storageclass standard >/dev/null || die "no StorageClass \"standard\" in the cluster"
kc -n local-path-storage rollout status deploy/local-path-provisioner --timeout=180s >/dev/null
kc wait --for=condition=Ready nodes --all --timeout=180s >/dev/null
kc -n kube-system rollout status deploy/coredns --timeout=180s >/dev/null
kc -n traefik rollout status deploy/traefik --timeout=180s >/dev/null
kc -n traefik wait --for=condition=Programmed gateway/moorage --timeout=120s >/dev/null

log "cluster $CLUSTER_NAME ready in $(elapsed "$T0") (path: $([[ $HERMETIC == 1 ]] && echo hermetic || echo standard))"
cat >&2 <<MSG
  kubeconfig: ${KUBECONFIG:-$HOME/.kube/config}, context kind-$CLUSTER_NAME
  nodes:      1 control plane + $WORKERS workers (MOORAGE_WORKERS)
  ingress:    http://$INGRESS_ADDRESS:$INGRESS_PORT  (Traefik $TRAEFIK_VERSION; IngressClass traefik, Gateway traefik/moorage listener web)
    kubectl --context kind-$CLUSTER_NAME get pods -A
  tools:      export PATH="$MOORAGE_BIN:\$PATH"   (kind, helm$( [[ -e $MOORAGE_BIN/kubectl ]] && echo ", kubectl"))
  images:     $SERVICE_IMAGE, $OPERATOR_IMAGE, $LOCAL_PREFIX/postgres:15-$DEBIAN_SUITE$( [[ $HERMETIC == 1 ]] && echo " (preloaded)")
MSG
