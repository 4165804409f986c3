#!/usr/bin/env bash
# Installs the helm CLI from source with `go install` into
# ${SLUICE_CACHE:-~/.cache/sluice}/bin/helm (used by test/operator/helm-chart.test.ts
# and CI's `helm lint`). Idempotent; prints the binary path on the last line.
#
#   HELM_VERSION=v3.17.4 tools/install-helm.sh
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.17.4}"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
BIN="$CACHE/bin"
OUT="$BIN/helm"

K8S_MINOR="${HELM_K8S_MINOR:-32}"
MARKER="$BIN/.helm-$HELM_VERSION-k8s-1.$K8S_MINOR"
if [[ -x "$OUT" && -f "$MARKER" ]] && "$OUT" version --short 2>/dev/null | grep -q "^${HELM_VERSION}"; then
  echo "helm $HELM_VERSION already installed" >&2
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { echo "go is required" >&2; exit 1; }
mkdir -p "$BIN"
echo "installing helm $HELM_VERSION with go install (a few minutes)" >&2
# Like helm's Makefile: the Kubernetes version helm assumes without a cluster (`helm template`,
# `helm lint`) is the client-go it was built with (v0.32 for helm 3.17), not the 1.20 fallback.
K8S_MAJOR=1
ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  ld+=" -X $pkg.k8sVersionMajor=$K8S_MAJOR -X $pkg.k8sVersionMinor=$K8S_MINOR"
done
GOBIN="$BIN" CGO_ENABLED=0 go install \
  -ldflags "$ld" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
"$OUT" version --short >&2
rm -f "$BIN"/.helm-*
touch "$MARKER"
echo "$OUT"
