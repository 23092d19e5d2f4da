//! One HTTP client per authenticator, used for every request the library makes (discovery
//! and token calls alike), so that `caCertFilePath`, `insecureSkipVerify` and `httpProxyURL`
//! apply everywhere.
//!
//! Each request has a [`Policy`], because a token request is not a discovery GET:
//! - Redirects are followed (up to 5, never from `https` down to `http` unless `insecure`) only
//!   by [`Policy::GET`]. A POST to a token endpoint is never sent again elsewhere: a `307` would
//!   carry its body (client secret, refresh token, code and verifier, device code) to another
//!   host. flytekit disables redirects for token requests too.
//! - Each attempt has a timeout (`perRetryTimeout`). Requests that may be repeated retry
//!   connection errors, timeouts, 5xx and 429 up to `maxRetries` times with jittered
//!   exponential backoff (429/503 honour `Retry-After`, capped at `maxBackoffDelay`). A
//!   single-use grant ([`Policy::single_use`]: refresh token, authorization code, device code)
//!   is retried only when it provably never reached the server (the connection failed): a
//!   replayed refresh token revokes the whole grant at an IdP with reuse detection.
//! - A single-use grant always goes on a new connection. On a pooled one, the server may have
//!   closed it (its keep-alive timeout: 5 s for node, Apache) just as the request is written;
//!   the request then gets no answer, and since it may have been read it cannot be sent
//!   again. A new connection that fails fails before anything is sent. Such grants come
//!   minutes apart (a device poll every few seconds at most), so the handshake costs nothing.
//! - `proxy-authorization` (from `proxyCommand`) goes only to the Flyte endpoint's host and
//!   the hosts the config names (`tokenUrl`), never to a third-party IdP found by discovery.
//!
//! - gRPC (discovery from flyteadmin's AuthMetadataService, `src/discovery/grpc.rs`) goes
//!   through [`HttpClient::send_h2`]: a third client with the same TLS, CA, proxy and
//!   `proxy-authorization`, speaking HTTP/2 only (ALPN `h2` over TLS; prior knowledge, i.e.
//!   h2c, in plain text with `insecure`), whose response keeps its trailers.
//!
//! Response bodies are capped in size; URLs in messages never show user info or query.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use reqwest::header::{HeaderValue, LOCATION, PROXY_AUTHORIZATION, RETRY_AFTER, USER_AGENT};
use rustls::pki_types::CertificateDer;

use crate::config::Config;
use crate::epoch::PerProcess;
use crate::error::{Error, ErrorKind, Result};
use crate::flows::command::ProxyToken;
pub use crate::redact::url as redact_url;

/// The largest response body read from a server, in bytes.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The first backoff step; each retry doubles it, up to `maxBackoffDelay`.
const BASE_BACKOFF: Duration = Duration::from_millis(200);

/// Redirects followed by one GET.
const MAX_REDIRECTS: u32 = 5;

/// How one request may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Follow redirects (GETs only).
    pub follow_redirects: bool,
    /// Retry only failures that provably never reached the server (connection errors), never
    /// timeouts or server errors: the request must not be processed twice.
    pub single_use: bool,
}

impl Policy {
    /// A discovery GET: follows redirects, retries transient failures.
    pub const GET: Policy = Policy {
        follow_redirects: true,
        single_use: false,
    };
    /// A POST that may be repeated (client credentials, device authorization): no redirects,
    /// transient failures retried.
    pub const POST: Policy = Policy {
        follow_redirects: false,
        single_use: false,
    };
    /// A POST of a single-use grant (refresh token, authorization code, device code): no
    /// redirects, retried only when the connection failed.
    pub const SINGLE_USE: Policy = Policy {
        follow_redirects: false,
        single_use: true,
    };
}

/// The HTTP client of one authenticator. Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// The client of this process: a child after `fork()` builds its own (the parent's
    /// pooled connections must not be shared), see [`crate::epoch`].
    client: Arc<PerProcess<reqwest::Client>>,
    /// The client for single-use grants: keeps no idle connection (see the module docs).
    unpooled: Arc<PerProcess<reqwest::Client>>,
    /// The HTTP/2-only client for gRPC ([`HttpClient::send_h2`]), built on first use.
    h2: Arc<PerProcess<reqwest::Client>>,
    /// The certificate check both clients of this process share (a child after `fork()` makes
    /// its own: a parent's thread may have been building the platform verifier).
    verifier: Arc<PerProcess<Arc<Verifier>>>,
    /// `caCertFilePath`'s certificates, read and checked once, at creation: a client built
    /// later (the unpooled one, a forked child's) does not read the file again, which may
    /// have been rotated or unmounted since.
    extra_roots: Arc<[CertificateDer<'static>]>,
    config: Arc<Config>,
    max_retries: u32,
    max_backoff: Duration,
    proxy_token: Option<Arc<ProxyToken>>,
    /// Hosts (with port) that receive `proxy-authorization`.
    proxy_hosts: Arc<[String]>,
}

