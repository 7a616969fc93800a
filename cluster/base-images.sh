#!/usr/bin/env bash
# Local base images built from Debian packages, for machines with no registry:
#   moorage.local/debian:bookworm          debootstrap minbase + docker import
#   moorage.local/python:3.11-bookworm     Debian's python3.11 (our Dockerfile's BASE_IMAGE)
#   moorage.local/postgres:15-bookworm     Debian's postgresql (dev database)
#   moorage.local/redis:7-bookworm         Debian's redis-server (the chart's redis.enabled)
# Each image carries a label with the hash of its recipe; a matching image is reused.
#   cluster/base-images.sh [debian|python|postgres|redis|all]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEBIAN_IMAGE="$LOCAL_PREFIX/debian:$DEBIAN_SUITE"
PYTHON_IMAGE="$LOCAL_PREFIX/python:$PYTHON_BASE_TAG"
POSTGRES_IMAGE="$LOCAL_PREFIX/postgres:15-$DEBIAN_SUITE"
REDIS_IMAGE="$LOCAL_PREFIX/redis:7-$DEBIAN_SUITE"
KEY_LABEL=moorage.recipe
DEBIAN_RECIPE_REV=3

build_debian() {
  # bump DEBIAN_RECIPE_REV whenever this function changes what goes into the image
  local key; key=$(recipe_hash "debian-recipe-$DEBIAN_RECIPE_REV" "$DEBIAN_SUITE" "$(debian_mirror)")
  if [[ "$(image_label "$DEBIAN_IMAGE" $KEY_LABEL)" == "$key" ]]; then log "$DEBIAN_IMAGE cached"; return; fi
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt_install debootstrap; }
  local t0 root; t0=$(now)
  root=$(mktemp -d "${TMPDIR:-/tmp}/moorage-rootfs.XXXXXX")
  log "debootstrap $DEBIAN_SUITE (minbase) into $root"
  nicely debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$(debian_mirror)" >"$MOORAGE_CACHE/logs/debootstrap.log" 2>&1 \
    || { tail -20 "$MOORAGE_CACHE/logs/debootstrap.log" >&2; die "debootstrap failed"; }
  # apt inside images uses the same sources as the host (main, updates, security).
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
    : >"$root/etc/apt/sources.list"
  fi
  # Keep images small: no docs, man pages or translations from later installs.
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-moorage-nodoc" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
  cat >"$root/etc/apt/apt.conf.d/01-moorage" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CFG
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/{man,info,locale}/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  tar -C "$root" -c . | docker import \
    --change "LABEL $KEY_LABEL=$key" --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$root"
  log "$DEBIAN_IMAGE built in $(elapsed "$t0") ($(docker image inspect -f '{{.Size}}' "$DEBIAN_IMAGE" | numfmt --to=si))"
}

build_from_recipe() { # <image> <recipe dir> [flatten]
  local image=$1 dir=$2 flatten=${3:-} key
  key=$(recipe_hash "$dir"/* "$(image_label "$DEBIAN_IMAGE" $KEY_LABEL)")
  if [[ "$(image_label "$image" $KEY_LABEL)" == "$key" ]]; then log "$image cached"; return; fi
  local t0; t0=$(now)
  log "building $image"
  docker_build -q --build-arg "BASE=$DEBIAN_IMAGE" --label "$KEY_LABEL=$key" -t "$image" "$dir" >/dev/null
  if [[ -n "$flatten" ]]; then
    # one layer, so files the recipe deleted from the Debian base take no space
    local cid changes=()
    while IFS= read -r e; do changes+=(--change "ENV $e"); done \
      < <(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image" | grep .)
    cid=$(docker create "$image")
    docker export "$cid" | docker import "${changes[@]}" --change "LABEL $KEY_LABEL=$key" \
      --change "CMD $(docker image inspect -f '{{json .Config.Cmd}}' "$image")" - "$image" >/dev/null
    docker rm "$cid" >/dev/null
  fi
  log "$image built in $(elapsed "$t0") ($(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=si))"
}

what=${1:-all}
build_debian
case $what in
  debian) ;;
  python) build_from_recipe "$PYTHON_IMAGE" "$CLUSTER_DIR/images/python" flatten ;;
  postgres) build_from_recipe "$POSTGRES_IMAGE" "$CLUSTER_DIR/images/postgres" ;;
  redis) build_from_recipe "$REDIS_IMAGE" "$CLUSTER_DIR/images/redis" ;;
  all)
    build_from_recipe "$PYTHON_IMAGE" "$CLUSTER_DIR/images/python" flatten
    build_from_recipe "$POSTGRES_IMAGE" "$CLUSTER_DIR/images/postgres"
    build_from_recipe "$REDIS_IMAGE" "$CLUSTER_DIR/images/redis"
    ;;
  *) die "unknown base image: $what" ;;
esac
# drop superseded builds of these images (untagged leftovers carrying our label)
docker image prune -f --filter "label=$KEY_LABEL" >/dev/null
