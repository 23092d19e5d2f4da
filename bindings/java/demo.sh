#!/usr/bin/env bash
# Print the header metadata from Java, like the C demo (examples/c/demo.c): the jar's FFM back
# end on Java 25 and its JNI back end on Java 17.
#
#   bindings/java/demo.sh [config.yaml]
#
# Uses the jar (bindings/java/target/flyteauth-<version>.jar); when there is none jar.sh builds
# it first. Without FLYTEAUTH_IDP_ENDPOINT in the environment it
# starts the local identity provider through scripts/with-idp. JAVA25_HOME / JAVA17_HOME override
# the two JDKs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
java25="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
java17="${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"

if [ $# -eq 0 ] && [ -z "${FLYTEAUTH_IDP_ENDPOINT:-}" ]; then
  exec "$root/scripts/with-idp" "$0"
fi
jar="$("$here/jar.sh")"

"$java25/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar" "$here/examples/Demo.java" "$@"
"$java17/bin/java" -cp "$jar" "$here/examples/Demo.java" "$@"