impl HttpClient {
    /// Build the client from `config`; `proxy_token` adds `proxy-authorization` to requests
    /// to the Flyte endpoint's host and the config's `tokenUrl` host.
    pub fn new(config: &Config, proxy_token: Option<Arc<ProxyToken>>) -> Result<HttpClient> {
        let extra_roots: Arc<[CertificateDer<'static>]> = match &config.ca_cert_file_path {
            Some(path) if !config.insecure_skip_verify => load_ca_file(path)?.into(),
            _ => Arc::new([]),
        };
        let verifier = Verifier::new(config, &extra_roots);
        let client = build_client(config, Pooling::Pooled, verifier.clone())?;
        let proxy_hosts: Vec<String> = [config.base_url(), config.token_url.clone()]
            .into_iter()
            .flatten()
            .filter_map(|u| host_and_port(&u))
            .collect();
        if config.insecure_skip_verify {
            crate::logging::warning!(
                "flyteauth: insecureSkipVerify is on: TLS certificates are not verified, so \
                 anyone on the network path can read the credentials this library sends"
            );
        }
        Ok(HttpClient {
            client: Arc::new(PerProcess::with(client)),
            unpooled: Arc::new(PerProcess::new()),
            h2: Arc::new(PerProcess::new()),
            verifier: Arc::new(PerProcess::with(verifier)),
            extra_roots,
            config: Arc::new(config.clone()),
            max_retries: config.max_retries,
            max_backoff: config.max_backoff_delay,
            proxy_token,
            proxy_hosts: proxy_hosts.into(),
        })
    }

    /// The reqwest client for this process and `policy`.
    fn client(&self, policy: Policy) -> Result<reqwest::Client> {
        if policy.single_use {
            self.client_for(Pooling::Unpooled)
        } else {
            self.client_for(Pooling::Pooled)
        }
    }

    /// The reqwest client for this process and `pooling`.
    fn client_for(&self, pooling: Pooling) -> Result<reqwest::Client> {
        let cell = match pooling {
            Pooling::Pooled => &self.client,
            Pooling::Unpooled => &self.unpooled,
            Pooling::Http2 => &self.h2,
        };
        cell.get_or_try_init(|| {
            let verifier = self
                .verifier
                .get_or_init(|| Verifier::new(&self.config, &self.extra_roots));
            build_client(&self.config, pooling, verifier)
        })
    }

    /// Whether `url` is plain `http` where the config did not allow it: for endpoints the
    /// library did not get from the config (discovery). Plain HTTP is allowed with `insecure`,
    /// or when the configured endpoint itself is an `http://` URL.
    pub fn refuses_plain_http(&self, url: &str) -> bool {
        let allowed = self.config.insecure
            || self
                .config
                .base_url()
                .is_some_and(|b| b.starts_with("http://"));
        !allowed && url::Url::parse(url).is_ok_and(|u| u.scheme() == "http")
    }

    /// `GET`-style send with [`Policy::GET`].
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>> {
        self.send_with(request, Policy::GET).await
    }

