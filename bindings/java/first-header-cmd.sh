#!/usr/bin/env bash
# The command line of the Java first-header program (benches/README.md, "First-header
# programs"): a fresh JVM that creates a client-credentials authenticator from FLYTEAUTH_IDP_*,
# fetches the header metadata once, closes it and exits 0 (org.flyte.auth.bench.FirstHeader).
#
#   bindings/java/first-header-cmd.sh ffm|jni [default|tuned]
#
# Builds what is missing or out of date (on stderr), then prints the argv on stdout, one
# element per line: the java binary (FFM: Java 25, JNI: Java 17), the JVM flags and a classpath
# of two jars staged under build/first-header/ (the library's jar as `mvn package` makes it, and
# a jar with FirstHeader), so running it needs no Maven and no build directory that a concurrent
# `mvn` could be rewriting. The library is loaded the way a jar user gets it by default: extracted
# from the jar to java.io.tmpdir at start-up.
#
#   default  the JVM's default flags plus only what the back end needs
#            (--enable-native-access=ALL-UNNAMED on Java 22+): the honest headline figure.
#   tuned    what a short-lived CLI could add: -XX:TieredStopAtLevel=1 (C1 only),
#            -XX:+UseSerialGC, and an archive of the program's classes made by one training run
#            against the IdP (Java 25: AOT cache, -XX:AOTCache; Java 17: dynamic AppCDS,
#            -XX:SharedArchiveFile). Needs FLYTEAUTH_IDP_* set, or starts scripts/with-idp for
#            the training run.
#
# Read the argv with `mapfile -t argv < <(bindings/java/first-header-cmd.sh ffm)`; plain `$(...)`
# also works while no path contains white space. Example:
#   scripts/with-idp bash -c 'mapfile -t c < <(bindings/java/first-header-cmd.sh jni); /usr/bin/time -v "${c[@]}"'
#
# The native library is built (build-native.sh) when it is missing or older than
# target/release/libflyteauth.a; run `make lib` first to pick up Rust changes.
# Environment: JAVA25_HOME, JAVA17_HOME (default: the machine's Temurin 25 and OpenJDK 17).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
java25="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
java17="${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"

usage() { echo "usage: $0 ffm|jni [default|tuned]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
backend="$1" variant="${2:-default}"
case "$backend" in
  ffm) jhome="$java25" flags=(-Dflyteauth.backend=ffm --enable-native-access=ALL-UNNAMED) ;;
  jni) jhome="$java17" flags=(-Dflyteauth.backend=jni) ;;
  *) usage ;;
esac
case "$variant" in default | tuned) ;; *) usage ;; esac
java="$jhome/bin/java"
[ -x "$java" ] || { echo "first-header-cmd.sh: no $java" >&2; exit 1; }

stage="$here/build/first-header"
mkdir -p "$stage"
# One build at a time (the ffm and jni commands may be asked for concurrently).
exec 9>"$stage/.lock"
flock 9

# --- build (everything to stderr: stdout is the argv) ---
native="$here/build/native/linux-x86_64/libflyteauth_jni.so"
static_lib="$root/target/release/libflyteauth.a"
if [ ! -f "$native" ] || [ "$static_lib" -nt "$native" ]; then
  JAVA_HOME="$java25" FLYTEAUTH_SKIP_CARGO="$([ -f "$static_lib" ] && echo 1 || echo 0)" \
    "$here/build-native.sh" >&2
fi
stamp="$stage/.stamp"
lib_jar="$stage/flyteauth.jar" app_jar="$stage/first-header.jar"
if [ ! -f "$stamp" ] || [ ! -f "$lib_jar" ] || [ ! -f "$app_jar" ] ||
  [ -n "$(find "$here/pom.xml" "$here/src/main" "$native" \
    "$here/src/test/java/org/flyte/auth/bench/FirstHeader.java" -newer "$stamp" -print -quit)" ]; then
  echo "first-header-cmd.sh: building the jar (mvn package -DskipTests)" >&2
  (cd "$here" && JAVA_HOME="$java25" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
    mvn -B -q -Dstyle.color=never package -DskipTests >&2)
  built="$(ls "$here"/target/flyteauth-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -n 1)"
  classes="$stage/classes"
  rm -rf "$classes" "$stage"/*.aot "$stage"/*.jsa
  mkdir -p "$classes/org/flyte/auth/bench"
  cp "$here/target/test-classes/org/flyte/auth/bench/FirstHeader.class" "$classes/org/flyte/auth/bench/"
  cp "$built" "$lib_jar.tmp" && mv "$lib_jar.tmp" "$lib_jar"
  "$java25/bin/jar" --create --file "$app_jar.tmp" -C "$classes" . && mv "$app_jar.tmp" "$app_jar"
  rm -rf "$classes"
  touch "$stamp"
fi
cp_arg="$lib_jar:$app_jar"
main=org.flyte.auth.bench.FirstHeader

if [ "$variant" = tuned ]; then
  flags+=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
  train() { # runs java with the given extra flags once against the IdP
    if [ -n "${FLYTEAUTH_IDP_ENDPOINT:-}" ]; then
      "$java" "${flags[@]}" "$@" -cp "$cp_arg" "$main" >&2
    else
      "$root/scripts/with-idp" "$java" "${flags[@]}" "$@" -cp "$cp_arg" "$main" >&2
    fi
  }
  if [ "$backend" = ffm ]; then
    archive="$stage/ffm-$(basename "$jhome").aot"
    if [ ! -f "$archive" ] || [ "$stamp" -nt "$archive" ]; then
      echo "first-header-cmd.sh: training run for the AOT cache $archive" >&2
      rm -f "$archive"
      train -XX:AOTCacheOutput="$archive" -Xlog:aot=error,cds=error
      train -XX:AOTCache="$archive" -XX:AOTMode=on # fails if the cache cannot be used
    fi
    flags+=(-XX:AOTCache="$archive")
  else
    archive="$stage/jni-$(basename "$jhome").jsa"
    if [ ! -f "$archive" ] || [ "$stamp" -nt "$archive" ]; then
      echo "first-header-cmd.sh: training run for the CDS archive $archive" >&2
      rm -f "$archive"
      train -XX:ArchiveClassesAtExit="$archive" -Xlog:cds=error
      train -XX:SharedArchiveFile="$archive" -Xshare:on # fails if the archive cannot be used
    fi
    flags+=(-XX:SharedArchiveFile="$archive")
  fi
fi

argv=("$java" "${flags[@]}" -cp "$cp_arg" "$main")
for a in "${argv[@]}"; do
  case "$a" in *$'\n'*) echo "first-header-cmd.sh: an argument contains a newline: $a" >&2; exit 1 ;; esac
done
printf '%s\n' "${argv[@]}"
