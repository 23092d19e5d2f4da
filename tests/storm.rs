//! Token expiry under load, against the real IdP: 64 threads calling for the header in a
//! loop while 12-second tokens rotate. The IdP must see one request per refresh, however many
//! threads there are; no call may fail; and no call may wait for the network (the refresh
//! happens in the background before expiry). Latencies are printed, not asserted.
//!
//! Margins are seconds, so that a shared, noisy machine cannot break them: a 12-second token
//! is refreshed 5.5-7.5 s after it was requested, at least 4 s before it expires, and the
//! request bounds have a whole refresh of slack either way (`common::refresh_request_bounds`).
//! Each storm lasts 24 s (three or four refreshes; at least two asserted);
//! `FLYTEAUTH_STORM_SECS` overrides that (`make test-under-load` uses shorter runs).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::{refresh_request_bounds, Idp};
use flyteauth::{Authenticator, Metadata};
use serde_json::json;

/// The fixture's token lifetime for the storms (`IDP_ACCESS_TOKEN_TTL`), in seconds.
const TTL_SECS: u64 = 12;

/// What one calling thread saw.
#[derive(Default)]
struct Seen {
    latencies: Histogram,
    /// For each token this thread saw replaced: the old token's expiry, and how long before
    /// it this thread first got the new one (negative: after).
    rotations: Vec<(SystemTime, f64)>,
}

fn storm(threads: usize) {
    let secs: u64 = std::env::var("FLYTEAUTH_STORM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let idp = Idp::start(&[("IDP_ACCESS_TOKEN_TTL", &TTL_SECS.to_string())]);
    let auth = Arc::new(Authenticator::from_json(&idp.cc_config(json!({}))).unwrap());
    let started = Instant::now();
    auth.metadata_blocking(None).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (auth, stop, failures) = (auth.clone(), stop.clone(), failures.clone());
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                let mut last: Option<Arc<Metadata>> = None;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match auth.metadata_blocking(None) {
                        Ok(md) => {
                            seen.latencies.record(t.elapsed());
                            assert!(md.get("flyte-authorization").is_some());
                            if let Some(old) = last.as_ref().filter(|o| !Arc::ptr_eq(o, &md)) {
                                let expiry = old.expires_at().expect("a token with an expiry");
                                let margin = match expiry.duration_since(SystemTime::now()) {
                                    Ok(d) => d.as_secs_f64(),
                                    Err(e) => -e.duration().as_secs_f64(),
                                };
                                seen.rotations.push((expiry, margin));
                            }
                            last = Some(md);
                        }
                        Err(_) => {
                            seen.latencies.record(t.elapsed());
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let calling = started.elapsed().as_secs_f64();
    let mut latencies = Histogram::default();
    // Per replaced token: the earliest any thread had its successor.
    let mut rotations: BTreeMap<SystemTime, f64> = BTreeMap::new();
    for w in workers {
        let seen = w.join().unwrap();
        latencies.merge(&seen.latencies);
        for (expiry, margin) in seen.rotations {
            let best = rotations.entry(expiry).or_insert(margin);
            *best = best.max(margin);
        }
    }
    let requests = idp.client_credentials_requests();
    let window = started.elapsed();
    let expected = refresh_request_bounds(Duration::from_secs(TTL_SECS), window);
    let tightest = rotations.values().copied().reduce(f64::min);
    let pct = |p: f64| latencies.percentile(p);
    eprintln!(
        "storm: {threads} threads, {calling:.1} s, {} calls; IdP requests {requests} \
         (expected {}..={}); {} rotations, the tightest {}; p50 {:?} p99 {:?} max {:?}; waits {}",
        latencies.count,
        expected.start(),
        expected.end(),
        rotations.len(),
        tightest.map_or("-".to_owned(), |m| format!("{m:.1} s before expiry")),
        pct(0.5),
        pct(0.99),
        latencies.max,
        auth.wait_count()
    );
    if let Some(path) = std::env::var_os("FLYTEAUTH_BENCH_RESULTS") {
        // `make bench` (benches/run.sh) reports these figures in docs/PERFORMANCE.md.
        let line = json!({
            "kind": "storm_latency", "impl": "flyteauth", "lang": "Rust",
            "label": format!("Authenticator::metadata_blocking while {TTL_SECS}-second tokens rotate"),
            "threads": threads, "seconds": calling, "ttl_s": TTL_SECS, "calls": latencies.count,
            "p50_ns": pct(0.5).as_nanos() as u64, "p99_ns": pct(0.99).as_nanos() as u64,
            "max_ns": latencies.max.as_nanos() as u64,
            "idp_requests": requests, "waits": auth.wait_count(),
            "failures": failures.load(Ordering::Relaxed),
            "rotations": rotations.len(), "tightest_rotation_s": tightest,
        });
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0, "no call may fail");
    assert_eq!(
        auth.wait_count(),
        1,
        "only the very first call waited for a token: every refresh must land before expiry"
    );
    // One request per refresh, independent of the thread count.
    assert!(
        expected.contains(&requests),
        "{requests} IdP requests in {:.1} s with {TTL_SECS}-second tokens (expected {}..={})",
        window.as_secs_f64(),
        expected.start(),
        expected.end()
    );
}

/// Latencies of every call, in log-linear buckets (8 per power of two: within 12.5 %), so a
/// 20-second run at millions of calls per second keeps all of them in constant memory.
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: Duration,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; Histogram::BUCKETS],
            count: 0,
            max: Duration::ZERO,
        }
    }
}

