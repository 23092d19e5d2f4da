#!/usr/bin/env bash
# `make bench`: every benchmark of benches/README.md in one run on this machine, against the
# local IdP fixture, then the report (docs/PERFORMANCE.md between the bench markers, and
# docs/performance.png).
#
# Environment knobs (defaults in brackets):
#   STORM_SECONDS [32]        length of each expiry run
#   STORM_TTL [15]            token lifetime for the expiry runs: above the Go admin client's
#                             10-second expiry margin, below which it fetches a token per call
#   STORM_THREADS ["1 8 32 64"]
#   FIRST_HEADER_RUNS [20]    fresh processes per first-header program (flytekit: half)
#   JMH_ARGS ["-f 1 -wi 3 -i 5"]  JMH arguments for the Java hot path
#   LATENCY_STORM_SECONDS [20] length of each hot-path-under-rotation run (tests/storm.rs)
#   FLEET_* (benches/fleet.rs) the fleet simulation: FLEET_AUTHENTICATORS [1000],
#                             FLEET_REFUSE_SECS [60], FLEET_AFTER_SECS [90], FLEET_THREADS [16],
#                             FLEET_CALL_INTERVAL_MS [1000]
#   BENCH_PARTS ["hot first storm fleet size size-targets"]  which parts to run (the report
#                             covers what ran); size-targets is the release C library of each
#                             target (benches/size-targets.sh; ~20 min cold, seconds warm);
#                             `BENCH_PARTS=fleet BENCH_NO_REPORT=1` runs the fleet simulation alone
#   BENCH_NO_REPORT=1         collect results only (target/bench/results.jsonl)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/target/bench"
mkdir -p "$out/stats"
results="$out/results.jsonl"
: >"$results"
rm -f "$out"/stats/*.json
export FLYTEAUTH_BENCH_RESULTS="$results"
export STORM_SECONDS="${STORM_SECONDS:-32}" STORM_TTL="${STORM_TTL:-15}"
storm_threads="${STORM_THREADS:-1 8 32 64}"
runs="${FIRST_HEADER_RUNS:-20}"
jmh_args="${JMH_ARGS:--f 1 -wi 3 -i 5}"
parts=" ${BENCH_PARTS:-hot first storm fleet size size-targets} "
want() { [[ "$parts" == *" $1 "* ]]; }
step() { printf '\n==== %s\n' "$*"; }

if want hot; then
  # First, because building the benches unifies dev-dependency features into the library
  # (the plain build below then rebuilds the library as it ships).
  step "hot path: Rust (criterion)"
  cargo bench --quiet --bench hot_path -- --noplot 2>&1 | grep -E "time:|^[a-z_/+]+$" || true
fi

if want hot || want first || want storm; then
step "build: library, C harnesses, Go programs, Java classes, flytekit venv"
cargo build --release --lib --quiet
# The library's soname (capi/build.rs) is what programs linked against target/release look for.
ln -sf libflyteauth.so target/release/libflyteauth.so.0
make --no-print-directory pkgconfig >/dev/null
gcc -std=c11 -O2 -Wall -Wextra -Werror benches/c/spawn_stats.c -o "$out/spawn_stats"
bash benches/go/run.sh build
bash benches/flytekit/run.sh setup
mapfile -t java_ffm < <(bash bindings/java/first-header-cmd.sh ffm)
mapfile -t java_jni < <(bash bindings/java/first-header-cmd.sh jni)
mapfile -t flytekit_first < <(bash benches/flytekit/run.sh first-header-cmd)
fi

if want size; then
  step "library size: the stripped library, and code per crate (cargo bloat)"
  cargo build --release --lib --quiet
  strip -o "$out/libflyteauth.stripped.so" target/release/libflyteauth.so
  printf '{"kind":"size","impl":"flyteauth","lang":"C","label":"stripped libflyteauth.so","bytes":%d}\n' \
    "$(stat -c %s "$out/libflyteauth.stripped.so")" >>"$results"
  # What each crate adds to the C library's code (cargo bloat: .text per crate, its own
  # release build of flyteauth-capi). Pinned, installed when missing.
  if ! cargo bloat --version 2>/dev/null | grep -q "0.12.1"; then
    cargo install cargo-bloat --version 0.12.1 --locked --quiet
  fi
  cargo bloat --release -p flyteauth-capi --lib --crates -n 0 --message-format json \
    2>/dev/null >"$out/bloat.json"
  python3 - "$out/bloat.json" "$results" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
line = {"kind": "size_crates", "text_bytes": d["text-section-size"], "file_bytes": d["file-size"],
        "crates": d["crates"]}
open(sys.argv[2], "a").write(json.dumps(line) + "\n")
print(f"{len(d['crates'])} crates, .text {d['text-section-size']} bytes")
PY
  cargo build --release --lib --quiet # the library as it ships again
fi

if want size-targets; then
  step "library size per target (benches/size-targets.sh: release builds as scripts/dist makes them)"
  bash benches/size-targets.sh
fi

step "machine and versions"
python3 - "$results" <<'EOF'
import json, os, platform, re, subprocess, sys
def cmd(*a):
    try:
        p = subprocess.run(a, capture_output=True, text=True, timeout=60)
        return (p.stdout.strip() or p.stderr.strip()).splitlines()[0]  # java -version: stderr
    except Exception as e:  # a missing tool is reported, not fatal
        return f"unavailable ({e.__class__.__name__})"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
venv_py = "target/bench/venv/bin/python"
go_mod = open("benches/go/go.mod").read()
idl = re.search(r"github.com/flyteorg/flyte/flyteidl (v\S+)", go_mod)
m = {
    "kind": "machine", "cpu": cpu, "cores": os.cpu_count(), "memory_mb": mem,
    "kernel": platform.release(), "rustc": cmd("rustc", "--version"),
    "go": cmd("go", "version"), "node": cmd("node", "--version"),
    "java25": cmd("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java", "-version"),
    "java17": cmd("/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "-version"),
    "python": cmd(venv_py, "--version"),
    "flytekit": cmd(venv_py, "-c", "import importlib.metadata as m; print(m.version('flytekit'))"),
    "flyteidl_go": idl.group(1) if idl else "?",
}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(m) + "\n")
print(json.dumps(m, indent=1))
EOF

if want hot; then
step "hot path"
bash benches/c/run.sh hotpath
python3 - "$results" <<'EOF'
import json, sys
for name, label in [("c_abi_fetch_metadata+read+free", "C ABI from Rust (criterion)"),
                    ("rust_metadata_blocking", "Authenticator::metadata_blocking (criterion)")]:
    est = json.load(open(f"target/criterion/{name}/new/estimates.json"))
    line = {"kind": "hot_path", "impl": "flyteauth", "lang": "Rust", "label": label,
            "ns_per_op": est["median"]["point_estimate"]}
    open(sys.argv[1], "a").write(json.dumps(line) + "\n")
EOF
scripts/with-idp bash benches/go/run.sh hotpath
scripts/with-idp bash benches/flytekit/run.sh hotpath
# shellcheck disable=SC2086
bash bindings/java/bench.sh $jmh_args
fi

if want first; then
step "fresh process to first header ($runs processes each; flytekit $((runs / 2)))"
export FLYTEAUTH_BENCH_YAML="$out/first-header-config.yaml"
cargo build --release --bin flyteauth --quiet
first() { # label argv...
  local label="$1"; shift
  # shellcheck disable=SC2016
  scripts/with-idp bash -c '
    if [ -n "${FLYTEAUTH_BENCH_CONFIG_TEMPLATE:-}" ]; then
      export FLYTEAUTH_BENCH_CONFIG="{\"authType\":\"ClientSecret\",\"clientId\":\"$FLYTEAUTH_IDP_CLIENT_ID\",\"clientSecret\":\"$FLYTEAUTH_IDP_CLIENT_SECRET\",\"tokenUrl\":\"$FLYTEAUTH_IDP_URL/token\",\"scopes\":[\"all\"],\"audience\":\"https://flyte.test/api\",\"authorizationHeader\":\"flyte-authorization\"}"
      # The same for `flyteauth token -c` (the secret from the environment, as in production).
      cat >"$FLYTEAUTH_BENCH_YAML" <<YAML
admin:
  authType: ClientSecret
  clientId: $FLYTEAUTH_IDP_CLIENT_ID
  clientSecretEnvVar: FLYTEAUTH_IDP_CLIENT_SECRET
  tokenUrl: $FLYTEAUTH_IDP_URL/token
  scopes: [all]
  audience: https://flyte.test/api
  authorizationHeader: flyte-authorization
YAML
    fi
    exec "$@"' first "$out/spawn_stats" "$runs" "$label" "$@"
}
bash benches/c/run.sh build-first-header
# Two configurations: the endpoint only (discovery, then the token: three requests, as
# flytekit does), and the token URL, scopes and audience given (one request, as the Go admin
# client is configured here). The programs read the second from FLYTEAUTH_BENCH_CONFIG.
first "flyteauth/C/endpoint only: discovery + token" "$root/target/bench-c/first_header"
first_configured() { # label argv...: with the token URL configured
  FLYTEAUTH_BENCH_CONFIG_TEMPLATE=1 first "$@"
}
first_configured "flyteauth/C/tokenUrl configured" "$root/target/bench-c/first_header"
first_configured "flyteauth/CLI/flyteauth token, tokenUrl configured" \
  "$root/target/release/flyteauth" token -c "$FLYTEAUTH_BENCH_YAML"
# The limits for a process that must make this one request: libcurl (the issue's yardstick)
# and a plain socket (what is left is process start-up and the IdP's own time).
first "libcurl/C/one token POST, nothing else" "$root/target/bench-c/first_header_curl"
first "socket/C/one token POST by hand, libc only" "$root/target/bench-c/first_header_socket"
first_configured "flyteauth/Go/tokenUrl configured" "$out/go/first-header-flyteauth"
first_configured "flyteauth/Java FFM/tokenUrl configured, Java 25" "${java_ffm[@]}"
first_configured "flyteauth/Java JNI/tokenUrl configured, Java 17" "${java_jni[@]}"
first "flyteidl-go/Go/admin client token source, tokenUrl configured" "$out/go/first-header-flyteidl-go"
runs=$((runs / 2)) first "flytekit/Python/get_authenticator + refresh_credentials (discovery + token)" "${flytekit_first[@]}"
fi

storm() { # impl threads command...
  local impl="$1" threads="$2"; shift 2
  IDP_ACCESS_TOKEN_TTL="$STORM_TTL" scripts/with-idp bash -c '
    set -e
    curl -fsS -X POST "$FLYTEAUTH_IDP_URL/_test/reset" >/dev/null
    "$@"
    curl -fsS "$FLYTEAUTH_IDP_URL/_test/stats" >"'"$out/stats/$impl-$threads.json"'"
  ' storm "$@"
}
if want storm; then
  step "hot-path latency while tokens rotate (tests/storm.rs: 12-second tokens, 64/8/1 threads)"
  FLYTEAUTH_STORM_SECS="${LATENCY_STORM_SECONDS:-20}" cargo test --release --quiet --test storm \
    -- --test-threads 1 --skip idp_down 2>&1 | grep -E "^storm:|test result" || true
  cargo build --release --lib --quiet # the library as it ships again (see above)

  step "IdP requests and rejected calls per token expiry (${STORM_TTL}-second tokens, ${STORM_SECONDS} s per run)"
  for t in $storm_threads; do
    storm flyteauth "$t" bash benches/go/run.sh storm flyteauth "$t" "$STORM_SECONDS"
    storm flyteidl-go "$t" bash benches/go/run.sh storm flyteidl-go "$t" "$STORM_SECONDS"
    storm flytekit "$t" bash benches/flytekit/run.sh storm "$t" "$STORM_SECONDS"
  done
fi

if want fleet; then
  step "fleet: ${FLEET_AUTHENTICATORS:-1000} authenticators while the IdP refuses the client for ${FLEET_REFUSE_SECS:-60} s, then accepts it (benches/fleet.rs)"
  cargo bench --quiet --bench fleet
  cargo build --release --lib --quiet # the library as it ships again (see above)
fi

if [ "${BENCH_NO_REPORT:-0}" != 1 ]; then
  step "report"
  target/bench/venv/bin/python benches/report.py "$results" "$out/stats"
fi
