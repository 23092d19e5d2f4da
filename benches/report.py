#!/usr/bin/env python3
"""Turn the results of `make bench` into the report: the tables between the bench markers in
docs/PERFORMANCE.md, and the chart docs/performance.png (matplotlib).

    report.py RESULTS_JSONL STATS_DIR [--ttl SECONDS] [--gap-ms MS]

RESULTS_JSONL holds one JSON object per line (benches/README.md). STATS_DIR holds the
fixture's /_test/stats after each storm run, as <impl>-<threads>.json: token request times
and rejected calls are taken from there, within the run's [start_ms, end_ms].
"""

import argparse
import datetime
import json
import os
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DOC = os.path.join(ROOT, "docs", "PERFORMANCE.md")
CHART = os.path.join(ROOT, "docs", "performance.png")

# Issue 7's targets.
HOT_PATH_TARGETS = {"C": 25.0, "Go": 150.0, "Java FFM": 100.0}
# Issue 15: the C hot path against the limit row measured in the same run.
LIMIT_RATIO_ONE_THREAD = 2.0   # per call, one thread, ≤ 2× the limit row
PER_THREAD_SCALING = 1.2       # per-thread cost at 2 and 64 threads ≤ 1.2× the one-thread figure
FIRST_HEADER_SPEEDUP = 50.0
FIRST_HEADER_RSS_MB = 12.0
# Issue 15: a fresh process to its first header ≤ 1.5× the libcurl program (same run), for the
# C program and `flyteauth token`, both with the token URL configured (the same one request).
FIRST_HEADER_VS_LIBCURL = 1.5
# The programs that only make the token request: the yardsticks, not implementations.
FIRST_HEADER_LIMITS = ("libcurl", "socket")
# Issue 15: Java's hot path ≤ 1.5× the C figure (the C kept snapshot, same thread count).
JAVA_VS_C = 1.5
# Issue 15: the stripped Linux x86_64 library.
LIBRARY_MB = 4.0
# The crates behind each job of the library, for the size table (cargo bloat's crate names).
SIZE_GROUPS = [
    ("Secret Service client (the keyring on Linux): zbus, secret-service and their async-io, "
     "D-Bus and session-encryption crates",
     {"zbus", "zbus_names", "zvariant", "zvariant_utils", "secret_service", "keyring_core",
      "zbus_secret_service_keyring_store", "async_io", "async_process", "async_executor",
      "async_lock", "async_signal", "async_channel", "async_task", "async_fs", "async_broadcast",
      "blocking", "polling", "signal_hook_registry", "event_listener", "event_listener_strategy",
      "futures_lite", "piper", "num_bigint", "num_integer", "num_traits", "num", "aes", "cbc",
      "hkdf", "hmac", "cipher", "block_padding", "inout", "enumflags2", "uuid", "endi",
      "ordered_stream", "xdg_home", "hybrid_array", "sha2", "digest", "block_buffer",
      "crypto_common", "generic_array", "cpufeatures", "getrandom", "nix", "memoffset"}),
    ("HTTP client: reqwest, hyper, h2 (HTTP/2 for gRPC discovery), http",
     {"reqwest", "hyper", "hyper_util", "h2", "http", "http_body", "http_body_util", "httparse",
      "tower", "tower_service", "tower_layer", "tower_http", "bytes", "want", "try_lock",
      "atomic_waker", "httpdate", "ipnet", "indexmap", "slab", "fnv", "hyper_rustls",
      "tokio_rustls", "sync_wrapper", "iri_string", "prost"}),
    ("TLS: rustls, ring, webpki, the platform verifier",
     {"rustls", "ring", "webpki", "rustls_pki_types", "rustls_platform_verifier",
      "rustls_native_certs", "untrusted", "openssl_probe", "zeroize"}),
    ("Rust standard library", {"std", "core", "alloc", "compiler_builtins", "hashbrown",
                               "rustc_demangle", "gimli", "addr2line", "miniz_oxide", "adler2",
                               "object", "memchr", "panic_unwind", "unwind"}),
    ("async runtime: tokio, futures", {"tokio", "mio", "futures_util", "futures_core",
                                       "futures_channel", "futures_task", "pin_project_lite",
                                       "socket2", "parking_lot", "parking_lot_core", "lock_api",
                                       "arc_swap"}),
    ("flyteauth itself", {"flyteauth"}),
    ("configuration and OAuth2 parsing: serde, JSON, YAML, URLs, oauth2, chrono",
     {"serde", "serde_core", "serde_json", "serde_yaml_ng", "unsafe_libyaml",
      "serde_path_to_error", "url", "idna", "idna_adapter", "form_urlencoded", "percent_encoding",
      "utf8_iter", "writeable", "yoke", "zerovec", "zerofrom", "zerotrie", "tinystr", "litemap",
      "potential_utf", "smallvec", "ryu", "itoa", "chrono", "oauth2", "base64", "rand",
      "rand_core", "rand_chacha", "ppv_lite86", "fastrand", "icu_normalizer",
      "icu_normalizer_data", "icu_properties", "icu_properties_data", "icu_collections",
      "icu_locale_core", "icu_provider", "stable_deref_trait"}),
]


