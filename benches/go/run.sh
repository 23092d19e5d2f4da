#!/usr/bin/env bash
# Go benchmarks: flyteauth's Go binding side by side with Flyte's Go admin client
# (github.com/flyteorg/flyte/flyteidl/clients/go/admin). See benches/go/README.md.
#
#   benches/go/run.sh build                     build every program into target/bench/go/;
#                                               prints nothing but errors
#   benches/go/run.sh first-header              build, then print the paths of the two
#                                               first-header programs, one per line
#   benches/go/run.sh hotpath [hotpath flags]   build, then time the hot path
#   benches/go/run.sh storm IMPL THREADS SECONDS
#                                               build, then one storm run (IMPL: flyteauth
#                                               or flyteidl-go)
#   benches/go/run.sh [all]                     build, hot path, then the first-header paths
#
# Run it under scripts/with-idp (IDP_ACCESS_TOKEN_TTL=3 for storms). When
# FLYTEAUTH_IDP_URL is unset, it starts the fixture itself (3-second tokens for a storm,
# the default 300 s otherwise). The hot path needs tokens that outlive it: given a fixture
# with short tokens, it runs against a fixture of its own instead.
# Results are appended to $FLYTEAUTH_BENCH_RESULTS when it is set (benches/README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/bench/go"
export PKG_CONFIG_PATH="${PKG_CONFIG_PATH:-$root/target/release/pkgconfig}"
export CGO_ENABLED=1

build() {
  if ! pkg-config --exists flyteauth 2>/dev/null; then
    make -C "$root" --no-print-directory -s lib pkgconfig >&2
  fi
  mkdir -p "$out"
  # -mod=readonly: go.mod and go.sum are committed and must be complete; nothing is
  # resolved or rewritten here. flyteauth_system: link the checkout's library (pkg-config).
  (cd "$here" && go build -mod=readonly -trimpath -tags flyteauth_system -o "$out/" \
    ./cmd/first-header-flyteauth ./cmd/first-header-flyteidl-go ./cmd/hotpath ./cmd/storm)
}

# with_fixture TTL CMD...: run CMD under scripts/with-idp unless a fixture is already given.
with_fixture() {
  local ttl="$1"
  shift
  if [ -n "${FLYTEAUTH_IDP_URL:-}" ]; then
    "$@"
  elif [ -n "$ttl" ]; then
    IDP_ACCESS_TOKEN_TTL="$ttl" "$root/scripts/with-idp" "$@"
  else
    env -u IDP_ACCESS_TOKEN_TTL "$root/scripts/with-idp" "$@"
  fi
}

hotpath() {
  local status=0
  with_fixture "" "$out/hotpath" "$@" || status=$?
  if [ "$status" -eq 3 ] && [ -n "${FLYTEAUTH_IDP_URL:-}" ]; then
    # The given fixture issues short-lived tokens (a storm fixture): use one with the
    # default lifetime.
    echo "run.sh hotpath: the fixture's tokens are too short-lived; starting one with the default token lifetime" >&2
    env -u FLYTEAUTH_IDP_URL -u FLYTEAUTH_IDP_ENDPOINT -u IDP_ACCESS_TOKEN_TTL \
      "$root/scripts/with-idp" "$out/hotpath" "$@"
    return
  fi
  return "$status"
}

first_header() {
  printf '%s\n' "$out/first-header-flyteauth" "$out/first-header-flyteidl-go"
}

cmd="${1:-all}"
[ "$#" -gt 0 ] && shift
case "$cmd" in
  build)
    build
    ;;
  first-header)
    build
    first_header
    ;;
  hotpath)
    build
    hotpath "$@"
    ;;
  storm)
    if [ "$#" -ne 3 ]; then
      echo "usage: $0 storm flyteauth|flyteidl-go THREADS SECONDS" >&2
      exit 2
    fi
    build
    with_fixture 3 "$out/storm" -impl "$1" -threads "$2" -seconds "$3"
    ;;
  all)
    build
    hotpath
    first_header
    ;;
  *)
    echo "usage: $0 [build|first-header|hotpath [flags]|storm IMPL THREADS SECONDS|all]" >&2
    exit 2
    ;;
esac
