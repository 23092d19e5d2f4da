//! Token persistence across processes in the OS keyring, shared with pyflyte and flytectl.
//!
//! Two layouts, both read and (by default, see `keyringLayouts`) both written, so that a login
//! or refresh made here is one pyflyte and flytectl use too, and a refresh token rotated here
//! never stays behind, spent, in the other tool's item:
//!
//! - flytekit's: service = the endpoint without `dns:///` (e.g. `flyte.example.com`), users
//!   `access_token`, `refresh_token`, `id_token`, raw token strings;
//! - flytectl's: service `flytectl`, user `<endpoint>:flytectl-user` where `<endpoint>` is
//!   flytectl's `admin.endpoint` as a URL string, i.e. `dns:///flyte.example.com` (both that
//!   and the bare `flyte.example.com` form are read), one JSON Go `oauth2.Token`
//!   (`access_token`, `token_type`, `refresh_token`, `expiry` as Go marshals a `time.Time`).
//!
//! Before a refresh the authenticator re-reads both ([`KeyringCache::newest_other`]): another
//! tool that already rotated the tokens has a newer login there, and it is used instead of
//! spending a refresh token again.
//!
//! Each OS's keyring holds the items exactly as Python `keyring` (what pyflyte uses) lays them
//! out there, so that each side reads and replaces what the other wrote: see
//! [`crate::platform`] (Secret Service on Linux, the login Keychain on macOS, Credential
//! Manager on Windows).
//!
//! Every keyring operation is blocking (D-Bus) and runs on the blocking pool, never on the
//! runtime's workers. Any keyring error is a cache miss, reported once as a warning; a machine
//! without a keyring (no session bus) still works, with tokens in memory only.

use crate::epoch::PerProcess;
use crate::secret::Secret;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crate::config::KeyringLayouts;
use crate::platform::Keyring;
use crate::token::Token;

/// flytectl's keyring service name (`KeyRingServiceName`).
pub const FLYTECTL_SERVICE: &str = "flytectl";

/// One of the two keyring layouts (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// flytekit's (pyflyte's): three raw items under the endpoint's service.
    Flytekit,
    /// flytectl's: one JSON `oauth2.Token` under service `flytectl`.
    Flytectl,
}

/// The keyring usernames flytekit uses.
pub const ACCESS_TOKEN: &str = "access_token";
/// See [`ACCESS_TOKEN`].
pub const REFRESH_TOKEN: &str = "refresh_token";
/// See [`ACCESS_TOKEN`].
pub const ID_TOKEN: &str = "id_token";

/// The keyring cache of one endpoint.
pub struct KeyringCache {
    service: String,
    /// flytectl's users, the one flytectl writes (`dns:///…`) first.
    flytectl_users: Vec<String>,
    layouts: KeyringLayouts,
    /// The connection of this process (`None`: there is no keyring); a forked child opens
    /// its own (see [`crate::epoch`]).
    store: PerProcess<Option<Keyring>>,
    warned: AtomicBool,
}

