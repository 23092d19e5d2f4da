//! Tokens as the flows return them, and the checks that keep them safe to put in a header.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;

use crate::error::{Error, ErrorKind, Result};

/// An access token with what is known of its lifetime. `Debug` never shows the token.
#[derive(Clone)]
pub struct Token {
    access_token: String,
    /// The lifetime from the moment it was received: `expires_in`, else the JWT `exp`,
    /// else unknown (the token is used until the server rejects it).
    pub lifetime: Option<Duration>,
    /// The refresh token, if the flow has one (PKCE, device flow).
    pub refresh_token: Option<String>,
    /// The OpenID Connect ID token, if the server sent one.
    pub id_token: Option<String>,
}

impl Token {
    /// A token with a known or unknown lifetime. When the token is a JWT with an `exp`
    /// claim, the lifetime is at most what `exp` leaves (an IdP rounds `iat` down, so
    /// `expires_in` counted from our request can end up to a second after `exp`).
    pub fn new(access_token: String, lifetime: Option<Duration>) -> Self {
        let until_exp = jwt_expiry(&access_token).map(|exp| {
            exp.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
        let lifetime = match (lifetime, until_exp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Token {
            access_token,
            lifetime,
            refresh_token: None,
            id_token: None,
        }
    }

    /// The token itself.
    pub fn secret(&self) -> &str {
        &self.access_token
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

/// The `exp` claim of a JWT, read without verifying the signature (only to know when to
/// refresh; the server does the verifying).
pub fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    if !exp.is_finite() || exp < 0.0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs_f64(exp))
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
