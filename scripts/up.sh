#!/usr/bin/env bash
# `make up`: the whole bundle on kind. Creates or reuses the cluster with our images loaded
# (cluster/up.sh), installs the operator chart and the app chart with its embedded PostgreSQL,
# waits until both serve, then prints how to reach the API. Idempotent: run it again any time.
#
#   MOORAGE_NAMESPACE            namespace of the app release (default moorage)
#   MOORAGE_OPERATOR_NAMESPACE   namespace of the operator release (default moorage-system)
#   MOORAGE_WATCH_NAMESPACES     namespaces the operator watches (default: the app's and "default";
#                                not all, so that tests running their own operator are left alone)
#   MOORAGE_SKIP_CLUSTER=1       use the running cluster as it is (skip cluster/up.sh)
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
T0=$(now)

APP_NS="${MOORAGE_NAMESPACE:-moorage}"
OP_NS="${MOORAGE_OPERATOR_NAMESPACE:-moorage-system}"
APP_RELEASE=moorage
OP_RELEASE=moorage-operator
NODE_PORT="${MOORAGE_NODE_PORT:-30080}"
CONTEXT="kind-$CLUSTER_NAME"
WATCH="${MOORAGE_WATCH_NAMESPACES:-$APP_NS,default}"

if [[ "${MOORAGE_SKIP_CLUSTER:-0}" != 1 ]]; then
  "$REPO_ROOT/cluster/up.sh"
fi
kc() { kubectl --context "$CONTEXT" "$@"; }
hc() { helm --kube-context "$CONTEXT" "$@"; }
kc get --raw /readyz >/dev/null || die "context $CONTEXT does not answer: run make cluster"

# The hermetic cluster runs our own node image and has no registry to pull PostgreSQL from:
# the app chart then uses the Debian PostgreSQL that cluster/up.sh preloaded.
node_image=$(docker inspect -f '{{.Config.Image}}' "$CLUSTER_NAME-control-plane" 2>/dev/null || true)
app_values=(-f "$REPO_ROOT/charts/moorage/ci/kind-values.yaml")
if [[ "$node_image" == "$LOCAL_PREFIX/"* ]]; then
  app_values+=(-f "$REPO_ROOT/charts/moorage/ci/kind-hermetic-values.yaml")
  log "hermetic cluster ($node_image): Debian PostgreSQL image"
fi
split_image() { # repository and tag of NAME:TAG
  local ref=$1
  printf '%s\n%s\n' "${ref%:*}" "${ref##*:}"
}
mapfile -t service_ref < <(split_image "$SERVICE_IMAGE")
mapfile -t operator_ref < <(split_image "$OPERATOR_IMAGE")

# The operator's Roles live in the namespaces it watches: they must exist first.
for ns in ${WATCH//,/ }; do
  kc get namespace "$ns" >/dev/null 2>&1 || kc create namespace "$ns" >/dev/null
done

t=$(now)
log "installing $OP_RELEASE into $OP_NS (watching $WATCH)"
hc upgrade --install "$OP_RELEASE" "$REPO_ROOT/charts/moorage-operator" \
  --namespace "$OP_NS" --create-namespace \
  -f "$REPO_ROOT/charts/moorage-operator/ci/kind-values.yaml" \
  --set "image.repository=${operator_ref[0]}" --set "image.tag=${operator_ref[1]}" \
  --set "watchNamespaces={$WATCH}" \
  --wait --timeout 5m >/dev/null
log "operator ready in $(elapsed "$t")"

t=$(now)
log "installing $APP_RELEASE into $APP_NS (embedded PostgreSQL)"
hc upgrade --install "$APP_RELEASE" "$REPO_ROOT/charts/moorage" \
  --namespace "$APP_NS" --create-namespace "${app_values[@]}" \
  --set "image.repository=${service_ref[0]}" --set "image.tag=${service_ref[1]}" \
  --set service.type=NodePort --set "service.nodePort=$NODE_PORT" \
  --wait --timeout 8m >/dev/null
kc -n "$APP_NS" rollout status "deployment/$APP_RELEASE" --timeout=180s >/dev/null
log "app ready in $(elapsed "$t")"

# One request through the Service proves the command printed below. It goes through a
# port-forward on loopback, the way it works everywhere (Docker Desktop, remote daemons).
pf_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
kc -n "$APP_NS" port-forward "service/$APP_RELEASE" "$pf_port:80" >/dev/null 2>&1 &
pf_pid=$!
health=""
for _ in $(seq 1 30); do
  health=$(curl -fsS --max-time 3 "http://127.0.0.1:$pf_port/api/v1/health" 2>/dev/null) && break
  sleep 2
done
kill "$pf_pid" 2>/dev/null || true
[[ -n "$health" ]] || die "the service does not answer through a port-forward: kubectl --context $CONTEXT -n $APP_NS describe pods"

log "moorage is up in $(elapsed "$T0"): $health"
cat <<MSG

  API:        kubectl --context $CONTEXT -n $APP_NS port-forward service/$APP_RELEASE 8000:80
              curl http://127.0.0.1:8000/api/v1/health     (docs: http://127.0.0.1:8000/api/v1/docs)
  in-cluster: http://$APP_RELEASE.$APP_NS.svc.cluster.local/api/v1/health (NodePort $NODE_PORT on the node)
  operator:   kubectl --context $CONTEXT -n $OP_NS get pods   (AppInstances in: $WATCH; see examples/)
  helm test:  helm --kube-context $CONTEXT -n $APP_NS test $APP_RELEASE
  tools:      export PATH="$MOORAGE_BIN:\$PATH"
MSG
