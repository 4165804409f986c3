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

if [[ -x "$OUT" ]] && "$OUT" version --short 2>/dev/null | grep -q "^${HELM_VERSION}"; then
  echo "helm $HELM_VERSION already installed" >&2
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { echo "go is required" >&2; exit 1; }
mkdir -p "$BIN"
echo "installing helm $HELM_VERSION with go install (a few minutes)" >&2
GOBIN="$BIN" CGO_ENABLED=0 go install \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
"$OUT" version --short >&2
echo "$OUT"
