#!/usr/bin/env bash
# Test the release jars of target/dist (dist.sh) the way users get them: the library comes out of
# the jar (no -Dflyteauth.library.path, an empty java.library.path), and the demo gets a token
# from the IdP fixture, with no JVM warning.
#
#   bindings/java/test-dist.sh
#
#   1. the multi-platform jar on Java 17 (JNI) and Java 25 (FFM), on the class path
#      (--enable-native-access=ALL-UNNAMED) and on the module path (=org.flyte.auth);
#   2. this machine's classifier jar (Java 17);
#   3. another platform's classifier jar fails with the loader's message, which names what it
#      detected and what the jar carries;
#   4. the aarch64 library on an arm64 JVM under qemu-aarch64-static, when there is one:
#      ARM64_JAVA_HOME, default target/arm64-jvm/.../java-17-openjdk-arm64 (`make java-arm64-jvm`
#      unpacks Debian's openjdk-17-jre-headless:arm64 there without installing it);
#   5. each musl native in the jar (there is no musl JVM here): src/test/c/dlopen_demo.c, compiled
#      for musl by zig, dlopens it under musl's own dynamic loader (MUSL_ROOT, default target/musl,
#      from Debian's musl packages: `make java-test-runtimes`; aarch64 under qemu), looks the C ABI
#      up by name as the FFM back end does, and gets a token;
#   6. the API classes are Java 8 bytecode.
#
# Environment: JAVA25_HOME, JAVA17_HOME, ARM64_JAVA_HOME, MUSL_ROOT.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
java25="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
java17="${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
arm64="${ARM64_JAVA_HOME:-$root/target/arm64-jvm/root/usr/lib/jvm/java-17-openjdk-arm64}"
musl_root="${MUSL_ROOT:-$root/target/musl}"

if [ -z "${FLYTEAUTH_IDP_ENDPOINT:-}" ]; then
  exec "$root/scripts/with-idp" "$0" "$@"
fi
version="$(sed -n 's|^  <version>\(.*\)</version>|\1|p' "$here/pom.xml" | head -n 1)"
dist="$here/target/dist"
jar="$dist/flyteauth-$version.jar"
[ -f "$jar" ] || { echo "test-dist.sh: no $jar (run dist.sh, or make java-dist)" >&2; exit 1; }

case "$(uname -m)" in x86_64) host=linux-x86_64 other=linux-aarch64 ;; aarch64) host=linux-aarch64 other=linux-x86_64 ;; esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The demo, compiled once for every JVM (Java 8 bytecode, like the API).
"$java25/bin/javac" --release 8 -Xlint:-options -cp "$jar" -d "$work/classes" "$here/examples/Demo.java"

passed=0 failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# run <label> <expected backend> <java command...>: the demo must print a bearer header
run() {
  local label="$1" backend="$2"; shift 2
  local out
  if out="$("$@" -Djava.library.path= Demo 2>&1)" &&
     grep -q "(Java, $backend): header metadata" <<<"$out" &&
     grep -q '^  flyte-authorization: Bearer ' <<<"$out" &&
     ! grep -q '^WARNING' <<<"$out"; then
    pass "$label: $(grep -o 'flyteauth .*(Java, [a-z]*)' <<<"$out"), a token from the fixture"
  else
    fail "$label"; sed 's/^/     /' <<<"$out"
  fi
}

start=$SECONDS
run "Java 17, multi-platform jar" jni "$java17/bin/java" -cp "$jar:$work/classes"
run "Java 25, multi-platform jar" ffm "$java25/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar:$work/classes"
# On the module path the jar is the automatic module org.flyte.auth, and the flag names it.
run "Java 25, module path" ffm "$java25/bin/java" --enable-native-access=org.flyte.auth \
  -p "$jar" --add-modules org.flyte.auth -cp "$work/classes"
if [ -f "$dist/flyteauth-$version-$host.jar" ]; then
  run "Java 17, classifier jar $host" jni "$java17/bin/java" -cp "$dist/flyteauth-$version-$host.jar:$work/classes"
else
  fail "no classifier jar for $host"
fi

