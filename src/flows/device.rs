//! The device authorization grant, RFC 8628, exactly: `interval` defaults to 5 s and each
//! `slow_down` adds 5 s (§3.5); polling stops at the code's `expires_in` or
//! `deviceFlowConfig.timeout`, whichever comes first; `access_denied` and `expired_token`
//! are distinct errors; `verification_uri_complete` is shown when given.
//!
//! PKCE (RFC 7636, S256) is sent on the device flow too: a Flyte deployment often has one
//! public client for PKCE and the device flow, and an IdP that requires PKCE for that client
//! (Keycloak) refuses a device authorization request without `code_challenge_method`. The
//! verifier is fresh per login and sent on every poll; an IdP that ignores PKCE here ignores
//! both.

use std::time::Duration;

use oauth2::PkceCodeChallenge;
use serde::Deserialize;
use tokio::time::Instant;

use super::token_endpoint::{post_form, request_token, Grant};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, Policy};
use crate::interaction::{Prompt, PromptSink};
use crate::secret::Secret;
use crate::token::Token;

/// RFC 8628 §3.5: the default polling interval, and what `slow_down` adds.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The longest interval believed from a server (a larger one would outlast any login).
const MAX_INTERVAL: Duration = Duration::from_secs(600);

/// The device authorization response (RFC 8628 §3.2). Its `Debug` does not show the device
/// code (it is exchanged for the token).
#[derive(Deserialize)]
pub struct DeviceAuthorization {
    device_code: Secret,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &"<redacted>")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// What a device login needs, resolved from the config and discovery.
pub struct DeviceParams<'a> {
    /// The server's device authorization endpoint.
    pub device_authorization_endpoint: &'a str,
    /// The server's token endpoint.
    pub token_endpoint: &'a str,
    /// The public client id.
    pub client_id: &'a str,
    /// Scopes to request.
    pub scopes: &'a [String],
    /// Audience to request, if any.
    pub audience: Option<&'a str>,
    /// RFC 8707 resource indicators to request (`resource`).
    pub resource: &'a [String],
    /// The overall deadline (`deviceFlowConfig.timeout`).
    pub timeout: Duration,
    /// The interval when the server sends none (`deviceFlowConfig.pollInterval`).
    pub default_interval: Duration,
    /// Cancelled when nobody waits for the login any more: polling stops.
    pub abandon: &'a CancelToken,
}

/// Run a device login: request a code, show it, poll until the person approves.
pub async fn login(
    http: &HttpClient,
    prompt: &PromptSink,
    params: &DeviceParams<'_>,
) -> Result<Token> {
    let scope = params.scopes.join(" ");
    let mut form = vec![("client_id", params.client_id)];
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    if let Some(audience) = params.audience {
        form.push(("audience", audience));
    }
    form.extend(params.resource.iter().map(|r| ("resource", r.as_str())));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    form.push(("code_challenge", challenge.as_str()));
    form.push(("code_challenge_method", "S256"));
    let auth: DeviceAuthorization = post_form(
        http,
        params.device_authorization_endpoint,
        &form,
        None,
        "device authorization request",
        Policy::POST,
    )
    .await?;
    prompt.show(&Prompt::DeviceCode {
        verification_uri: auth.verification_uri.clone(),
        user_code: auth.user_code.clone(),
        verification_uri_complete: auth.verification_uri_complete.clone(),
    });

    // Every number from the server is clamped, and clock arithmetic is checked: an absurd
    // `expires_in` or `interval` must end the login, not panic it.
    let started = Instant::now();
    let lifetime = crate::token::lifetime_from_secs(auth.expires_in);
    let far = started + crate::token::MAX_LIFETIME;
    let deadline = started
        .checked_add(lifetime.min(params.timeout))
        .unwrap_or(far);
    let mut interval = match auth.interval {
        Some(seconds) if seconds > 0 => Duration::from_secs(seconds),
        _ if params.default_interval.is_zero() => DEFAULT_INTERVAL,
        _ => params.default_interval,
    }
    .min(MAX_INTERVAL);
    let poll = Grant::DeviceCode {
        client_id: params.client_id,
        device_code: auth.device_code.expose(),
        code_verifier: Some(verifier.secret()),
        resource: params.resource,
    };
    loop {
        // RFC 8628 §3.4: wait `interval` between polls (the person needs time anyway).
        let next = Instant::now().checked_add(interval).unwrap_or(far);
        if next >= deadline {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = params.abandon.cancelled() => return Err(super::abandoned()),
            }
            return Err(expired(params.timeout < lifetime, params.timeout));
        }
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = params.abandon.cancelled() => return Err(super::abandoned()),
        }
        match request_token(http, params.token_endpoint, &poll).await {
            Ok(token) => return Ok(token),
            Err(e) => match e.oauth_error() {
                Some("authorization_pending") => {}
                Some("slow_down") => {
                    interval = (interval + SLOW_DOWN_STEP).min(MAX_INTERVAL);
                    crate::logging::debug!("device flow: slow_down, polling every {interval:?}");
                }
                Some("access_denied") => {
                    return Err(Error::new(
                        ErrorKind::Authentication,
                        "the device login was denied by the person (access_denied)",
                    )
                    .with_http_status(e.http_status().unwrap_or(0))
                    .with_oauth_error("access_denied".into(), e.oauth_error_description().map(str::to_owned)))
                }
                Some("expired_token") => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        "the device code expired before the login was approved (expired_token); log in again",
                    )
                    .with_http_status(e.http_status().unwrap_or(0))
                    .with_oauth_error("expired_token".into(), e.oauth_error_description().map(str::to_owned)))
                }
                _ => return Err(e),
            },
        }
    }
}

fn expired(by_config: bool, timeout: Duration) -> Error {
    if by_config {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "the device login was not approved within {timeout:?} (deviceFlowConfig.timeout)"
            ),
        )
    } else {
        Error::new(
            ErrorKind::Timeout,
            "the device code expired before the login was approved (expires_in); log in again",
        )
        .with_oauth_error("expired_token".into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_optional_and_verification_url_is_accepted() {
        let a: DeviceAuthorization = serde_json::from_str(
            r#"{"device_code":"d","user_code":"U","verification_url":"https://idp/device","expires_in":600}"#,
        )
        .unwrap();
        assert_eq!(a.interval, None);
        assert_eq!(a.verification_uri, "https://idp/device");
        assert!(!format!("{a:?}").contains("\"d\""), "{a:?}");
    }
}
