//! The refresh coordinator: the one place that decides whether a token request may run now,
//! which running refresh a caller may join, and what happens when it fails.
//!
//! States of one authenticator's refresh, as one machine:
//!
//! ```text
//!            ┌───────────── success: failure record cleared ─────────────┐
//!            v                                                           │
//!   Idle ──start(mode)──> InFlight(mode, waiters) ──failure──> Backoff(until, last error)
//!    ^                        │ last waiter gone (mode may ask a person):   │
//!    │                        │ the login is abandoned                      │
//!    └────────────────────────┴──── backoff over: next start ───────────────┘
//! ```
//!
//! - **Single flight.** At most one refresh runs; callers join it. Joining respects why a
//!   refresh runs ([`Mode`]): a caller whose token expired does not take LOGIN_REQUIRED from
//!   a background refresh that may not ask a person, and a forced refresh (the server
//!   rejected the call, so the proxy token is renewed too) does not take the answer of a
//!   refresh that renewed nothing but the access token; each waits for the other to end and
//!   then runs its own.
//! - **Backoff.** A failure is recorded with a jittered exponential step (1 s doubling to
//!   5 min, at least the server's `Retry-After`). Until it is over, no refresh starts, from
//!   the call path, the background timer or `invalidate` alike: callers get the last error
//!   at once. So however many threads call, a refusing IdP sees at most one request per
//!   step. Only an explicit login ([`Mode::Login`]) is not held back. Success clears it.
//! - **Never wedged.** The refresh runs as its own task; a panic in it becomes an INTERNAL
//!   error for its waiters only, and the slot is cleared on every outcome (a drop guard, so
//!   an aborted task clears it too).
//! - **Abandoned logins stop.** When the last caller waiting for a refresh that may ask a
//!   person leaves (timeout, cancel) or the authenticator is freed, the refresh's abandon
//!   token is cancelled: a PKCE login releases its port, a device login stops polling.
//! - **fork().** A refresh inherited from the parent process never completes in the child;
//!   it is forgotten (leaked, never dropped) and the child starts its own.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt, Shared};

use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Result};
use crate::runtime;

/// The first backoff step after a failed refresh.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest backoff step.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Why a refresh runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// There is no usable token: the caller waits, and a person may be asked to log in.
    Expired,
    /// The server rejected the current token: renew everything, the proxy token too.
    Forced,
    /// An explicit interactive login (`flyteauth login`): skip the cache and refresh token,
    /// and do not wait out a backoff (a person asked for it).
    Login,
    /// The refresh before expiry, in the background: never asks a person (a login that is
    /// needed waits for the next caller once the token has expired).
    Proactive,
}

impl Mode {
    /// Whether a refresh running for `self` gives a caller who needs `wanted` its answer,
    /// whatever the outcome. (`Proactive` answers `Expired` only when it succeeds or fails
    /// for a reason other than needing a person: see [`Coordinator::refresh`].)
    fn answers(self, wanted: Mode) -> bool {
        match wanted {
            Mode::Proactive => true,
            Mode::Expired => matches!(self, Mode::Expired | Mode::Forced | Mode::Login),
            Mode::Forced => self == Mode::Forced,
            Mode::Login => self == Mode::Login,
        }
    }

    /// Whether someone waits for the outcome (so the refresh stops when nobody does).
    fn has_waiters(self) -> bool {
        self != Mode::Proactive
    }

    /// Whether a person may be asked to log in.
    pub fn may_ask_a_person(self) -> bool {
        self != Mode::Proactive
    }
}

/// What one refresh produces: a shared, cloneable result.
type SharedResult<T> = Shared<BoxFuture<'static, Result<T>>>;

struct InFlight<T: Clone> {
    id: u64,
    /// The process that started it (see the module docs on fork()).
    pid: u32,
    mode: Mode,
    result: SharedResult<T>,
    abandon: Arc<CancelToken>,
    waiters: Arc<AtomicUsize>,
}

impl<T: Clone> InFlight<T> {
    fn ticket(&self) -> Ticket<T> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        Ticket {
            mode: self.mode,
            result: Some(self.result.clone()),
            waiter: Waiter {
                waiters: self.waiters.clone(),
                abandon: self.mode.has_waiters().then(|| self.abandon.clone()),
            },
        }
    }
}

/// A caller's place in a refresh.
struct Ticket<T: Clone> {
    mode: Mode,
    result: Option<SharedResult<T>>,
    waiter: Waiter,
}

/// Counts a waiting caller; the last one to leave abandons a refresh that may ask a person.
struct Waiter {
    waiters: Arc<AtomicUsize>,
    abandon: Option<Arc<CancelToken>>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if self.waiters.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Some(abandon) = &self.abandon {
                abandon.cancel();
            }
        }
    }
}

