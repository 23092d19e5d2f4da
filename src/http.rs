//! One HTTP client per authenticator, used for every request the library makes (discovery
//! and token calls alike), so that `caCertFilePath`, `insecureSkipVerify`, `httpProxyURL`
//! and the `proxy-authorization` header apply everywhere.
//!
//! Each attempt has a timeout (`perRetryTimeout`); connection errors, timeouts, 5xx and 429
//! are retried up to `maxRetries` times with jittered exponential backoff (429/503 honour
//! `Retry-After`, capped at `maxBackoffDelay`). Response bodies are capped in size.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, PROXY_AUTHORIZATION, RETRY_AFTER, USER_AGENT};

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::flows::command::ProxyToken;

/// The largest response body read from a server, in bytes.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The first backoff step; each retry doubles it, up to `maxBackoffDelay`.
const BASE_BACKOFF: Duration = Duration::from_millis(200);

/// The HTTP client of one authenticator. Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// The client of the process that built it; a child after `fork()` builds its own (the
    /// parent's pooled connections must not be shared), see [`HttpClient::client`].
    client: Arc<std::sync::Mutex<(u32, reqwest::Client)>>,
    config: Arc<Config>,
    max_retries: u32,
    max_backoff: Duration,
    proxy_token: Option<Arc<ProxyToken>>,
}

impl HttpClient {
    /// Build the client from `config`; `proxy_token` adds `proxy-authorization` to every
    /// request.
    pub fn new(config: &Config, proxy_token: Option<Arc<ProxyToken>>) -> Result<HttpClient> {
        let client = build_client(config)?;
        Ok(HttpClient {
            client: Arc::new(std::sync::Mutex::new((std::process::id(), client))),
            config: Arc::new(config.clone()),
            max_retries: config.max_retries,
            max_backoff: config.max_backoff_delay,
            proxy_token,
        })
    }

    /// The reqwest client for this process. After `fork()` the child builds a new one and
    /// leaks the parent's (dropping it could touch connections and tasks of the parent).
    fn client(&self) -> Result<reqwest::Client> {
        let pid = std::process::id();
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if slot.0 != pid {
            let fresh = build_client(&self.config)?;
            std::mem::forget(std::mem::replace(&mut *slot, (pid, fresh)));
        }
        Ok(slot.1.clone())
    }

    /// Send `request`, retrying transient failures. Returns the final response, whatever its
    /// status, unless it is still a 5xx/429 after the last retry (then a NETWORK error).
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>> {
        let (parts, body) = request.into_parts();
        let what = format!("{} {}", parts.method, redact_url(&parts.uri.to_string()));
        let mut proxy_rerun = false;
        let mut attempt: u32 = 0;
        loop {
            let mut req = reqwest::Request::new(
                parts.method.clone(),
                reqwest::Url::parse(&parts.uri.to_string()).map_err(|e| {
                    Error::new(ErrorKind::Internal, format!("{what}: bad URL: {e}"))
                })?,
            );
            *req.headers_mut() = parts.headers.clone();
            req.headers_mut().insert(
                USER_AGENT,
                HeaderValue::from_static(concat!("flyteauth/", env!("CARGO_PKG_VERSION"))),
            );
            let proxy_value = match &self.proxy_token {
                Some(p) => {
                    let v = p.header_value().await?;
                    let mut hv = HeaderValue::from_str(&v).map_err(|_| {
                        Error::new(
                            ErrorKind::Command,
                            "proxyCommand printed a token that is not a valid header value",
                        )
                    })?;
                    hv.set_sensitive(true);
                    req.headers_mut().insert(PROXY_AUTHORIZATION, hv);
                    Some(v)
                }
                None => None,
            };
            if !body.is_empty() {
                *req.body_mut() = Some(body.clone().into());
            }

            let outcome = match self.client()?.execute(req).await {
                Ok(resp) => read_response(resp, &what).await,
                Err(e) => Err(transport_error(&what, &e)),
            };
            let retry_after = match &outcome {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if status == 407 && !proxy_rerun {
                        if let (Some(p), Some(v)) = (&self.proxy_token, &proxy_value) {
                            // The proxy rejected its token: run proxyCommand again, once.
                            proxy_rerun = true;
                            p.rerun(Some(v)).await?;
                            continue;
                        }
                    }
                    if !(status == 429 || (500..600).contains(&status)) {
                        return outcome;
                    }
                    retry_after_header(resp)
                }
                Err(e) if matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout) => None,
                Err(_) => return outcome,
            };
            if attempt >= self.max_retries {
                return match outcome {
                    Ok(resp) => {
                        let status = resp.status();
                        Err(Error::new(
                            ErrorKind::Network,
                            format!(
                                "{what}: the server answered {status} after {} attempt(s)",
                                attempt + 1
                            ),
                        )
                        .with_http_status(status.as_u16()))
                    }
                    Err(e) => Err(e),
                };
            }
            let delay = self.backoff(attempt, retry_after);
            log::debug!(
                "{what}: attempt {} failed, retrying in {delay:?}",
                attempt + 1
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Equal-jitter exponential backoff: half the step fixed, half random; `Retry-After` wins
    /// when it is given, both capped at `maxBackoffDelay`.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(self.max_backoff);
        }
        let step = BASE_BACKOFF
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        let half = step / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

async fn read_response(mut resp: reqwest::Response, what: &str) -> Result<http::Response<Vec<u8>>> {
    let status = resp.status();
    let mut builder = http::Response::builder().status(status);
    if let Some(headers) = builder.headers_mut() {
        *headers = resp.headers().clone();
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{what}: the response body is larger than {MAX_BODY_BYTES} bytes"),
                    )
                    .with_http_status(status.as_u16()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(transport_error(what, &e).with_http_status(status.as_u16())),
        }
    }
    builder
        .body(body)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("{what}: {e}")))
}