    /// Send `request` under `policy`. Returns the final response, whatever its status, unless
    /// it is still a 5xx/429 after the last retry (then a NETWORK error).
    pub async fn send_with(
        &self,
        request: http::Request<Vec<u8>>,
        policy: Policy,
    ) -> Result<http::Response<Vec<u8>>> {
        let (parts, body) = request.into_parts();
        let mut url = reqwest::Url::parse(&parts.uri.to_string()).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!(
                    "{} {}: bad URL: {e}",
                    parts.method,
                    redact_url(&parts.uri.to_string())
                ),
            )
        })?;
        let mut what = format!("{} {}", parts.method, redact_url(url.as_str()));
        let mut proxy_rerun = false;
        let mut redirects: u32 = 0;
        let mut attempt: u32 = 0;
        loop {
            let mut req = new_request(&parts, &url);
            let proxy_value = self.add_proxy_authorization(&mut req).await?;
            if !body.is_empty() {
                *req.body_mut() = Some(body.clone().into());
            }

            let outcome = match self.client(policy)?.execute(req).await {
                Ok(resp) => read_response(resp, &what).await,
                Err(e) => Err(transport_error(&what, &e)),
            };
            match &outcome {
                Ok(resp) => crate::logging::debug!("{what}: {}", resp.status()),
                Err(e) => crate::logging::debug!("{}", e.message()),
            }
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
                    if resp.status().is_redirection() && policy.follow_redirects {
                        url = self.redirect_target(&url, resp, &what, redirects)?;
                        what = format!("{} {}", parts.method, redact_url(url.as_str()));
                        redirects += 1;
                        continue;
                    }
                    if !(status == 429 || (500..600).contains(&status)) {
                        return outcome;
                    }
                    retry_after_header(resp)
                }
                // Transient: retried below, a single-use grant only if it never reached
                // the server (the connection failed).
                Err(e) if matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout) => None,
                Err(_) => return outcome,
            };
            // A single-use grant that reached the server is never sent again.
            let reached_server = !matches!(&outcome, Err(e) if e.is_connect_failure());
            if attempt >= self.max_retries || (policy.single_use && reached_server) {
                return match outcome {
                    Ok(resp) => {
                        let status = resp.status();
                        let not_repeated = if policy.single_use {
                            " (a single-use grant is never sent twice)"
                        } else {
                            ""
                        };
                        let mut err = Error::new(
                            ErrorKind::Network,
                            format!(
                                "{what}: the server answered {status} after {} attempt(s){not_repeated}",
                                attempt + 1
                            ),
                        )
                        .with_http_status(status.as_u16());
                        if let Some(after) = retry_after_header(&resp) {
                            err = err.with_retry_after(after);
                        }
                        Err(err)
                    }
                    Err(e) => Err(e),
                };
            }
            let delay = self.backoff(attempt, retry_after);
            crate::logging::debug!(
                "{what}: attempt {} failed, retrying in {delay:?}",
                attempt + 1
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Add `proxy-authorization` to `req` when it goes to a host that receives it; returns
    /// the value added.
    async fn add_proxy_authorization(
        &self,
        req: &mut reqwest::Request,
    ) -> Result<Option<Arc<str>>> {
        let Some(p) = &self.proxy_token else {
            return Ok(None);
        };
        let host = host_and_port(req.url().as_str());
        if !self.proxy_hosts.iter().any(|h| Some(h) == host.as_ref()) {
            return Ok(None);
        }
        let v = p.header_value().await?;
        let mut hv = HeaderValue::from_str(&v).map_err(|_| {
            Error::new(
                ErrorKind::Command,
                "proxyCommand printed a token that is not a valid header value",
            )
        })?;
        hv.set_sensitive(true);
        req.headers_mut().insert(PROXY_AUTHORIZATION, hv);
        Ok(Some(v))
    }

    /// Send `request` over HTTP/2 for a gRPC call, with the same TLS, CA, proxy and
    /// `proxy-authorization` as every other request (ALPN `h2` over TLS; h2c, HTTP/2 with prior
    /// knowledge, in plain text with `insecure`). A connection that failed is retried with the
    /// GETs' backoff and `maxRetries`; any answer is returned, whatever its status, with its
    /// body (capped) and trailers.
    pub async fn send_h2(&self, request: http::Request<Vec<u8>>) -> Result<H2Response> {
        let (parts, body) = request.into_parts();
        let url = reqwest::Url::parse(&parts.uri.to_string()).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("{}: bad URL: {e}", redact_url(&parts.uri.to_string())),
            )
        })?;
        let what = format!("{} {}", parts.method, redact_url(url.as_str()));
        let mut attempt: u32 = 0;
        loop {
            let mut req = new_request(&parts, &url);
            self.add_proxy_authorization(&mut req).await?;
            *req.body_mut() = Some(body.clone().into());
            let outcome = match self.client_for(Pooling::Http2)?.execute(req).await {
                Ok(resp) => read_h2_response(resp, &what).await,
                Err(e) => Err(transport_error(&what, &e)),
            };
            match &outcome {
                Ok(resp) => crate::logging::debug!("{what}: {}", resp.status),
                Err(e) => crate::logging::debug!("{}", e.message()),
            }
            match outcome {
                // Only a connection that failed: the request never reached the server. A
                // server that does not speak HTTP/2 fails the same way every time.
                Err(e) if e.is_connect_failure() && attempt < self.max_retries => {
                    let delay = self.backoff(attempt, None);
                    crate::logging::debug!(
                        "{what}: attempt {} failed, retrying in {delay:?}",
                        attempt + 1
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// Where a redirect `resp` to `from` points, if it may be followed.
    fn redirect_target(
        &self,
        from: &reqwest::Url,
        resp: &http::Response<Vec<u8>>,
        what: &str,
        followed: u32,
    ) -> Result<reqwest::Url> {
        let refuse = |why: &str| {
            Err(Error::new(ErrorKind::Network, format!("{what}: {why}"))
                .with_http_status(resp.status().as_u16()))
        };
        if followed >= MAX_REDIRECTS {
            return refuse(&format!("more than {MAX_REDIRECTS} redirects"));
        }
        let Some(location) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
            return refuse("a redirect without a Location");
        };
        let Ok(to) = from.join(location) else {
            return refuse("a redirect to an invalid URL");
        };
        if !matches!(to.scheme(), "http" | "https") {
            return refuse("a redirect to a URL that is not http(s)");
        }
        if from.scheme() == "https" && to.scheme() == "http" && !self.config.insecure {
            return refuse(&format!(
                "a redirect from https to plain http ({}) is refused; set insecure to allow it",
                redact_url(to.as_str())
            ));
        }
        Ok(to)
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

/// An HTTP/2 response read to its end: what a gRPC call needs of it.
#[derive(Debug)]
pub struct H2Response {
    /// The HTTP status.
    pub status: http::StatusCode,
    /// The response headers (in a gRPC Trailers-Only answer, they hold `grpc-status`).
    pub headers: http::HeaderMap,
    /// The body, at most [`MAX_BODY_BYTES`].
    pub body: Vec<u8>,
    /// The trailers (`grpc-status`, `grpc-message`); empty when there were none.
    pub trailers: http::HeaderMap,
}

/// Read an HTTP/2 response frame by frame, keeping the trailers that a buffered read drops.
async fn read_h2_response(resp: reqwest::Response, what: &str) -> Result<H2Response> {
    let (parts, mut body) = http::Response::<reqwest::Body>::from(resp).into_parts();
    let mut data = Vec::new();
    let mut trailers = http::HeaderMap::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| transport_error(what, &e).with_http_status(parts.status.as_u16()))?;
        match frame.into_data() {
            Ok(chunk) => {
                if data.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{what}: the response body is larger than {MAX_BODY_BYTES} bytes"),
                    ));
                }
                data.extend_from_slice(&chunk);
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers.extend(t);
                }
            }
        }
    }
    Ok(H2Response {
        status: parts.status,
        headers: parts.headers,
        body: data,
        trailers,
    })
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
    // reqwest quotes the full URL (user info and query included) in its message.
    let mut text = error_chain(e);
    if let Some(url) = e.url() {
        text = crate::redact::url_in(&text, url.as_str());
    }
    let err = Error::new(kind, format!("{what}: {text}"));
    if e.is_connect() {
        err.with_connect_failure()
    } else {
        err
    }
}

