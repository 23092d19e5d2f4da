//! Token expiry under load, against the real IdP: 64 threads calling for the header in a
//! loop while 2-second tokens expire. The IdP must see one request per refresh, however many
//! threads there are; no call may fail; and no call may wait for the network (the refresh
//! happens in the background before expiry). Latencies are printed, not asserted.
//!
//! The 64-thread run lasts 20 s (about 18 refreshes), the 8- and 1-thread runs 8 s;
//! `FLYTEAUTH_STORM_SECS` overrides both.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Idp;
use flyteauth::Authenticator;
use serde_json::json;

fn storm(threads: usize, default_secs: u64) {
    let secs: u64 = std::env::var("FLYTEAUTH_STORM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_secs);
    let idp = Idp::start(&[("IDP_ACCESS_TOKEN_TTL", "2")]);
    let auth = Arc::new(Authenticator::from_json(&idp.cc_config(json!({}))).unwrap());
    auth.metadata_blocking(None).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (auth, stop, failures) = (auth.clone(), stop.clone(), failures.clone());
            std::thread::spawn(move || {
                let mut latencies = Histogram::default();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match auth.metadata_blocking(None) {
                        Ok(md) => assert!(md.get("flyte-authorization").is_some()),
                        Err(_) => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    latencies.record(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Histogram::default();
    for w in workers {
        latencies.merge(&w.join().unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let pct = |p: f64| latencies.percentile(p);
    let requests = idp.client_credentials_requests();
    eprintln!(
        "storm: {threads} threads, {elapsed:.1} s, {} calls; IdP requests {requests}; \
         p50 {:?} p99 {:?} max {:?}; waits {}",
        latencies.count,
        pct(0.5),
        pct(0.99),
        latencies.max,
        auth.wait_count()
    );
    if let Some(path) = std::env::var_os("FLYTEAUTH_BENCH_RESULTS") {
        // `make bench` (benches/run.sh) reports these figures in docs/PERFORMANCE.md.
        let line = json!({
            "kind": "storm_latency", "impl": "flyteauth", "lang": "Rust",
            "label": "Authenticator::metadata_blocking while 2-second tokens rotate",
            "threads": threads, "seconds": elapsed, "calls": latencies.count,
            "p50_ns": pct(0.5).as_nanos() as u64, "p99_ns": pct(0.99).as_nanos() as u64,
            "max_ns": latencies.max.as_nanos() as u64,
            "idp_requests": requests, "waits": auth.wait_count(),
            "failures": failures.load(Ordering::Relaxed),
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
        "only the very first call waited for a token"
    );
    // A 2 s token is refreshed 1.0-1.25 s after it was requested: about one request per
    // second of run, plus the first, independent of the thread count.
    let most = (elapsed / 1.0).ceil() as u64 + 2;
    let least = (elapsed / 1.5).floor() as u64;
    assert!(
        (least..=most).contains(&requests),
        "{requests} IdP requests in {elapsed:.1} s (expected {least}..={most})"
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
    storm(64, 20);
}

#[test]
fn eight_threads_the_same_number_of_idp_requests() {
    storm(8, 8);
}

#[test]
fn one_thread_the_same_number_of_idp_requests() {
    storm(1, 8);
}
