#!/usr/bin/env bash
# Build the native library of the Java binding: the JNI shim (src/main/c/flyteauth_jni.c) linked
# with the static flyteauth library of one target into one self-contained shared library,
#
#   build/native/<os>-<arch>[-musl]/libflyteauth_jni.so | libflyteauth_jni.dylib | flyteauth_jni.dll
#
# which Maven packages into the jar under native/ (NativeLibrary.java picks the directory at run
# time). It exports the JNI entry points (JNI back end) and every flyteauth_* function of
# include/flyteauth.h (looked up by the FFM back end), and nothing else; the script checks that.
#
#   bindings/java/build-native.sh                 this machine, for development: `make lib`, then gcc
#                                                 (the host's glibc baseline) -> linux-<arch>
#   bindings/java/build-native.sh --target <triple> [--static-lib <libflyteauth.a>] [--cc "<cc>"]
#
#   target                        directory            C compiler (default)                     libc / baseline
#   x86_64-unknown-linux-gnu      linux-x86_64         zig cc -target x86_64-linux-gnu.2.17     GLIBC_2.17 (checked)
#   aarch64-unknown-linux-gnu     linux-aarch64        zig cc -target aarch64-linux-gnu.2.17    GLIBC_2.17 (checked)
#   x86_64-unknown-linux-musl     linux-x86_64-musl    zig cc -target x86_64-linux-musl         musl, dynamically (Alpine's JVM)
#   aarch64-unknown-linux-musl    linux-aarch64-musl   zig cc -target aarch64-linux-musl        musl, dynamically
#   x86_64-pc-windows-gnu         windows-x86_64       x86_64-w64-mingw32-gcc                   system DLLs only (checked)
#   x86_64-apple-darwin           osx-x86_64           clang -arch x86_64 (on a Mac only)
#   aarch64-apple-darwin          osx-aarch64          clang -arch arm64 (on a Mac only)
#
# The static library defaults to $CARGO_TARGET_DIR/<triple>/release/libflyteauth.a (CARGO_TARGET_DIR
# defaults to <repo>/target), which is where `cargo zigbuild --release --lib --target <triple>.2.17`
# (glibc), `cargo zigbuild ... --target <triple>-musl -Zbuild-std` or `cargo build --target
# x86_64-pc-windows-gnu` put it; mk/java.mk builds them. The glibc baseline is set by whoever links
# the final library, so the glibc targets must be linked by zig with the .2.17 suffix, not by the
# host gcc. musl: Alpine's JVM is itself linked against musl dynamically, so the JNI library must
# be a shared object that needs musl's libc.so (musl's loader maps libc.so, libm.so, libdl.so, ...
# to itself); the unwinder the Rust code needs is zig's libunwind, linked in statically, so nothing
# but musl is needed at run time. The static library can be the one `make dist` builds for the
# static musl archive (default crt-static): a staticlib carries no libc and its objects are PIC
# with general-dynamic TLS either way, so only this final link decides static or dynamic; its
# symbols newer than musl 1.2.3 (pidfd_spawnp, pidfd_getpid, __cxa_thread_atexit_impl) are weak. macOS needs Apple's SDK: on Linux the script says so and stops
# (the release workflow runs it on a Mac runner).
#
# Environment: JAVA_HOME (jni.h; default: the JDK of `javac` on PATH). Only the host build runs
# `make -C <repo> lib` (FLYTEAUTH_SKIP_CARGO=1 skips it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

die() { echo "build-native.sh: $*" >&2; exit 1; }

target="" static_lib="" cc=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="${2:?}"; shift 2 ;;
    --target=*) target="${1#*=}"; shift ;;
    --static-lib) static_lib="${2:?}"; shift 2 ;;
    --static-lib=*) static_lib="${1#*=}"; shift ;;
    --cc) cc="${2:?}"; shift 2 ;;
    --cc=*) cc="${1#*=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

