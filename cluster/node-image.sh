#!/usr/bin/env bash
# Build the hermetic kind node image (no registry needed):
#   1. Kubernetes binaries and the other components from Go modules (cached);
#   2. component images (apiserver, controller-manager, scheduler, proxy, etcd,
#      coredns, pause, local-path-provisioner, metrics-server, netagent,
#      kube-network-policies) on our Debian base;
#   3. the node: Debian systemd + containerd/runc/CNI plugins + kubelet/kubeadm,
#      with every component image preloaded into its containerd (k8s.io namespace)
#      and our pod network (manifests/network.yaml) as kind's default CNI.
# Prints the node image name on stdout. Reuses an image whose recipe key matches.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KEY=$(recipe_hash "$CLUSTER_DIR/versions.env" "$0" "$CLUSTER_DIR/k8s-build.sh" "$CLUSTER_DIR/components.sh" \
  "$CLUSTER_DIR/base-images.sh" $(find "$CLUSTER_DIR/node" "$CLUSTER_DIR/runc-wrapper" "$CLUSTER_DIR/images" "$CLUSTER_DIR/manifests/local-path-storage.yaml" "$CLUSTER_DIR/manifests/network.yaml" -type f | sort))
NODE_IMAGE="$LOCAL_PREFIX/kind-node:$K8S_VERSION-$KEY"
DEBIAN_IMAGE="$LOCAL_PREFIX/debian:$DEBIAN_SUITE"
POSTGRES_IMAGE="$LOCAL_PREFIX/postgres:15-$DEBIAN_SUITE"
REDIS_IMAGE="$LOCAL_PREFIX/redis:7-$DEBIAN_SUITE"
COMP="$MOORAGE_CACHE/components"
K8S_BIN="$MOORAGE_CACHE/k8s/$K8S_VERSION/bin"

if docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
  log "node image $NODE_IMAGE cached"
  echo "$NODE_IMAGE"
  exit 0
fi

T0=$(now)
step() { log "[node $(elapsed "$T0")] $*"; }