/// `host:port` of `url` (the scheme's default port when none is written).
fn host_and_port(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?))
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

/// Whether a client keeps idle connections for reuse.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pooling {
    Pooled,
    /// Every request on a new connection (single-use grants).
    Unpooled,
    /// Pooled, HTTP/2 only (gRPC): ALPN `h2` over TLS, prior knowledge (h2c) in plain text.
    Http2,
}

/// A reqwest client with the config's TLS (checked by `verifier`), proxy and timeouts.
fn build_client(
    config: &Config,
    pooling: Pooling,
    verifier: Arc<Verifier>,
) -> Result<reqwest::Client> {
    let mut tls = tls_config(verifier)?;
    if pooling == Pooling::Http2 {
        tls.alpn_protocols = vec![b"h2".to_vec()];
    }
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(config.per_retry_timeout.min(Duration::from_secs(10)))
        .timeout(config.per_retry_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(match pooling {
            Pooling::Pooled | Pooling::Http2 => usize::MAX,
            Pooling::Unpooled => 0,
        })
        // Redirects are followed by `send_with`, per request policy.
        .redirect(reqwest::redirect::Policy::none());
    if pooling == Pooling::Http2 {
        builder = builder.http2_prior_knowledge();
    }
    if let Some(proxy) = &config.http_proxy_url {
        let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| {
            Error::config(format!(
                "httpProxyURL: {}",
                crate::redact::url_in(&e.to_string(), proxy)
            ))
        })?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot build the HTTP client: {}", error_chain(&e)),
        )
    })
}

