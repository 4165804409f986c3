#!/usr/bin/env bash
# Builds the image and checks it: runs as non-root, `sluice operator --help` works, a broker in the
# container (--network host, loopback only) serves Kafka clients (kcat produce + consume) and metrics,
# and `docker stop` (SIGTERM to node as PID 1) shuts it down cleanly (exit code 0).
# Without a registry, the base image is made locally first (tools/docker-base-image.sh, cached under
# ~/.cache/sluice) unless NODE_IMAGE names one. Cleans up its container on exit.
#   tools/check-docker-image.sh                # IMAGE=sluice:dev
#   tools/check-docker-image.sh --build-only   # only build (warms the layer cache; CI does this early)
# CONTEXT: the build context (default: the tree; CI's early build uses a copy, tools/docker-context.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-sluice:dev}"
CONTEXT="${CONTEXT:-.}"
NODE_IMAGE="${NODE_IMAGE:-$(tools/docker-base-image.sh | tail -n1)}"

# The classic builder: Debian's docker.io (20.10) builds with it by default, `--network host` needs no
# BuildKit entitlement with it, and a newer CLI with a buildx plugin would otherwise switch builders.
export DOCKER_BUILDKIT=0
echo "building $IMAGE on $NODE_IMAGE from $CONTEXT" >&2
build_start=$(date +%s)
docker build --force-rm --network host --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$IMAGE" "$CONTEXT" >&2
echo "built $IMAGE in $(($(date +%s) - build_start))s" >&2
[[ "${1:-}" == --build-only ]] && exit 0

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port="$(free_port)"
mport="$(free_port)"
name="sluice-image-check-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
fail() { echo "$*" >&2; docker logs "$name" >&2 2>/dev/null || true; exit 1; }

uid="$(docker run --rm --network none --entrypoint id "$IMAGE" -u)"
[[ "$uid" == 1000 ]] || { echo "image runs as uid $uid, expected 1000" >&2; exit 1; }
# Captured first: `| grep -q` under pipefail fails when grep exits before the writer is done (SIGPIPE).
help="$(docker run --rm --network none "$IMAGE" operator --help)"
grep -q -- '--kubeconfig' <<<"$help" || { echo "operator --help lacks --kubeconfig: $help" >&2; exit 1; }

docker run -d --name "$name" --network host "$IMAGE" broker --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" --data-dir /var/lib/sluice/data >/dev/null
for _ in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:$mport/ready" >/dev/null; then break; fi
  [[ "$(docker inspect -f '{{.State.Running}}' "$name")" == true ]] || fail "broker container exited"
  sleep 0.5
done
curl -sf "http://127.0.0.1:$mport/ready" >/dev/null || fail "broker not ready"
printf 'one\ntwo\nthree\n' | kcat -b "127.0.0.1:$port" -t image-check -P -X acks=all
got="$(kcat -b "127.0.0.1:$port" -t image-check -C -o beginning -c 3 -e -q | tr '\n' ' ')"
[[ "$got" == "one two three " ]] || fail "consumed: '$got'"
metrics="$(curl -sf "http://127.0.0.1:$mport/metrics")" || fail "GET /metrics failed"
grep -q '^sluice_' <<<"$metrics" || fail "no sluice_ metrics"
docker stop -t 30 "$name" >/dev/null
code="$(docker inspect -f '{{.State.ExitCode}}' "$name")"
[[ "$code" == 0 ]] || fail "broker exited with $code on docker stop (SIGTERM), expected a clean shutdown"
echo "image $IMAGE OK: non-root, operator command present, broker served kcat on 127.0.0.1:$port and stopped cleanly" >&2