cargo_target_dir="${CARGO_TARGET_DIR:-$root/target}"
glibc_max=""          # GLIBC_x.y the library may need at most (checked with objdump -T)
case "$target" in
  "")
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) dir=linux-x86_64 ;;
      Linux-aarch64) dir=linux-aarch64 ;;
      *) die "no host build for $(uname -s)-$(uname -m): pass --target" ;;
    esac
    os=linux cc="${cc:-${CC:-gcc}}"
    if [ -z "$static_lib" ]; then
      static_lib="$cargo_target_dir/release/libflyteauth.a"
      [ "${FLYTEAUTH_SKIP_CARGO:-0}" = 1 ] || make -s -C "$root" lib
    fi
    libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
    ;;
  x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu)
    arch="${target%%-*}" dir="linux-${target%%-*}" os=linux glibc_max=2.17
    cc="${cc:-zig cc -target $arch-linux-gnu.2.17}"
    libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
    ;;
  x86_64-unknown-linux-musl | aarch64-unknown-linux-musl)
    arch="${target%%-*}" dir="linux-${target%%-*}-musl" os=linux
    cc="${cc:-zig cc -target $arch-linux-musl}"
    # zig's libunwind (static) for the Rust unwinder; musl has no separate libgcc_s on Alpine
    # unless the libgcc package is installed.
    libs=(-lunwind -lc)
    ;;
  x86_64-pc-windows-gnu)
    dir=windows-x86_64 os=windows
    cc="${cc:-x86_64-w64-mingw32-gcc}"
    # The system DLLs Rust std and the core need (docs: PLATFORMS.md), winpthread and libgcc linked
    # in statically so the DLL needs no MinGW runtime DLL next to it.
    libs=(-static-libgcc -Wl,-Bstatic -lpthread -Wl,-Bdynamic
          -lws2_32 -lbcrypt -luserenv -lntdll -ladvapi32 -lcrypt32 -liphlpapi -lkernel32
          -lsynchronization)
    ;;
  x86_64-apple-darwin | aarch64-apple-darwin)
    dir="osx-${target%%-*}" os=osx
    if [ "$(uname -s)" != Darwin ]; then
      die "$target cannot be linked here: a .dylib needs Apple's SDK (Security, CoreFoundation frameworks), \
which only a Mac has. The release workflow builds $dir on a macOS runner with this same script."
    fi
    clang_arch="${target%%-*}"; [ "$clang_arch" = aarch64 ] && clang_arch=arm64
    cc="${cc:-clang -arch $clang_arch -mmacosx-version-min=${MACOSX_DEPLOYMENT_TARGET:-11.0}}"
    libs=(-framework Security -framework CoreFoundation -liconv -lc -lm)
    ;;
  *) die "unknown target $target (see --help for the supported ones)" ;;
esac
[ -n "$static_lib" ] || static_lib="$cargo_target_dir/$target/release/libflyteauth.a"
[ -f "$static_lib" ] || die "$static_lib is missing: build the static library for ${target:-this machine} first (mk/java.mk: make java-natives)"

if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
fi
[ -f "$JAVA_HOME/include/jni.h" ] || die "no jni.h under JAVA_HOME=$JAVA_HOME"

out_dir="$here/build/native/$dir"
obj_dir="$here/build/obj/$dir"
mkdir -p "$out_dir" "$obj_dir"
case "$os" in
  windows) file=flyteauth_jni.dll ;;
  osx) file=libflyteauth_jni.dylib ;;
  *) file=libflyteauth_jni.so ;;
esac
out="$out_dir/$file"

# jni_md.h of the target OS. A Linux JDK ships only include/linux; Windows' differs in what
# matters (JNIEXPORT is __declspec(dllexport), jlong is long long since long is 32 bits there),
# so for a cross build it is written here from the JNI specification's definitions. (JNICALL,
# __stdcall on Windows, means nothing on x86_64; the Linux jni.h defines it empty itself.)
md_dir="$JAVA_HOME/include/linux"
case "$os" in
  windows)
    md_dir="$obj_dir/jni-md"
    mkdir -p "$md_dir"
    cat >"$md_dir/jni_md.h" <<'EOF'
/* jni_md.h for Windows (written by build-native.sh for a cross build) */
#ifndef _JAVASOFT_JNI_MD_H_
#define _JAVASOFT_JNI_MD_H_
#define JNIEXPORT __declspec(dllexport)
#define JNIIMPORT __declspec(dllimport)
typedef int jint;
typedef long long jlong;
typedef signed char jbyte;
#endif
EOF
    ;;
  osx) md_dir="$JAVA_HOME/include/darwin"; [ -d "$md_dir" ] || md_dir="$JAVA_HOME/include/linux" ;;
esac

# Every function of the header must end up in the library, referenced or not by the shim.
symbols="$(sed -n 's/^[a-z0-9_ *]*\b\(flyteauth_[a-z0-9_]*\)(.*/\1/p' "$root/include/flyteauth.h" | sort -u)"
[ -n "$symbols" ] || die "found no functions in flyteauth.h"
jni_symbols="$(grep -o 'Java_org_flyte_auth_[A-Za-z0-9_]*' "$here/src/main/c/flyteauth_jni.c" | sort -u)"

# shellcheck disable=SC2086 # $cc may be "zig cc -target ..."
$cc -std=c11 -O2 -fPIC -Wall -Wextra -Werror -pedantic \
  -I"$root/include" -I"$JAVA_HOME/include" -I"$md_dir" \
  -c "$here/src/main/c/flyteauth_jni.c" -o "$obj_dir/flyteauth_jni.o"

