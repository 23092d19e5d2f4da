//! The token lifecycle: the current header snapshot, its expiry, and single-flight refresh.
//!
//! The current headers live in an immutable, reference-counted [`Metadata`] snapshot behind an
//! atomic pointer. The hot path (a valid token) is one atomic load, one clock read and one
//! reference-count increment: no lock, no allocation, no network.
//!
//! A snapshot is *fresh* until its refresh point (shortly before expiry) and *usable* until it
//! expires. Both are wall-clock times, like the token's own `exp`: a monotonic clock stops
//! while a laptop sleeps, and would let an expired token be served after a suspend. In
//! between, callers get the current snapshot at once while one background refresh runs. When
//! there is no usable snapshot, callers wait for a refresh. Which refresh runs, who joins it,
//! and how failures are backed off is decided by the refresh coordinator
//! ([`crate::refresh`]); this module runs the flow and publishes what it produces.

use std::cell::RefCell;
use std::ffi::c_char;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use futures_util::future::{BoxFuture, FutureExt};

use crate::cache::KeyringCache;
use crate::cancel::CancelToken;
use crate::clock;
use crate::config::{AuthType, Config, TokenCacheKind};
use crate::discovery::Discovery;
use crate::error::{Error, ErrorKind, Result};
use crate::flows::command::ProxyToken;
use crate::flows::{FlowContext, PROXY_HEADER_KEY};
use crate::http::HttpClient;
use crate::interaction::{PromptCallback, PromptSink};
use crate::refresh::{Coordinator, Mode, Source};
use crate::runtime;
use crate::secret::Secret;
use crate::token::{bearer_header_value, Token};

/// The default refresh lead: 10% of the lifetime, at least this much (but never more than
/// half the lifetime).
const MIN_REFRESH_LEAD: Duration = Duration::from_secs(10);

/// How long `logout` waits for the identity provider to revoke the refresh token.
pub const REVOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A string stored with a trailing NUL, so it can be read as `&str` and handed to C as a
/// `const char *` without copying.
#[derive(Clone)]
struct CStringish(String);

impl CStringish {
    fn new(s: &str) -> Self {
        let mut buf = String::with_capacity(s.len() + 1);
        buf.push_str(s);
        buf.push('\0');
        CStringish(buf)
    }

    fn as_str(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    fn as_c_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
}

/// One header: a lowercase key and its value.
#[derive(Clone)]
struct Header {
    key: CStringish,
    value: CStringish,
}

/// An immutable snapshot of the header metadata for a call: the auth header (e.g.
/// `flyte-authorization: Bearer …`) and, with a proxy command, `proxy-authorization`.
///
/// Cheap to clone (reference counted). Its `Debug` output never shows header values.
pub struct Metadata {
    headers: Vec<Header>,
    generation: u64,
    /// The refresh point in nanoseconds since the epoch (`u64::MAX`: none), compared with
    /// the coarse clock on the hot path.
    fresh_until: u64,
    refresh_at: Option<SystemTime>,
    expires_at: Option<SystemTime>,
    proxy_value: Option<Arc<str>>,
}

impl Metadata {
    /// The number of headers.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether there are no headers (never the case for a snapshot handed out).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The headers as `(key, value)` pairs, the auth header first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|h| (h.key.as_str(), h.value.as_str()))
    }

    /// The value of header `key` (keys are lowercase).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The key of header `index`.
    pub fn key(&self, index: usize) -> Option<&str> {
        self.headers.get(index).map(|h| h.key.as_str())
    }

    /// The value of header `index`.
    pub fn value(&self, index: usize) -> Option<&str> {
        self.headers.get(index).map(|h| h.value.as_str())
    }

    /// NUL-terminated key of header `index`, valid as long as this snapshot lives.
    pub(crate) fn key_ptr(&self, index: usize) -> *const c_char {
        self.headers
            .get(index)
            .map_or(std::ptr::null(), |h| h.key.as_c_ptr())
    }

