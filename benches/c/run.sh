#!/usr/bin/env bash
# C benchmarks: the hot path (timed harness + allocation count + threads started) and a fresh
# process to its first header against the local IdP (wall time and peak RSS, measured by
# benches/c/spawn_stats.c). Part of `make bench` (benches/run.sh).
#
#   benches/c/run.sh hotpath              build and run the hot-path harness
#   benches/c/run.sh build-first-header   build target/bench-c/first_header, the two limit
#                                         programs (libcurl, plain socket) and spawn_stats
#   benches/c/run.sh [all]                both, the first header timed over 30 processes
# With FLYTEAUTH_BENCH_RESULTS set, results are appended there as JSON lines.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out=target/bench-c
mkdir -p "$out"
static_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

hotpath() {
  cargo build --release --lib --quiet
  gcc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude benches/c/hot_path.c -o "$out/hot_path" \
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc target/release/libflyteauth.a $static_libs
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  "$out/hot_path"
}

# libcurl's headers for the libcurl program (the limit row of the first-header table), from
# Debian as .ci/run installs its packages.
need_libcurl() {
  pkg-config --exists libcurl && return
  echo "== apt-get install libcurl4-openssl-dev (the first-header limit program)"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    libcurl4-openssl-dev >/dev/null
}

build_first_header() {
  cargo build --release --lib --quiet
  gcc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude benches/c/first_header.c -o "$out/first_header" \
    -Ltarget/release -lflyteauth -Wl,-rpath,"$root/target/release"
  # The limits: the same token request with libcurl, and by hand on a socket.
  need_libcurl
  # shellcheck disable=SC2046
  gcc -std=c11 -O2 -Wall -Wextra -Werror benches/c/first_header_curl.c -o "$out/first_header_curl" \
    $(pkg-config --cflags --libs libcurl)
  gcc -std=c11 -O2 -Wall -Wextra -Werror benches/c/first_header_socket.c -o "$out/first_header_socket"
  gcc -std=c11 -O2 -Wall -Wextra -Werror benches/c/spawn_stats.c -o "$out/spawn_stats"
}

case "${1:-all}" in
  hotpath) hotpath ;;
  build-first-header) build_first_header ;;
  all)
    hotpath
    build_first_header
    scripts/with-idp "$out/spawn_stats" 30 "flyteauth/C/client credentials" "$out/first_header"
    strip -o "$out/libflyteauth.stripped.so" target/release/libflyteauth.so
    echo "stripped libflyteauth.so: $(stat -c %s "$out/libflyteauth.stripped.so") bytes"
    ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
