//! Fleet simulation: what a fleet of services does to its identity provider when the IdP
//! refuses their client for a while (a disabled client, a rotated secret), then accepts it
//! again. `make bench` runs it (benches/run.sh, part `fleet`); `cargo bench --bench fleet`
//! runs it alone. Figures are printed (and written to `FLYTEAUTH_BENCH_RESULTS` as one
//! `{"kind":"fleet",...}` line), never asserted.
//!
//! One process holds `FLEET_AUTHENTICATORS` client-credentials authenticators (each its own
//! `flyteauth::Authenticator`, as a fleet of services would have), and a small pool of
//! `FLEET_THREADS` threads calls `metadata_blocking` on each of them once per
//! `FLEET_CALL_INTERVAL_MS`, spread evenly over the interval. The real IdP fixture
//! (tests/fixtures/idp) answers every client-credentials request `401 invalid_client` for
//! `FLEET_REFUSE_SECS`, then accepts them for `FLEET_AFTER_SECS`. The IdP counts the token
//! requests (`/_test/stats`: per second, and refused); this program adds what the callers saw
//! and how long after the IdP accepted again each authenticator had a token.
//!
//! Environment knobs (defaults in brackets): `FLEET_AUTHENTICATORS` [1000], `FLEET_THREADS`
//! [16], `FLEET_CALL_INTERVAL_MS` [1000], `FLEET_REFUSE_SECS` [60], `FLEET_AFTER_SECS` [90]
//! (long enough to see every authenticator recover from a backoff that doubled from 1 s
//! through the minute of refusals: its next step is at most 64 s).
//! A short run to try it: `FLEET_REFUSE_SECS=5 FLEET_AFTER_SECS=5 cargo bench --bench fleet`.
//! Without `--bench` (under `cargo test --all-targets`) it makes a smoke run of a few seconds
//! with 20 authenticators, so the harness cannot rot unnoticed.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Idp, AUDIENCE, CLIENT_ID, CLIENT_SECRET};
use flyteauth::Authenticator;
use serde_json::json;

struct Settings {
    authenticators: usize,
    threads: usize,
    interval: Duration,
    refuse: Duration,
    after: Duration,
}

impl Settings {
    fn from_env(bench: bool) -> Settings {
        let num = |name: &str, bench_default: u64, smoke_default: u64| -> u64 {
            match std::env::var(name) {
                Ok(v) => v
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} must be a whole number, got {v:?}")),
                Err(_) if bench => bench_default,
                Err(_) => smoke_default,
            }
        };
        Settings {
            authenticators: num("FLEET_AUTHENTICATORS", 1000, 20).max(1) as usize,
            threads: num("FLEET_THREADS", 16, 4).max(1) as usize,
            interval: Duration::from_millis(num("FLEET_CALL_INTERVAL_MS", 1000, 500).max(1)),
            refuse: Duration::from_secs(num("FLEET_REFUSE_SECS", 60, 2)),
            after: Duration::from_secs(num("FLEET_AFTER_SECS", 90, 3)),
        }
    }
}

/// What one calling thread saw.
#[derive(Default)]
struct Seen {
    calls: u64,
    ok: u64,
    /// Failed calls by error kind.
    failed: BTreeMap<String, u64>,
    /// For each of its authenticators that got a token after the IdP accepted again: how
    /// long after that moment.
    recovered_after: Vec<Duration>,
}

/// Counts the library's log records by level instead of printing them: a refusing IdP must
/// not flood a fleet's logs either.
struct CountingLogger {
    by_level: [AtomicU64; 5],
}

impl log::Log for CountingLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target().starts_with("flyteauth")
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            self.by_level[record.level() as usize - 1].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) {}
}