/// The failure record behind the backoff.
#[derive(Default)]
struct Failures {
    count: u32,
    retry_at: Option<Instant>,
    last: Option<Error>,
}

impl Failures {
    /// The error to answer with while the backoff lasts.
    fn holding_back(&self, now: Instant) -> Option<Error> {
        let retry_at = self.retry_at?;
        if now >= retry_at {
            return None;
        }
        let last = self.last.clone()?;
        let wait = retry_at - now;
        let message = format!(
            "{} (after {} failed attempt(s), the next is not before {:.1} s from now)",
            last.message(),
            self.count,
            wait.as_secs_f64()
        );
        Some(last.with_message(message))
    }

    fn record(&mut self, result: &Result<impl Sized>) {
        match result {
            Ok(_) => *self = Failures::default(),
            // Nothing was asked of the IdP that a repeat would make worse: a login that is
            // needed goes to the next interactive caller, a cancelled one to the next caller.
            Err(e) if matches!(e.kind(), ErrorKind::LoginRequired | ErrorKind::Cancelled) => {}
            Err(e) => {
                self.count = self.count.saturating_add(1);
                let step = backoff_step(self.count, e.retry_after());
                self.retry_at = Instant::now().checked_add(step);
                self.last = Some(e.clone());
                crate::logging::debug!(
                    "flyteauth: refresh failed ({} in a row): {e}; next attempt in {step:?} at the earliest",
                    self.count
                );
            }
        }
    }
}

/// The backoff after `failures` failures in a row: equal jitter over 1 s doubling to 5 min
/// (half the step fixed, half random), at least `retry_after` (itself capped at 5 min).
pub fn backoff_step(failures: u32, retry_after: Option<Duration>) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let step = BACKOFF_FIRST
        .saturating_mul(1u32 << exponent)
        .min(BACKOFF_MAX);
    let half = step / 2;
    let jittered = half + half.mul_f64(fastrand::f64());
    jittered.max(retry_after.unwrap_or(Duration::ZERO).min(BACKOFF_MAX))
}

struct State<T: Clone> {
    inflight: Option<InFlight<T>>,
    failures: Failures,
    next_id: u64,
}

/// The refresh coordinator of one authenticator (see the module docs).
pub struct Coordinator<T: Clone> {
    state: Arc<Mutex<State<T>>>,
}

impl<T: Clone + Send + Sync + 'static> Default for Coordinator<T> {
    fn default() -> Self {
        Coordinator {
            state: Arc::new(Mutex::new(State {
                inflight: None,
                failures: Failures::default(),
                next_id: 0,
            })),
        }
    }
}

/// What the coordinator asks of its owner.
pub trait Source: Send + Sync + 'static {
    /// What a refresh produces.
    type Output: Clone + Send + Sync + 'static;

    /// The result a caller that observed `observed` can use without a refresh: one newer than
    /// what it saw, and still usable. `None` means a refresh is needed.
    fn newer_than(&self, observed: u64) -> Option<Self::Output>;

    /// What a caller observes now (e.g. the current snapshot's generation).
    fn observe(&self) -> u64;

    /// Run one refresh for `mode`. `abandon` is cancelled when nobody waits any more.
    fn run(
        self: Arc<Self>,
        mode: Mode,
        abandon: Arc<CancelToken>,
    ) -> BoxFuture<'static, Result<Self::Output>>;

    /// Called with every refresh's outcome in its task, before waiters see it.
    fn finished(self: &Arc<Self>, result: &Result<Self::Output>);
}