impl Histogram {
    /// 16 exact buckets below 16 ns, then 8 for each power of two from 2^4 to 2^63.
    const BUCKETS: usize = 16 + 60 * 8;

    fn bucket(ns: u64) -> usize {
        if ns < 16 {
            return ns as usize;
        }
        let exp = 63 - u64::from(ns.leading_zeros()); // >= 4
        let sub = (ns >> (exp - 3)) & 7;
        (16 + (exp - 4) * 8 + sub) as usize
    }

    /// The upper bound of bucket `i`, in nanoseconds.
    fn upper(i: usize) -> u64 {
        if i < 16 {
            return i as u64;
        }
        let (exp, sub) = ((i - 16) / 8 + 4, (i - 16) % 8);
        // In u128: the top bucket's bound is 2^64 - 1.
        let bound = (((9 + sub) as u128) << (exp - 3)) - 1;
        u64::try_from(bound).unwrap_or(u64::MAX)
    }

    fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[Self::bucket(ns)] += 1;
        self.count += 1;
        self.max = self.max.max(d);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
    }

    /// The latency below which a fraction `p` of the calls fall (a bucket's upper bound).
    fn percentile(&self, p: f64) -> Duration {
        let rank = ((self.count as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Duration::from_nanos(Self::upper(i)).min(self.max);
            }
        }
        self.max
    }
}

#[test]
fn histogram_buckets_bound_their_values() {
    for ns in [
        0u64,
        1,
        15,
        16,
        17,
        100,
        1_000,
        123_456,
        10_000_000_000,
        u64::MAX,
    ] {
        let i = Histogram::bucket(ns);
        assert!(Histogram::upper(i) >= ns, "{ns} above its bucket {i}");
        assert!(
            i == 0 || Histogram::upper(i - 1) < ns,
            "{ns} in bucket {i} is too high"
        );
    }
    let mut h = Histogram::default();
    for ns in 1..=1000u64 {
        h.record(Duration::from_nanos(ns));
    }
    let p50 = h.percentile(0.5).as_nanos() as f64;
    assert!((500.0..=500.0 * 1.125).contains(&p50), "p50 {p50}");
    assert_eq!(h.percentile(1.0), Duration::from_nanos(1000));
}

#[test]
fn sixty_four_threads_one_idp_request_per_refresh() {
    storm(64);
}

#[test]
fn eight_threads_the_same_number_of_idp_requests() {
    storm(8);
}

#[test]
fn one_thread_the_same_number_of_idp_requests() {
    storm(1);
}
