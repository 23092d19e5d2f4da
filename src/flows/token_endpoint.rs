//! The one client for every request to an OAuth2 token endpoint (client credentials,
//! authorization code, device code, refresh token) and the device authorization endpoint:
//! RFC 6749 §5.1 success bodies (with OIDC's `id_token`), §5.2 error bodies kept as
//! `error` / `error_description` with the HTTP status, and never the body itself in a
//! message.
//!
//! The request policy follows from the grant ([`Grant::policy`]): no token request follows a
//! redirect, and single-use grants are repeated only when the connection failed (see
//! [`crate::http`]). Numbers from the server are clamped ([`crate::token::MAX_LIFETIME`]).

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, HttpClient, Policy};
use crate::secret::Secret;
use crate::token::Token;

/// A token request: the grant and what it carries.
pub enum Grant<'a> {
    /// RFC 6749 §4.4, with HTTP Basic client authentication (§2.3.1).
    ClientCredentials {
        /// `client_id`.
        client_id: &'a str,
        /// The client secret.
        client_secret: &'a str,
        /// `scope`: the scopes, space-separated (omitted when empty).
        scope: &'a str,
        /// `audience`, if any.
        audience: Option<&'a str>,
        /// RFC 8707 `resource` indicators (none: omitted).
        resource: &'a [String],
    },
    /// RFC 6749 §4.1.3 with PKCE (RFC 7636).
    AuthorizationCode {
        /// The public client id.
        client_id: &'a str,
        /// The code from the redirect.
        code: &'a str,
        /// The redirect URI the code was sent to.
        redirect_uri: &'a str,
        /// The PKCE verifier.
        code_verifier: &'a str,
        /// RFC 8707 `resource` indicators (none: omitted).
        resource: &'a [String],
    },
    /// RFC 8628 §3.4.
    DeviceCode {
        /// The public client id.
        client_id: &'a str,
        /// The device code.
        device_code: &'a str,
        /// The PKCE verifier of the device authorization request's `code_challenge` (an IdP
        /// that requires PKCE for the client, e.g. Keycloak, checks it on every poll).
        code_verifier: Option<&'a str>,
        /// RFC 8707 `resource` indicators (none: omitted).
        resource: &'a [String],
    },
    /// RFC 6749 §6.
    RefreshToken {
        /// The public client id.
        client_id: &'a str,
        /// The refresh token.
        refresh_token: &'a str,
        /// RFC 8707 `resource` indicators (none: omitted).
        resource: &'a [String],
    },
}

impl Grant<'_> {
    /// What the request is called in messages.
    fn what(&self) -> &'static str {
        match self {
            Grant::ClientCredentials { .. } => "client credentials request",
            Grant::AuthorizationCode { .. } => "authorization code exchange",
            Grant::DeviceCode { .. } => "device token request",
            Grant::RefreshToken { .. } => "refresh token request",
        }
    }

    /// How the request may be repeated: a code, a device code and (with rotation) a refresh
    /// token are single-use.
    pub fn policy(&self) -> Policy {
        match self {
            Grant::ClientCredentials { .. } => Policy::POST,
            _ => Policy::SINGLE_USE,
        }
    }

    fn form(&self) -> Vec<(&str, &str)> {
        let (mut form, resource) = match *self {
            Grant::ClientCredentials {
                scope,
                audience,
                resource,
                ..
            } => {
                let mut form = vec![("grant_type", "client_credentials")];
                if !scope.is_empty() {
                    form.push(("scope", scope));
                }
                if let Some(audience) = audience {
                    form.push(("audience", audience));
                }
                (form, resource)
            }
            Grant::AuthorizationCode {
                client_id,
                code,
                redirect_uri,
                code_verifier,
                resource,
            } => (
                vec![
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("client_id", client_id),
                    ("code_verifier", code_verifier),
                ],
                resource,
            ),
            Grant::DeviceCode {
                client_id,
                device_code,
                code_verifier,
                resource,
            } => {
                let mut form = vec![
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", device_code),
                    ("client_id", client_id),
                ];
                if let Some(verifier) = code_verifier {
                    form.push(("code_verifier", verifier));
                }
                (form, resource)
            }
            Grant::RefreshToken {
                client_id,
                refresh_token,
                resource,
            } => (
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("client_id", client_id),
                ],
                resource,
            ),
        };
        form.extend(resource.iter().map(|r| ("resource", r.as_str())));
        form
    }
}

