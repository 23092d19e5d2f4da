//! Form posts to an OAuth2 endpoint (token, device authorization) and their answers, for the
//! interactive flows: RFC 6749 §5.1 success bodies (with OIDC's `id_token`), §5.2 error bodies
//! kept as `error` / `error_description` with the HTTP status, and never the body itself in a
//! message.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, HttpClient};
use crate::token::Token;

/// A successful token response.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// `access_token`.
    pub access_token: String,
    /// `expires_in`, in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// `refresh_token`.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// `id_token` (OpenID Connect).
    #[serde(default)]
    pub id_token: Option<String>,
}

impl TokenResponse {
    /// The token, keeping `previous_refresh` when the server did not send a new refresh
    /// token (servers that do not rotate them send none; dropping the old one would force a
    /// new login later).
    pub fn into_token(self, previous_refresh: Option<&str>) -> Token {
        let mut token = Token::new(
            self.access_token,
            self.expires_in.map(std::time::Duration::from_secs),
        );
        token.refresh_token = self
            .refresh_token
            .filter(|t| !t.is_empty())
            .or_else(|| previous_refresh.map(str::to_owned));
        token.id_token = self.id_token.filter(|t| !t.is_empty());
        token
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// POST `form` (urlencoded) to `url` and parse a JSON success body as `T`. An OAuth2 error
/// body becomes an `Authentication` error carrying `error`, `error_description` and the
/// status; anything else unexpected is a `Protocol` error. `what` names the request for
/// messages (e.g. "token request").
pub async fn post_form<T: DeserializeOwned>(
    http: &HttpClient,
    url: &str,
    form: &[(&str, &str)],
    basic_auth: Option<(&str, &str)>,
    what: &str,
) -> Result<T> {
    let shown = redact_url(url);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    let mut request = http::Request::post(url)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json");
    if let Some((id, secret)) = basic_auth {
        request = request.header(http::header::AUTHORIZATION, basic_header(id, secret));
    }
    let request = request
        .body(body.into_bytes())
        .map_err(|e| Error::new(ErrorKind::Config, format!("{what}: bad URL {shown}: {e}")))?;
    let response = http.send(request).await?;
    let status = response.status();
    let body = response.into_body();
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!(
                    "POST {shown}: the {what} answer (HTTP {status}) is not valid ({})",
                    serde_category(&e)
                ),
            )
            .with_http_status(status.as_u16())
        });
    }
    match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(err) => {
            let detail = match &err.error_description {
                Some(d) => format!("{}: {d}", err.error),
                None => err.error.clone(),
            };
            Err(Error::new(
                ErrorKind::Authentication,
                format!("POST {shown}: the identity provider refused the {what} ({detail})"),
            )
            .with_http_status(status.as_u16())
            .with_oauth_error(err.error, err.error_description))
        }
        Err(_) => Err(Error::new(
            ErrorKind::Protocol,
            format!("POST {shown}: the {what} failed with HTTP {status} and no OAuth2 error body"),
        )
        .with_http_status(status.as_u16())),
    }
}

fn serde_category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "a required field is missing or has the wrong type",
        _ => "not JSON",
    }
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub fn basic_header(id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_vectors_from_flytekit() {
        assert_eq!(
            basic_header("client_id", "abc"),
            "Basic Y2xpZW50X2lkOmFiYw=="
        );
        assert_eq!(
            basic_header("client_id", r"abc%%$?\/\/"),
            "Basic Y2xpZW50X2lkOmFiYyUyNSUyNSUyNCUzRiU1QyUyRiU1QyUyRg=="
        );
    }

    #[test]
    fn a_missing_refresh_token_keeps_the_previous_one() {
        let r: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":60}"#).unwrap();
        let t = r.into_token(Some("old-refresh"));
        assert_eq!(t.refresh_token.as_deref(), Some("old-refresh"));
        let r: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","refresh_token":"new","id_token":"i"}"#)
                .unwrap();
        let t = r.into_token(Some("old-refresh"));
        assert_eq!(t.refresh_token.as_deref(), Some("new"));
        assert_eq!(t.id_token.as_deref(), Some("i"));
        assert_eq!(t.lifetime, None);
    }
}