impl std::fmt::Debug for KeyringCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringCache")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl KeyringCache {
    /// The cache for `endpoint` (as configured; `dns:///` is removed for the service name),
    /// writing both layouts.
    pub fn new(endpoint: &str) -> Self {
        Self::with_layouts(endpoint, KeyringLayouts::default())
    }

    /// The cache for `endpoint`, writing the `layouts` given (both are always read).
    pub fn with_layouts(endpoint: &str, layouts: KeyringLayouts) -> Self {
        let bare = endpoint.replace("dns:///", "");
        KeyringCache {
            flytectl_users: vec![
                format!("dns:///{bare}:flytectl-user"),
                format!("{bare}:flytectl-user"),
            ],
            service: bare,
            layouts,
            store: PerProcess::new(),
            warned: AtomicBool::new(false),
        }
    }

    /// The keyring service name (flytekit's: the endpoint without `dns:///`).
    pub fn service(&self) -> &str {
        &self.service
    }

    fn warn(&self, what: &str, e: &dyn std::fmt::Display) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            crate::logging::notice(
                crate::logging::Level::Warn,
                module_path!(),
                format_args!(
                    "flyteauth: warning: the OS keyring is not usable ({what}: {e}); tokens are kept in memory only"
                ),
            );
        }
    }

    /// Connect once per process; `None` when there is no keyring.
    fn store(&self) -> Option<Keyring> {
        self.store.get_or_init(|| match Keyring::open() {
            Ok(s) => Some(s),
            Err(e) => {
                self.warn("connecting to the keyring", &e);
                None
            }
        })
    }

    fn get(&self, store: &Keyring, service: &str, user: &str) -> Option<String> {
        match store.get(service, user) {
            Ok(v) => v.filter(|v| !v.is_empty()),
            Err(e) => {
                self.warn("reading", &e);
                None
            }
        }
    }

    fn set(&self, store: &Keyring, service: &str, user: &str, value: &str) {
        if let Err(e) = store.set(service, user, value) {
            self.warn("writing", &e);
        }
    }

    fn remove(&self, store: &Keyring, service: &str, user: &str) {
        if let Err(e) = store.delete(service, user) {
            self.warn("deleting", &e);
        }
    }

    /// flytekit's layout, if it holds an access or refresh token.
    fn load_flytekit(&self, store: &Keyring) -> Option<Token> {
        let access = self.get(store, &self.service, ACCESS_TOKEN);
        let refresh = self.get(store, &self.service, REFRESH_TOKEN);
        if access.is_none() && refresh.is_none() {
            return None;
        }
        let mut token = Token::new(access.unwrap_or_default(), None);
        token.refresh_token = refresh.map(Secret::new);
        token.id_token = self.get(store, &self.service, ID_TOKEN).map(Secret::new);
        Some(token)
    }

    /// flytectl's item: the user it is under and the token, if there is one.
    fn load_flytectl(&self, store: &Keyring) -> Option<(&str, Token)> {
        self.flytectl_users.iter().find_map(|user| {
            let json = self.get(store, FLYTECTL_SERVICE, user)?;
            Some((user.as_str(), flytectl_token(&json)?))
        })
    }

    /// Every layout that holds a login for this endpoint, flytekit's first. Blocking.
    pub fn load_all(&self) -> Vec<(Layout, Token)> {
        let Some(store) = self.store() else {
            return Vec::new();
        };
        let flytekit = self.load_flytekit(&store).map(|t| (Layout::Flytekit, t));
        let flytectl = self
            .load_flytectl(&store)
            .map(|(_, t)| (Layout::Flytectl, t));
        flytekit.into_iter().chain(flytectl).collect()
    }

    /// The newest login in the keyring that is newer than `ours` (any, when `ours` is
    /// `None`), and the layout it is in; see [`newer_than`] for what "newer" means. When both
    /// layouts hold a newer one, the one that expires last (flytekit's on a tie or when an
    /// expiry is unknown). Blocking.
    pub fn newest_other(&self, ours: Option<&Token>) -> Option<(Layout, Token)> {
        let mut best: Option<(Layout, Token)> = None;
        for (layout, token) in self.load_all() {
            if !ours.is_none_or(|o| newer_than(&token, o)) {
                continue;
            }
            let better = match &best {
                None => true,
                // Only a comparable, later expiry wins: an opaque token that pyflyte wrote
                // may well be the newest login.
                Some((_, b)) => matches!(
                    (token.stated_expiry(), b.stated_expiry()),
                    (Some(t), Some(b)) if t > b
                ),
            };
            if better {
                best = Some((layout, token));
            }
        }
        best
    }

    /// The cached tokens, if any: the newest of the two layouts (see
    /// [`KeyringCache::newest_other`]). Blocking.
    pub fn load(&self) -> Option<Token> {
        self.newest_other(None).map(|(_, t)| t)
    }

    /// Whether the keyring can be used, and whether it holds a login for this endpoint
    /// (flytekit's layout or flytectl's); `Err` with the reason when it cannot be used. For
    /// diagnostics (`flyteauth doctor`): unlike the other calls it warns no one. Blocking.
    pub fn probe(&self) -> Result<bool, String> {
        let store = Keyring::open().map_err(|e| format!("connecting to the keyring: {e}"))?;
        let flytekit = [ACCESS_TOKEN, REFRESH_TOKEN].map(|user| (self.service.as_str(), user));
        let flytectl = self
            .flytectl_users
            .iter()
            .map(|u| (FLYTECTL_SERVICE, u.as_str()));
        for (service, user) in flytekit.into_iter().chain(flytectl) {
            match store.get(service, user) {
                Ok(Some(v)) if !v.is_empty() => return Ok(true),
                Ok(_) => {}
                Err(e) => return Err(format!("reading: {e}")),
            }
        }
        Ok(false)
    }

    /// Write `token` in every layout `keyringLayouts` names. Blocking.
    pub fn save(&self, token: &Token) {
        self.save_except(token, None);
    }

    /// Write `token` in every layout `keyringLayouts` names except `skip` (the one it was
    /// read from: rewriting another tool's item with the same tokens would only change its
    /// bytes, which flytectl compares before purging). Blocking.
    pub fn save_except(&self, token: &Token, skip: Option<Layout>) {
        let Some(store) = self.store() else {
            return;
        };
        if self.layouts.flytekit && skip != Some(Layout::Flytekit) {
            self.save_flytekit(&store, token);
        }
        if self.layouts.flytectl && skip != Some(Layout::Flytectl) {
            self.save_flytectl(&store, token);
        }
    }

    /// flytekit's layout, removing a stale refresh or ID token.
    fn save_flytekit(&self, store: &Keyring, token: &Token) {
        let service = self.service.as_str();
        match &token.refresh_token {
            Some(r) => self.set(store, service, REFRESH_TOKEN, r.expose()),
            None => self.remove(store, service, REFRESH_TOKEN),
        }
        self.set(store, service, ACCESS_TOKEN, token.secret());
        match &token.id_token {
            Some(i) => self.set(store, service, ID_TOKEN, i.expose()),
            None => self.remove(store, service, ID_TOKEN),
        }
    }

    /// flytectl's item: replaced under the user it is found under, else written under the
    /// user flytectl itself writes (`dns:///<endpoint>:flytectl-user`). Like flytectl, an
    /// empty access token is not saved.
    fn save_flytectl(&self, store: &Keyring, token: &Token) {
        if token.secret().is_empty() {
            return;
        }
        let user = match self.load_flytectl(store) {
            Some((user, _)) => user.to_owned(),
            None => self.flytectl_users[0].clone(),
        };
        self.set(store, FLYTECTL_SERVICE, &user, &flytectl_json(token));
    }

    /// Remove the cached tokens after the IdP refused `refused`, from each written layout that
    /// still holds it, unless another process has replaced that refresh token meanwhile (its
    /// login is good: keep it). Whether anything was purged. Blocking.
    pub fn purge_refused(&self, refused: &str) -> bool {
        let Some(store) = self.store() else {
            return false;
        };
        let mut purged = false;
        if self.layouts.flytekit {
            match self.get(&store, &self.service, REFRESH_TOKEN) {
                Some(current) if current != refused => crate::logging::info!(
                    "flyteauth: the keyring holds a newer login (another process refreshed); \
                     keeping it"
                ),
                _ => {
                    self.purge_flytekit(&store);
                    purged = true;
                }
            }
        }
        if self.layouts.flytectl {
            if let Some((user, token)) = self.load_flytectl(&store) {
                if token.refresh_secret() == Some(refused) {
                    self.remove(&store, FLYTECTL_SERVICE, user);
                    purged = true;
                }
            }
        }
        purged
    }

    fn purge_flytekit(&self, store: &Keyring) {
        for user in [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN] {
            self.remove(store, &self.service, user);
        }
    }

    /// Remove the cached tokens from every layout `keyringLayouts` names (a logout: the login
    /// is shared, so flytectl's is removed too). Blocking.
    pub fn purge(&self) {
        if let Some(store) = self.store() {
            if self.layouts.flytekit {
                self.purge_flytekit(&store);
            }
            if self.layouts.flytectl {
                for user in &self.flytectl_users {
                    if self.get(&store, FLYTECTL_SERVICE, user).is_some() {
                        self.remove(&store, FLYTECTL_SERVICE, user);
                    }
                }
            }
        }
    }
}