impl<T: Clone + Send + Sync + 'static> Coordinator<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the backoff after the last failure ends, if one is running.
    pub fn retry_at(&self) -> Option<Instant> {
        self.lock().failures.retry_at
    }

    /// Cancel the abandon token of the refresh in flight (the authenticator is being freed).
    pub fn abandon(&self) {
        if let Some(f) = &self.lock().inflight {
            f.abandon.cancel();
        }
    }

    /// Start a refresh for `mode` in the background, for a caller that observed `observed`,
    /// unless there is a newer result already, one runs, or a backoff holds it back; never
    /// waits. For the call path inside the refresh window.
    pub fn start_in_background<S: Source<Output = T>>(
        &self,
        source: &Arc<S>,
        mode: Mode,
        observed: u64,
    ) {
        let mut state = self.lock();
        let pid = crate::epoch::current();
        forget_inherited(&mut state, pid);
        if state.inflight.is_some()
            || source.newer_than(observed).is_some()
            || state.failures.holding_back(Instant::now()).is_some()
        {
            return;
        }
        let _ = self.spawn(&mut state, source, mode, pid);
    }

    /// A result for a caller that needs `mode` and observed `observed`: one newer than that
    /// if there is one, else the refresh in flight (if it answers `mode`), else a new one —
    /// unless the backoff holds it back, then the last error.
    pub async fn refresh<S: Source<Output = T>>(
        &self,
        source: &Arc<S>,
        mode: Mode,
        mut observed: u64,
    ) -> Result<T> {
        loop {
            let ticket = {
                let mut state = self.lock();
                if let Some(v) = source.newer_than(observed) {
                    return Ok(v);
                }
                let pid = crate::epoch::current();
                forget_inherited(&mut state, pid);
                match &state.inflight {
                    Some(f) => f.ticket(),
                    None => {
                        if mode != Mode::Login {
                            if let Some(e) = state.failures.holding_back(Instant::now()) {
                                return Err(e);
                            }
                        }
                        self.spawn(&mut state, source, mode, pid)?
                    }
                }
            };
            let joined = ticket.mode;
            let result = ticket.wait().await;
            if joined.answers(mode) {
                return result;
            }
            if joined == Mode::Proactive && mode == Mode::Expired {
                match &result {
                    Err(e) if e.kind() == ErrorKind::LoginRequired => {}
                    _ => return result,
                }
            }
            // It ran for another reason: run ours now. A forced refresh or a login must not
            // be answered by the snapshot the other refresh just made.
            if matches!(mode, Mode::Forced | Mode::Login) {
                observed = source.observe();
            }
        }
    }

    /// Spawn a refresh and make it the one in flight; returns the caller's ticket.
    fn spawn<S: Source<Output = T>>(
        &self,
        state: &mut State<T>,
        source: &Arc<S>,
        mode: Mode,
        pid: u32,
    ) -> Result<Ticket<T>> {
        state.next_id += 1;
        let id = state.next_id;
        let abandon = Arc::new(CancelToken::new());
        let guard = ClearOnDrop {
            state: Arc::downgrade(&self.state),
            id,
            done: false,
        };
        let work = Arc::clone(source).run(mode, abandon.clone());
        let task_source = Arc::clone(source);
        let handle = runtime::spawn(async move {
            let result = AssertUnwindSafe(work)
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(panicked()));
            task_source.finished(&result);
            guard.finish(&result);
            result
        })?;
        let result = handle
            .map(|joined| joined.unwrap_or_else(|_| Err(panicked())))
            .boxed()
            .shared();
        let inflight = InFlight {
            id,
            pid,
            mode,
            result,
            abandon,
            waiters: Arc::new(AtomicUsize::new(0)),
        };
        let ticket = inflight.ticket();
        state.inflight = Some(inflight);
        Ok(ticket)
    }
}

impl<T: Clone> Ticket<T> {
    async fn wait(mut self) -> Result<T> {
        let result = match self.result.take() {
            Some(r) => r.await,
            None => Err(panicked()),
        };
        drop(self.waiter);
        result
    }
}

fn panicked() -> Error {
    Error::new(
        ErrorKind::Internal,
        "the refresh failed unexpectedly (a bug in flyteauth; please report it); the next call tries again",
    )
}

/// A refresh inherited through fork() never completes here: forget it (dropping it could
/// touch the parent's runtime).
fn forget_inherited<T: Clone>(state: &mut State<T>, pid: u32) {
    if state.inflight.as_ref().is_some_and(|f| f.pid != pid) {
        std::mem::forget(state.inflight.take());
    }
}

/// Clears the slot of refresh `id` when the task ends, however it ends: with a result
/// ([`ClearOnDrop::finish`], which also records it), by a panic caught above, or by being
/// dropped (aborted, or its runtime shut down: recorded as a failure).
struct ClearOnDrop<T: Clone> {
    state: std::sync::Weak<Mutex<State<T>>>,
    id: u64,
    done: bool,
}

impl<T: Clone> ClearOnDrop<T> {
    fn finish(mut self, result: &Result<T>) {
        self.clear(result);
        self.done = true;
    }

    fn clear(&self, result: &Result<T>) {
        if let Some(state) = self.state.upgrade() {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            state.failures.record(result);
            if state.inflight.as_ref().is_some_and(|f| f.id == self.id) {
                state.inflight = None;
            }
        }
    }
}

