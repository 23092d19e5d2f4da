"""flytekit under a token-expiry storm: N threads share one requests.Session that has flytekit's
AuthenticationHTTPAdapter mounted, and call the fixture's protected resource until time is up.

    python storm.py --threads N --seconds S      (under scripts/with-idp, IDP_ACCESS_TOKEN_TTL=3)

benches/README.md, "Storm programs". How flytekit reacts to a 401 is left entirely to
AuthenticationHTTPAdapter.send (flytekit/clients/auth_helper.py): it adds the header from
`authenticator.fetch_grpc_call_auth_metadata()` (refreshing first only when there are no creds
at all), and on a 401 calls `authenticator.refresh_credentials()`, sets the header again and
resends once. The header name is the authenticator's header key (`flyte-authorization` here,
from the client config), not always `proxy-authorization`. There is no lock and no single
flight: every thread that sees a 401 makes its own token request.

Counting without changing behaviour:
* `refresh_credentials` is wrapped on the authenticator instance with a pass-through that
  counts calls. After the warm-up the adapter calls it exactly once per first-attempt 401, so
  `client_refreshes` is also the number of first-attempt 401s.
* The final response each thread gets is counted (ok = 200, failed = anything else or an
  exception). `client_saw_401` = 401s the adapter received = first-attempt 401s (refreshes)
  + retries that got a 401 again.
* urllib3's "Connection pool is full, discarding connection" warnings are counted instead of
  printed (`pool_discards`): flytekit mounts the adapter with requests' default pool
  (10 connections, non-blocking), so with more threads than that connections are opened and
  thrown away.

Appends one kind:"storm" line to $FLYTEAUTH_BENCH_RESULTS and prints a human line, plus the
fixture's own figures for [start_ms, end_ms] from /_test/stats (the driver adds those to the
report itself; here they are printed only).
"""

import argparse
import logging
import os
import sys
import threading
import time
from collections import Counter

import requests
from _common import build_authenticator, emit
from flytekit.clients.auth_helper import AuthenticationHTTPAdapter


