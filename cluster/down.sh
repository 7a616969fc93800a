#!/usr/bin/env bash
# `make cluster-down`: delete the kind cluster "moorage" (the image cache stays).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$CLUSTER_DIR/tools.sh" >/dev/null
if cluster_exists; then
  "$MOORAGE_BIN/kind" delete cluster --name "$CLUSTER_NAME"
else
  log "no cluster $CLUSTER_NAME"
fi