/// Whether `cached` (read from the keyring) is a newer login than `ours`: not the same tokens,
/// and, when both expiries are known and the access tokens differ, expiring later (by the
/// expiries the tokens state, even when both are past; within a second's tolerance:
/// flytectl's stored expiry and a JWT `exp` have whole seconds). An older
/// login (e.g. a stale item in a layout not written) is never newer, so its spent refresh
/// token is never sent.
pub fn newer_than(cached: &Token, ours: &Token) -> bool {
    if cached.secret() == ours.secret() && cached.refresh_token == ours.refresh_token {
        return false;
    }
    // The stated expiries: two expired logins both have zero lifetime left, whenever read.
    match (cached.stated_expiry(), ours.stated_expiry()) {
        (Some(c), Some(o)) if cached.secret() != ours.secret() => c + Duration::from_secs(1) > o,
        _ => true,
    }
}

/// `token` as flytectl stores it: Go's `json.Marshal` of an `oauth2.Token` (field order
/// `access_token`, `token_type`, `refresh_token` (omitted when empty), `expiry`; Go's zero
/// time when the expiry is unknown, which Go reads as "never expires").
pub fn flytectl_json(token: &Token) -> String {
    #[derive(serde::Serialize)]
    struct GoToken<'a> {
        access_token: &'a str,
        token_type: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<&'a str>,
        expiry: String,
    }
    let expiry = token
        .expires_at()
        .map_or_else(|| GO_ZERO_TIME.to_owned(), go_time);
    serde_json::to_string(&GoToken {
        access_token: token.secret(),
        token_type: "Bearer",
        refresh_token: token.refresh_secret().filter(|r| !r.is_empty()),
        expiry,
    })
    .unwrap_or_default()
}

