#!/usr/bin/env bash
# JMH benchmark of Authenticator.metadata() on a valid token (time and heap allocation per call),
# once per back end:
#   FFM on Java 25, JNI on Java 17 (and JNI on Java 25, for comparison with FFM on the same JVM).
# The token comes from the local IdP (started by scripts/with-idp) by client credentials.
#
#   bindings/java/bench.sh                 # full run (~3.5 min): 2 forks x (5 warm-up + 10 x 1 s) per benchmark
#   bindings/java/bench.sh -f 1 -wi 3 -i 5 # extra arguments go to JMH
#
# With FLYTEAUTH_BENCH_RESULTS set, it also appends one JSON line per benchmark and back end to
# that file (benches/README.md, "Result protocol"): JMH's own JSON result (-rf json) converted
# by jmh-results.py, e.g.
#   {"kind":"hot_path","impl":"flyteauth","lang":"Java FFM","label":"metadata (Java 25)","ns_per_op":30.7,"bytes_per_op":0.0}
#
# Environment: JAVA25_HOME, JAVA17_HOME (default: the machine's Temurin 25 and OpenJDK 17).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
java25="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
java17="${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"

if [ -z "${FLYTEAUTH_IDP_ENDPOINT:-}" ]; then
  exec "$root/scripts/with-idp" "$0" "$@"
fi

results="${FLYTEAUTH_BENCH_RESULTS:-}"
if [ -n "$results" ]; then
  case "$results" in /*) ;; *) results="$PWD/$results" ;; esac # before the cd below
  jmh_out="$(mktemp -d)" # JMH's JSON result files, converted by jmh-results.py
  trap 'rm -rf "$jmh_out"' EXIT
fi

[ -f "$here/build/native/linux-x86_64/libflyteauth_jni.so" ] || JAVA_HOME="$java25" "$here/build-native.sh"
cd "$here"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
JAVA_HOME="$java25" mvn -B -q -Dstyle.color=never test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt
cp="target/classes:target/test-classes:$(cat target/bench-classpath.txt)"

run() { # label lang java-home jvm-args [jmh args]
  local label="$1" lang="$2" jhome="$3" jvmargs="$4"; shift 4
  local json=() json_file=""
  if [ -n "$results" ]; then
    json_file="$jmh_out/${lang// /-}-$(basename "$jhome").json"
    json=(-rf json -rff "$json_file")
  fi
  echo "== $label ($jvmargs)"
  "$jhome/bin/java" $jvmargs -cp "$cp" org.openjdk.jmh.Main 'org.flyte.auth.bench.MetadataBenchmark' \
    -jvmArgsAppend "$jvmargs" -prof gc "$@" "${json[@]}" 2>&1 \
    | grep -E '^Benchmark +Mode|^MetadataBenchmark\.[A-Za-z]+ |alloc\.rate\.norm|^# VM version|back end' \
    | grep -v '^ \|^Secondary' | sort -u
  if [ -n "$results" ]; then
    python3 "$here/jmh-results.py" "$lang" "$json_file" "$results"
  fi
}
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
run "FFM, Java 25" "Java FFM" "$java25" "-Dflyteauth.backend=ffm --enable-native-access=ALL-UNNAMED" "$@"
run "JNI, Java 17" "Java JNI" "$java17" "-Dflyteauth.backend=jni" "$@"
run "JNI, Java 25" "Java JNI" "$java25" "-Dflyteauth.backend=jni --enable-native-access=ALL-UNNAMED" "$@"