    /// NUL-terminated value of header `index`, valid as long as this snapshot lives.
    pub(crate) fn value_ptr(&self, index: usize) -> *const c_char {
        self.headers
            .get(index)
            .map_or(std::ptr::null(), |h| h.value.as_c_ptr())
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    #[inline]
    fn is_fresh(&self) -> bool {
        clock::coarse_now_nanos() < self.fresh_until
    }

    fn is_usable(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }

    /// A copy of this snapshot in a new allocation, with the same generation (so it is
    /// current exactly when this one is): a thread's own copy (see `thread_cache`).
    fn thread_copy(&self) -> Metadata {
        Metadata {
            headers: self.headers.clone(),
            generation: self.generation,
            fresh_until: self.fresh_until,
            refresh_at: self.refresh_at,
            expires_at: self.expires_at,
            proxy_value: self.proxy_value.clone(),
        }
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field(
                "keys",
                &self
                    .headers
                    .iter()
                    .map(|h| h.key.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("generation", &self.generation)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: Config,
    http: HttpClient,
    discovery: Discovery,
    proxy: Option<Arc<ProxyToken>>,
    prompt: PromptSink,
    cache: Option<Arc<KeyringCache>>,
    interactive: AtomicBool,
    /// The token behind the current snapshot (with its refresh token), for the next refresh.
    last_token: Mutex<Option<Token>>,
    current: ArcSwapOption<Metadata>,
    /// The generation of the snapshot in `current` (0: none), written after it under
    /// `publish_lock`. Generations are unique in the process, so a reader that finds its
    /// thread's cached snapshot carries this generation knows it is the current one.
    published: AtomicU64,
    /// Serialises writers of `current` and `published`, so the two always agree.
    publish_lock: Mutex<()>,
    /// Single flight, backoff, joins and abandonment of refreshes.
    coordinator: Coordinator<Arc<Metadata>>,
    refreshes: AtomicU64,
    /// Calls that had to wait for a refresh (no usable token at hand).
    waits: AtomicU64,
}

/// Turns configuration into the header metadata for each call to a Flyte backend.
///
/// Thread-safe and cheap to clone (all clones share one token cache). Use the async methods
/// from async Rust; the `*_blocking` ones run on the library's own runtime and may be called
/// from any thread, including one inside another tokio runtime.
///
/// When the last clone is dropped, a login in progress is abandoned (its port released, its
/// polling stopped); a background refresh ends on its own.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
    _handle: Arc<Handle>,
}

/// Held by every clone of an [`Authenticator`]: dropped with the last one.
struct Handle(Weak<Inner>);

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.coordinator.abandon();
        }
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("endpoint", &self.inner.config.endpoint)
            .field("auth_type", &self.inner.config.auth_type)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator for `config`. Does no I/O: discovery and the first token happen on the
    /// first call that needs them.
    pub fn new(config: Config) -> Result<Self> {
        let proxy = ProxyToken::for_config(&config);
        let http = HttpClient::new(&config, proxy.clone())?;
        let discovery = Discovery::new(config.base_url(), config.discovery);
        let interactive_flow = matches!(config.auth_type, AuthType::Pkce | AuthType::DeviceFlow);
        let cache = match (&config.endpoint, config.token_cache) {
            (Some(endpoint), TokenCacheKind::Keyring) if interactive_flow => Some(Arc::new(
                KeyringCache::with_layouts(endpoint, config.keyring_layouts),
            )),
            _ => None,
        };
        let interactive = config.interactive;
        let inner = Arc::new(Inner {
            config,
            http,
            discovery,
            proxy,
            prompt: PromptSink::default(),
            cache,
            interactive: AtomicBool::new(interactive),
            last_token: Mutex::new(None),
            current: ArcSwapOption::empty(),
            published: AtomicU64::new(0),
            publish_lock: Mutex::new(()),
            coordinator: Coordinator::default(),
            refreshes: AtomicU64::new(0),
            waits: AtomicU64::new(0),
        });
        Ok(Authenticator {
            _handle: Arc::new(Handle(Arc::downgrade(&inner))),
            inner,
        })
    }

    /// An authenticator from the JSON form of the config (see [`Config::from_json`]).
    pub fn from_json(json: &str) -> Result<Self> {
        Self::new(Config::from_json(json)?)
    }

    /// An authenticator from Flyte's config file and environment (see
    /// [`Config::from_flyte_config`]).
    pub fn from_flyte_config(path: Option<&Path>) -> Result<Self> {
        Self::new(Config::from_flyte_config(path)?)
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// How many refreshes (token requests through the configured flow) have completed,
    /// successfully or not, since creation.
    pub fn refresh_count(&self) -> u64 {
        self.inner.refreshes.load(Ordering::Relaxed)
    }

    /// The current snapshot when it is fresh: no waiting, no I/O. `None` when the caller must
    /// go through [`Authenticator::metadata`].
    pub fn fresh_metadata(&self) -> Option<Arc<Metadata>> {
        let guard = self.inner.current.load();
        match &*guard {
            Some(m) if m.is_fresh() => Some(Arc::clone(m)),
            _ => None,
        }
    }

    /// The current snapshot if it can be used now, without waiting: fresh, or inside its
    /// refresh window (then one background refresh is started). `None` when the caller must
    /// go through [`Authenticator::metadata`]. A fresh snapshot comes as this thread's own copy
    /// of it (equal, and current exactly when it is; see [`Authenticator::is_current`]).
    pub fn usable_metadata(&self) -> Option<Arc<Metadata>> {
        // The hot path: this thread's own copy of the current snapshot, found by the
        // published generation (one plain load) and cloned (one reference count, on memory
        // only this thread writes unless it hands the snapshot to another).
        let published = self.inner.published.load(Ordering::Acquire);
        if let Some(m) = thread_cache::get_fresh(published) {
            return Some(m);
        }
        let current = self.usable_shared_metadata()?;
        if !current.is_fresh() {
            return Some(current);
        }
        // A copy per thread, made once per token and thread: with the shared snapshot itself,
        // every call on every thread would write its one reference count, and that cache line
        // would bounce between the cores of threads calling at once.
        let mine = Arc::new(current.thread_copy());
        thread_cache::put(Arc::as_ptr(&self.inner) as usize, &mine);
        Some(mine)
    }

    /// Like [`Authenticator::usable_metadata`], but the snapshot itself rather than this
    /// thread's copy of it: the same object on every thread while it is current, for callers
    /// that keep one and compare snapshots by address (the Go and Java bindings, through
    /// `flyteauth_authenticator_try_fetch_metadata`). Writes the shared reference count, so
    /// it is for when a kept snapshot is no longer current, not for every call.
    pub(crate) fn usable_shared_metadata(&self) -> Option<Arc<Metadata>> {
        let current = self.inner.current.load_full()?;
        if current.is_fresh() {
            return Some(current);
        }
        if !current.is_usable(SystemTime::now()) {
            return None;
        }
        // Only spawns a task (unless one runs or a backoff holds it back); never waits. The
        // caller has a token, so this refresh does not ask a person.
        self.inner.coordinator.start_in_background(
            &self.inner,
            Mode::Proactive,
            current.generation,
        );
        Some(current)
    }

    /// Whether `metadata` is the current snapshot and still fresh: a binding that keeps a
    /// snapshot can reuse it while this holds, without touching its reference count.
    pub fn is_current(&self, metadata: &Metadata) -> bool {
        // Generations are unique in the process: equal generations mean the same snapshot.
        metadata.generation == self.inner.published.load(Ordering::Acquire) && metadata.is_fresh()
    }

    /// The headers for a call, obtaining or refreshing the token when needed.
    pub async fn metadata(&self) -> Result<Arc<Metadata>> {
        // Fresh, or inside the refresh window (then a background refresh starts).
        if let Some(m) = self.usable_metadata() {
            return Ok(m);
        }
        let observed = self.inner.current_generation();
        self.inner.waits.fetch_add(1, Ordering::Relaxed);
        self.inner.refresh(Mode::Expired, observed).await
    }

    /// How many calls so far had to wait for a token (the first call, and any call that found
    /// the token expired). With the proactive refresh this stays at 1 while the IdP is up.
    pub fn wait_count(&self) -> u64 {
        self.inner.waits.load(Ordering::Relaxed)
    }

    /// Get new credentials now (the server rejected the current ones). Concurrent callers
    /// share one refresh.
    pub async fn refresh(&self) -> Result<()> {
        let observed = self.inner.current_generation();
        self.inner.refresh(Mode::Forced, observed).await.map(drop)
    }

    /// Refresh only if `rejected_value` (the header value the server rejected) is still
    /// current; otherwise someone already refreshed and this is a no-op. A burst of
    /// rejections of one token costs one refresh.
    pub async fn invalidate(&self, rejected_value: &str) -> Result<()> {
        let Some(current) = self.inner.current.load_full() else {
            return Ok(());
        };
        if current.iter().any(|(_, v)| v == rejected_value) {
            self.inner
                .refresh(Mode::Forced, current.generation)
                .await
                .map(drop)
        } else {
            Ok(())
        }
    }

    /// Log in interactively now (PKCE or device flow), ignoring cached and refresh tokens, and
    /// cache the result. For `flyteauth login`; other flows simply get a new token.
    pub async fn login(&self) -> Result<Arc<Metadata>> {
        let observed = self.inner.current_generation();
        self.inner.refresh(Mode::Login, observed).await
    }

    /// Log out: forget the tokens in memory and in the keyring cache, and revoke the refresh
    /// token at the identity provider (RFC 7009) when its metadata advertises a
    /// `revocation_endpoint`, so no copy of it can be used again. The login is forgotten here
    /// even when the revocation fails (that is a warning, never an error), and the revocation
    /// is bounded by [`REVOKE_TIMEOUT`].
    pub async fn logout(&self) {
        let kept = self
            .inner
            .last_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.inner.publish(None);
        let mut refresh_tokens: Vec<Secret> = kept
            .as_ref()
            .and_then(|t| t.refresh_secret().map(Secret::new))
            .into_iter()
            .collect();
        if let Some(cache) = &self.inner.cache {
            // The keyring may hold another login's refresh token (a new process such as
            // `flyteauth logout`, or pyflyte refreshed meanwhile): revoke that one too.
            let loaded = Arc::clone(cache);
            let cached = tokio::task::spawn_blocking(move || loaded.load())
                .await
                .ok()
                .flatten()
                .and_then(|t| t.refresh_secret().map(Secret::new));
            if let Some(cached) = cached {
                if refresh_tokens.iter().all(|t| t.expose() != cached.expose()) {
                    refresh_tokens.push(cached);
                }
            }
            crate::flows::purge_cache(cache).await;
        }
        for refresh_token in &refresh_tokens {
            self.inner.revoke(refresh_token.expose()).await;
        }
    }

    /// Set (or clear) the callback that shows login prompts (the URL to open, or the device
    /// code) the host's own way. Without one, prompts are written to stderr (or given to the
    /// host's log sink, see [`crate::logging`]).
    pub fn set_prompt_callback(&self, callback: Option<PromptCallback>) {
        self.inner.prompt.set_callback(callback);
    }

    /// Allow or forbid asking a person to log in (overrides the `interactive` config key).
    /// When forbidden, a login that is needed is a `LoginRequired` error.
    pub fn set_interactive(&self, interactive: bool) {
        self.inner.interactive.store(interactive, Ordering::Relaxed);
    }

    /// [`Authenticator::login`] for blocking callers.
    pub fn login_blocking(&self, options: &CallOptions) -> Result<Arc<Metadata>> {
        let this = self.clone();
        block_on_with(options, async move { this.login().await })
    }

    /// [`Authenticator::logout`] for blocking callers.
    pub fn logout_blocking(&self) -> Result<()> {
        let this = self.clone();
        runtime::block_on(async move {
            this.logout().await;
            Ok(())
        })
    }

    /// [`Authenticator::metadata`] for blocking callers, bounded by `timeout` if given.
    pub fn metadata_blocking(&self, timeout: Option<Duration>) -> Result<Arc<Metadata>> {
        self.metadata_blocking_with(&CallOptions {
            timeout,
            cancel: None,
        })
    }

    /// [`Authenticator::metadata`] for blocking callers, with a bound and a cancel token.
    pub fn metadata_blocking_with(&self, options: &CallOptions) -> Result<Arc<Metadata>> {
        if let Some(m) = self.usable_metadata() {
            return Ok(m);
        }
        let this = self.clone();
        block_on_with(options, async move { this.metadata().await })
    }

    /// [`Authenticator::refresh`] for blocking callers, bounded by `timeout` if given.
    pub fn refresh_blocking(&self, timeout: Option<Duration>) -> Result<()> {
        self.refresh_blocking_with(&CallOptions {
            timeout,
            cancel: None,
        })
    }

    /// [`Authenticator::refresh`] for blocking callers, with a bound and a cancel token.
    pub fn refresh_blocking_with(&self, options: &CallOptions) -> Result<()> {
        let this = self.clone();
        block_on_with(options, async move { this.refresh().await })
    }

    /// [`Authenticator::invalidate`] for blocking callers, bounded by `timeout` if given.
    pub fn invalidate_blocking(
        &self,
        rejected_value: &str,
        timeout: Option<Duration>,
    ) -> Result<()> {
        self.invalidate_blocking_with(
            rejected_value,
            &CallOptions {
                timeout,
                cancel: None,
            },
        )
    }

    /// [`Authenticator::invalidate`] for blocking callers, with a bound and a cancel token.
    pub fn invalidate_blocking_with(
        &self,
        rejected_value: &str,
        options: &CallOptions,
    ) -> Result<()> {
        let this = self.clone();
        let rejected = rejected_value.to_owned();
        block_on_with(options, async move { this.invalidate(&rejected).await })
    }
}

/// Bounds for one blocking call.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Give up with a `Timeout` error after this long (`None`: only the configured
    /// per-request timeouts and retries bound the call).
    pub timeout: Option<Duration>,
    /// Give up with a `Cancelled` error when this token is cancelled.
    pub cancel: Option<Arc<CancelToken>>,
}

fn block_on_with<T: Send + 'static>(
    options: &CallOptions,
    future: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    if options.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
        return Err(cancelled());
    }
    let timeout = options.timeout;
    let cancel = options.cancel.clone();
    runtime::block_on(async move {
        let bounded = async move {
            match timeout {
                None => future.await,
                Some(limit) => tokio::time::timeout(limit, future)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::new(
                            ErrorKind::Timeout,
                            format!("the call did not complete within {limit:?}"),
                        ))
                    }),
            }
        };
        match cancel {
            None => bounded.await,
            Some(cancel) => tokio::select! {
                result = bounded => result,
                () = cancel.cancelled() => Err(cancelled()),
            },
        }
    })
}

fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "the call was cancelled by the caller")
}

impl Inner {
    fn current_generation(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Makes `metadata` the current snapshot (or none).
    fn publish(&self, metadata: Option<Arc<Metadata>>) {
        let _writer = self
            .publish_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let generation = metadata.as_ref().map_or(0, |m| m.generation);
        self.current.store(metadata);
        self.published.store(generation, Ordering::Release);
    }

    /// A snapshot newer than `observed` for a caller that needs `mode` (see
    /// [`Coordinator::refresh`]).
    async fn refresh(self: &Arc<Self>, mode: Mode, observed: u64) -> Result<Arc<Metadata>> {
        self.coordinator.refresh(self, mode, observed).await
    }

    /// The proactive refresh: a timer that refreshes `m` at its refresh point in the
    /// background, so callers never wait on the network while the IdP is up. If that refresh
    /// fails, the current token keeps being served (it is still valid) and the timer tries
    /// again when the coordinator's backoff allows, until it succeeds or the token expires.
    /// The timer holds only a weak reference: it ends when the authenticator is dropped or
    /// `m` is replaced.
    fn schedule_refresh(this: &Arc<Inner>, m: &Metadata) {
        let (Some(mut due), Some(expires_at)) = (m.refresh_at, m.expires_at) else {
            return;
        };
        let weak = Arc::downgrade(this);
        let generation = m.generation;
        let _ = runtime::spawn(async move {
            loop {
                // Sleep on the wall clock in bounded steps: tokio's timers use the monotonic
                // clock, which stops while the machine is suspended.
                loop {
                    let now = SystemTime::now();
                    let Ok(left) = due.duration_since(now) else {
                        break;
                    };
                    if left.is_zero() {
                        break;
                    }
                    tokio::time::sleep(left.min(Duration::from_secs(30))).await;
                }
                let Some(inner) = weak.upgrade() else { return };
                if inner.current_generation() != generation {
                    return; // replaced: its own timer takes over
                }
                let result = inner.refresh(Mode::Proactive, generation).await;
                let retry_at = inner.coordinator.retry_at();
                drop(inner);
                match result {
                    Ok(_) => return,
                    // A person must log in: that waits for the next caller after expiry.
                    Err(e) if e.kind() == ErrorKind::LoginRequired => return,
                    Err(_) => {}
                }
                // Try again when the backoff (shared with every caller) is over.
                let wait = retry_at
                    .map(|at| at.saturating_duration_since(std::time::Instant::now()))
                    .unwrap_or(crate::refresh::BACKOFF_FIRST);
                due = SystemTime::now().checked_add(wait).unwrap_or(expires_at);
                if due >= expires_at {
                    // Expired by then: the next caller waits for (and shares) a refresh.
                    return;
                }
            }
        });
    }

    /// Run the configured flow once and publish the new snapshot.
    async fn run_refresh(
        &self,
        mode: Mode,
        abandon: &crate::cancel::CancelToken,
    ) -> Result<Arc<Metadata>> {
        let ctx = FlowContext {
            config: &self.config,
            http: &self.http,
            discovery: &self.discovery,
            prompt: &self.prompt,
            cache: self.cache.as_ref(),
            interactive: mode.may_ask_a_person() && self.interactive.load(Ordering::Relaxed),
            abandon,
        };
        if let Some(p) = &self.proxy {
            // A forced refresh (the server rejected the call) also renews the proxy token,
            // before the token request so that request already carries the new one.
            let stale = self.current.load_full().and_then(|m| m.proxy_value.clone());
            if let (Mode::Forced, Some(stale)) = (mode, stale) {
                p.rerun(Some(&stale)).await?;
            }
        }
        let mut previous = self
            .last_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // The keyring may hold a newer login than ours (pyflyte, flytectl or another process
        // of ours refreshed meanwhile, maybe rotating the refresh token): both layouts are
        // re-read; the newest login newer than ours is used as it is if its access token is
        // valid, else its refresh token is the one to spend (ours may be spent already).
        let mut from_cache = None;
        if let (Some(cache), false) = (&self.cache, mode == Mode::Login) {
            let cache = Arc::clone(cache);
            let ours = previous.clone();
            let newest = tokio::task::spawn_blocking(move || cache.newest_other(ours.as_ref()))
                .await
                .ok()
                .flatten();
            if let Some((layout, cached)) = newest {
                if cached_token_usable(&cached) {
                    from_cache = Some((layout, cached));
                } else {
                    previous = Some(cached);
                }
            }
        }
        // Where the token came from: `Some(layout)` read from the keyring, `None` a flow.
        let mut source = None;
        let token = match from_cache {
            Some((layout, token)) => {
                source = Some(layout);
                token
            }
            None => {
                match ctx
                    .fetch_token(previous.as_ref(), mode == Mode::Login)
                    .await
                {
                    Ok(token) => token,
                    Err(e) => {
                        if e.kind() == ErrorKind::LoginRequired {
                            // The refresh token was refused (or there is none): never send it
                            // again; the next interactive caller logs in.
                            self.forget_refresh_token(previous.as_ref());
                        }
                        return Err(e);
                    }
                }
            }
        };
        // A new login or refresh goes to every layout written; another tool's login read from
        // one layout is copied to the other, so neither keeps a refresh token it spent.
        if let Some(cache) = &self.cache {
            let (cache, saved) = (Arc::clone(cache), token.clone());
            let _ = tokio::task::spawn_blocking(move || cache.save_except(&saved, source)).await;
        }
        *self.last_token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        let key = ctx.header_key().await?;
        // Read after the token request: a 407 during it may have renewed the proxy token.
        let proxy_value = match &self.proxy {
            Some(p) => Some(p.header_value().await?),
            None => None,
        };
        let value = bearer_header_value(token.secret())?;

        let mut headers = vec![Header {
            key: CStringish::new(&key),
            value: CStringish::new(&value),
        }];
        if let Some(pv) = &proxy_value {
            headers.push(Header {
                key: CStringish::new(PROXY_HEADER_KEY),
                value: CStringish::new(pv),
            });
        }
        // Counted from when the token arrived (a login can take minutes); the lifetime is
        // clamped (token::MAX_LIFETIME), and the arithmetic checked all the same.
        let (refresh_at, expires_at) = match token.lifetime {
            Some(lifetime) => {
                // Jitter: refresh somewhere in the last 75-100% of the lead, so a fleet that
                // got its tokens at the same moment does not come back at the same moment.
                let lead = refresh_lead(lifetime, self.config.token_refresh_window);
                let lead = lead.mul_f64(0.75 + 0.25 * fastrand::f64());
                (
                    token.received_at.checked_add(lifetime.saturating_sub(lead)),
                    token.expires_at(),
                )
            }
            None => (None, None),
        };
        let metadata = Arc::new(Metadata {
            headers,
            generation: next_generation(),
            fresh_until: refresh_at.map_or(u64::MAX, clock::nanos_since_epoch),
            refresh_at,
            expires_at,
            proxy_value,
        });
        self.publish(Some(metadata.clone()));
        Ok(metadata)
    }
}

impl Inner {
    /// Revoke `refresh_token` at the IdP for `logout`, within [`REVOKE_TIMEOUT`]; a failure
    /// is logged as a warning (without the token).
    async fn revoke(&self, refresh_token: &str) {
        let abandon = CancelToken::new();
        let ctx = FlowContext {
            config: &self.config,
            http: &self.http,
            discovery: &self.discovery,
            prompt: &self.prompt,
            cache: self.cache.as_ref(),
            interactive: false,
            abandon: &abandon,
        };
        match tokio::time::timeout(REVOKE_TIMEOUT, ctx.revoke_refresh_token(refresh_token)).await {
            Ok(Ok(true)) => crate::logging::debug!("logout: the refresh token was revoked"),
            Ok(Ok(false)) => crate::logging::debug!(
                "logout: the server advertises no revocation_endpoint; the refresh token was \
                 only forgotten here"
            ),
            Ok(Err(e)) => crate::logging::warning!(
                "flyteauth: logout: the refresh token could not be revoked at the identity \
                 provider ({e}); it was forgotten here, but stays valid there until it expires"
            ),
            Err(_) => crate::logging::warning!(
                "flyteauth: logout: the identity provider did not answer the revocation within \
                 {REVOKE_TIMEOUT:?}; the refresh token was forgotten here, but may stay valid \
                 there until it expires"
            ),
        }
    }

