#!/usr/bin/env bash
# Makes a Node 20 base image locally, for machines with a Docker engine but no image registry:
# a Debian bookworm minbase root filesystem (debootstrap, from the Debian mirror apt uses) plus the
# host's Node 20 (node and npm), imported with `docker import`. Then:
#   docker build --network host --build-arg NODE_IMAGE=sluice-node-base:20 -t sluice:dev .
# Idempotent: does nothing when the image exists. Needs root, debootstrap and a running dockerd.
set -euo pipefail
IMAGE="${SLUICE_BASE_IMAGE:-sluice-node-base:20}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already exists" >&2
  echo "$IMAGE"
  exit 0
fi
node_version="$(node --version)"
[[ "$node_version" == v20.* ]] || { echo "host node is $node_version, need v20" >&2; exit 1; }
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

root="$(mktemp -d /tmp/sluice-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >&2
install -m 0755 "$(readlink -f "$(command -v node)")" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# The same runtime user as the official node images (uid/gid 1000).
chroot "$root" /usr/sbin/groupadd --gid 1000 node
chroot "$root" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/sh --create-home node
# The host's CA bundle: where egress goes through a TLS-inspecting proxy, npm inside the build needs
# the same trust as the host (node reads it through NODE_EXTRA_CA_CERTS).
changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]')
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import "${changes[@]}" - "$IMAGE" >&2
echo "$IMAGE"
