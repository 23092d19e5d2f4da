//! Token persistence across processes in the OS keyring, shared with pyflyte and flytectl.
//!
//! Layout written and read (flytekit's): service = the endpoint without `dns:///` (e.g.
//! `flyte.example.com`), users `access_token`, `refresh_token`, `id_token`, raw token
//! strings. Also read (flytectl's): service `flytectl`, user `<endpoint>:flytectl-user`, one
//! JSON `oauth2.Token` with an RFC 3339 `expiry`.
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

use crate::platform::Keyring;
use crate::token::Token;

/// The keyring usernames flytekit uses.
pub const ACCESS_TOKEN: &str = "access_token";
/// See [`ACCESS_TOKEN`].
pub const REFRESH_TOKEN: &str = "refresh_token";
/// See [`ACCESS_TOKEN`].
pub const ID_TOKEN: &str = "id_token";

/// The keyring cache of one endpoint.
pub struct KeyringCache {
    service: String,
    flytectl_users: Vec<String>,
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
    /// The cache for `endpoint` (as configured; `dns:///` is removed for the service name).
    pub fn new(endpoint: &str) -> Self {
        let bare = endpoint.replace("dns:///", "");
        KeyringCache {
            flytectl_users: vec![
                format!("dns:///{bare}:flytectl-user"),
                format!("{bare}:flytectl-user"),
            ],
            service: bare,
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

    fn set(&self, store: &Keyring, user: &str, value: &str) {
        if let Err(e) = store.set(&self.service, user, value) {
            self.warn("writing", &e);
        }
    }

    fn remove(&self, store: &Keyring, user: &str) {
        if let Err(e) = store.delete(&self.service, user) {
            self.warn("deleting", &e);
        }
    }

    /// The cached tokens, if any: flytekit's layout first, then flytectl's. Blocking.
    pub fn load(&self) -> Option<Token> {
        let store = self.store()?;
        let access = self.get(&store, &self.service, ACCESS_TOKEN);
        let refresh = self.get(&store, &self.service, REFRESH_TOKEN);
        if access.is_some() || refresh.is_some() {
            let mut token = Token::new(access.unwrap_or_default(), None);
            token.refresh_token = refresh.map(Secret::new);
            token.id_token = self.get(&store, &self.service, ID_TOKEN).map(Secret::new);
            return Some(token);
        }
        self.flytectl_users
            .iter()
            .find_map(|user| self.get(&store, "flytectl", user))
            .and_then(|json| flytectl_token(&json))
    }

    /// Whether the keyring can be used, and whether it holds a login for this endpoint
    /// (flytekit's layout or flytectl's); `Err` with the reason when it cannot be used. For
    /// diagnostics (`flyteauth doctor`): unlike the other calls it warns no one. Blocking.
    pub fn probe(&self) -> Result<bool, String> {
        let store = Keyring::open().map_err(|e| format!("connecting to the keyring: {e}"))?;
        let flytekit = [ACCESS_TOKEN, REFRESH_TOKEN].map(|user| (self.service.as_str(), user));
        let flytectl = self.flytectl_users.iter().map(|u| ("flytectl", u.as_str()));
        for (service, user) in flytekit.into_iter().chain(flytectl) {
            match store.get(service, user) {
                Ok(Some(v)) if !v.is_empty() => return Ok(true),
                Ok(_) => {}
                Err(e) => return Err(format!("reading: {e}")),
            }
        }
        Ok(false)
    }

    /// Write `token` in flytekit's layout, removing a stale refresh or ID token. Blocking.
    pub fn save(&self, token: &Token) {
        let Some(store) = self.store() else {
            return;
        };
        match &token.refresh_token {
            Some(r) => self.set(&store, REFRESH_TOKEN, r.expose()),
            None => self.remove(&store, REFRESH_TOKEN),
        }
        self.set(&store, ACCESS_TOKEN, token.secret());
        match &token.id_token {
            Some(i) => self.set(&store, ID_TOKEN, i.expose()),
            None => self.remove(&store, ID_TOKEN),
        }
    }

    /// Remove the cached tokens after the IdP refused `refused`, unless another process has
    /// replaced that refresh token meanwhile (its login is good: keep it). Whether the cache
    /// was purged. Blocking.
    pub fn purge_refused(&self, refused: &str) -> bool {
        let Some(store) = self.store() else {
            return false;
        };
        if let Some(current) = self.get(&store, &self.service, REFRESH_TOKEN) {
            if current != refused {
                crate::logging::info!(
                    "flyteauth: the keyring holds a newer login (another process refreshed); \
                     keeping it"
                );
                return false;
            }
        }
        self.purge();
        true
    }

    /// Remove the cached tokens (flytekit's layout). Blocking.
    pub fn purge(&self) {
        if let Some(store) = self.store() {
            for user in [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN] {
                self.remove(&store, user);
            }
        }
    }
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
    let lifetime = go
        .expiry
        .as_deref()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .filter(|e| e.timestamp() > 0)
        .map(|e| {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(e.timestamp().max(0) as u64);
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
    if go.access_token.is_empty() && go.refresh_token.is_none() {
        return None;
    }
    let mut token = Token::new(go.access_token, lifetime);
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
}