class _CountDiscards(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.discards = 0
        self.other = Counter()

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("Connection pool is full"):
            self.discards += 1
        else:
            self.other[msg[:120]] += 1


def now_ms():
    return int(time.time() * 1000)


def bursts(times, gap_ms):
    """Group sorted timestamps into bursts separated by more than gap_ms."""
    groups = []
    for t in times:
        if groups and t - groups[-1][-1] <= gap_ms:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def server_summary(url, start_ms, end_ms):
    """Human-readable server-side figures for the run window (fixture /_test/stats)."""
    try:
        st = requests.get(f"{url}/_test/stats", timeout=10).json()
    except (requests.RequestException, ValueError) as e:
        return f"(no /_test/stats: {e})"
    tok = [t for t in st.get("token_request_times_ms", []) if start_ms <= t <= end_ms]
    rej = [t for t in st.get("api_rejected_times_ms", []) if start_ms <= t <= end_ms]
    groups = bursts(sorted(tok), 1000)
    ttl = os.environ.get("IDP_ACCESS_TOKEN_TTL")
    expected = f", ~{(end_ms - start_ms) / 1000 / int(ttl):.1f} expected from TTL {ttl}s" if ttl else ""
    n = max(len(groups), 1)
    sizes = ",".join(str(len(g)) for g in groups)
    spans = ",".join(str(g[-1] - g[0]) for g in groups)
    return (
        f"IdP in window: token_requests={len(tok)} in {len(groups)} bursts{expected} "
        f"(sizes [{sizes}], spans ms [{spans}]) -> {len(tok) / n:.1f} token requests/expiry; "
        f"api_rejected={len(rej)} -> {len(rej) / n:.1f} rejected calls/expiry"
    )


def main():
    ap = argparse.ArgumentParser(description="flytekit AuthenticationHTTPAdapter token-expiry storm")
    ap.add_argument("--threads", "-threads", type=int, required=True)
    ap.add_argument("--seconds", "-seconds", type=float, required=True)
    args = ap.parse_args()
    if args.threads < 1 or args.seconds <= 0:
        sys.exit("--threads must be >= 1 and --seconds > 0")

    pool_log = _CountDiscards()
    ul = logging.getLogger("urllib3.connectionpool")
    ul.addHandler(pool_log)
    ul.propagate = False

    url, auth = build_authenticator()
    api = f"{url}/api/v1/projects"

    refresh_lock = threading.Lock()
    refreshes = [0]
    original_refresh = auth.refresh_credentials

    def counting_refresh():
        with refresh_lock:
            refreshes[0] += 1
        return original_refresh()

    auth.refresh_credentials = counting_refresh

    # As flytekit mounts it (auth_helper.upgrade_session_to_proxy_authenticated): default pool args.
    session = requests.Session()
    adapter = AuthenticationHTTPAdapter(auth)
    session.mount("http://", adapter)
    session.mount("https://", adapter)

    # Warm-up: the adapter fetches the first token (creds are None), then one successful call.
    r = session.get(api)
    if r.status_code != 200:
        sys.exit(f"warm-up call answered {r.status_code}, expected 200")

    results = []  # one Counter per thread, merged at the end
    errors = Counter()
    errors_lock = threading.Lock()
    go = threading.Event()
    with refresh_lock:
        refreshes[0] = 0
    pool_log.discards = 0

    def worker(deadline_holder):
        c = Counter()
        results.append(c)
        go.wait()
        deadline = deadline_holder[0]
        while time.monotonic() < deadline:
            c["calls"] += 1
            try:
                resp = session.get(api)
            except Exception as e:  # noqa: BLE001 - a failed call, whatever flytekit raised
                c["failed"] += 1
                with errors_lock:
                    errors[type(e).__name__] += 1
                continue
            if resp.status_code == 200:
                c["ok"] += 1
            else:
                c["failed"] += 1
                if resp.status_code == 401:
                    c["retry_401"] += 1
                else:
                    c[f"status_{resp.status_code}"] += 1

    deadline_holder = [0.0]
    threads = [threading.Thread(target=worker, args=(deadline_holder,), daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    start_ms = now_ms()
    deadline_holder[0] = time.monotonic() + args.seconds
    go.set()
    for t in threads:
        t.join()
    end_ms = now_ms()

    total = Counter()
    for c in results:
        total.update(c)
    n_refresh = refreshes[0]
    record = {
        "kind": "storm",
        "impl": "flytekit",
        "lang": "Python",
        "label": "flytekit 1.16.31 AuthenticationHTTPAdapter (requests.Session shared by all threads; "
        "refresh + one resend on 401, no lock)",
        "threads": args.threads,
        "seconds": args.seconds if args.seconds != int(args.seconds) else int(args.seconds),
        "start_ms": start_ms,
        "end_ms": end_ms,
        "calls": total["calls"],
        "ok": total["ok"],
        "failed": total["failed"],
        "client_saw_401": n_refresh + total["retry_401"],
        "client_refreshes": n_refresh,
        "pool_discards": pool_log.discards,
    }
    emit(record)
    other = {k: v for k, v in total.items() if k.startswith("status_")}
    extra = f" statuses={other}" if other else ""
    extra += f" exceptions={dict(errors)}" if errors else ""
    extra += f" urllib3_warnings={dict(pool_log.other)}" if pool_log.other else ""
    secs = (end_ms - start_ms) / 1000
    print(
        f"flytekit storm threads={args.threads} seconds={secs:.1f}: calls={total['calls']} "
        f"({total['calls'] / secs:.0f}/s) ok={total['ok']} failed={total['failed']} "
        f"client_saw_401={record['client_saw_401']} client_refreshes={n_refresh} "
        f"retry_401={total['retry_401']} pool_discards={pool_log.discards}{extra}"
    )
    print("  " + server_summary(url, start_ms, end_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
