#!/usr/bin/env bash
# flytekit reference benchmarks (benches/README.md). Results go to $FLYTEAUTH_BENCH_RESULTS.
#
#   run.sh setup                  create/refresh target/bench/venv (reinstalls only when
#                                 requirements.txt changed; a sha256 stamp in the venv)
#   run.sh hotpath                fetch_grpc_call_auth_metadata + AuthUnaryInterceptor (hot_path.py)
#   run.sh storm THREADS SECONDS  AuthenticationHTTPAdapter under token expiry (storm.py)
#   run.sh first-header-cmd       print the argv (one per line) that runs first_header.py with the
#                                 venv's python, for the parent's fresh-process launcher
#
# hotpath and storm need the local IdP: run them under scripts/with-idp, or they start it
# themselves when FLYTEAUTH_IDP_URL is unset (storm then with IDP_ACCESS_TOKEN_TTL=3 unless set).
# PYTHON picks the interpreter the venv is made from (default python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/bench/venv"
py="$venv/bin/python"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# All setup output goes to stderr: first-header-cmd's stdout is an argv.
setup() {
  mkdir -p "$(dirname "$venv")"
  exec 9>"$(dirname "$venv")/.venv.lock"
  flock 9  # one setup at a time; a second caller waits, then finds the stamp current
  local want have=""
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ -x "$py" ] && [ "$want" = "$have" ]; then
    exec 9>&-
    return 0
  fi
  echo "flytekit bench: (re)creating $venv from $(basename "$req")" >&2
  local t0=$SECONDS
  if ! "${PYTHON:-python3}" -m venv --clear "$venv" >&2; then
    echo "flytekit bench: 'python3 -m venv' failed; on Debian/Ubuntu install python3-venv" >&2
    exit 1
  fi
  "$py" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" >"$stamp"
  echo "flytekit bench: venv ready in $((SECONDS - t0)) s ($("$py" -c 'import flytekit; print("flytekit", flytekit.__version__)'))" >&2
  exec 9>&-
}

# Re-run this command under scripts/with-idp when no fixture is running.
need_idp() {
  if [ -z "${FLYTEAUTH_IDP_URL:-}" ]; then
    exec "$root/scripts/with-idp" bash "${BASH_SOURCE[0]}" "$@"
  fi
}

cmd="${1:-}"
case "$cmd" in
  setup)
    setup
    ;;
  hotpath)
    setup
    need_idp "$@"
    "$py" "$here/hot_path.py"
    ;;
  storm)
    [ $# -eq 3 ] || usage
    setup
    if [ -z "${FLYTEAUTH_IDP_URL:-}" ]; then export IDP_ACCESS_TOKEN_TTL="${IDP_ACCESS_TOKEN_TTL:-3}"; fi
    need_idp "$@"
    "$py" "$here/storm.py" --threads "$2" --seconds "$3"
    ;;
  first-header-cmd)
    setup
    printf '%s\n' "$py" "$here/first_header.py"
    ;;
  *)
    usage
    ;;
esac
