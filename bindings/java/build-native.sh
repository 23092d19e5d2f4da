#!/usr/bin/env bash
# Build the native library of the Java binding: the JNI shim (src/main/c/flyteauth_jni.c)
# linked with the static flyteauth library into one self-contained shared object,
#
#   build/native/linux-x86_64/libflyteauth_jni.so
#
# which Maven packages into the jar as native/linux-x86_64/libflyteauth_jni.so. It exports the
# JNI entry points (JNI back end) and every flyteauth_* function of include/flyteauth.h (looked
# up by the FFM back end), and nothing else.
#
#   bindings/java/build-native.sh
#
# It runs `make -C <repo> lib` first (cargo rebuilds target/release/libflyteauth.a only when the
# Rust sources changed); FLYTEAUTH_SKIP_CARGO=1 skips that and uses the existing library.
# Environment: CC (default gcc), JAVA_HOME (JNI headers; default: the JDK of `javac` on PATH).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cc="${CC:-gcc}"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) classifier=linux-x86_64 ;;
  Linux-aarch64) classifier=linux-aarch64 ;;
  *) echo "build-native.sh: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

static_lib="$root/target/release/libflyteauth.a"
if [ "${FLYTEAUTH_SKIP_CARGO:-0}" != 1 ]; then
  make -s -C "$root" lib
fi
[ -f "$static_lib" ] || { echo "build-native.sh: $static_lib is missing (make lib)" >&2; exit 1; }

if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
fi
[ -f "$JAVA_HOME/include/jni.h" ] || { echo "build-native.sh: no jni.h under JAVA_HOME=$JAVA_HOME" >&2; exit 1; }

out_dir="$here/build/native/$classifier"
obj_dir="$here/build/obj"
mkdir -p "$out_dir" "$obj_dir"
out="$out_dir/libflyteauth_jni.so"

# Every function of the header must end up in the library, referenced or not by the shim.
symbols="$(sed -n 's/^[a-z_ *]*\b\(flyteauth_[a-z_]*\)(.*/\1/p' "$root/include/flyteauth.h" | sort -u)"
[ -n "$symbols" ] || { echo "build-native.sh: found no functions in flyteauth.h" >&2; exit 1; }
undefined=()
for s in $symbols; do undefined+=("-Wl,--undefined=$s"); done

# Export only the C ABI and the JNI entry points; keep Rust's own symbols local.
version_script="$obj_dir/exports.map"
cat >"$version_script" <<'EOF'
{
  global:
    flyteauth_*;
    JNI_OnLoad;
    Java_org_flyte_auth_*;
  local: *;
};
EOF

"$cc" -std=c11 -O2 -fPIC -Wall -Wextra -Werror -pedantic \
  -I"$root/include" -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" \
  -c "$here/src/main/c/flyteauth_jni.c" -o "$obj_dir/flyteauth_jni.o"

# The link line of a Rust staticlib (see the top-level Makefile's STATIC_LIBS).
"$cc" -shared -fPIC -o "$out.tmp" "$obj_dir/flyteauth_jni.o" "${undefined[@]}" \
  "$static_lib" \
  -Wl,--version-script="$version_script" -Wl,--gc-sections -Wl,-z,defs -Wl,-z,noexecstack \
  -Wl,-soname,libflyteauth_jni.so \
  -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
strip --strip-unneeded "$out.tmp"
mv "$out.tmp" "$out"

# Check the exports: every header function, and the JNI entry points.
exported="$(nm -D --defined-only "$out" | awk '{print $3}')"
missing=0
for s in $symbols JNI_OnLoad; do
  grep -qx "$s" <<<"$exported" || { echo "build-native.sh: $s is not exported" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1
echo "built $out ($(wc -c <"$out") bytes, $(grep -c '^flyteauth_' <<<"$exported") flyteauth_* and $(grep -c '^Java_' <<<"$exported") JNI exports)"
