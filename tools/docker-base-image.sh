#!/usr/bin/env bash
# Makes a Node 20 base image locally, for machines with a Docker engine but no image registry:
# a Debian minbase root filesystem (debootstrap, from the Debian mirror apt uses) plus the host's
# Node 20 (node and npm), imported with `docker import`. Then:
#   docker build --network host --build-arg NODE_IMAGE=sluice-node-base:20 -t sluice:dev .
# Idempotent: does nothing when the image exists for this suite and node version (labels). The image
# is saved to ${SLUICE_CACHE:-~/.cache/sluice}/docker-base-<suite>-node-<version>.tar and loaded from
# there when the engine lacks it, so debootstrap runs once per suite and node version.
# Needs root, debootstrap and a running engine. Prints the image name on the last line of stdout.
#   DEBIAN_SUITE=bookworm tools/docker-base-image.sh
set -euo pipefail
IMAGE="${SLUICE_BASE_IMAGE:-sluice-node-base:20}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"

node_version="$(node --version)"
[[ "$node_version" == v20.* ]] || { echo "host node is $node_version, need v20" >&2; exit 1; }
key="$SUITE node $node_version"
TARBALL="$CACHE/docker-base-$SUITE-node-$node_version.tar"

image_key() { docker image inspect -f '{{index .Config.Labels "sluice.base"}}' "$IMAGE" 2>/dev/null || true; }

if [[ "$(image_key)" == "$key" ]]; then
  echo "$IMAGE ($key) already exists" >&2
  echo "$IMAGE"
  exit 0
fi
if [[ -f "$TARBALL" ]]; then
  echo "loading $IMAGE ($key) from $TARBALL" >&2
  if docker load -i "$TARBALL" >&2 && [[ "$(image_key)" == "$key" ]]; then
    echo "$IMAGE"
    exit 0
  fi
  echo "$TARBALL did not load as $IMAGE ($key); making the image again" >&2
  rm -f "$TARBALL"
fi

[[ $EUID -eq 0 ]] || { echo "debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

root="$(mktemp -d /tmp/sluice-rootfs.XXXXXX)"
cleanup() {
  # debootstrap mounts /proc, /sys (and bind-mounts devices inside containers) in the target and
  # unmounts them when it exits normally; if it was killed, never delete through a leftover mount.
  awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l || true
  rm -rf --one-file-system "$root" "$TARBALL.tmp.$$"
}
trap cleanup EXIT
echo "debootstrap --variant=minbase $SUITE from $MIRROR" >&2
debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >&2
install -m 0755 "$(readlink -f "$(command -v node)")" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# The same runtime user as the official node images (uid/gid 1000).
chroot "$root" /usr/sbin/groupadd --gid 1000 node
chroot "$root" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/sh --create-home node
changes=(
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'CMD ["node"]'
  --change "LABEL sluice.base=\"$key\""
)
# The host's CA bundle: where egress goes through a TLS-inspecting proxy, npm inside the build needs
# the same trust as the host (node reads it through NODE_EXTRA_CA_CERTS).
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import "${changes[@]}" - "$IMAGE" >&2
[[ "$(image_key)" == "$key" ]] || { echo "imported $IMAGE lacks the label sluice.base=$key" >&2; exit 1; }

# Uncompressed: loads in seconds (gzip would halve the size but double the load time).
mkdir -p "$CACHE"
docker save -o "$TARBALL.tmp.$$" "$IMAGE"
mv "$TARBALL.tmp.$$" "$TARBALL"
echo "saved $IMAGE ($key) to $TARBALL" >&2
echo "$IMAGE"
