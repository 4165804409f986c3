#!/usr/bin/env bash
# franz-go's own client test suite (the `*_test.go` of github.com/twmb/franz-go/pkg/kgo, from the Go
# module proxy) against a running Sluice broker or cluster. The suite talks to the brokers named in
# KGO_SEEDS; test/compat/franz-go.test.ts runs it against one broker and against three.
#
#   tools/kgo-suite.sh build               download the module, build the test binary once (cached);
#                                          the binary's path is the last line of stdout
#   tools/kgo-suite.sh run SEEDS [ARGS…]   run the suite against SEEDS (host:port[,host:port…]);
#                                          ARGS go to the test binary (-test.run, -test.skip, …)
#
# The module is downloaded with `go mod download` (read-only in the module cache), copied to a
# writable directory, ${SLUICE_CACHE:-~/.cache/sluice}/franz-go-<version>/src, and compiled there
# with `go test -c` into franz-go-<version>/kgo.test. The tests run in src/pkg/kgo, as `go test`
# runs them (TestOptValuesCoversEveryOption reads config.go). Idempotent: `build` returns at once
# when both are there.
#
# The suite's knobs (read in pkg/kgo/helpers_test.go) pass through from the environment:
#   KGO_TEST_RF       replication factor of the topics it creates; default here: the number of seeds
#                     (capped at 3), so one broker gets 1 (the suite's own default is 3)
#   KGO_TEST_RECORDS  records produced by the ETL tests (TestGroupETL, TestTxnEtl); the suite's
#                     default is 500000, which takes about 30 min on three brokers; CI uses 50000
#   KGO_LOG_LEVEL     client logs to stderr: none, info (the suite's default), debug
#   KGO_TEST_UNSAFE, KGO_TEST_MAX_TOPIC_PARTS, KGO_TEST_TLS, KGO_TEST_SCRAM(_SEEDS),
#   KGO_TEST_OAUTH_SEEDS, KGO_TEST_CHAOS  see helpers_test.go (SCRAM/OAuth tests skip when unset)
#   KGO_TIMEOUT       -test.timeout (default 60m)
#
# The full suite, as in franz-go's own CI, against `sluice dev-cluster --brokers 3`:
#   KGO_TEST_RECORDS=500000 tools/kgo-suite.sh run 127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094
set -euo pipefail

FRANZ_GO_VERSION="${FRANZ_GO_VERSION:-v1.22.3}" # the newest v1.22.x when this was written
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
OUT_DIR="$CACHE/franz-go-$FRANZ_GO_VERSION"
BIN="$OUT_DIR/kgo.test"
SRC="$OUT_DIR/src"

build() {
  if [[ -x "$BIN" && -f "$SRC/pkg/kgo/config.go" ]] && "$BIN" -test.list '^TestParseBrokerAddr$' >/dev/null 2>&1; then
    echo "franz-go $FRANZ_GO_VERSION kgo tests already built" >&2
    echo "$BIN"
    return 0
  fi
  command -v go >/dev/null || { echo "go is required" >&2; exit 1; }
  local dir
  mkdir -p "$OUT_DIR"
  dir="$(cd "$OUT_DIR" && GOFLAGS=-mod=mod go mod download -json "github.com/twmb/franz-go@$FRANZ_GO_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
  [[ -f "$dir/pkg/kgo/helpers_test.go" ]] || {
    echo "could not download github.com/twmb/franz-go@$FRANZ_GO_VERSION" >&2
    exit 1
  }
  rm -rf "$SRC" "$SRC.tmp"
  cp -r "$dir" "$SRC.tmp"
  chmod -R u+w "$SRC.tmp"
  mv "$SRC.tmp" "$SRC"
  echo "building franz-go $FRANZ_GO_VERSION pkg/kgo tests (a few minutes on a fresh machine)" >&2
  (cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=mod go test -c -trimpath -o "$BIN.tmp" ./pkg/kgo) >&2
  mv "$BIN.tmp" "$BIN"
  echo "$BIN"
}

case "${1:-}" in
  build)
    build
    ;;
  run)
    [[ $# -ge 2 ]] || { echo "usage: $0 run SEEDS [test binary args…]" >&2; exit 2; }
    seeds="$2"
    shift 2
    bin="$(build | tail -n 1)"
    n="$(tr ',' '\n' <<<"$seeds" | grep -c .)"
    export KGO_SEEDS="$seeds"
    export KGO_TEST_RF="${KGO_TEST_RF:-$((n < 3 ? n : 3))}"
    echo "franz-go $FRANZ_GO_VERSION kgo suite: KGO_SEEDS=$KGO_SEEDS KGO_TEST_RF=$KGO_TEST_RF" \
      "KGO_TEST_RECORDS=${KGO_TEST_RECORDS:-500000 (default)}" >&2
    cd "$SRC/pkg/kgo"
    exec "$bin" -test.v -test.timeout "${KGO_TIMEOUT:-60m}" "$@"
    ;;
  *)
    echo "usage: $0 build | run SEEDS [test binary args…]" >&2
    exit 2
    ;;
esac