    /// Drop the refresh token of `used` from the token kept for the next refresh (if it is
    /// still the one kept).
    fn forget_refresh_token(&self, used: Option<&Token>) {
        let Some(refused) = used.and_then(|t| t.refresh_secret()) else {
            return;
        };
        let mut last = self.last_token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = last.as_mut() {
            if t.refresh_secret() == Some(refused) {
                t.refresh_token = None;
            }
        }
    }
}

impl Source for Inner {
    type Output = Arc<Metadata>;

    fn newer_than(&self, observed: u64) -> Option<Arc<Metadata>> {
        self.current
            .load_full()
            .filter(|m| m.generation > observed && m.is_usable(SystemTime::now()))
    }

    fn observe(&self) -> u64 {
        self.current_generation()
    }

    fn run(
        self: Arc<Self>,
        mode: Mode,
        abandon: Arc<crate::cancel::CancelToken>,
    ) -> BoxFuture<'static, Result<Arc<Metadata>>> {
        async move { self.run_refresh(mode, &abandon).await }.boxed()
    }

    fn finished(self: &Arc<Self>, result: &Result<Arc<Metadata>>) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        if let Ok(m) = result {
            Inner::schedule_refresh(self, m);
        }
    }
}

/// Whether a token loaded from the keyring can be used as it is: it has an access token that
/// has not expired (its refresh point then follows the usual rule on what is left of its
/// life; an opaque token of unknown lifetime is used until the server rejects it, as pyflyte
/// does).
fn cached_token_usable(token: &Token) -> bool {
    !token.secret().is_empty() && token.lifetime.is_none_or(|l| !l.is_zero())
}