static LOGGER: CountingLogger = CountingLogger {
    by_level: [
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ],
};

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let s = Settings::from_env(bench);
    // Before the fixture installs its own logger (which would print every record).
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
    println!(
        "fleet: {} authenticators (client credentials), {} calling threads, one call each per {} ms; \
         the IdP refuses the client (401 invalid_client) for {} s, then accepts it for {} s{}",
        s.authenticators,
        s.threads,
        s.interval.as_millis(),
        s.refuse.as_secs(),
        s.after.as_secs(),
        if bench { "" } else { " (smoke run: cargo bench --bench fleet for the real one)" }
    );

    // Tokens outlive the run: after the refusal each authenticator needs exactly one.
    let idp = Idp::start(&[("IDP_ACCESS_TOKEN_TTL", "3600")]);
    let config = json!({
        "authType": "ClientSecret", "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
        "tokenUrl": format!("{}/token", idp.url), "scopes": ["all"], "audience": AUDIENCE,
        "authorizationHeader": "flyte-authorization", "insecure": true,
    })
    .to_string();
    let auths: Vec<Authenticator> = (0..s.authenticators)
        .map(|_| Authenticator::from_json(&config).expect("a valid config"))
        .collect();
    idp.refuse_clients(true);

    let stop = Arc::new(AtomicBool::new(false));
    // When the IdP accepted again (ms since the start; 0: not yet).
    let accepted_at_ms = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let refuse_started = SystemTime::now();
    let n = s.authenticators;
    let per_thread: Vec<Vec<(usize, Authenticator)>> = {
        let mut v: Vec<Vec<(usize, Authenticator)>> = (0..s.threads).map(|_| Vec::new()).collect();
        for (i, a) in auths.into_iter().enumerate() {
            v[i % s.threads].push((i, a));
        }
        v
    };
    let interval = s.interval;
    let workers: Vec<_> = per_thread
        .into_iter()
        .map(|mine| {
            let (stop, accepted_at_ms) = (stop.clone(), accepted_at_ms.clone());
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                let mut recovered = vec![false; mine.len()];
                let mut round: u32 = 0;
                'calls: loop {
                    for (j, (i, auth)) in mine.iter().enumerate() {
                        // Authenticator i calls at i/n of each interval.
                        let due = interval.mul_f64(*i as f64 / n as f64) + interval * round;
                        while started.elapsed() < due {
                            if stop.load(Ordering::Relaxed) {
                                break 'calls;
                            }
                            std::thread::sleep((due - started.elapsed()).min(interval));
                        }
                        if stop.load(Ordering::Relaxed) {
                            break 'calls;
                        }
                        seen.calls += 1;
                        match auth.metadata_blocking(Some(Duration::from_secs(10))) {
                            Ok(_) => {
                                seen.ok += 1;
                                let accepted = accepted_at_ms.load(Ordering::Relaxed);
                                if !recovered[j] && accepted > 0 {
                                    recovered[j] = true;
                                    let now = started.elapsed().as_millis() as u64;
                                    seen.recovered_after
                                        .push(Duration::from_millis(now.saturating_sub(accepted)));
                                }
                            }
                            Err(e) => {
                                *seen.failed.entry(format!("{:?}", e.kind())).or_default() += 1
                            }
                        }
                    }
                    round += 1;
                }
                seen
            })
        })
        .collect();

    std::thread::sleep(s.refuse);
    idp.refuse_clients(false);
    let accepted = SystemTime::now();
    accepted_at_ms.store(
        (started.elapsed().as_millis() as u64).max(1),
        Ordering::Relaxed,
    );
    std::thread::sleep(s.after);
    stop.store(true, Ordering::Relaxed);
    let mut calls = 0;
    let mut ok = 0;
    let mut failed: BTreeMap<String, u64> = BTreeMap::new();
    let mut recovered_after = Vec::new();
    for w in workers {
        let seen = w.join().expect("a calling thread panicked");
        calls += seen.calls;
        ok += seen.ok;
        for (kind, k) in seen.failed {
            *failed.entry(kind).or_default() += k;
        }
        recovered_after.extend(seen.recovered_after);
    }
    let ran = started.elapsed();

    // The IdP's side.
    let stats = idp.stats();
    let total = stats["token_requests"].as_u64().unwrap_or(0);
    let refused = stats["token_refused_clients"].as_u64().unwrap_or(0);
    let by_second = idp.token_requests_by_second();
    let accept_second = epoch_secs(accepted);
    // Every refused request came while the IdP refused; the peaks are per wall-clock second,
    // the second in which it accepted again counting as after.
    let (during_total, after_total) = (refused, total.saturating_sub(refused));
    let peak_of = |during: bool| {
        by_second
            .iter()
            .filter(|(sec, _)| (*sec < accept_second) == during)
            .map(|(_, k)| *k)
            .max()
            .unwrap_or(0)
    };
    let (during_peak, after_peak) = (peak_of(true), peak_of(false));
    let peak = during_peak.max(after_peak);
    let peak_second = by_second
        .iter()
        .max_by_key(|(_, k)| *k)
        .map_or(0, |(sec, _)| sec.saturating_sub(epoch_secs(refuse_started)));
    recovered_after.sort_unstable();
    let median = recovered_after.get(recovered_after.len() / 2).copied();
    let slowest = recovered_after.last().copied();
    let failed_total: u64 = failed.values().sum();
    let logs: Vec<u64> = LOGGER
        .by_level
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();

    println!(
        "fleet: while refused ({} s): {during_total} token requests (all answered 401), \
         peak {during_peak}/s, {:.0}/s on average",
        s.refuse.as_secs(),
        during_total as f64 / s.refuse.as_secs_f64().max(1.0)
    );
    println!(
        "fleet: after the IdP accepted again ({} s): {after_total} token requests, peak {after_peak}/s; \
         {}/{} authenticators got a token, median {} s, slowest {} s after it accepted",
        s.after.as_secs(),
        recovered_after.len(),
        n,
        median.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64())),
        slowest.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64())),
    );
    println!(
        "fleet: total {total} token requests, peak {peak}/s ({peak_second} s after the refusal began); \
         callers: {calls} calls in {:.1} s, {ok} ok, {failed_total} failed {failed:?}; \
         library log records: {} error, {} warn, {} info, {} debug",
        ran.as_secs_f64(),
        logs[0],
        logs[1],
        logs[2],
        logs[3],
    );

    if let Some(path) = std::env::var_os("FLYTEAUTH_BENCH_RESULTS") {
        if bench {
            let line = json!({
                "kind": "fleet", "impl": "flyteauth", "lang": "Rust",
                "label": "authenticators each calling metadata_blocking; the IdP refuses the client, then accepts it",
                "authenticators": n, "threads": s.threads,
                "call_interval_ms": s.interval.as_millis() as u64,
                "refuse_s": s.refuse.as_secs(), "after_s": s.after.as_secs(),
                "token_requests": total, "token_requests_while_refused": during_total, "peak_per_s_while_refused": during_peak,
                "token_requests_after": after_total, "peak_per_s_after": after_peak,
                "peak_per_s": peak,
                "calls": calls, "ok": ok, "failed": failed_total,
                "recovered": recovered_after.len(),
                "recovered_median_s": median.map(|d| d.as_secs_f64()),
                "recovered_max_s": slowest.map(|d| d.as_secs_f64()),
                "log_error": logs[0], "log_warn": logs[1],
            });
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("FLYTEAUTH_BENCH_RESULTS is writable");
            writeln!(f, "{line}").expect("write the result line");
        }
    }
}