step "1/5 base images"
"$CLUSTER_DIR/base-images.sh" all
step "2/5 Go builds (Kubernetes $K8S_VERSION and components, in parallel; cold: the long part)"
# Three independent jobs (cluster/up.sh runs Traefik's build beside them); each caches per version under ~/.cache/moorage, so a
# warm run finishes them in seconds. Their output goes to logs/, progress here.
LOGS="$MOORAGE_CACHE/logs"
mkdir -p "$LOGS"
declare -A job_pid=()
start_job() { # <name> <command...>
  local name=$1; shift
  "$@" >"$LOGS/build-$name.log" 2>&1 &
  job_pid[$name]=$!
}
start_job kubernetes "$CLUSTER_DIR/k8s-build.sh" all
start_job components "$CLUSTER_DIR/components.sh" pause crictl etcd coredns local-path-provisioner metrics-server
start_job network "$CLUSTER_DIR/components.sh" netagent kube-network-policies
failed=()
while ((${#job_pid[@]})); do
  for name in "${!job_pid[@]}"; do
    kill -0 "${job_pid[$name]}" 2>/dev/null && continue
    if wait "${job_pid[$name]}"; then
      step "   $name done: $(grep -h ' built in \| cached' "$LOGS/build-$name.log" | sed 's/^\[[^]]*\] //' | paste -sd, -)"
    else
      failed+=("$name"); step "   $name FAILED (log: $LOGS/build-$name.log)"; tail -20 "$LOGS/build-$name.log" >&2
    fi
    unset "job_pid[$name]"
  done
  if ((${#job_pid[@]})); then
    sleep 5
    if (( ($(now) - T0) % 60 < 5 )); then step "   still building: ${!job_pid[*]}"; fi
  fi
done
((${#failed[@]} == 0)) || die "Go builds failed: ${failed[*]}"

work="$MOORAGE_CACHE/node-build/$KEY"
rm -rf "$work"
mkdir -p "$work/ctx/bin" "$work/images"
trap 'docker rm -f moorage-node-preload >/dev/null 2>&1 || true' EXIT

# Binary path of a component built by components.sh.
comp_bin() { ls -td "$COMP/$1"-* | head -1 | sed "s#\$#/$1#"; }

step "3/5 component images"
# The names kubeadm asks for (registry.k8s.io/...) exist only inside the node;
# in Docker's store our builds are tagged under $LOCAL_PREFIX/k8s/.
declare -A node_ref=()
build_component() { # <local name> <binary path> <node ref> [apt packages]
  local name=$1 bin=$2 ref=$3 packages=${4:-}
  local ctx="$work/c-$name" image="$LOCAL_PREFIX/k8s/$name:$K8S_VERSION-$KEY"
  mkdir -p "$ctx"
  cp "$bin" "$ctx/"
  docker_build -q -f "$CLUSTER_DIR/node/component.Dockerfile" --build-arg "BASE=$DEBIAN_IMAGE" \
    --build-arg "BIN=$(basename "$bin")" --build-arg "PACKAGES=$packages" -t "$image" "$ctx" >/dev/null
  node_ref[$image]=$ref
  rm -rf "$ctx"
}
images_list=$("$K8S_BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
want_ref() { grep -m1 "/$1:" <<<"$images_list"; }
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  build_component "$c" "$K8S_BIN/$c" "$(want_ref "$c")"
done
build_component kube-proxy "$K8S_BIN/kube-proxy" "$(want_ref kube-proxy)" "iptables conntrack ipset kmod"
# etcd is newer than kubeadm's default tag; the kind config sets etcd's imageTag.
build_component etcd "$(comp_bin etcd)" "registry.k8s.io/etcd:${ETCD_VERSION#v}-0"
build_component coredns "$(comp_bin coredns)" "$(want_ref coredns)"
build_component local-path-provisioner "$(comp_bin local-path-provisioner)" \
  "$LOCAL_PREFIX/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION"
build_component metrics-server "$(comp_bin metrics-server)" "$LOCAL_PREFIX/metrics-server:$METRICS_SERVER_VERSION"
NETAGENT_IMAGE="$LOCAL_PREFIX/netagent:$KEY"
build_component netagent "$(comp_bin netagent)" "$NETAGENT_IMAGE" "iproute2 iptables"
NETPOL_IMAGE="$LOCAL_PREFIX/kube-network-policies:$KUBE_NETWORK_POLICIES_VERSION"
mkdir -p "$work/c-netpol"
cp "$(comp_bin kube-network-policies)" "$CLUSTER_DIR/node/netpol/netpol-run" "$work/c-netpol/"
netpol_build="$LOCAL_PREFIX/k8s/kube-network-policies:$K8S_VERSION-$KEY"
docker_build -q -f "$CLUSTER_DIR/node/netpol/Dockerfile" --build-arg "BASE=$DEBIAN_IMAGE" -t "$netpol_build" "$work/c-netpol" >/dev/null
node_ref[$netpol_build]=$NETPOL_IMAGE
pause_image="$LOCAL_PREFIX/k8s/pause:$KEY"
mkdir -p "$work/c-pause" && cp "$(comp_bin pause)" "$work/c-pause/"
docker_build -q -f "$CLUSTER_DIR/node/pause.Dockerfile" -t "$pause_image" "$work/c-pause" >/dev/null
node_ref[$pause_image]="$(want_ref pause) registry.k8s.io/pause:3.10"
# the local-path helper pod runs sh/mkdir/rm from our Debian base; the dev
# database and Redis images are stable, so they are preloaded too (saves a kind load per cluster)
node_ref[$DEBIAN_IMAGE]=$DEBIAN_IMAGE
node_ref[$POSTGRES_IMAGE]=$POSTGRES_IMAGE
node_ref[$REDIS_IMAGE]=$REDIS_IMAGE

step "4/5 node base (systemd, containerd, kubelet)"
cp -r "$CLUSTER_DIR/node/Dockerfile" "$CLUSTER_DIR/node/files" "$work/ctx/"
mkdir -p "$work/ctx/files/kind/manifests"
sed -e "s#__PROVISIONER_IMAGE__#$LOCAL_PREFIX/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION#" \
    -e "s#__HELPER_IMAGE__#$DEBIAN_IMAGE#" \
    "$CLUSTER_DIR/manifests/local-path-storage.yaml" >"$work/ctx/files/kind/manifests/default-storage.yaml"
sed -e "s#__NETAGENT_IMAGE__#$NETAGENT_IMAGE#" -e "s#__NETPOL_IMAGE__#$NETPOL_IMAGE#" \
    "$CLUSTER_DIR/manifests/network.yaml" >"$work/ctx/files/kind/manifests/default-cni.yaml"
cp "$K8S_BIN"/{kubelet,kubeadm,kubectl} "$(comp_bin crictl)" "$work/ctx/bin/"
(cd "$CLUSTER_DIR/runc-wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$work/ctx/bin/runc-wrapper" .)
node_base="$LOCAL_PREFIX/kind-node-base:$K8S_VERSION-$KEY"
docker_build -q --build-arg "BASE=$DEBIAN_IMAGE" --build-arg "K8S_VERSION=$K8S_VERSION" \
  -t "$node_base" "$work/ctx" >/dev/null

step "5/5 preloading images into the node's containerd"
docker save -o "$work/images/all.tar" "${!node_ref[@]}"
mkdir -p "$work/state/containerd"
docker rm -f moorage-node-preload >/dev/null 2>&1 || true
docker run -d --name moorage-node-preload --privileged --entrypoint /usr/bin/containerd \
  -v "$work/state/containerd:/var/lib/containerd" -v "$work/images:/images:ro" "$node_base" >/dev/null
for _ in $(seq 1 30); do
  docker exec moorage-node-preload ctr version >/dev/null 2>&1 && break
  sleep 1
done
docker exec moorage-node-preload ctr -n k8s.io images import --no-unpack --all-platforms /images/all.tar >/dev/null
for src in "${!node_ref[@]}"; do
  for ref in ${node_ref[$src]}; do
    [[ "$ref" == "$src" ]] && continue
    docker exec moorage-node-preload ctr -n k8s.io images tag --force "$(docker_ref "$src")" "$ref" >/dev/null
  done
  [[ " ${node_ref[$src]} " == *" $src "* ]] || docker exec moorage-node-preload ctr -n k8s.io images rm "$(docker_ref "$src")" >/dev/null
done
docker exec moorage-node-preload ctr -n k8s.io images ls -q >&2
docker rm -f moorage-node-preload >/dev/null
cat >"$work/state/Dockerfile" <<DOCKERFILE
FROM $node_base
COPY containerd/ /var/lib/containerd/
LABEL moorage.recipe=$KEY
DOCKERFILE
docker_build -q -t "$NODE_IMAGE" "$work/state" >/dev/null
rm -rf "$work"
# node images of older recipes are 1-2 GB each: keep only this one
docker images --format '{{.Repository}}:{{.Tag}}' \
  | grep -E "^$LOCAL_PREFIX/(kind-node|kind-node-base|k8s/[^:]+):" | grep -v -e "-$KEY\$" -e ":$KEY\$" \
  | xargs -r docker rmi >/dev/null 2>&1 || true
step "done: $NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | numfmt --to=si))"
echo "$NODE_IMAGE"