def size_table(crates, stripped_bytes):
    """What each job of the library costs in code: cargo bloat's .text per crate, grouped."""
    text = crates["text_bytes"]
    sizes = {c["name"]: c["size"] for c in crates["crates"]}
    rows, seen = [], set()
    for label, names in SIZE_GROUPS:
        members = sorted((n for n in sizes if n in names), key=lambda n: -sizes[n])
        seen.update(members)
        rows.append((label, sum(sizes[n] for n in members), members))
    rest = sorted((n for n in sizes if n not in seen), key=lambda n: -sizes[n])
    rows.append(("everything else", sum(sizes[n] for n in rest), rest))
    out = ["What each job of the library costs in code: `.text` per crate from `cargo bloat "
           "--release -p flyteauth-capi --crates` (its attribution of generic code is a "
           "guess), grouped; the last column scales the group's share of `.text` to the "
           "stripped file, whose other sections (unwind tables, read-only data, relocations) "
           "grow with the code.\n",
           "| what | .text | share | ≈ of the stripped library | largest crates |",
           "|---|---:|---:|---:|---|"]
    for label, total, members in sorted(rows, key=lambda r: -r[1]):
        share = total / text if text else 0
        approx = f"{share * stripped_bytes / 1e6:.2f} MB" if stripped_bytes else "–"
        top = ", ".join(f"{n} {sizes[n] / 1024:.0f}K" for n in members[:5])
        out.append(f"| {label} | {total / 1024:.0f} KiB | {share * 100:.1f} % | {approx} | {top} |")
    out.append("")
    return out



def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def bursts(times, gap_ms):
    """Group sorted times into bursts separated by more than gap_ms; return their sizes."""
    sizes = []
    last = None
    for t in sorted(times):
        if last is None or t - last > gap_ms:
            sizes.append(0)
        sizes[-1] += 1
        last = t
    return sizes


def storm_rows(results, stats_dir, gap_ms):
    rows = []
    for r in results:
        if r.get("kind") != "storm":
            continue
        path = os.path.join(stats_dir, f"{r['impl']}-{r['threads']}.json")
        if not os.path.exists(path):
            print(f"report: no fixture stats for {r['impl']} at {r['threads']} threads", file=sys.stderr)
            continue
        st = json.load(open(path))
        lo, hi = r["start_ms"], r["end_ms"]
        token_times = [t for t in st.get("token_request_times_ms", []) if lo <= t <= hi]
        rejected = [t for t in st.get("api_rejected_times_ms", []) if lo <= t <= hi]
        sizes = bursts(token_times, gap_ms)
        rotations = len(sizes)
        rows.append({
            **r,
            "token_requests": len(token_times),
            "rotations": rotations,
            "requests_per_rotation": (len(token_times) / rotations) if rotations else float("nan"),
            "largest_burst": max(sizes) if sizes else 0,
            "rejected": len(rejected),
            "rejected_per_rotation": (len(rejected) / rotations) if rotations else float("nan"),
        })
    order = {"flyteauth": 0, "flyteidl-go": 1, "flytekit": 2}
    rows.sort(key=lambda x: (order.get(x["impl"], 9), x["threads"]))
    return rows


