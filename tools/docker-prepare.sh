#!/usr/bin/env bash
# Gets what the container image test (test/operator/docker-image.test.ts) needs ready; CI runs it in
# the background while it installs and builds, and waits for it before `npm test`.
#   tools/docker-prepare.sh DIR [CONTEXT]
# 1. A Docker engine: tools/docker-engine.sh start DIR (the dockerd it starts logs to DIR/dockerd.log,
#    its PID is in DIR/dockerd.pid; stop it with tools/docker-engine.sh stop DIR). When none answers
#    and none can be started, exits 3 with the reason: the test then skips (and says why).
# 2. The base image: tools/docker-base-image.sh (loaded from ~/.cache/sluice; debootstrap only the
#    first time per Debian suite + node version).
# 3. The image itself: tools/check-docker-image.sh --build-only, from CONTEXT (default: the tree; CI
#    passes a copy made with tools/docker-context.sh, since npm rewrites package-lock.json meanwhile),
#    so that the test's own build is a layer-cache hit.
# Once the engine is up, any failure exits 1: CI fails, as the test would.
set -euo pipefail
dir="$(realpath -m "${1:?usage: $0 DIR [CONTEXT]}")"
context="$(realpath -m "${2:-$(dirname "$0")/..}")"
cd "$(dirname "$0")/.."
t0=$(date +%s)
say() { echo "[docker +$(($(date +%s) - t0))s] $*"; }

tools/docker-engine.sh start "$dir" || exit 3
say "engine up"
base="$(tools/docker-base-image.sh | tail -n1)" || exit 1
say "base image $base ready"
NODE_IMAGE="$base" CONTEXT="$context" tools/check-docker-image.sh --build-only || exit 1
say "image built"
