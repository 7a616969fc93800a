#!/usr/bin/env bash
# The Gateway API CRDs (standard channel) at GATEWAY_API_VERSION, taken from the
# sigs.k8s.io/gateway-api Go module (checksummed by the Go toolchain like any
# module) rather than a download. Prints the path of one multi-document YAML.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$MOORAGE_CACHE/gateway-api/$GATEWAY_API_VERSION/standard-install.yaml"
if [[ ! -s "$out" ]]; then
  dir=$(go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | jq -r .Dir)
  [[ -d "$dir/config/crd/standard" ]] || die "no config/crd/standard in sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"
  mkdir -p "$(dirname "$out")"
  for f in "$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml; do
    echo "---"
    cat "$f"
  done >"$out.tmp"
  mv "$out.tmp" "$out"
  log "Gateway API $GATEWAY_API_VERSION CRDs: $(grep -c '^kind: CustomResourceDefinition' "$out") from the Go module"
fi
echo "$out"
