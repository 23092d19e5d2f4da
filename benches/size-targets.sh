#!/usr/bin/env bash
# The stripped C library of each release target this machine builds, built as scripts/dist
# builds it (the release profile, Debian's rustc-web, zig for the GLIBC 2.17 baseline, mingw-w64
# with std from source for Windows), for `make bench` (benches/run.sh, part `size-targets`). Prints one
# line per target and, with FLYTEAUTH_BENCH_RESULTS set, appends there
#
#   {"kind":"size_target","target":"aarch64-unknown-linux-gnu","file":"libflyteauth.so",
#    "bytes":...,"rustc":"rustc 1.xx ..."}
#
#   benches/size-targets.sh [TARGET ...]   default: x86_64-unknown-linux-gnu
#                                          aarch64-unknown-linux-gnu x86_64-pc-windows-gnu
#
# Only the C library (package flyteauth-capi) is built, into target/bench-size (its own target
# directory: these builds share nothing with the host's). Cold, each takes several minutes.
# musl targets ship a static library only, and macOS needs a Mac: neither is measured here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-pc-windows-gnu)

scripts/install-cross-tools >/dev/null
eval "$(scripts/install-cross-tools --env)"
# Debian's rustc-web first, as scripts/dist does: rustup's proxies have no cross std here.
export PATH="$root/target/cross/bin:/usr/bin:$PATH" RUSTC=/usr/bin/rustc
export CARGO_TARGET_DIR="$root/target/bench-size"
rustc_version="$(/usr/bin/rustc --version)"
out="$CARGO_TARGET_DIR/stripped"
mkdir -p "$out"

for target in "${targets[@]}"; do
  start=$SECONDS
  case "$target" in
    *-linux-gnu)
      /usr/bin/cargo zigbuild --release --locked -p flyteauth-capi --lib --target "$target.2.17" --quiet
      file=libflyteauth.so ;;
    x86_64-pc-windows-gnu)
      CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
      CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar \
      RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --release --locked -p flyteauth-capi --lib \
        --target "$target" -Zbuild-std=std,panic_unwind --quiet
      file=flyteauth.dll ;;
    *) echo "size-targets: $target is not measured here (see the header)" >&2; exit 2 ;;
  esac
  # llvm-strip reads every target's format; --strip-all is what `strip` does by default.
  llvm-strip --strip-all -o "$out/$target-$file" "$CARGO_TARGET_DIR/$target/release/$file"
  bytes="$(stat -c %s "$out/$target-$file")"
  printf 'size-targets: %s %s: %d bytes stripped (built in %d s)\n' \
    "$target" "$file" "$bytes" $((SECONDS - start))
  if [ -n "${FLYTEAUTH_BENCH_RESULTS:-}" ]; then
    printf '{"kind":"size_target","target":"%s","file":"%s","bytes":%d,"rustc":"%s"}\n' \
      "$target" "$file" "$bytes" "$rustc_version" >>"$FLYTEAUTH_BENCH_RESULTS"
  fi
done
