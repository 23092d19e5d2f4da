//! Tokens as the flows return them, and the checks that keep them safe to put in a header.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;

/// The longest lifetime believed from a server: an `expires_in` or `exp` further away is
/// counted as this (a token is then refreshed within the year, never "never"). Also keeps
/// every clock computation far from overflow.
pub const MAX_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);

/// A lifetime of `seconds` (a server's `expires_in`), clamped to [`MAX_LIFETIME`].
pub fn lifetime_from_secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds).min(MAX_LIFETIME)
}

/// An access token with what is known of its lifetime. `Debug` never shows the token.
#[derive(Clone)]
pub struct Token {
    access_token: Secret,
    /// The lifetime from [`Token::received_at`]: `expires_in`, else the JWT `exp`, else
    /// unknown (the token is used until the server rejects it); at most [`MAX_LIFETIME`].
    pub lifetime: Option<Duration>,
    /// When the token arrived (or was loaded from a cache): its lifetime counts from here,
    /// not from when the flow that produced it started (a browser login can take minutes).
    pub received_at: SystemTime,
    /// The refresh token, if the flow has one (PKCE, device flow).
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect ID token, if the server sent one.
    pub id_token: Option<Secret>,
    /// When the token says it expires (the earlier of `expires_in` from its arrival, its JWT
    /// `exp`, or a cache's stored expiry), kept even once past: `lifetime` of an expired token
    /// is zero whenever it was loaded, so only this tells which of two expired logins is the
    /// newer one (see [`Token::stated_expiry`]).
    stated_expiry: Option<SystemTime>,
}

impl Token {
    /// A token with a known or unknown lifetime. When the token is a JWT with an `exp`
    /// claim, the lifetime is at most what `exp` leaves (an IdP rounds `iat` down, so
    /// `expires_in` counted from our request can end up to a second after `exp`).
    pub fn new(access_token: String, lifetime: Option<Duration>) -> Self {
        let received_at = SystemTime::now();
        let stated = lifetime.and_then(|l| received_at.checked_add(l.min(MAX_LIFETIME)));
        Self::stating(access_token, received_at, stated)
    }

    /// A token a cache stored with an absolute `expiry` (flytectl's `oauth2.Token`), which
    /// may be past already: then its lifetime is zero, and [`Token::stated_expiry`] still
    /// says when it expired.
    pub fn with_expiry(access_token: String, expiry: Option<SystemTime>) -> Self {
        Self::stating(access_token, SystemTime::now(), expiry)
    }

    fn stating(access_token: String, received_at: SystemTime, stated: Option<SystemTime>) -> Self {
        let stated_expiry = match (stated, jwt_expiry(&access_token)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let lifetime = stated_expiry.map(|at| {
            at.duration_since(received_at)
                .unwrap_or(Duration::ZERO)
                .min(MAX_LIFETIME)
        });
        Token {
            access_token: Secret::new(access_token),
            lifetime,
            received_at,
            refresh_token: None,
            id_token: None,
            stated_expiry,
        }
    }

    /// When the token says it expires, even if that is past (unlike
    /// [`Token::expires_at`], which is never before the token was loaded): to order logins
    /// from different places, e.g. two expired ones in the keyring.
    pub fn stated_expiry(&self) -> Option<SystemTime> {
        self.stated_expiry
    }

    /// The token itself.
    pub fn secret(&self) -> &str {
        self.access_token.expose()
    }

    /// The refresh token, if there is one.
    pub fn refresh_secret(&self) -> Option<&str> {
        self.refresh_token.as_ref().map(Secret::expose)
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.received_at.checked_add(self.lifetime?)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `Bearer <token>`, after checking that the token can travel in a header and a C string:
/// printable ASCII only (no NUL, no CR/LF that would split a header).
pub fn bearer_header_value(token: &str) -> Result<String> {
    if token.is_empty() {
        return Err(Error::new(ErrorKind::Protocol, "the token is empty"));
    }
    if !token.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(Error::new(
            ErrorKind::Protocol,
            "the token contains characters that are not allowed in a header (control characters, spaces or non-ASCII)",
        ));
    }
    Ok(format!("Bearer {token}"))
}

/// The claims of a JWT (its payload object), read without verifying the signature: for
/// knowing when to refresh and for showing a person whose token it is (`flyteauth whoami`);
/// the server does the verifying. `None` for an opaque token.
pub fn jwt_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// The `exp` claim of a JWT (see [`jwt_claims`]). An `exp` beyond what a clock can hold is
/// read as the largest one it can (the lifetime is clamped afterwards anyway).
pub fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let claims = jwt_claims(token)?;
    let exp = claims.get("exp")?.as_f64()?;
    if !exp.is_finite() || exp < 0.0 {
        return None;
    }
    // Year 9999: far beyond MAX_LIFETIME, and representable on every platform.
    const LATEST_EXP: f64 = 253_402_300_799.0;
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(exp.min(LATEST_EXP)).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", e.encode(r#"{"alg":"none"}"#), e.encode(claims))
    }

    #[test]
    fn jwt_exp_is_read() {
        let t = jwt(r#"{"exp":2000000000}"#);
        assert_eq!(
            jwt_expiry(&t),
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
    }

    #[test]
    fn opaque_and_malformed_tokens_have_no_expiry() {
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.b.c"), None);
        assert_eq!(jwt_expiry(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_expiry(&jwt(r#"{"exp":"soon"}"#)), None);
    }

    #[test]
    fn lifetime_falls_back_to_jwt_exp() {
        let in_an_hour = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        let t = Token::new(jwt(&format!(r#"{{"exp":{in_an_hour}}}"#)), None);
        let lifetime = t.lifetime.expect("lifetime from exp");
        assert!(lifetime > Duration::from_secs(3500) && lifetime <= Duration::from_secs(3600));
        assert_eq!(Token::new("opaque".into(), None).lifetime, None);
        let short = Token::new(
            jwt(&format!(r#"{{"exp":{in_an_hour}}}"#)),
            Some(Duration::from_secs(7200)),
        );
        assert!(
            short.lifetime.unwrap() <= Duration::from_secs(3600),
            "exp wins when earlier"
        );
        assert_eq!(
            Token::new("opaque".into(), Some(Duration::from_secs(5))).lifetime,
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn absurd_lifetimes_are_clamped() {
        assert_eq!(lifetime_from_secs(u64::MAX), MAX_LIFETIME);
        let t = Token::new("opaque".into(), Some(lifetime_from_secs(u64::MAX)));
        assert_eq!(t.lifetime, Some(MAX_LIFETIME));
        assert!(t.expires_at().is_some());
        for exp in ["1e20", "1.7976931348623157e308", "18446744073709551615"] {
            let t = Token::new(jwt(&format!(r#"{{"exp":{exp}}}"#)), None);
            assert_eq!(t.lifetime, Some(MAX_LIFETIME), "exp {exp}");
        }
    }

    #[test]
    fn header_values_reject_injection() {
        assert_eq!(bearer_header_value("abc.def").unwrap(), "Bearer abc.def");
        for bad in ["", "a\nb", "a\rb", "a b", "a\0b", "tök"] {
            let err = bearer_header_value(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol);
            assert!(!err.message().contains(bad) || bad.is_empty());
        }
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let t = Token::new("super-secret-token".into(), None);
        assert!(!format!("{t:?}").contains("super-secret"));
    }
}