def target_note(value, target, better="lower", unit=""):
    if better == "lower":
        if value <= target:
            return f"met (≤ {target:g}{unit})"
        return f"**missed by {value - target:.1f}{unit}** (target ≤ {target:g}{unit})"
    if value >= target:
        return f"met (≥ {target:g}{unit})"
    return f"**missed: {value:.1f}{unit}** (target ≥ {target:g}{unit})"


def limit_table(rows):
    """The C hot path rows of benches/c/hot_path.c at each thread count, as CPU ns per call
    per thread and as a ratio to the limit row measured in the same run."""
    out = []
    w = out.append
    counts = sorted({r["threads"] for r in rows})
    labels = []
    for r in rows:
        if r["label"] not in labels:
            labels.append(r["label"])
    by = {(r["label"], r["threads"]): r for r in rows}
    cores = rows[0].get("cores", "?")
    w("### C hot path against the limit\n")
    w("CPU time per call per thread (each thread's `CLOCK_THREAD_CPUTIME_ID`, the mean over "
      "threads, the median of 9 runs), all threads on one authenticator, and in brackets the "
      "ratio to the **limit** row at the same thread count: what a hot path that hands out a "
      "reference-counted snapshot must do, measured in the same run with no library code "
      f"(benches/c/hot_path.c). The machine has {cores} cores.\n")
    w("| what is timed | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in counts) + " | targets |")
    w("|---|" + "---:|" * len(counts) + "---|")
    for label in labels:
        cells = []
        for t in counts:
            r = by.get((label, t))
            if r is None:
                cells.append("–")
                continue
            limit = r.get("limit_ns_per_op")
            ratio = f" ({r['ns_per_op'] / limit:.2f}×)" if limit else ""
            cells.append(f"{r['ns_per_op']:.1f} ns{ratio}")
        tgt = ""
        one = by.get((label, 1))
        if one and one["impl"] == "flyteauth" and one.get("limit_ns_per_op"):
            def note(value, target, what):
                verdict = "met" if value <= target else "**missed**"
                return f"{what} {value:.2f}× (≤ {target:g}×): {verdict}"

            notes = [note(one["ns_per_op"] / one["limit_ns_per_op"], LIMIT_RATIO_ONE_THREAD,
                          "1 thread vs the limit")]
            for t in sorted({2, max(counts)} - {1}):
                if (label, t) not in by:
                    continue
                scale = by[(label, t)]["ns_per_op"] / one["ns_per_op"]
                notes.append(note(scale, PER_THREAD_SCALING, f"{t} threads vs 1"))
            tgt = "; ".join(notes)
        w(f"| {label} | " + " | ".join(cells) + f" | {tgt} |")
    w("")
    w("The kept-snapshot row is the path the Go and Java bindings take: a snapshot kept per "
      "thread and checked with `flyteauth_authenticator_metadata_is_current` (one acquire load "
      "and a coarse clock read; nothing shared is written) before each use. The owned-snapshot "
      "row hands out a new reference each call: to the calling thread's own copy of the "
      "snapshot (made once per token and thread), so the reference count it writes is on a "
      "cache line no other thread writes. With more threads than cores, CPU time still counts only the thread's own work, "
      "including cache misses on shared lines.\n")
    nw1 = by.get((labels[1], 1)) if len(labels) > 1 else None
    if nw1 and nw1["impl"] == "limit":
        scaling = ", ".join(f"{by[(labels[1], t)]['ns_per_op'] / nw1['ns_per_op']:.2f}× at {t} threads"
                            for t in counts if t != 1 and (labels[1], t) in by)
        w(f"The machine's own scaling: the no-shared-write limit, which shares nothing between "
          f"threads, costs {scaling} of its one-thread figure here (threads on the same physical "
          "core, or the hypervisor, slow each other). A row's \"N threads vs 1\" is that much "
          "above 1× before the library adds anything.\n")
    return out


def render(results, storms, args, machine):
    c_threads = [r for r in results if r.get("kind") == "hot_path" and r.get("lang") == "C"
                 and r.get("threads")]
    # The main table: one thread, no limit rows (those are in the table against the limit).
    hot = [r for r in results if r.get("kind") == "hot_path" and r.get("impl") != "limit"
           and r.get("threads", 1) == 1]
    first = [r for r in results if r.get("kind") == "first_header"]
    size = next((r for r in results if r.get("kind") == "size"), None)
    fk_hot = next((r for r in hot if r["impl"] == "flytekit" and "fetch_grpc_call_auth_metadata" in r.get("label", "")), None)
    fk_first = next((r for r in first if r["impl"] == "flytekit"), None)

    out = []
    w = out.append
    today = datetime.date.today().isoformat()
    w(f"_Generated by `make bench` (benches/run.sh, benches/report.py) on {today}. "
      f"Do not edit by hand between the markers._\n")
    if machine:
        w(f"**Machine:** {machine.get('cpu')}, {machine.get('cores')} cores, "
          f"{machine.get('memory_mb')} MB RAM, Linux {machine.get('kernel')}.  ")
        w(f"**Versions:** {machine.get('rustc')}; {machine.get('go')}; node {machine.get('node')}; "
          f"{machine.get('python')}, flytekit {machine.get('flytekit')}; "
          f"flyteidl Go admin client {machine.get('flyteidl_go')}; "
          f"Java: {machine.get('java25')}; {machine.get('java17')}.  ")
        w(f"**Command:** `make bench` (STORM_SECONDS={args.storm_seconds}, "
          f"token lifetime {args.ttl} s for the expiry runs).\n")
    w("![hot path, first header and expiry figures](performance.png)\n")

    # Hot path.
    w("### Hot path: header metadata with a valid token\n")
    ref = fk_hot["ns_per_op"] if fk_hot else None
    # Java against C (issue 15): the C kept-snapshot row, the path the Java binding takes, at
    # the same number of threads (JMH's time per operation is per thread, like the C rows').
    c_kept = {r["threads"]: r["ns_per_op"] for r in c_threads if r.get("label", "").startswith("kept snapshot")}
    # Go's limit row: the fresh map Authenticator.Metadata must return, built with no library code.
    go_map = next((r for r in results if r.get("kind") == "hot_path" and r.get("impl") == "limit"
                   and r.get("lang") == "Go"), None)
    w("| implementation | language | what is timed | per call | allocations | vs flytekit | target |")
    w("|---|---|---|---:|---:|---:|---|")
    for r in sorted(hot, key=lambda r: ({"flyteauth": 0}.get(r["impl"], 1), r["ns_per_op"])):
        alloc = r.get("allocs_per_op")
        if alloc is None and r.get("bytes_per_op") is not None:
            alloc_s = f"{r['bytes_per_op']:.0f} B"
        elif alloc is None:
            alloc_s = "–"
        else:
            alloc_s = f"{alloc:g}"
            if r.get("bytes_per_op"):
                alloc_s += f" ({r['bytes_per_op']:.0f} B)"
        ratio = f"{ref / r['ns_per_op']:.1f}×" if ref and r["impl"] != "flytekit" else ("1×" if r is fk_hot else "–")
        tgt = ""
        # The targets are for getting the header metadata, not for a whole gRPC interceptor.
        if r["impl"] == "flyteauth" and r["lang"] in HOT_PATH_TARGETS and "Interceptor" not in r.get("label", ""):
            tgt = target_note(r["ns_per_op"], HOT_PATH_TARGETS[r["lang"]], unit=" ns")
        if c_kept and r["impl"] == "flyteauth" and r["lang"].startswith("Java"):
            threads = 2 if "TwoThreads" in r.get("label", "") else 1
            if threads in c_kept:
                ratio_c = r["ns_per_op"] / c_kept[threads]
                tgt += (("; " if tgt else "") + f"{ratio_c:.2f}× C: "
                        + target_note(ratio_c, JAVA_VS_C, unit="× C"))
        if go_map and r["impl"] == "flyteauth" and r.get("label") == "Authenticator.Metadata":
            tgt += (f"; {r['ns_per_op'] / go_map['ns_per_op']:.2f}× the limit: a new one-entry "
                    f"map alone costs {fmt_ns(go_map['ns_per_op'])} here")
        w(f"| {r['impl']} | {r['lang']} | {r.get('label', '')} | {fmt_ns(r['ns_per_op'])} | {alloc_s} | {ratio} | {tgt} |")
    w("")
    w("\"vs flytekit\" is flytekit's `fetch_grpc_call_auth_metadata` time divided by the row's: "
      "above 1× is faster. flytekit's call returns a cached tuple without checking expiry; "
      "every flyteauth row checks the token's freshness on each call. A Java row's \"× C\" "
      "is its time over the C kept-snapshot row's at the same thread count (one thread, or two "
      "for `metadataTwoThreads`): the path the Java binding takes, without the JVM.\n")
    if c_threads:
        out.extend(limit_table(c_threads))

    # First header.
    w("### A fresh process to its first header (client credentials)\n")
    curl = next((r for r in first if r["impl"] == "libcurl"), None)
    sock = next((r for r in first if r["impl"] == "socket"), None)
    w("| implementation | language | program | median | p90 | peak RSS (median) | vs flytekit | vs libcurl | targets |")
    w("|---|---|---|---:|---:|---:|---:|---:|---|")
    for r in sorted(first, key=lambda r: r["median_ms"]):
        limit = r["impl"] in FIRST_HEADER_LIMITS
        speed = fk_first["median_ms"] / r["median_ms"] if fk_first else None
        ratio = "1×" if r is fk_first else (f"{speed:.0f}×" if speed and not limit else "–")
        to_curl = r["median_ms"] / curl["median_ms"] if curl else None
        vs_curl = f"{to_curl:.2f}×" if to_curl else "–"
        notes = []
        if r["impl"] == "flyteauth" and speed:
            notes += [target_note(speed, FIRST_HEADER_SPEEDUP, better="higher", unit="×"),
                      target_note(r["rss_median_mb"], FIRST_HEADER_RSS_MB, unit=" MB")]
        if r["impl"] == "flyteauth" and r["lang"] in ("C", "CLI") and "tokenUrl" in r.get("label", "") and to_curl:
            notes.append(target_note(to_curl, FIRST_HEADER_VS_LIBCURL, unit="× libcurl"))
        if limit:
            notes.append("the limit (one request, nothing else)")
        w(f"| {r['impl']} | {r['lang']} | {r.get('label', '')} | {r['median_ms']:.1f} ms | "
          f"{r['p90_ms']:.1f} ms | {r['rss_median_mb']:.1f} MB | {ratio} | {vs_curl} | {'; '.join(notes)} |")
    w("")
    w(f"Each program ran as a new process {first[0]['runs'] if first else '?'} times (flytekit "
      "half as many) after one warm-up, started from a small C launcher "
      "(benches/c/spawn_stats.c) so that its peak RSS is the program's own.")
    if curl and sock:
        w(f"The two limit rows make the one token request of the *tokenUrl configured* rows and "
          f"nothing else: with libcurl (benches/c/first_header_curl.c, the system's libcurl, "
          f"{curl['median_ms']:.1f} ms) and by hand on a socket (benches/c/first_header_socket.c, "
          f"{sock['median_ms']:.1f} ms: process start-up and the IdP's own time to sign a token). "
          f"\"vs libcurl\" is the row's median divided by the libcurl program's.")
    w("")

    # Expiry storms.
    w(f"### IdP requests and rejected calls per token rotation ({args.ttl}-second tokens)\n")
    w(f"Each run lasts {args.storm_seconds} s: N threads call a protected resource in a loop "
      "(a gRPC stand-in for flyteadmin for the Go clients, HTTP for flytekit), and the fixture "
      "checks every token's signature and expiry. A *rotation* is a group of token requests "
      f"with no gap over {args.gap_ms} ms between them (one refresh, or the burst after one "
      "expiry); a *rejected* call is one the server answered 401.\n")
    w("| implementation | threads | calls | failed | token requests | rotations | IdP requests per rotation | largest burst | rejected calls | rejected per rotation |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in storms:
        w(f"| {r['impl']} | {r['threads']} | {r['calls']} | {r['failed']} | {r['token_requests']} | "
          f"{r['rotations']} | {r['requests_per_rotation']:.2f} | {r['largest_burst']} | "
          f"{r['rejected']} | {r['rejected_per_rotation']:.2f} |")
    fa = [r for r in storms if r["impl"] == "flyteauth"]
    if fa:
        ok = all(r["largest_burst"] == 1 and r["rejected"] == 0 and r["failed"] == 0 for r in fa)
        w("")
        w("Target (exactly one IdP request and zero rejected calls per expiry at every thread "
          f"count): **{'met' if ok else 'missed'}** for flyteauth. flyteauth refreshes before "
          "expiry, so its rotations come more often than the token lifetime (a short token's "
          "refresh lead is capped at half its lifetime), each with one request.")
    w("")

    lat = sorted((r for r in results if r.get("kind") == "storm_latency"), key=lambda r: r["threads"])
    if lat:
        w("### Hot-path latency while tokens rotate (flyteauth, Rust)\n")
        ttl = lat[0].get("ttl_s", 2)
        w("tests/storm.rs under `make bench`: N threads call `Authenticator::metadata_blocking` in a "
          f"loop while {ttl}-second tokens rotate against the real IdP. *Waits* counts calls that had "
          "to wait for a token: only the first call of the run. On a 2-core machine the max is "
          "the operating system's scheduling of N busy threads, not the library.\n")
        w("| threads | seconds | calls | p50 | p99 | max | IdP requests | waits | failures |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in lat:
            w(f"| {r['threads']} | {r['seconds']:.1f} | {r['calls']} | {fmt_ns(r['p50_ns'])} | "
              f"{fmt_ns(r['p99_ns'])} | {fmt_ns(r['max_ns'])} | {r['idp_requests']} | {r['waits']} | "
              f"{r['failures']} |")
        w("")
    fleet = [r for r in results if r.get("kind") == "fleet"]
    if fleet:
        w("### A fleet while the IdP refuses its client, then accepts it again\n")
        w("benches/fleet.rs: client-credentials authenticators in one process, each calling "
          "`metadata_blocking` once per interval, while the IdP fixture answers every token request "
          "`401 invalid_client`, then accepts them again. Token requests are counted by the IdP; "
          "*peak* is the most in one wall-clock second; *recovered* is how long after the IdP "
          "accepted again each authenticator had a token (median / slowest).\n")
        w("| authenticators | calls per authenticator | refused for | token requests while refused | peak per second while refused | token requests after | peak per second after | recovered | recovered after (median / slowest) |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in fleet:
            med, mx = r.get("recovered_median_s"), r.get("recovered_max_s")
            rec = f"{med:.1f} s / {mx:.1f} s" if med is not None and mx is not None else "–"
            w(f"| {r['authenticators']} | 1 per {r['call_interval_ms']} ms | {r['refuse_s']} s | "
              f"{r['token_requests_while_refused']} | {r['peak_per_s_while_refused']} | "
              f"{r['token_requests_after']} | {r['peak_per_s_after']} | "
              f"{r['recovered']}/{r['authenticators']} | {rec} |")
        w("")
    threads = next((r.get("threads_started") for r in hot if r.get("threads_started") is not None), None)
    if threads is not None:
        w(f"### Threads\n\nThe library starts {threads} threads (its tokio runtime's workers) on "
          "first use, whatever the number of authenticators or calling threads; blocking work "
          "(keyring, external commands) borrows at most 4 more, which exit after 10 s idle.\n")
    if size:
        w(f"### Library size\n\nStripped `libflyteauth.so` (Linux x86_64): {size['bytes'] / 1e6:.2f} MB "
          f"({size['bytes']} bytes): {target_note(size['bytes'] / 1e6, LIBRARY_MB, unit=' MB')}.\n")
    per_target = [r for r in results if r.get("kind") == "size_target"]
    if per_target:
        w("Per target, the C library as `scripts/dist` builds it for a release (release "
          "profile, Debian's rustc-web, zig for the GLIBC 2.17 baseline, mingw-w64 for "
          "Windows; benches/size-targets.sh), stripped. macOS needs a Mac, and the musl "
          "targets ship a static library only.\n")
        w("| target | file | stripped | compiler |")
        w("|---|---|---:|---|")
        for r in per_target:
            w(f"| {r['target']} | `{r['file']}` | {r['bytes'] / 1e6:.2f} MB "
              f"({target_note(r['bytes'] / 1e6, LIBRARY_MB, unit=' MB')}) | {r['rustc']} |")
        w("")
    crates = next((r for r in results if r.get("kind") == "size_crates"), None)
    if crates:
        out.extend(size_table(crates, size["bytes"] if size else None))
    return "\n".join(out)


def chart(results, storms):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hot = sorted((r for r in results if r.get("kind") == "hot_path" and r.get("impl") != "limit"
                  and r.get("threads", 1) == 1), key=lambda r: r["ns_per_op"])
    first = sorted((r for r in results if r.get("kind") == "first_header"), key=lambda r: r["median_ms"])
    colour = lambda impl: {"flyteauth": "#2b7bba", "flytekit": "#e07b39", "flyteidl-go": "#5aa05a", "x/oauth2": "#999999"}.get(impl, "#777777")

    def log_bars(ax, rows, values, labels, xlabel, title):
        """Horizontal bars on a log scale, top to bottom, coloured by implementation."""
        ax.barh(range(len(rows)), values, color=[colour(r["impl"]) for r in rows])
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title)

    fig, axes = plt.subplots(1, 3, figsize=(18, 6.5))
    log_bars(axes[0], hot, [r["ns_per_op"] for r in hot],
             [f"{r['impl']} {r['lang']}: {r.get('label', '')[:38]}" for r in hot],
             "ns per call (log scale, lower is better)", "Hot path: header metadata, valid token")
    log_bars(axes[1], first, [r["median_ms"] for r in first],
             [f"{r['impl']} {r['lang']}\n{r.get('label', '')[:34]}" for r in first],
             "ms to first header, median (log scale)", "Fresh process to first header")
    for i, r in enumerate(first):
        axes[1].text(r["median_ms"], i, f" {r['median_ms']:.1f} ms, {r['rss_median_mb']:.0f} MB", va="center", fontsize=7)

    ax = axes[2]
    # flyteauth last and widest, so the references' lines at 1 do not hide it.
    for impl in ["flytekit", "flyteidl-go", "flyteauth"]:
        rs = [r for r in storms if r["impl"] == impl]
        if not rs:
            continue
        xs = [r["threads"] for r in rs]
        width = 3.5 if impl == "flyteauth" else 1.5
        ax.plot(xs, [r["requests_per_rotation"] for r in rs], marker="o", linewidth=width, color=colour(impl), label=f"{impl}: IdP requests")
        ax.plot(xs, [r["rejected_per_rotation"] for r in rs], marker="x", linestyle="--", linewidth=width, color=colour(impl), label=f"{impl}: rejected calls")
    ax.set_xscale("log", base=2)
    threads = sorted({r["threads"] for r in storms})
    ax.set_xticks(threads, [str(t) for t in threads])
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=-0.05)
    ax.set_xlabel("threads")
    ax.set_ylabel("per token rotation")
    ax.set_title("Cost of one token rotation")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("stats_dir")
    p.add_argument("--ttl", type=int, default=int(os.environ.get("STORM_TTL", "15")))
    p.add_argument("--storm-seconds", type=int, default=int(os.environ.get("STORM_SECONDS", "32")))
    p.add_argument("--gap-ms", type=int, default=2000)
    args = p.parse_args()
    results = load(args.results)
    machine = next((r for r in results if r.get("kind") == "machine"), None)
    storms = storm_rows(results, args.stats_dir, args.gap_ms)
    body = render(results, storms, args, machine)
    doc = open(DOC, encoding="utf-8").read()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        doc = f"{head}{BEGIN}\n{body}\n{END}{tail}"
    else:
        doc = f"{doc.rstrip()}\n\n## Side by side (make bench)\n\n{BEGIN}\n{body}\n{END}\n"
    open(DOC, "w", encoding="utf-8").write(doc)
    chart(results, storms)
    print(f"report: wrote {os.path.relpath(DOC, ROOT)} and {os.path.relpath(CHART, ROOT)}")
    print(body)


if __name__ == "__main__":
    main()
