#!/usr/bin/env bash
# Runs a command inside the e2e node's network namespace (test/e2e-node/node.sh up) with the
# cluster's DNS in /etc/resolv.conf (a private mount namespace: the host's file is untouched), so
# Service and pod names resolve as they do in a pod:
#   test/e2e-node/in-node.sh kcat -b e2e-bootstrap.sluice-e2e.svc:9092 -L
#   test/e2e-node/in-node.sh curl -sk https://kubernetes.default.svc/readyz
set -euo pipefail
RUN=/run/sluice-node
[[ -e /run/netns/sluice-node && -f "$RUN/resolv.conf" ]] || { echo "the e2e node is not up (test/e2e-node/node.sh up)" >&2; exit 1; }
[[ $# -gt 0 ]] || set -- "${SHELL:-/bin/sh}"
exec unshare --mount --propagation private -- sh -c \
  'mount --bind "$0/resolv.conf" /etc/resolv.conf && exec nsenter --net=/run/netns/sluice-node -- "$@"' "$RUN" "$@"