impl<T: Clone> Drop for ClearOnDrop<T> {
    fn drop(&mut self) {
        if !self.done {
            self.clear(&Err(panicked()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// A source whose refresh does what the test says, counting runs.
    struct Fake {
        runs: AtomicU64,
        generation: AtomicU64,
        behaviour: Mutex<Box<dyn Fn(Mode) -> Result<u64> + Send + Sync>>,
        delay: Duration,
    }

    impl Fake {
        fn new(
            delay: Duration,
            f: impl Fn(Mode) -> Result<u64> + Send + Sync + 'static,
        ) -> Arc<Self> {
            Arc::new(Fake {
                runs: AtomicU64::new(0),
                generation: AtomicU64::new(0),
                behaviour: Mutex::new(Box::new(f)),
                delay,
            })
        }
    }

    impl Source for Fake {
        type Output = u64;
        fn newer_than(&self, observed: u64) -> Option<u64> {
            let g = self.generation.load(Ordering::SeqCst);
            (g > observed).then_some(g)
        }
        fn observe(&self) -> u64 {
            self.generation.load(Ordering::SeqCst)
        }
        fn run(
            self: Arc<Self>,
            mode: Mode,
            abandon: Arc<CancelToken>,
        ) -> BoxFuture<'static, Result<u64>> {
            async move {
                self.runs.fetch_add(1, Ordering::SeqCst);
                tokio::select! {
                    () = tokio::time::sleep(self.delay) => {}
                    () = abandon.cancelled() => return Err(crate::flows::abandoned()),
                }
                let r = (self
                    .behaviour
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner))(mode)?;
                Ok(r)
            }
            .boxed()
        }
        fn finished(self: &Arc<Self>, result: &Result<u64>) {
            if let Ok(g) = result {
                self.generation.store(*g, Ordering::SeqCst);
            }
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_panicking_refresh_fails_its_waiters_and_the_next_one_runs() {
        let fake = Fake::new(Duration::ZERO, |_| panic!("boom"));
        let c = Coordinator::default();
        let e = rt().block_on(c.refresh(&fake, Mode::Login, 0)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        *fake
            .behaviour
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Box::new(|_| Ok(7));
        // A login is not held back by the backoff the panic recorded.
        assert_eq!(rt().block_on(c.refresh(&fake, Mode::Login, 0)).unwrap(), 7);
    }

    #[test]
    fn failures_hold_back_every_caller_until_the_step_is_over() {
        let fake = Fake::new(Duration::ZERO, |_| {
            Err(Error::new(ErrorKind::Authentication, "invalid_client"))
        });
        let c = Coordinator::default();
        let rt = rt();
        for _ in 0..100 {
            let e = rt.block_on(c.refresh(&fake, Mode::Expired, 0)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Authentication);
        }
        assert_eq!(fake.runs.load(Ordering::SeqCst), 1, "one request per step");
        assert!(c.retry_at().is_some());
        c.start_in_background(&fake, Mode::Proactive, 0);
        assert_eq!(
            fake.runs.load(Ordering::SeqCst),
            1,
            "the timer is held back too"
        );
    }

    #[test]
    fn backoff_doubles_from_one_second_to_five_minutes_and_honours_retry_after() {
        for (n, lo, hi) in [
            (1, 0.5, 1.0),
            (2, 1.0, 2.0),
            (3, 2.0, 4.0),
            (30, 150.0, 300.0),
        ] {
            let s = backoff_step(n, None).as_secs_f64();
            assert!((lo..=hi).contains(&s), "{n}: {s}");
        }
        assert_eq!(
            backoff_step(1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            backoff_step(1, Some(Duration::from_secs(100_000))),
            BACKOFF_MAX
        );
    }

    #[test]
    fn an_expired_caller_runs_its_own_refresh_after_a_background_one_needs_a_person() {
        let fake = Fake::new(Duration::from_millis(200), |mode| match mode {
            Mode::Proactive => Err(Error::new(ErrorKind::LoginRequired, "log in")),
            _ => Ok(9),
        });
        let c = Arc::new(Coordinator::default());
        let rt = rt();
        c.start_in_background(&fake, Mode::Proactive, 0);
        assert_eq!(rt.block_on(c.refresh(&fake, Mode::Expired, 0)).unwrap(), 9);
        assert_eq!(fake.runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_last_waiter_leaving_abandons_a_login() {
        let fake = Fake::new(Duration::from_secs(3600), |_| Ok(1));
        let c = Coordinator::default();
        let rt = rt();
        let r = rt.block_on(async {
            tokio::time::timeout(
                Duration::from_millis(100),
                c.refresh(&fake, Mode::Expired, 0),
            )
            .await
        });
        assert!(r.is_err(), "timed out");
        // The refresh saw the abandon token and ended; its slot is free again.
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.lock().inflight.is_some() {
            assert!(
                Instant::now() < deadline,
                "the abandoned refresh is still running"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(c.retry_at(), None, "an abandoned login is not a failure");
    }
}