/// How long before expiry to refresh: `tokenRefreshWindow` if set, else 10% of the lifetime
/// but at least 10 s; never more than half the lifetime (so short tokens don't refresh in a
/// loop).
pub fn refresh_lead(lifetime: Duration, window: Option<Duration>) -> Duration {
    let lead = window.unwrap_or_else(|| (lifetime / 10).max(MIN_REFRESH_LEAD));
    lead.min(lifetime / 2)
}

/// Snapshot generations, unique in the process (not only per authenticator): a generation
/// alone identifies a snapshot. 0 means "no snapshot".
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

fn next_generation() -> u64 {
    GENERATIONS.fetch_add(1, Ordering::Relaxed) + 1
}

/// A per-thread cache of current snapshots, so the hot path costs one plain atomic load and
/// one reference count instead of a shared-pointer load with its own atomic bookkeeping.
///
/// Each thread keeps at most [`thread_cache::SLOTS`] snapshots, one per authenticator it
/// used most recently; a newer snapshot of the same authenticator replaces the older one.
/// A snapshot stays cached until that thread calls again or exits (a logout cannot reach
/// other threads' caches; the snapshot is only memory, never handed out once superseded).
mod thread_cache {
    use super::{Arc, Metadata, RefCell};

    /// Snapshots kept per thread: one per authenticator the thread calls, up to this many
    /// (a thread that rotates through more makes a copy per call).
    pub(super) const SLOTS: usize = 8;

