#!/usr/bin/env bash
# skaffold's custom builder for our two Dockerfile targets: `build-image.sh service|operator`.
# skaffold sets IMAGE (the tag to produce), PUSH_IMAGE and BUILD_CONTEXT. The build is the one
# `make cluster` runs (cluster/lib.sh docker_build: BuildKit from whichever docker CLI has it),
# on the locally built Debian base when the kind cluster is the hermetic one (or MOORAGE_HERMETIC=1).
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"
target=${1:?usage: build-image.sh service|operator}
: "${IMAGE:?skaffold sets IMAGE}"

hermetic="${MOORAGE_HERMETIC:-}"
if [[ -z "$hermetic" ]]; then
  node_image=$(docker inspect -f '{{.Config.Image}}' "$CLUSTER_NAME-control-plane" 2>/dev/null || true)
  [[ "$node_image" == "$LOCAL_PREFIX/"* ]] && hermetic=1 || hermetic=0
fi
args=(--target "$target" -t "$IMAGE")
if [[ "$hermetic" == 1 || "$hermetic" == true ]]; then
  args+=(--build-arg "BASE_IMAGE=$LOCAL_PREFIX/python:$PYTHON_BASE_TAG")
fi
if ca=$(host_ca_bundle); then args+=(--secret "id=extra_ca,src=$ca"); fi
docker_build "${args[@]}" "${BUILD_CONTEXT:-$REPO_ROOT}"
if [[ "${PUSH_IMAGE:-false}" == true ]]; then
  docker push "$IMAGE"
fi
