#!/usr/bin/env bash
# Builds kube-apiserver from the published k8s.io/kubernetes Go module, for the envtest-style
# operator tests (test/helpers/kube-apiserver.ts). The build itself is tools/build-kube.sh, which
# also builds the e2e node's kubelet, kube-proxy, kube-scheduler and kube-controller-manager from
# the same wrapper module and Go build cache.
#
# Idempotent: does nothing when the binary already exists and runs.
# Output: ${SLUICE_CACHE:-~/.cache/sluice}/kube-apiserver-<version>/kube-apiserver
# (the path is printed on the last line of stdout).
#
#   KUBE_VERSION=v1.36.3 tools/build-kube-apiserver.sh
set -euo pipefail
exec "$(dirname "$0")/build-kube.sh" kube-apiserver
