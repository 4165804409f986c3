#!/usr/bin/env bash
# Gets what the container image test (test/operator/docker-image.test.ts) needs ready; CI runs it in
# the background while it installs and builds, and waits for it before `npm test`.
#   tools/docker-prepare.sh DIR [WHEN]
# 1. A Docker engine: tools/docker-engine.sh start DIR (the dockerd it starts logs to DIR/dockerd.log,
#    its PID is in DIR/dockerd.pid; stop it with tools/docker-engine.sh stop DIR). When none answers
#    and none can be started, exits 3 with the reason: the test then skips (and says why).
# 2. The base image: tools/docker-base-image.sh (loaded from ~/.cache/sluice; debootstrap only the
#    first time per Debian suite + node version).
# 3. Once the file WHEN exists (CI creates it when npm is done with package-lock.json, which is part
#    of the build context), the image itself: tools/check-docker-image.sh --build-only, so that the
#    test's own build is a layer-cache hit.
# Once the engine is up, any failure exits 1: CI fails, as the test would.
set -euo pipefail
dir="$(realpath -m "${1:?usage: $0 DIR [WHEN]}")"
when="${2:+$(realpath -m "$2")}"
cd "$(dirname "$0")/.."
t0=$(date +%s)
say() { echo "[docker +$(($(date +%s) - t0))s] $*"; }

tools/docker-engine.sh start "$dir" || exit 3
say "engine up"
base="$(tools/docker-base-image.sh | tail -n1)" || exit 1
say "base image $base ready"
if [[ -n "$when" ]]; then
  say "waiting for $when"
  # Bounded, in case nobody ever creates it.
  for _ in $(seq 1 3600); do [[ -e "$when" ]] && break; sleep 1; done
  [[ -e "$when" ]] || { say "$when never appeared"; exit 1; }
fi
NODE_IMAGE="$base" tools/check-docker-image.sh --build-only || exit 1
say "image built"
