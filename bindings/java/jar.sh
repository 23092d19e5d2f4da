#!/usr/bin/env bash
# Print the path of the binding's jar (bindings/java/target/flyteauth-<version>.jar), building it
# first when there is none or a source, the pom or the Rust library is newer (./build-native.sh,
# then mvn package, with Temurin 25). For scripts
# that run Java programs against the jar: demo.sh, scripts/readme-quickstarts.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
java25="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
find_jar() { ls "$here"/target/flyteauth-*.jar 2>/dev/null | grep -v -- '-sources\|-javadoc' | head -n 1 || true; }
jar="$(find_jar)"
lib="$here/../../target/release/libflyteauth.so"
if [ -n "$jar" ] && [ -n "$(find "$here/src" "$here/pom.xml" "$lib" -newer "$jar" -print -quit 2>/dev/null)" ]; then
  jar=""
fi
if [ -z "$jar" ]; then
  echo "jar.sh: building the jar" >&2
  JAVA_HOME="$java25" "$here/build-native.sh" >&2
  (cd "$here" && JAVA_HOME="$java25" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
    mvn -B -q package -DskipTests >&2)
  jar="$(find_jar)"
fi
[ -n "$jar" ] || { echo "jar.sh: no jar after the build" >&2; exit 1; }
echo "$jar"
