//! Authorization code with PKCE (RFC 7636, S256) and a loopback redirect (RFC 8252).
//!
//! The verifier and `state` are fresh per login, from a CSPRNG. The loopback listener is
//! bound to the redirect URI's host and port *before* the browser opens (a busy port is a
//! clear error, not a browser showing a dead page). It answers every request: stray ones
//! (favicon, wrong path) get a 404 and do not end the wait; a callback whose `state` does not
//! match is refused and does not end the wait either (another site cannot abort the login);
//! an `error=` callback ends it with the server's description; and the whole wait is bounded
//! by `pkceConfig.timeout`. When the server's metadata advertises RFC 9207
//! (`authorization_response_iss_parameter_supported`), the callback's `iss` must equal its
//! `issuer`: a missing or different one ends the login with a `Protocol` error and the code
//! is never exchanged (mix-up attack defence).

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use oauth2::{CsrfToken, PkceCodeChallenge};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::token_endpoint::{request_token, Grant};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Result};
use crate::http::HttpClient;
use crate::interaction::{open_browser, Prompt, PromptSink};
use crate::token::Token;

/// What a PKCE login needs, resolved from the config and discovery.
pub struct PkceParams<'a> {
    /// The server's authorization endpoint.
    pub authorization_endpoint: &'a str,
    /// The server's token endpoint.
    pub token_endpoint: &'a str,
    /// The public client id.
    pub client_id: &'a str,
    /// The redirect URI (a loopback `http://` URL).
    pub redirect_uri: &'a str,
    /// Scopes to request.
    pub scopes: &'a [String],
    /// Audience to request, if any.
    pub audience: Option<&'a str>,
    /// RFC 8707 resource indicators to request (`resource`).
    pub resource: &'a [String],
    /// RFC 9207: the issuer the callback's `iss` must equal, when the server's metadata says
    /// it sends `iss` (`authorization_response_iss_parameter_supported`); `None`: not checked.
    pub expected_issuer: Option<&'a str>,
    /// How long to wait for the browser.
    pub timeout: Duration,
    /// Shown on the success page.
    pub endpoint_name: &'a str,
    /// Cancelled when nobody waits for the login any more: the wait for the browser ends
    /// and the loopback port is released.
    pub abandon: &'a CancelToken,
}

/// Tasks aborted when this is dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Where the browser comes back to: the bound listeners and the redirect URI to send.
pub struct Loopback {
    listeners: Vec<TcpListener>,
    redirect_uri: String,
    path: String,
}