/// The TLS settings of one reqwest client: rustls with the ring provider (never a process-wide
/// default) and the library's [`Verifier`]. Each client has its own (a `ClientConfig` carries
/// the client's session-resumption cache); the verifier is shared.
fn tls_config(verifier: Arc<Verifier>) -> Result<rustls::ClientConfig> {
    Ok(
        rustls::ClientConfig::builder_with_provider(verifier.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("TLS setup: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    )
}

fn load_ca_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| {
        Error::config(format!(
            "caCertFilePath: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
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
    // Parse them now, so that a bad certificate is a config error at creation even though the
    // verifier that uses them is built later.
    let mut roots = rustls::RootCertStore::empty();
    for cert in &certs {
        roots.add(cert.clone()).map_err(|e| {
            Error::config(format!(
                "caCertFilePath: cannot use the CA certificates in {}: {e}",
                path.display()
            ))
        })?;
    }
    Ok(certs)
}

/// How a server's certificate is checked: by the platform verifier (the OS's roots plus
/// `caCertFilePath`), built on the first certificate it must check and then kept; or not at
/// all (`insecureSkipVerify`).
///
/// The platform verifier is built only then: loading the OS's roots is start-up work a
/// plain-http or not-yet-connected client never needs, and under Wine the Windows verifier
/// cannot be built at all (crypt32 rejects its chain-engine settings), which must not stop
/// plain-http use.
#[derive(Debug)]
enum CertificateCheck {
    Platform {
        extra_roots: Arc<[CertificateDer<'static>]>,
        verifier: std::sync::OnceLock<
            std::result::Result<rustls_platform_verifier::Verifier, rustls::Error>,
        >,
    },
    Skipped,
}

/// The library's certificate verifier. Handshake signatures are always checked, with the
/// crypto provider's algorithms (as the platform verifier itself does on every OS).
#[derive(Debug)]
struct Verifier {
    provider: Arc<rustls::crypto::CryptoProvider>,
    certificates: CertificateCheck,
}

impl Verifier {
    /// The check `config` asks for, trusting `extra_roots` (from `caCertFilePath`) besides the
    /// OS's roots.
    fn new(config: &Config, extra_roots: &Arc<[CertificateDer<'static>]>) -> Arc<Verifier> {
        Arc::new(Verifier {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            certificates: if config.insecure_skip_verify {
                CertificateCheck::Skipped
            } else {
                CertificateCheck::Platform {
                    extra_roots: extra_roots.clone(),
                    verifier: std::sync::OnceLock::new(),
                }
            },
        })
    }

    /// The platform verifier, built on first use (an error when the OS cannot give one);
    /// `None` when certificates are not checked.
    fn platform(
        &self,
    ) -> std::result::Result<Option<&rustls_platform_verifier::Verifier>, rustls::Error> {
        let CertificateCheck::Platform {
            extra_roots,
            verifier,
        } = &self.certificates
        else {
            return Ok(None);
        };
        verifier
            .get_or_init(|| {
                rustls_platform_verifier::Verifier::new_with_extra_roots(
                    extra_roots.iter().cloned(),
                    self.provider.clone(),
                )
                .map_err(|e| {
                    crate::logging::warning!(
                        "flyteauth: cannot set up TLS certificate verification: {e}"
                    );
                    e
                })
            })
            .as_ref()
            .map(Some)
            .map_err(Clone::clone)
    }
}

impl rustls::client::danger::ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self.platform()? {
            Some(platform) => platform.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            // insecureSkipVerify: any certificate (the handshake signature is still checked).
            None => Ok(rustls::client::danger::ServerCertVerified::assertion()),
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A request for `url` with the method and headers of `parts`, and flyteauth's `User-Agent`.
fn new_request(parts: &http::request::Parts, url: &reqwest::Url) -> reqwest::Request {
    let mut req = reqwest::Request::new(parts.method.clone(), url.clone());
    *req.headers_mut() = parts.headers.clone();
    req.headers_mut().insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("flyteauth/", env!("CARGO_PKG_VERSION"))),
    );
    req
}