# The exports: only the C ABI and the JNI entry points; Rust's own symbols stay local.
link=()
case "$os" in
  linux)
    for s in $symbols; do link+=("-Wl,-u,$s"); done
    cat >"$obj_dir/exports.map" <<'EOF'
{
  global:
    flyteauth_*;
    JNI_OnLoad;
    Java_org_flyte_auth_*;
  local: *;
};
EOF
    link+=(-shared -fPIC "-Wl,--version-script=$obj_dir/exports.map" -Wl,--gc-sections -Wl,-z,defs
           -Wl,-z,noexecstack -Wl,-soname,$file)
    ;;
  windows)
    # A .def file names every export (the Rust objects carry no dllexport of their own).
    { echo "LIBRARY $file"; echo "EXPORTS"; for s in $symbols JNI_OnLoad $jni_symbols; do echo "  $s"; done; } \
      >"$obj_dir/exports.def"
    link+=(-shared "$obj_dir/exports.def" -Wl,--gc-sections)
    ;;
  osx)
    for s in $symbols JNI_OnLoad $jni_symbols; do echo "_$s"; done >"$obj_dir/exports.txt"
    link+=(-dynamiclib -install_name "@rpath/$file" -Wl,-exported_symbols_list,"$obj_dir/exports.txt"
           -Wl,-dead_strip)
    ;;
esac

# shellcheck disable=SC2086
$cc -o "$out.tmp" "$obj_dir/flyteauth_jni.o" "$static_lib" "${link[@]}" "${libs[@]}"

# Strip with a tool that reads the target's format.
case "$os" in
  windows) x86_64-w64-mingw32-strip --strip-unneeded "$out.tmp" ;;
  osx) strip -x "$out.tmp" ;;
  *) if command -v llvm-strip >/dev/null; then llvm-strip --strip-unneeded "$out.tmp";
     elif [ "$(uname -m)" = "${target%%-*}" ] || [ -z "$target" ]; then strip --strip-unneeded "$out.tmp";
     else "${target%%-*}-linux-gnu-strip" --strip-unneeded "$out.tmp"; fi ;;
esac
mv "$out.tmp" "$out"

# Check the exports: every header function, JNI_OnLoad and each JNI entry point of the shim.
case "$os" in
  windows)
    exported="$(x86_64-w64-mingw32-objdump -p "$out" | awk '/^\[Ordinal\/Name Pointer\] Table/{t=1; next} t && /^\t\[/{print $NF} t && /^$/{t=0}')" ;;
  osx) exported="$(nm -gU "$out" | awk '{print $3}' | sed 's/^_//')" ;;
  *) exported="$(nm -D --defined-only "$out" | awk '{print $3}')" ;;
esac
missing=0
for s in $symbols JNI_OnLoad $jni_symbols; do
  grep -qx "$s" <<<"$exported" || { echo "build-native.sh: $s is not exported from $out" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1
extra="$(grep -v -x -e 'flyteauth_.*' -e 'JNI_OnLoad' -e 'Java_org_flyte_auth_.*' <<<"$exported" || true)"
[ -z "$extra" ] || die "$out exports more than the C ABI and JNI: $(head -5 <<<"$extra" | sort -fu | tr "\n" " ")"

# What the library needs at run time.
case "$os" in
  linux)
    needed="$(readelf -d "$out" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -fu | tr "\n" " ")"
    if [ -n "$glibc_max" ]; then
      newest="$(objdump -T "$out" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n 1)"
      [ "$(printf '%s\n' "GLIBC_$glibc_max" "$newest" | sort -V | tail -n 1)" = "GLIBC_$glibc_max" ] ||
        die "$out needs $newest, above the GLIBC_$glibc_max baseline (link with zig cc -target <arch>-linux-gnu.$glibc_max)"
      needed="$needed; newest symbol version $newest"
    fi
    case "$dir" in *-musl)
      for n in $needed; do
        case "$n" in libc.so | libc.musl-*) ;; *) die "$out needs $n: a musl JNI library may need only musl's libc" ;; esac
      done ;;
    esac ;;
  windows)
    needed="$(x86_64-w64-mingw32-objdump -p "$out" | sed -n 's/^\tDLL Name: //p' | sort -fu | tr "\n" " ")"
    for n in $needed; do
      case "$n" in libgcc*|libwinpthread*|libstdc++*) die "$out needs the MinGW runtime DLL $n" ;; esac
    done ;;
  osx) needed="$(otool -L "$out" | tail -n +2 | awk '{print $1}' | tr '\n' ' ')" ;;
esac

echo "built ${out#"$here"/} ($(wc -c <"$out") bytes; $(grep -c '^flyteauth_' <<<"$exported") flyteauth_* and $(grep -c '^Java_' <<<"$exported") JNI exports; needs: $needed)"