impl Loopback {
    /// Bind the redirect URI's host and port (`localhost`: both 127.0.0.1 and ::1 where
    /// possible; no port: an ephemeral one, written into the redirect URI).
    pub async fn bind(redirect_uri: &str) -> Result<Loopback> {
        let bad = |why: &str| {
            Error::config(format!(
                "redirect_uri '{redirect_uri}' (from the server's /config/v1/flyte_client) {why}"
            ))
        };
        let mut url = url::Url::parse(redirect_uri).map_err(|_| bad("is not a URL"))?;
        if url.scheme() != "http" {
            return Err(bad("must be an http:// loopback URL"));
        }
        let host = url.host_str().ok_or_else(|| bad("has no host"))?.to_owned();
        let addrs: Vec<IpAddr> = match host.trim_matches(|c| c == '[' || c == ']') {
            "localhost" => vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()],
            other => match other.parse::<IpAddr>() {
                Ok(ip) if ip.is_loopback() => vec![ip],
                _ => {
                    return Err(bad(
                        "must point at this machine (localhost, 127.0.0.1 or [::1])",
                    ))
                }
            },
        };
        let mut port = url.port().unwrap_or(0);
        let mut listeners = Vec::new();
        let mut first_error = None;
        for ip in addrs {
            match TcpListener::bind(SocketAddr::new(ip, port)).await {
                Ok(listener) => {
                    if port == 0 {
                        port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                    }
                    listeners.push(listener);
                }
                Err(e) => {
                    first_error.get_or_insert((ip, e));
                }
            }
        }
        let fatal = match &first_error {
            Some((ip, _)) => listeners.is_empty() || ip.is_ipv4(),
            None => false,
        };
        if let (true, Some((ip, e))) = (fatal, first_error) {
            let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                "; another login may be running (or another program uses the port)"
            } else {
                ""
            };
            return Err(Error::new(
                ErrorKind::Network,
                format!("cannot listen on {ip}:{port} for the login callback: {e}{hint}"),
            ));
        }
        if url.port().is_none() {
            let _ = url.set_port(Some(port));
        }
        Ok(Loopback {
            path: url.path().to_owned(),
            redirect_uri: url.to_string(),
            listeners,
        })
    }

    /// The redirect URI to send (with the bound port).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(0, |a| a.port())
    }

    /// Wait for the callback for `state`; returns the authorization code.
    pub async fn wait_for_code(
        self,
        state: &str,
        expected_issuer: Option<&str>,
        endpoint_name: &str,
        timeout: Duration,
        abandon: &CancelToken,
    ) -> Result<String> {
        let (tx, mut rx) = mpsc::channel::<Result<String>>(1);
        let shared = Arc::new(CallbackCheck {
            path: self.path.clone(),
            state: state.to_owned(),
            expected_issuer: expected_issuer.map(str::to_owned),
            endpoint_name: endpoint_name.to_owned(),
            tx,
        });
        // Aborted when this future ends or is dropped: the listeners (the port) go with them.
        let mut accept_tasks = AbortOnDrop(Vec::new());
        for listener in self.listeners {
            let shared = shared.clone();
            accept_tasks.0.push(tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| {
                            let shared = shared.clone();
                            async move { Ok::<_, Infallible>(shared.handle(req).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }));
        }
        drop(shared);
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(timeout, rx.recv()) => outcome,
            () = abandon.cancelled() => return Err(super::abandoned()),
        };
        drop(accept_tasks);
        match outcome {
            Ok(Some(result)) => result,
            Ok(None) => Err(Error::new(ErrorKind::Internal, "the login callback listener stopped")),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "no login callback within {timeout:?} (pkceConfig.timeout); the browser login was not completed"
                ),
            )),
        }
    }
}

struct CallbackCheck {
    path: String,
    state: String,
    expected_issuer: Option<String>,
    endpoint_name: String,
    tx: mpsc::Sender<Result<String>>,
}

impl CallbackCheck {
    async fn handle(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        if req.uri().path() != self.path || req.method() != hyper::Method::GET {
            return page(404, "Not found", "This is the flyteauth login callback.");
        }
        let params: std::collections::HashMap<String, String> = req
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        if params.get("state").map(String::as_str) != Some(self.state.as_str()) {
            // Not the login in progress (a stale tab, or another site): refuse, keep waiting.
            return page(
                400,
                "Login not accepted",
                "This answer does not belong to the login in progress (its state does not match). \
                 Use the most recent login link.",
            );
        }
        if let Some(expected) = &self.expected_issuer {
            // RFC 9207 §2.4: the answer must come from the server the login was sent to; a
            // code from another one (a mix-up attack) is never exchanged.
            let problem = match params.get("iss") {
                Some(iss) if iss == expected => None,
                Some(iss) => Some(format!(
                    "its iss ({}) is not the issuer ({})",
                    crate::redact::url(iss),
                    crate::redact::url(expected)
                )),
                None => Some(format!(
                    "it has no iss, although the issuer ({}) says it sends one \
                     (authorization_response_iss_parameter_supported)",
                    crate::redact::url(expected)
                )),
            };
            if let Some(problem) = problem {
                let _ = self.tx.try_send(Err(Error::new(
                    ErrorKind::Protocol,
                    format!(
                        "the login answer was refused: {problem}; it may come from another \
                         authorization server (RFC 9207 mix-up defence), so its code was not used"
                    ),
                )));
                return page(
                    400,
                    "Login not accepted",
                    "This answer does not come from the expected identity provider (its iss \
                     does not match); the login was stopped.",
                );
            }
        }
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").cloned();
            let detail = match &description {
                Some(d) => format!("{error}: {d}"),
                None => error.clone(),
            };
            let _ = self.tx.try_send(Err(Error::new(
                ErrorKind::Authentication,
                format!("the login was not completed: the identity provider answered {detail}"),
            )
            .with_oauth_error(error.clone(), description)));
            return page(
                400,
                "Login failed",
                &format!("The identity provider answered: {detail}"),
            );
        }
        match params.get("code").filter(|c| !c.is_empty()) {
            Some(code) => {
                let _ = self.tx.try_send(Ok(code.clone()));
                page(
                    200,
                    "Logged in",
                    &format!(
                        "You are logged in to {}. You can close this window.",
                        self.endpoint_name
                    ),
                )
            }
            None => page(
                400,
                "Login failed",
                "The answer carries no authorization code.",
            ),
        }
    }
}

