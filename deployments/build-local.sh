#!/usr/bin/env bash
# Build acav's images on a machine that reaches a Debian mirror and PyPI but no image registry
# and no download.pytorch.org (`make images`):
#   1. a base image standing in for python:3.11-slim-bookworm, made with debootstrap from the
#      Debian mirror apt is configured with here (skipped when it exists);
#   2. the CPU image (deployments/Dockerfile) and the GPU image (deployments/Dockerfile.gpu)
#      from that base, with torch from PyPI (whose Linux wheels are CUDA builds);
#   3. a check that the host's CA bundle, lent to the builds as a secret, is in neither image.
# Ends with one JSON line on stdout: build seconds and image sizes; progress goes to stderr.
# Needs root, podman, runc and debootstrap (apt-get install podman runc debootstrap).
# Settings (environment): ACAV_BASE_IMAGE, ACAV_CPU_IMAGE, ACAV_GPU_IMAGE (image names),
# ACAV_DEBIAN_MIRROR (instead of apt's), ACAV_HOST_CA (CA bundle for pip and apt in builds),
# ACAV_TORCH_INDEX_URL (default PyPI), ACAV_IMAGES ("cpu gpu" by default; "" for the base only),
# ACAV_APT_DIR (where apt's sources are read, default /etc/apt).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${ACAV_BASE_IMAGE:-localhost/acav-base:bookworm}"
CPU_IMAGE="${ACAV_CPU_IMAGE:-localhost/acav:local}"
GPU_IMAGE="${ACAV_GPU_IMAGE:-localhost/acav-gpu:local}"
HOST_CA="${ACAV_HOST_CA:-/etc/ssl/certs/ca-certificates.crt}"
TORCH_INDEX_URL="${ACAV_TORCH_INDEX_URL:-https://pypi.org/simple}"
IMAGES="${ACAV_IMAGES-cpu gpu}"
APT_DIR="${ACAV_APT_DIR:-/etc/apt}"
# What works here (deployments/README.md): runc, cgroupfs, the host's network, explicit ulimits.
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
LIMITS=(--network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

log() { echo "build-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Undone on any exit: a half-made root file system, a mounted image.
ROOTFS=""
MOUNTED=""
cleanup() {
    if [ -n "$MOUNTED" ]; then "${PODMAN[@]}" image unmount "$MOUNTED" >/dev/null || true; fi
    if [ -n "$ROOTFS" ]; then rm -rf "$ROOTFS"; fi
}

# "<suite> <uri>" for each enabled `deb` source of apt's configuration (one-line and deb822).
apt_sources() {
    local f
    for f in "$APT_DIR/sources.list" "$APT_DIR"/sources.list.d/*.list; do
        if [ -f "$f" ]; then
            awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                               if (i + 1 <= NF) print $(i + 1), $i }' "$f"
        fi
    done
    for f in "$APT_DIR"/sources.list.d/*.sources; do
        if [ -f "$f" ]; then
            awk 'BEGIN { RS = ""; FS = "\n" }
                 { types = uris = suites = ""; enabled = "yes"
                   for (j = 1; j <= NF; j++) {
                       if ($j ~ /^[ \t#]/ || index($j, ":") == 0) continue
                       key = tolower(substr($j, 1, index($j, ":") - 1))
                       val = substr($j, index($j, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", val)
                       if (key == "types") types = val
                       else if (key == "uris") uris = val
                       else if (key == "suites") suites = val
                       else if (key == "enabled") enabled = tolower(val)
                   }
                   if (types ~ /(^| )deb( |$)/ && enabled != "no") {
                       n = split(suites, s, " "); m = split(uris, u, " ")
                       for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) print s[a], u[b]
                   } }' "$f"
        fi
    done
}

suite_uri() { apt_sources | awk -v suite="$1" '$1 == suite { print $2; exit }'; }

build_base() {
    if "${PODMAN[@]}" image exists "$BASE_IMAGE"; then
        log "base $BASE_IMAGE exists; skipped"
        return
    fi
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
    local mirror updates security
    mirror="${ACAV_DEBIAN_MIRROR:-$(suite_uri bookworm)}"
    [ -n "$mirror" ] || die "apt has no 'bookworm' source; set ACAV_DEBIAN_MIRROR"
    updates="$(suite_uri bookworm-updates)"
    security="$(suite_uri bookworm-security)"
    ROOTFS="$(mktemp -d /var/tmp/acav-base.XXXXXX)"
    log "debootstrap bookworm from $mirror into $ROOTFS"
    # python3 is Debian's 3.11, the version python:3.11-slim-bookworm carries; venv makes the
    # images' /opt/venv as it does there.
    nice -n 10 debootstrap --variant=minbase --include=python3,python3-venv \
        bookworm "$ROOTFS" "$mirror" >&2
    {
        echo "deb $mirror bookworm main"
        if [ -n "$updates" ]; then echo "deb $updates bookworm-updates main"; fi
        if [ -n "$security" ]; then echo "deb $security bookworm-security main"; fi
    } >"$ROOTFS/etc/apt/sources.list"
    chroot "$ROOTFS" apt-get clean
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin
    tar -C "$ROOTFS" --numeric-owner -c . |
        "${PODMAN[@]}" import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
            - "$BASE_IMAGE" >&2
    rm -rf "$ROOTFS"
    ROOTFS=""
}

build_image() {  # build_image DOCKERFILE NAME
    local secret=()
    if [ -f "$HOST_CA" ]; then secret=(--secret "id=host_ca,src=$HOST_CA"); fi
    log "building $2 from deployments/$1 (torch from $TORCH_INDEX_URL)"
    nice -n 10 "${PODMAN[@]}" build "${LIMITS[@]}" "${secret[@]}" \
        --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        --build-arg "TORCH_INDEX_URL=$TORCH_INDEX_URL" \
        -f "$REPO/deployments/$1" -t "$2" "$REPO" >&2
}

# Fails when a file in the image has the exact bytes of the host's CA bundle.
check_no_host_ca() {
    [ -f "$HOST_CA" ] || return 0
    local mount size digest
    size="$(stat -c %s "$HOST_CA")"
    digest="$(sha256sum "$HOST_CA" | cut -d' ' -f1)"
    mount="$("${PODMAN[@]}" image mount "$1")"
    MOUNTED="$1"
    if find "$mount" -xdev -type f -size "${size}c" -exec sha256sum {} + |
        grep -q "^$digest "; then
        die "$1 holds a copy of $HOST_CA"
    fi
    "${PODMAN[@]}" image unmount "$1" >/dev/null
    MOUNTED=""
}

image_bytes() { "${PODMAN[@]}" image inspect --format '{{.Size}}' "$1"; }

main() {
    trap cleanup EXIT
    [ "$(id -u)" = 0 ] || die "run as root (podman here needs it)"
    command -v podman >/dev/null || die "podman is missing (apt-get install podman runc)"

    declare -A DOCKERFILE=([cpu]=Dockerfile [gpu]=Dockerfile.gpu)
    declare -A NAME=([cpu]="$CPU_IMAGE" [gpu]="$GPU_IMAGE")
    for kind in $IMAGES; do
        [ -n "${NAME[$kind]:-}" ] || die "unknown image kind '$kind' in ACAV_IMAGES (cpu, gpu)"
    done

    start=$SECONDS
    build_base
    json="{\"base_image\": \"$BASE_IMAGE\", \"base_seconds\": $((SECONDS - start))"
    for kind in $IMAGES; do
        start=$SECONDS
        build_image "${DOCKERFILE[$kind]}" "${NAME[$kind]}"
        json+=", \"image_${kind}\": \"${NAME[$kind]}\", \"image_${kind}_seconds\": $((SECONDS - start))"
        check_no_host_ca "${NAME[$kind]}"
        json+=", \"image_${kind}_bytes\": $(image_bytes "${NAME[$kind]}")"
    done
    # Only the dangling layers these builds left behind (an image rebuilt under the same tag).
    "${PODMAN[@]}" image prune -f >/dev/null
    echo "$json, \"host_ca_checked\": $([ -f "$HOST_CA" ] && echo true || echo false)}"
}

# Sourced (by tests/deploy/test_build_local.py), it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