# Another platform's classifier jar: the error must say what was detected and what is there.
if [ -f "$dist/flyteauth-$version-$other.jar" ]; then
  out="$("$java17/bin/java" -cp "$dist/flyteauth-$version-$other.jar:$work/classes" -Djava.library.path= Demo 2>&1 || true)"
  want="no native library for $host: detected os linux, arch ${host#linux-}, libc glibc"
  if grep -qF "$want" <<<"$out" && grep -qF "carry native/{$other}" <<<"$out"; then
    pass "the $other jar on $host: $(sed -n 's/.*\(flyteauth: no native library.*\)\. Looked for.*/\1/p' <<<"$out" | head -n 1)"
  else
    fail "the $other jar on $host: expected \"$want\" and \"carry native/{$other}\""; sed 's/^/     /' <<<"$out"
  fi
fi

# aarch64 under qemu: the JVM and the JNI library are arm64, the fixture runs natively.
if [ "$host" = linux-x86_64 ] && [ -x "$arm64/bin/java" ] && command -v qemu-aarch64-static >/dev/null; then
  run "Java 17 arm64 under qemu, multi-platform jar" jni qemu-aarch64-static "$arm64/bin/java" -cp "$jar:$work/classes"
  run "Java 17 arm64 under qemu, classifier jar linux-aarch64" jni \
    qemu-aarch64-static "$arm64/bin/java" -cp "$dist/flyteauth-$version-linux-aarch64.jar:$work/classes"
else
  echo "skip aarch64 under qemu (no arm64 JVM at $arm64: make java-arm64-jvm)"
fi

# musl: a musl process loads the library from the jar with dlopen and gets a token.
for p in $(unzip -Z1 "$jar" | sed -n 's|^native/\(linux-[a-z0-9_]*-musl\)/libflyteauth_jni.so$|\1|p'); do
  arch="$(cut -d- -f2 <<<"$p")"
  deb="$([ "$arch" = x86_64 ] && echo amd64 || echo arm64)"
  loader="$musl_root/root-$deb/lib/ld-musl-$arch.so.1"
  if [ ! -f "$loader" ] || ! command -v zig >/dev/null; then
    fail "$p: cannot test it (musl loader $loader or zig missing: make java-test-runtimes, scripts/install-cross-tools)"
    continue
  fi
  mkdir -p "$work/$p"
  unzip -q -o "$jar" "native/$p/libflyteauth_jni.so" -d "$work/$p"
  # -dynamic: a static musl program cannot dlopen; -O2: zig's debug build links its UBSan
  # runtime, which needs libc symbols newer than old musl (statx, musl 1.2.5).
  zig cc -target "$arch-linux-musl" -dynamic -O2 -std=gnu11 -Wall -Wextra -Werror -I"$root/include" \
    "$here/src/test/c/dlopen_demo.c" -o "$work/$p/dlopen_demo"
  runner=()
  [ "$arch" = "$(uname -m)" ] || runner=(qemu-aarch64-static)
  if out="$("${runner[@]}" "$loader" "$work/$p/dlopen_demo" "$work/$p/native/$p/libflyteauth_jni.so" 2>&1)" &&
     grep -q '^  flyte-authorization: Bearer ' <<<"$out"; then
    pass "$p: dlopen under musl's loader${runner[*]:+ (${runner[*]})}, a token from the fixture"
  else
    fail "$p: dlopen under musl's loader"; sed 's/^/     /' <<<"$out"
  fi
done

# The public API stays Java 8 bytecode (major version 52).
major="$(cd "$work" && unzip -q -o "$jar" org/flyte/auth/Authenticator.class && od -An -j6 -N2 -tu1 org/flyte/auth/Authenticator.class | awk '{print $1 * 256 + $2}')"
if [ "$major" = 52 ]; then pass "org.flyte.auth.Authenticator is Java 8 bytecode"; else fail "Authenticator.class has major version $major, not 52"; fi

echo "java dist: $passed passed, $failed failed ($((SECONDS - start)) s); jar $(wc -c <"$jar") bytes with native/{$(unzip -Z1 "$jar" | sed -n 's|^native/\([^/]*\)/[^/]*$|\1|p' | sort -u | paste -sd, -)}"
[ "$failed" = 0 ]
