#!/usr/bin/env bash
# Package the Java binding for release, from the natives under build/native/ (build-native.sh
# --target ..., or `make java-natives`):
#
#   target/dist/flyteauth-<version>.jar               every native: native/<os>-<arch>[-musl]/...
#   target/dist/flyteauth-<version>-<platform>.jar    the same classes with one native each
#                                                     (Maven classifier <platform>, e.g. linux-x86_64)
#   target/dist/flyteauth-<version>.pom
#
#   bindings/java/dist.sh [--expect "linux-x86_64 linux-aarch64 ..."]
#
# --expect lists the platforms that must be in the jar (the CI targets): a missing one is an error,
# so a release never silently lacks a platform. Linux glibc natives must need nothing above
# GLIBC_2.17 (a library from the host build, which `bindings/java/test.sh` puts in
# build/native/linux-<arch> for development, has the host's newer baseline and is refused).
# Environment: JAVA25_HOME (the JDK Maven runs on, >= 22).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
java25="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
die() { echo "dist.sh: $*" >&2; exit 1; }

expect=""
while [ $# -gt 0 ]; do
  case "$1" in
    --expect) expect="${2?}"; shift 2 ;;
    --expect=*) expect="${1#*=}"; shift ;;
    *) die "unknown argument $1" ;;
  esac
done

native="$here/build/native"
lib_of() {   # the library file name in a platform directory
  case "$1" in windows-*) echo flyteauth_jni.dll ;; osx-*) echo libflyteauth_jni.dylib ;; *) echo libflyteauth_jni.so ;; esac
}
platforms=()
for d in "$native"/*/; do
  [ -d "$d" ] || continue
  p="$(basename "$d")"
  [ -f "$d/$(lib_of "$p")" ] && platforms+=("$p")
done
for p in $expect; do
  [[ " ${platforms[*]} " == *" $p "* ]] ||
    die "the native library for $p is missing (expected $native/$p/$(lib_of "$p")): build it with make java-natives"
done
[ "${#platforms[@]}" -gt 0 ] || die "no native library under $native: build them with make java-natives"
for p in "${platforms[@]}"; do
  case "$p" in
    linux-*-musl) ;;
    linux-*)
      newest="$(objdump -T "$native/$p/libflyteauth_jni.so" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n 1)"
      [ "$(printf '%s\n' GLIBC_2.17 "$newest" | sort -V | tail -n 1)" = GLIBC_2.17 ] ||
        die "$native/$p/libflyteauth_jni.so needs $newest (a host build?): rebuild it with build-native.sh --target for the GLIBC_2.17 baseline" ;;
  esac
done

cd "$here"
version="$(sed -n 's|^  <version>\(.*\)</version>|\1|p' pom.xml | head -n 1)"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
rm -rf target/classes/native   # natives of an earlier build that build/native no longer has
JAVA_HOME="$java25" mvn -B -q -Dstyle.color=never package -DskipTests

dist="$here/target/dist"
rm -rf "$dist" && mkdir -p "$dist"
main="$dist/flyteauth-$version.jar"
cp "target/flyteauth-$version.jar" "$main"
cp pom.xml "$dist/flyteauth-$version.pom"
# The natives in the jar are exactly build/native's.
inside="$(unzip -Z1 "$main" | sed -n 's|^native/\([^/]*\)/[^/]*$|\1|p' | sort -u | tr '\n' ' ')"
[ "$inside" = "$(printf '%s\n' "${platforms[@]}" | sort | tr '\n' ' ')" ] ||
  die "the jar carries native/{$inside}, build/native has {${platforms[*]}}"

for p in "${platforms[@]}"; do
  jar="$dist/flyteauth-$version-$p.jar"
  cp "$main" "$jar"
  others=()
  for o in "${platforms[@]}"; do [ "$o" = "$p" ] || others+=("native/$o/*"); done
  [ ${#others[@]} -eq 0 ] || zip -q -d "$jar" "${others[@]}"
  [ "$(unzip -Z1 "$jar" | grep -c '^native/.*[^/]$')" = 1 ] || die "$jar must hold exactly one native"
done

echo "dist: $dist"
for f in "$dist"/*.jar; do
  printf '  %-40s %9d bytes\n' "$(basename "$f")" "$(wc -c <"$f")"
done
for p in "${platforms[@]}"; do
  printf '  native/%-33s %9d bytes\n' "$p/$(lib_of "$p")" "$(wc -c <"$native/$p/$(lib_of "$p")")"
done
