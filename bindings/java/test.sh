#!/usr/bin/env bash
# Build the native shim and run the Java suite twice: FFM on Java 25, JNI on Java 17.
#
#   bindings/java/test.sh [extra mvn arguments]
#
# Needs the static library (runs `make -C <repo> lib` when target/release/libflyteauth.a is
# missing), node for the IdP fixture (npm ci runs when its node_modules is missing), gcc, a JDK
# >= 22 for Maven (JAVA25_HOME) and a Java 17 (JAVA17_HOME).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
java25="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
java17="${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"

JAVA_HOME="$java25" "$here/build-native.sh"
fixture="$root/tests/fixtures/idp"
if [ ! -d "$fixture/node_modules" ]; then
  (cd "$fixture" && npm ci --no-audit --no-fund --loglevel=error)
fi
cd "$here"
# Maven 3.8's bundled Guava uses sun.misc.Unsafe, which JDK 24+ warns about.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
JAVA_HOME="$java25" mvn -B -q -Dstyle.color=never -Djava25.home="$java25" -Djava17.home="$java17" test "$@"
for backend in ffm jni; do
  reports="$here/target/surefire-reports-$backend"
  tests=0 failures=0 skipped=0
  for f in "$reports"/TEST-*.xml; do
    line="$(grep -m1 -o '<testsuite [^>]*' "$f")"
    t=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$line")
    e=$(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$line")
    fl=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$line")
    s=$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$line")
    tests=$((tests + t)); failures=$((failures + e + fl)); skipped=$((skipped + s))
  done
  echo "java ($backend): $tests tests, $failures failed, $skipped skipped"
done