    struct Slots {
        /// (owner tag, snapshot): the tag is the authenticator's address, used only to pick
        /// which entry a new snapshot replaces, never to decide which snapshot is current.
        entries: [Option<(usize, Arc<Metadata>)>; SLOTS],
        next: usize,
    }

    thread_local! {
        static CACHE: RefCell<Slots> = const {
            RefCell::new(Slots { entries: [const { None }; SLOTS], next: 0 })
        };
    }

    /// This thread's cached snapshot with `generation` if it is still fresh.
    #[inline]
    pub(super) fn get_fresh(generation: u64) -> Option<Arc<Metadata>> {
        if generation == 0 {
            return None;
        }
        CACHE
            .try_with(|c| {
                let c = c.try_borrow().ok()?;
                c.entries
                    .iter()
                    .flatten()
                    .find(|(_, m)| m.generation == generation)
                    .filter(|(_, m)| m.is_fresh())
                    .map(|(_, m)| Arc::clone(m))
            })
            .ok()
            .flatten()
    }

    /// Caches `metadata` for the authenticator tagged `owner`.
    pub(super) fn put(owner: usize, metadata: &Arc<Metadata>) {
        let _ = CACHE.try_with(|c| {
            let Ok(mut c) = c.try_borrow_mut() else {
                return;
            };
            let slot = match c
                .entries
                .iter()
                .position(|e| matches!(e, Some((o, _)) if *o == owner))
            {
                Some(i) => i,
                None => {
                    let i = c.next;
                    c.next = (i + 1) % SLOTS;
                    i
                }
            };
            // The replaced snapshot is dropped after the borrow ends.
            let _old = c.entries[slot].replace((owner, Arc::clone(metadata)));
            drop(c);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_lead_rules() {
        let s = Duration::from_secs;
        assert_eq!(refresh_lead(s(3600), None), s(360), "10% of an hour");
        assert_eq!(refresh_lead(s(60), None), s(10), "at least 10 s");
        assert_eq!(refresh_lead(s(2), None), s(1), "never more than half");
        assert_eq!(
            refresh_lead(s(3600), Some(s(60))),
            s(60),
            "configured window"
        );
        assert_eq!(
            refresh_lead(s(60), Some(s(600))),
            s(30),
            "window capped at half"
        );
    }

    #[test]
    fn cstringish_round_trip() {
        let c = CStringish::new("flyte-authorization");
        assert_eq!(c.as_str(), "flyte-authorization");
        assert!(!c.as_c_ptr().is_null());
    }
}
