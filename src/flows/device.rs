//! The device authorization grant, RFC 8628, exactly: `interval` defaults to 5 s and each
//! `slow_down` adds 5 s (§3.5); polling stops at the code's `expires_in` or
//! `deviceFlowConfig.timeout`, whichever comes first; `access_denied` and `expired_token`
//! are distinct errors; `verification_uri_complete` is shown when given.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::token_endpoint::{post_form, TokenResponse};
use crate::error::{Error, ErrorKind, Result};
use crate::http::HttpClient;
use crate::interaction::{Prompt, PromptSink};
use crate::token::Token;

/// RFC 8628 §3.5: the default polling interval, and what `slow_down` adds.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Deserialize)]
pub struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
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
    /// The overall deadline (`deviceFlowConfig.timeout`).
    pub timeout: Duration,
    /// The interval when the server sends none (`deviceFlowConfig.pollInterval`).
    pub default_interval: Duration,
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
    let auth: DeviceAuthorization = post_form(
        http,
        params.device_authorization_endpoint,
        &form,
        None,
        "device authorization request",
    )
    .await?;
    prompt.show(&Prompt::DeviceCode {
        verification_uri: auth.verification_uri.clone(),
        user_code: auth.user_code.clone(),
        verification_uri_complete: auth.verification_uri_complete.clone(),
    });

    let started = Instant::now();
    let lifetime = Duration::from_secs(auth.expires_in);
    let deadline = started + lifetime.min(params.timeout);
    let mut interval = match auth.interval {
        Some(seconds) if seconds > 0 => Duration::from_secs(seconds),
        _ if params.default_interval.is_zero() => DEFAULT_INTERVAL,
        _ => params.default_interval,
    };
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", auth.device_code.as_str()),
        ("client_id", params.client_id),
    ];
    loop {
        // RFC 8628 §3.4: wait `interval` between polls (the person needs time anyway).
        if Instant::now() + interval >= deadline {
            tokio::time::sleep_until(deadline).await;
            return Err(expired(params.timeout < lifetime, params.timeout));
        }
        tokio::time::sleep(interval).await;
        match post_form::<TokenResponse>(http, params.token_endpoint, &poll, None, "device token request").await {
            Ok(response) => return Ok(response.into_token(None)),
            Err(e) => match e.oauth_error() {
                Some("authorization_pending") => {}
                Some("slow_down") => {
                    interval += SLOW_DOWN_STEP;
                    log::debug!("device flow: slow_down, polling every {interval:?}");
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
    }
}