fn page(status: u16, title: &str, text: &str) -> hyper::Response<Full<Bytes>> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>flyteauth: {t}</title></head>\
         <body style=\"font-family: sans-serif\"><h1>{t}</h1><p>{x}</p></body></html>",
        t = html_escape(title),
        x = html_escape(text)
    );
    hyper::Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The authorization URL: the endpoint (its own query kept), plus the request parameters.
pub fn authorization_url(
    params: &PkceParams<'_>,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> Result<String> {
    let mut url = url::Url::parse(params.authorization_endpoint).map_err(|e| {
        Error::new(
            ErrorKind::Discovery,
            format!(
                "authorization_endpoint '{}' is not a URL: {e}",
                params.authorization_endpoint
            ),
        )
    })?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", params.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        if !params.scopes.is_empty() {
            q.append_pair("scope", &params.scopes.join(" "));
        }
        if let Some(audience) = params.audience {
            q.append_pair("audience", audience);
        }
        for resource in params.resource {
            q.append_pair("resource", resource);
        }
    }
    Ok(url.to_string())
}

/// Run a browser login and exchange the code for tokens.
pub async fn login(
    http: &HttpClient,
    prompt: &PromptSink,
    params: &PkceParams<'_>,
) -> Result<Token> {
    let loopback = Loopback::bind(params.redirect_uri).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = CsrfToken::new_random();
    let redirect_uri = loopback.redirect_uri().to_owned();
    let url = authorization_url(params, &redirect_uri, state.secret(), challenge.as_str())?;
    prompt.show(&Prompt::Browser { url: url.clone() });
    if !open_browser(&url) {
        crate::logging::info!("flyteauth: no browser could be started; open the URL shown above");
    }
    let code = loopback
        .wait_for_code(
            state.secret(),
            params.expected_issuer,
            params.endpoint_name,
            params.timeout,
            params.abandon,
        )
        .await?;
    request_token(
        http,
        params.token_endpoint,
        &Grant::AuthorizationCode {
            client_id: params.client_id,
            code: &code,
            redirect_uri: &redirect_uri,
            code_verifier: verifier.secret(),
            resource: params.resource,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn verifiers_and_states_are_fresh_and_well_formed() {
        let (_, v1) = PkceCodeChallenge::new_random_sha256();
        let (_, v2) = PkceCodeChallenge::new_random_sha256();
        for v in [v1.secret(), v2.secret()] {
            // flytekit test_generate_code_verifier: 43 < len < 128, [A-Za-z0-9_\-.~].
            assert!(v.len() >= 43 && v.len() <= 128, "{}", v.len());
            assert!(v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
        }
        assert_ne!(v1.secret(), v2.secret());
        let (s1, s2) = (CsrfToken::new_random(), CsrfToken::new_random());
        assert_ne!(s1.secret(), s2.secret());
        // flytekit test_generate_state_parameter: [a-zA-Z0-9-_.,].
        assert!(s1
            .secret()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.,".contains(&b)));
        assert!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s1.secret())
                .unwrap()
                .len()
                >= 16
        );
    }

    #[test]
    fn authorization_url_keeps_the_endpoints_query() {
        let scopes = vec!["openid".to_owned(), "offline".to_owned()];
        let params = PkceParams {
            authorization_endpoint: "https://idp.example/authorize?tenant=acme",
            token_endpoint: "https://idp.example/token",
            client_id: "flytectl",
            redirect_uri: "http://localhost:53593/callback",
            scopes: &scopes,
            audience: Some("https://flyte.example/api"),
            resource: &[],
            expected_issuer: None,
            timeout: Duration::from_secs(1),
            endpoint_name: "flyte.example",
            abandon: &CancelToken::new(),
        };
        let url = authorization_url(&params, params.redirect_uri, "st", "ch").unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["tenant"], "acme");
        assert_eq!(q["client_id"], "flytectl");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["scope"], "openid offline");
        assert_eq!(q["audience"], "https://flyte.example/api");
        assert_eq!(q["redirect_uri"], "http://localhost:53593/callback");
    }
}
