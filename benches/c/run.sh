#!/usr/bin/env bash
# C benchmarks: the hot path (timed harness + allocation count) and a fresh process to its
# first header against the local IdP (wall time and peak RSS, benches/c/spawn_stats.c).
# Run by `make bench`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out=target/bench-c
mkdir -p "$out"
cargo build --release --lib --quiet
static_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
gcc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude benches/c/hot_path.c -o "$out/hot_path" \
  -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc target/release/libflyteauth.a $static_libs
gcc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude benches/c/first_header.c -o "$out/first_header" \
  -Ltarget/release -lflyteauth -Wl,-rpath,"$root/target/release"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
"$out/hot_path"
gcc -std=c11 -O2 -Wall -Wextra -Werror benches/c/spawn_stats.c -o "$out/spawn_stats"
scripts/with-idp "$out/spawn_stats" 30 "C, client credentials, local IdP" "$out/first_header"
strip -o "$out/libflyteauth.stripped.so" target/release/libflyteauth.so
echo "stripped libflyteauth.so: $(stat -c %s "$out/libflyteauth.stripped.so") bytes"