fn retry_after_header(resp: &http::Response<Vec<u8>>) -> Option<Duration> {
    let value = resp.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn transport_error(what: &str, e: &reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Network
    };
    Error::new(kind, format!("{what}: {}", error_chain(e)))
}

/// An error and its sources, joined, without the URL that reqwest repeats.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// A URL for messages: user info and query removed (they could carry credentials).
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// A reqwest client with the config's TLS, proxy and timeouts.
fn build_client(config: &Config) -> Result<reqwest::Client> {
    let tls = tls_config(config)?;
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(config.per_retry_timeout.min(Duration::from_secs(10)))
        .timeout(config.per_retry_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::limited(5));
    if let Some(proxy) = &config.http_proxy_url {
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|e| Error::config(format!("httpProxyURL: {e}")))?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot build the HTTP client: {}", error_chain(&e)),
        )
    })
}

/// The TLS settings: the platform's roots plus `caCertFilePath`, or no verification at all
/// with `insecureSkipVerify`. rustls with the ring provider, never a process-wide default.
fn tls_config(config: &Config) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Internal, format!("TLS setup: {e}")))?;
    let tls = if config.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    } else {
        let extra_roots = match &config.ca_cert_file_path {
            Some(path) => load_ca_file(path)?,
            None => Vec::new(),
        };
        let verifier =
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider)
                .map_err(|e| {
                    Error::config(format!(
                        "caCertFilePath: cannot use the CA certificates: {e}"
                    ))
                })?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    Ok(tls)
}

fn load_ca_file(path: &std::path::Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| {
        Error::config(format!(
            "caCertFilePath: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::config(format!(
                "caCertFilePath: {} is not valid PEM: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "caCertFilePath: {} contains no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// `insecureSkipVerify`: accept any certificate, but still check handshake signatures.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The HTTP client as the oauth2 crate's transport, remembering the last HTTP status so that
/// errors can report it.
pub struct OAuthTransport {
    http: HttpClient,
    last_status: std::sync::atomic::AtomicU16,
}

impl OAuthTransport {
    /// A transport over (a cheap clone of) `http`.
    pub fn new(http: &HttpClient) -> Self {
        OAuthTransport {
            http: http.clone(),
            last_status: std::sync::atomic::AtomicU16::new(0),
        }
    }

    /// The HTTP status of the last response (0 if none).
    pub fn last_status(&self) -> u16 {
        self.last_status.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthTransport {
    type Error = Error;
    type Future = futures_util::future::BoxFuture<'c, Result<oauth2::HttpResponse>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.send(request).await?;
            self.last_status.store(
                response.status().as_u16(),
                std::sync::atomic::Ordering::Relaxed,
            );
            Ok(response)
        })
    }
}