/// Go's zero `time.Time`, as it marshals to JSON.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `at` as Go's `time.Time.MarshalJSON` writes a UTC time: RFC 3339 with the fraction of a
/// second to nanoseconds, trailing zeros (and a zero fraction) dropped
/// (`2006-01-02T15:04:05.999999999Z07:00`).
pub fn go_time(at: SystemTime) -> String {
    let at: chrono::DateTime<chrono::Utc> = at.into();
    let mut s = at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = chrono::Timelike::nanosecond(&at) % 1_000_000_000;
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        s.push('.');
        s.push_str(fraction.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parse flytectl's cached `oauth2.Token` JSON.
fn flytectl_token(json: &str) -> Option<Token> {
    #[derive(serde::Deserialize)]
    struct GoToken {
        #[serde(default)]
        access_token: String,
        #[serde(default)]
        refresh_token: Option<String>,
        #[serde(default)]
        expiry: Option<String>,
    }
    let go: GoToken = serde_json::from_str(json).ok()?;
    let expiry = go
        .expiry
        .as_deref()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .filter(|e| e.timestamp() > 0)
        .map(SystemTime::from);
    if go.access_token.is_empty() && go.refresh_token.is_none() {
        return None;
    }
    let mut token = Token::with_expiry(go.access_token, expiry);
    token.refresh_token = go.refresh_token.filter(|r| !r.is_empty()).map(Secret::new);
    Some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_is_the_endpoint_without_dns_prefix() {
        let c = KeyringCache::new("dns:///flyte.example.com");
        assert_eq!(c.service(), "flyte.example.com");
        assert_eq!(
            c.flytectl_users,
            [
                "dns:///flyte.example.com:flytectl-user",
                "flyte.example.com:flytectl-user"
            ]
        );
    }

    #[test]
    fn flytectl_tokens_parse_with_expiry() {
        let t = flytectl_token(
            r#"{"access_token":"at","token_type":"Bearer","refresh_token":"rt","expiry":"2999-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(t.secret(), "at");
        assert_eq!(t.refresh_secret(), Some("rt"));
        assert!(t.lifetime.unwrap() > Duration::from_secs(3600));
        let expired =
            flytectl_token(r#"{"access_token":"at","expiry":"2001-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(expired.lifetime, Some(Duration::ZERO));
        // Go's zero time means "no expiry".
        let zero =
            flytectl_token(r#"{"access_token":"at","expiry":"0001-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(zero.lifetime, None);
        assert!(flytectl_token("not json").is_none());
    }

    #[test]
    fn go_time_is_what_go_marshals() {
        let at = |secs: u64, nanos: u32| SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        // Values from Go: time.Unix(s, ns).UTC().MarshalJSON().
        assert_eq!(go_time(at(1_700_000_000, 0)), "2023-11-14T22:13:20Z");
        assert_eq!(
            go_time(at(1_700_000_000, 500_000_000)),
            "2023-11-14T22:13:20.5Z"
        );
        // (Windows keeps a SystemTime in 100 ns units, so only 7 digits can occur there.)
        assert_eq!(
            go_time(at(1_700_000_000, 123_456_700)),
            "2023-11-14T22:13:20.1234567Z"
        );
        #[cfg(unix)]
        assert_eq!(
            go_time(at(1_700_000_000, 123_456_789)),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(
            go_time(at(1_700_000_000, 120_000)),
            "2023-11-14T22:13:20.00012Z"
        );
    }

    #[test]
    fn flytectl_json_has_oauth2_tokens_shape_and_round_trips() {
        let mut t = Token::new("at".into(), Some(Duration::from_secs(600)));
        t.refresh_token = Some(Secret::new(String::from("rt")));
        t.id_token = Some(Secret::new(String::from("id")));
        let json = flytectl_json(&t);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        // Go's field order; no id_token (oauth2.Token keeps it in an unexported field).
        assert!(
            json.starts_with(
                r#"{"access_token":"at","token_type":"Bearer","refresh_token":"rt","expiry":""#
            ),
            "{json}"
        );
        assert_eq!(keys.len(), 4);
        let expiry = v["expiry"].as_str().unwrap();
        assert!(expiry.ends_with('Z') && !expiry.contains('+'));
        assert!(chrono::DateTime::parse_from_rfc3339(expiry).is_ok());
        // Read back: the same tokens and (to the nanosecond Go keeps) the same expiry.
        let back = flytectl_token(&json).unwrap();
        assert_eq!(back.secret(), "at");
        assert_eq!(back.refresh_secret(), Some("rt"));
        let (a, b) = (t.expires_at().unwrap(), back.expires_at().unwrap());
        let diff = a.duration_since(b).unwrap_or_else(|e| e.duration());
        assert!(diff < Duration::from_millis(100), "{diff:?}");
        // And written again, the same fields in the same order.
        let again: serde_json::Value = serde_json::from_str(&flytectl_json(&back)).unwrap();
        let again: Vec<&str> = again
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(again, keys);
    }

    #[test]
    fn flytectl_json_without_refresh_token_or_expiry() {
        let t = Token::new("at".into(), None);
        assert_eq!(
            flytectl_json(&t),
            r#"{"access_token":"at","token_type":"Bearer","expiry":"0001-01-01T00:00:00Z"}"#
        );
        assert_eq!(flytectl_token(&flytectl_json(&t)).unwrap().lifetime, None);
    }

    #[test]
    fn newer_means_other_tokens_expiring_later() {
        let token = |access: &str, refresh: &str, secs: u64| {
            let mut t = Token::new(access.into(), Some(Duration::from_secs(secs)));
            t.refresh_token = Some(Secret::new(refresh.to_owned()));
            t
        };
        let ours = token("a1", "r1", 300);
        assert!(
            !newer_than(&token("a1", "r1", 300), &ours),
            "the same login"
        );
        assert!(newer_than(&token("a2", "r2", 600), &ours), "rotated later");
        assert!(
            !newer_than(&token("a0", "r0", 10), &ours),
            "an older, stale login"
        );
        assert!(
            newer_than(&token("a1", "r2", 300), &ours),
            "the same access token, another refresh token"
        );
        let opaque = Token::new("a2".into(), None);
        assert!(newer_than(&opaque, &ours), "unknown expiry: another login");
    }

    /// Two logins that have both expired are still ordered by when each expired, not by
    /// when they were read (an expired token's remaining lifetime is zero either way): the
    /// older one, read last, is not newer, so its (spent) refresh token is never chosen.
    #[test]
    fn expired_logins_are_ordered_by_their_stated_expiry() {
        use base64::Engine;
        let now = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let jwt = |exp: u64| {
            let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let claims = format!(r#"{{"exp":{exp}}}"#);
            format!("{}.{}.sig", e.encode(r#"{"alg":"none"}"#), e.encode(claims))
        };
        let login = |exp: u64, refresh: &str| {
            let mut t = Token::new(jwt(exp), None);
            t.refresh_token = Some(Secret::new(refresh.to_owned()));
            t
        };
        let newer = login(now - 50, "r-new");
        std::thread::sleep(Duration::from_millis(20));
        let older = login(now - 100, "r-old");
        assert!(
            !newer_than(&older, &newer),
            "the older expired login, read last"
        );
        assert!(newer_than(&newer, &older));
        // flytectl's stored expiry counts the same way, even when long past.
        let stale = flytectl_token(&format!(
            r#"{{"access_token":"opaque","token_type":"Bearer","refresh_token":"r-stale","expiry":"{}"}}"#,
            go_time(SystemTime::now() - Duration::from_secs(200))
        ))
        .unwrap();
        assert!(
            !newer_than(&stale, &newer),
            "flytectl's older expired login"
        );
        assert!(newer_than(&newer, &stale));
    }
}
