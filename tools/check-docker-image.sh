#!/usr/bin/env bash
# Builds the image and checks it: runs as non-root, `sluice operator --help` works, and a broker in
# the container (--network host, loopback only) serves Kafka clients (kcat produce + consume).
# Without a registry, the base image is made locally first (tools/docker-base-image.sh) unless
# NODE_IMAGE names one. Cleans up its container on exit.
#   tools/check-docker-image.sh            # IMAGE=sluice:dev
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-sluice:dev}"
NODE_IMAGE="${NODE_IMAGE:-$(tools/docker-base-image.sh | tail -n1)}"

echo "building $IMAGE on $NODE_IMAGE" >&2
docker build --network host --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$IMAGE" . >&2

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port="$(free_port)"
mport="$(free_port)"
name="sluice-image-check-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT

uid="$(docker run --rm --entrypoint id "$IMAGE" -u)"
[[ "$uid" == 1000 ]] || { echo "image runs as uid $uid, expected 1000" >&2; exit 1; }
docker run --rm "$IMAGE" operator --help | grep -q -- '--kubeconfig'

docker run -d --name "$name" --network host "$IMAGE" broker --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" --data-dir /var/lib/sluice/data >/dev/null
for i in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:$mport/ready" >/dev/null; then break; fi
  if [[ "$(docker inspect -f '{{.State.Running}}' "$name")" != true ]]; then docker logs "$name" >&2; exit 1; fi
  sleep 0.5
done
curl -sf "http://127.0.0.1:$mport/ready" >/dev/null || { docker logs "$name" >&2; echo "broker not ready" >&2; exit 1; }
printf 'one\ntwo\nthree\n' | kcat -b "127.0.0.1:$port" -t image-check -P -X acks=all
got="$(kcat -b "127.0.0.1:$port" -t image-check -C -o beginning -c 3 -e -q | tr '\n' ' ')"
[[ "$got" == "one two three " ]] || { echo "consumed: '$got'" >&2; docker logs "$name" >&2; exit 1; }
curl -sf "http://127.0.0.1:$mport/metrics" | grep -q '^sluice_' || { echo "no sluice_ metrics" >&2; exit 1; }
echo "image $IMAGE OK: non-root, operator command present, broker served kcat on 127.0.0.1:$port" >&2
