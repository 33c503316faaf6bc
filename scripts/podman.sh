#!/usr/bin/env bash
# Runs podman with this checkout's own configuration and image store (.iprod/containers), the way
# it works offline on our machines (../shared/DESIGN.md §5), after making sure the base image the
# Dockerfile names exists:
#   - runc (crun fails here: "cgroups in hybrid mode not supported") and explicit ulimits (root
#     lacks CAP_SYS_RESOURCE to raise them);
#   - no registry is reachable, so `debian:bookworm-slim` is made locally: a minbase bookworm
#     root file system from the Debian mirror (mmdebstrap, cached as .iprod/cache/base/), imported
#     under that name. Elsewhere, Docker pulls the real one.
#   scripts/podman.sh ARGS...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR=$ROOT/.iprod/containers
BASE_IMAGE=docker.io/library/debian:bookworm-slim
BASE_TAR=${IPROD_CACHE_DIR:-$ROOT/.iprod/cache}/base/bookworm-minbase.tar
mkdir -p "$HOME_DIR/storage" "$HOME_DIR/run"

nofile=$(ulimit -Hn)
cat >"$HOME_DIR/containers.conf" <<CONF
[engine]
runtime = "runc"
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
CONF
cat >"$HOME_DIR/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$HOME_DIR/storage"
runroot = "$HOME_DIR/run"
CONF
export CONTAINERS_CONF=$HOME_DIR/containers.conf CONTAINERS_STORAGE_CONF=$HOME_DIR/storage.conf

if ! podman image exists "$BASE_IMAGE"; then
  if [[ ! -f $BASE_TAR ]]; then
    mirror=$(awk '/^URIs:/ {print $2; exit} /^deb / {print $2; exit}' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
    echo "podman.sh: making the base image's root file system with mmdebstrap from ${mirror:-http://deb.debian.org/debian}" >&2
    mkdir -p "$(dirname "$BASE_TAR")"
    # mmdebstrap picks its output format from the name unless told: a tar, written aside first.
    partial="${BASE_TAR%.tar}.partial.tar"
    rm -rf "$partial"
    mmdebstrap --variant=minbase --format=tar --quiet bookworm "$partial" "${mirror:-http://deb.debian.org/debian}"
    mv "$partial" "$BASE_TAR"
  fi
  podman import --quiet "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi
exec podman "$@"