/// Request a token from `token_url` with `grant`. A refresh grant keeps its refresh token
/// when the server sends no new one.
pub async fn request_token(http: &HttpClient, token_url: &str, grant: &Grant<'_>) -> Result<Token> {
    let form = grant.form();
    let basic = match grant {
        Grant::ClientCredentials {
            client_id,
            client_secret,
            ..
        } => Some((*client_id, *client_secret)),
        _ => None,
    };
    let what = grant.what();
    let response: TokenResponse = post_form(http, token_url, &form, basic, what, grant.policy())
        .await
        .map_err(|e| match (grant, e.kind()) {
            // Name the client: "which client was refused" is the first question.
            (Grant::ClientCredentials { client_id, .. }, ErrorKind::Authentication) => {
                let message = e.message().replace(
                    "refused the client credentials request",
                    &format!("refused client '{client_id}'"),
                );
                e.with_message(message)
            }
            _ => e,
        })?;
    let previous_refresh = match grant {
        Grant::RefreshToken { refresh_token, .. } => Some(*refresh_token),
        _ => None,
    };
    Ok(response.into_token(previous_refresh))
}

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
    /// new login later). The lifetime is clamped (see [`Token::new`]).
    pub fn into_token(self, previous_refresh: Option<&str>) -> Token {
        let mut token = Token::new(
            self.access_token,
            self.expires_in.map(crate::token::lifetime_from_secs),
        );
        token.refresh_token = self
            .refresh_token
            .filter(|t| !t.is_empty())
            .or_else(|| previous_refresh.map(str::to_owned))
            .map(Secret::new);
        token.id_token = self.id_token.filter(|t| !t.is_empty()).map(Secret::new);
        token
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// POST `form` (urlencoded) to `url` under `policy` and parse a JSON success body as `T`. An
/// OAuth2 error body becomes an `Authentication` error carrying `error`, `error_description`
/// and the status; anything else unexpected is a `Protocol` error. `what` names the request
/// for messages (e.g. "token request").
pub async fn post_form<T: DeserializeOwned>(
    http: &HttpClient,
    url: &str,
    form: &[(&str, &str)],
    basic_auth: Option<(&str, &str)>,
    what: &str,
    policy: Policy,
) -> Result<T> {
    let shown = redact_url(url);
    let (status, body) = post_form_ok(http, url, form, basic_auth, what, policy).await?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "POST {shown}: the {what} answer (HTTP {status}) is not valid ({})",
                serde_category(&e)
            ),
        )
        .with_http_status(status.as_u16())
    })
}

/// POST `form` (urlencoded) to `url` under `policy`; the status and body of a 2xx answer,
/// else the error `error_response` makes of the answer.
pub async fn post_form_ok(
    http: &HttpClient,
    url: &str,
    form: &[(&str, &str)],
    basic_auth: Option<(&str, &str)>,
    what: &str,
    policy: Policy,
) -> Result<(http::StatusCode, Vec<u8>)> {
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
    let response = http.send_with(request, policy).await?;
    let status = response.status();
    let (parts, body) = response.into_parts();
    if status.is_success() {
        return Ok((status, body));
    }
    Err(error_response(&shown, what, status, &parts.headers, &body))
}

/// The error for a non-success answer to a POST of `what` to `shown` (a redacted URL): a
/// redirect is a `Protocol` error (token requests never follow one), an OAuth2 error body an
/// `Authentication` error carrying `error`, `error_description` and the status, anything else
/// a `Protocol` error. The body itself is never in the message.
pub(crate) fn error_response(
    shown: &str,
    what: &str,
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Error {
    if status.is_redirection() {
        let to = response_location(headers);
        return Error::new(
            ErrorKind::Protocol,
            format!(
                "POST {shown}: the {what} was answered with a redirect ({status}{to}); token \
                 requests never follow redirects, so the credentials stay with this host: \
                 configure the final URL (tokenUrl) instead"
            ),
        )
        .with_http_status(status.as_u16());
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(err) => {
            let detail = match &err.error_description {
                Some(d) => format!("{}: {d}", err.error),
                None => err.error.clone(),
            };
            Error::new(
                ErrorKind::Authentication,
                format!("POST {shown}: the identity provider refused the {what} ({detail})"),
            )
            .with_http_status(status.as_u16())
            .with_oauth_error(err.error, err.error_description)
        }
        Err(_) => Error::new(
            ErrorKind::Protocol,
            format!("POST {shown}: the {what} failed with HTTP {status} and no OAuth2 error body"),
        )
        .with_http_status(status.as_u16()),
    }
}

/// " to <redacted location>" for a message, or nothing.
fn response_location(headers: &http::HeaderMap) -> String {
    headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| format!(" to {}", redact_url(l)))
        .unwrap_or_default()
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
        assert_eq!(t.refresh_secret(), Some("old-refresh"));
        let r: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","refresh_token":"new","id_token":"i"}"#)
                .unwrap();
        let t = r.into_token(Some("old-refresh"));
        assert_eq!(t.refresh_secret(), Some("new"));
        assert_eq!(t.id_token.as_ref().map(Secret::expose), Some("i"));
        assert_eq!(t.lifetime, None);
    }
}
