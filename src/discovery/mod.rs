//! Client configuration from Flyte's AuthMetadataService: the OAuth2 endpoints
//! (`GetOAuth2Metadata`) and the public client configuration (`GetPublicClientConfig`: client
//! id, redirect URI, scopes, header key, audience).
//!
//! flyteadmin serves the service twice: over HTTP through its gateway,
//! `GET {base}/.well-known/oauth-authorization-server` and `GET {base}/config/v1/flyte_client`,
//! and over gRPC ([`grpc`]), which is what flytekit and flytectl call. An ingress that routes
//! only gRPC to flyteadmin answers the HTTP routes with 404 or an HTML page. The config's
//! `discovery` ([`DiscoveryProtocol`]) says which to ask: `auto` (the default) asks HTTP
//! first and, when that fails (404, a body that is not the document, no connection), gRPC;
//! after that success, the other document is asked over gRPC first. This module decides the
//! order; [`grpc`] is the wire.
//!
//! Each document is fetched at most once per authenticator and then cached; a failed fetch is
//! not cached, so the next call tries again (the HTTP layer already retried transient errors).
//! flyteadmin's gateway writes snake_case keys; camelCase is accepted too, and `""` means
//! absent, as proto3 writes unset strings.

pub mod grpc;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use tokio::sync::OnceCell;

use crate::config::DiscoveryProtocol;
use crate::epoch::PerProcess;
use crate::error::{Error, ErrorKind, Result};
use crate::http::HttpClient;

/// Path of the OAuth2 authorization server metadata (RFC 8414).
pub const OAUTH2_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// Path of Flyte's public client configuration.
pub const CLIENT_CONFIG_PATH: &str = "/config/v1/flyte_client";

/// The parts of the OAuth2 authorization server metadata that flows use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OAuth2Metadata {
    /// `token_endpoint`.
    #[serde(default, alias = "tokenEndpoint", deserialize_with = "empty_as_none")]
    pub token_endpoint: Option<String>,
    /// `authorization_endpoint`.
    #[serde(
        default,
        alias = "authorizationEndpoint",
        deserialize_with = "empty_as_none"
    )]
    pub authorization_endpoint: Option<String>,
    /// `device_authorization_endpoint`.
    #[serde(
        default,
        alias = "deviceAuthorizationEndpoint",
        deserialize_with = "empty_as_none"
    )]
    pub device_authorization_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009): where `logout` revokes the refresh token.
    #[serde(
        default,
        alias = "revocationEndpoint",
        deserialize_with = "empty_as_none"
    )]
    pub revocation_endpoint: Option<String>,
    /// `issuer`: what the authorization response's `iss` must equal (RFC 9207).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub issuer: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207): the server puts `iss` on
    /// every authorization response, so the PKCE callback requires it.
    #[serde(
        default,
        alias = "authorizationResponseIssParameterSupported",
        deserialize_with = "null_as_false"
    )]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Flyte's `PublicClientAuthConfigResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PublicClientConfig {
    /// `client_id`: the public client for PKCE and the device flow.
    #[serde(default, alias = "clientId", deserialize_with = "empty_as_none")]
    pub client_id: Option<String>,
    /// `redirect_uri`: the PKCE callback.
    #[serde(default, alias = "redirectUri", deserialize_with = "empty_as_none")]
    pub redirect_uri: Option<String>,
    /// `scopes`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub scopes: Vec<String>,
    /// `authorization_metadata_key`: the header the token goes in.
    #[serde(
        default,
        alias = "authorizationMetadataKey",
        deserialize_with = "empty_as_none"
    )]
    pub authorization_metadata_key: Option<String>,
    /// `service_http_endpoint`.
    #[serde(
        default,
        alias = "serviceHttpEndpoint",
        deserialize_with = "empty_as_none"
    )]
    pub service_http_endpoint: Option<String>,
    /// `audience`.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub audience: Option<String>,
}

impl OAuth2Metadata {
    /// Parse the metadata document.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        parse(body, OAUTH2_METADATA_PATH)
    }

    /// Refuse discovered endpoints on plain `http` unless the config says `insecure`: the
    /// credentials sent there would travel in clear text.
    fn require_https(&self, http: &HttpClient) -> Result<()> {
        let endpoints = [
            ("token_endpoint", &self.token_endpoint),
            ("authorization_endpoint", &self.authorization_endpoint),
            (
                "device_authorization_endpoint",
                &self.device_authorization_endpoint,
            ),
            ("revocation_endpoint", &self.revocation_endpoint),
        ];
        for (name, url) in endpoints {
            if let Some(url) = url.as_deref().filter(|u| http.refuses_plain_http(u)) {
                return Err(Error::new(
                    ErrorKind::Discovery,
                    format!(
                        "{OAUTH2_METADATA_PATH}: the server's {name} ({}) is plain http; \
                         credentials are only sent over https unless the config sets insecure",
                        crate::redact::url(url)
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl PublicClientConfig {
    /// Parse the public client configuration document.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let mut config: PublicClientConfig = parse(body, CLIENT_CONFIG_PATH)?;
        config.scopes.retain(|s| !s.trim().is_empty());
        Ok(config)
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], path: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // Only the path and serde's category: never the body.
        let category = match e.inner().classify() {
            serde_json::error::Category::Data => "unexpected value",
            _ => "not JSON",
        };
        Error::new(
            ErrorKind::Discovery,
            format!(
                "{path}: the server's answer is not valid ({category} at `{}`)",
                e.path()
            ),
        )
    })
}

fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.filter(|s| !s.trim().is_empty()))
}

fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// The two documents of one endpoint, each fetched once and cached.
#[derive(Debug)]
pub struct Discovery {
    base_url: Option<String>,
    protocol: DiscoveryProtocol,
    /// `auto` only: gRPC answered where HTTP had failed, so the other document is asked over
    /// gRPC first.
    grpc_first: AtomicBool,
    /// Per process: a fetch in flight in the parent at `fork()` would never complete in the
    /// child (see [`crate::epoch`]); the child fetches again.
    metadata: PerProcess<Arc<OnceCell<Arc<OAuth2Metadata>>>>,
    client_config: PerProcess<Arc<OnceCell<Lookup<Arc<PublicClientConfig>>>>>,
}

/// One way of asking for a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http,
    Grpc,
}

/// One document's answer, over HTTP, gRPC or both.
#[derive(Debug, Clone)]
pub enum Lookup<T> {
    /// The server answered the document.
    Found(T),
    /// The server has no AuthMetadataService: what was asked and what it answered (e.g.
    /// `GET …: 404 Not Found`, `gRPC …/GetOAuth2Metadata: UNIMPLEMENTED`), for the error a
    /// caller builds.
    Absent(String),
}

impl<T> Lookup<T> {
    /// The found document through `f`; an absence stays as it is.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Lookup<U> {
        match self {
            Lookup::Found(t) => Lookup::Found(f(t)),
            Lookup::Absent(why) => Lookup::Absent(why),
        }
    }
}

impl Discovery {
    /// Discovery against `base_url` (`None`: no endpoint configured), asked over `protocol`.
    pub fn new(base_url: Option<String>, protocol: DiscoveryProtocol) -> Self {
        Discovery {
            base_url,
            protocol,
            grpc_first: AtomicBool::new(false),
            metadata: PerProcess::new(),
            client_config: PerProcess::new(),
        }
    }

    fn base(&self) -> Result<&str> {
        self.base_url.as_deref().ok_or_else(|| {
            Error::config("endpoint: required to discover the server's auth configuration")
        })
    }

    /// The protocols to ask, in order.
    fn order(&self) -> &'static [Protocol] {
        match self.protocol {
            DiscoveryProtocol::Http => &[Protocol::Http],
            DiscoveryProtocol::Grpc => &[Protocol::Grpc],
            DiscoveryProtocol::Auto if self.grpc_first.load(Ordering::Relaxed) => {
                &[Protocol::Grpc, Protocol::Http]
            }
            DiscoveryProtocol::Auto => &[Protocol::Http, Protocol::Grpc],
        }
    }

    /// Ask for one document over each protocol in turn until one answers it. When none does:
    /// `Absent` if one said the service is absent and the others could not be asked (what each
    /// said, joined), else the errors of every attempt in one message.
    ///
    /// Both ways are futures that do nothing until awaited: only those in the order run.
    async fn lookup<T>(
        &self,
        via_http: impl std::future::Future<Output = Result<Lookup<T>>>,
        via_grpc: impl std::future::Future<Output = Result<Lookup<T>>>,
    ) -> Result<Lookup<T>> {
        let order = self.order();
        // What each attempt answered, in order, and whether one said the service is absent.
        let mut tried: Vec<String> = Vec::new();
        let mut absent = false;
        let mut last_failure: Option<Error> = None;
        let mut via_http = Some(via_http);
        let mut via_grpc = Some(via_grpc);
        for (i, protocol) in order.iter().enumerate() {
            let answer = match protocol {
                Protocol::Http => match via_http.take() {
                    Some(f) => f.await,
                    None => continue,
                },
                Protocol::Grpc => match via_grpc.take() {
                    Some(f) => f.await,
                    None => continue,
                },
            };
            match answer {
                Ok(Lookup::Found(t)) => {
                    if *protocol == Protocol::Grpc && i > 0 {
                        crate::logging::debug!(
                            "flyteauth: the AuthMetadataService answered over gRPC; asking it \
                             there first from now on"
                        );
                        self.grpc_first.store(true, Ordering::Relaxed);
                    }
                    return Ok(Lookup::Found(t));
                }
                Ok(Lookup::Absent(why)) => {
                    absent = true;
                    tried.push(why);
                }
                // Only what another protocol may get past: a missing route, a body that is
                // not the document, no connection; never a timeout, a cancelled call or a
                // failed proxyCommand, which stop here.
                Err(e) if falls_back(&e) => {
                    tried.push(e.message().to_owned());
                    last_failure = Some(e);
                }
                Err(e) if tried.is_empty() => return Err(e),
                Err(e) => {
                    return Err(Error::new(
                        e.kind(),
                        format!("{}; then {}", tried.join("; then "), e.message()),
                    ))
                }
            }
        }
        // One protocol said the service is absent and the others could not be asked at all
        // (e.g. a server that speaks no HTTP/2): absent, saying what each answered.
        if absent {
            return Ok(Lookup::Absent(tried.join("; then ")));
        }
        let Some(last) = last_failure else {
            return Err(Error::new(
                ErrorKind::Internal,
                "discovery: no protocol to ask",
            ));
        };
        if tried.len() == 1 {
            return Err(last);
        }
        // The last failure decides the kind; the message tells every attempt.
        let mut err = Error::new(
            last.kind(),
            format!(
                "the server's AuthMetadataService could not be asked: {}",
                tried.join("; then ")
            ),
        );
        if let Some(status) = last.http_status() {
            err = err.with_http_status(status);
        }
        if last.is_connect_failure() {
            err = err.with_connect_failure();
        }
        Err(err)
    }

    /// The OAuth2 metadata, fetched on first use.
    pub async fn metadata(&self, http: &HttpClient) -> Result<Arc<OAuth2Metadata>> {
        let cell = self.metadata.get_or_init(Default::default);
        cell.get_or_try_init(|| async {
            let base = self.base()?;
            let lookup = self
                .lookup(
                    http_document(http, base, OAUTH2_METADATA_PATH, OAuth2Metadata::from_json),
                    grpc::oauth2_metadata(http, base),
                )
                .await?;
            match lookup {
                Lookup::Found(metadata) => {
                    metadata.require_https(http)?;
                    Ok(Arc::new(metadata))
                }
                Lookup::Absent(why) => Err(absent(&why, "set tokenUrl in the config instead")),
            }
        })
        .await
        .cloned()
    }

    async fn client_config_lookup(
        &self,
        http: &HttpClient,
    ) -> Result<Lookup<Arc<PublicClientConfig>>> {
        let cell = self.client_config.get_or_init(Default::default);
        cell.get_or_try_init(|| async {
            let base = self.base()?;
            let lookup = self
                .lookup(
                    http_document(
                        http,
                        base,
                        CLIENT_CONFIG_PATH,
                        PublicClientConfig::from_json,
                    ),
                    grpc::public_client_config(http, base),
                )
                .await?;
            Ok(lookup.map(Arc::new))
        })
        .await
        .cloned()
    }

    /// The public client configuration, fetched on first use. `Ok(None)` when the server has
    /// no AuthMetadataService (HTTP 404, gRPC UNIMPLEMENTED): callers decide whether they can
    /// do without it.
    pub async fn client_config(
        &self,
        http: &HttpClient,
    ) -> Result<Option<Arc<PublicClientConfig>>> {
        Ok(match self.client_config_lookup(http).await? {
            Lookup::Found(c) => Some(c),
            Lookup::Absent(_) => None,
        })
    }

    /// [`Discovery::client_config`], where an absent service is an error whose message ends
    /// with `hint` (what to configure instead, or why there is no way around it).
    pub async fn require_client_config(
        &self,
        http: &HttpClient,
        hint: &str,
    ) -> Result<Arc<PublicClientConfig>> {
        match self.client_config_lookup(http).await? {
            Lookup::Found(c) => Ok(c),
            Lookup::Absent(why) => Err(absent(&why, hint)),
        }
    }
}

/// The issuer's own metadata (OpenID Connect Discovery 1.0: `{issuer}/.well-known/openid-configuration`),
/// for what the Flyte endpoint's metadata does not carry: flyteadmin relays an external
/// issuer's metadata through its `OAuth2MetadataResponse` message, which has no
/// `revocation_endpoint`. The document must name the same `issuer` (OpenID Connect Discovery
/// §4.3: anything else may be another server's), and its endpoints must be `https` unless the
/// config says `insecure`. `Ok(None)`: the issuer serves no such document (404).
pub async fn issuer_metadata(http: &HttpClient, issuer: &str) -> Result<Option<OAuth2Metadata>> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    if http.refuses_plain_http(&url) {
        return Err(Error::new(
            ErrorKind::Discovery,
            format!(
                "the issuer ({}) is plain http; its metadata is only read over https unless \
                 the config sets insecure",
                crate::redact::url(issuer)
            ),
        ));
    }
    let Some(body) = fetch(http, &url).await? else {
        return Ok(None);
    };
    let metadata: OAuth2Metadata = parse(&body, "/.well-known/openid-configuration")?;
    if metadata.issuer.as_deref() != Some(issuer) {
        return Err(Error::new(
            ErrorKind::Discovery,
            format!(
                "the issuer's metadata ({}) names another issuer; it is not used",
                crate::redact::url(&url)
            ),
        ));
    }
    metadata.require_https(http)?;
    Ok(Some(metadata))
}

/// Whether another protocol may succeed where `e` failed: a route the front does not serve
/// (any HTTP error but a refused authentication), a body that is not the document, no
/// connection. A 401/403/407 would be the same over gRPC (same host, same proxy).
fn falls_back(e: &Error) -> bool {
    if matches!(e.http_status(), Some(401 | 403 | 407)) {
        return false;
    }
    match e.kind() {
        ErrorKind::Discovery | ErrorKind::Protocol => true,
        ErrorKind::Network => e.is_connect_failure() || e.http_status().is_some(),
        _ => false,
    }
}

/// The server has no AuthMetadataService: `why` says what was asked and what it answered;
/// `hint` what to do instead (a full sentence).
fn absent(why: &str, hint: &str) -> Error {
    let mut err = Error::new(
        ErrorKind::Discovery,
        format!("{why}: the server has no Flyte AuthMetadataService; {hint}"),
    );
    // The HTTP status when HTTP was asked (callers treat a 404 as "nothing advertised").
    if why.contains("404 Not Found") {
        err = err.with_http_status(404);
    }
    err
}

/// `GET {base}{path}`, parsed by `parse`; a 404 is `Absent`.
async fn http_document<T>(
    http: &HttpClient,
    base: &str,
    path: &str,
    parse: fn(&[u8]) -> Result<T>,
) -> Result<Lookup<T>> {
    let url = format!("{base}{path}");
    match fetch(http, &url).await? {
        Some(body) => parse(&body).map(Lookup::Found),
        None => Ok(Lookup::Absent(format!("GET {url}: 404 Not Found"))),
    }
}

/// GET a JSON document: `Some(body)` on 200, `None` on 404, an error otherwise.
async fn fetch(http: &HttpClient, url: &str) -> Result<Option<Vec<u8>>> {
    let request = http::Request::get(url)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| Error::config(format!("endpoint: cannot build a request for {url}: {e}")))?;
    let response = http.send(request).await.map_err(|e| {
        if e.kind() == ErrorKind::Network && e.http_status().is_some() {
            Error::new(ErrorKind::Discovery, e.message().to_owned())
                .with_http_status(e.http_status().unwrap_or(0))
        } else {
            e
        }
    })?;
    let status = response.status();
    if status == http::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(Error::new(
            ErrorKind::Discovery,
            format!("GET {url}: the server answered {status}"),
        )
        .with_http_status(status.as_u16()));
    }
    Ok(Some(response.into_body()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_as_flyteadmin_writes_it() {
        let body = br#"{"client_id":"flytectl","redirect_uri":"http://localhost:53593/callback",
            "scopes":["offline","all"],"authorization_metadata_key":"flyte-authorization",
            "service_http_endpoint":"","audience":""}"#;
        let c = PublicClientConfig::from_json(body).unwrap();
        assert_eq!(c.client_id.as_deref(), Some("flytectl"));
        assert_eq!(
            c.redirect_uri.as_deref(),
            Some("http://localhost:53593/callback")
        );
        assert_eq!(c.scopes, ["offline", "all"]);
        assert_eq!(
            c.authorization_metadata_key.as_deref(),
            Some("flyte-authorization")
        );
        assert_eq!(c.service_http_endpoint, None, "\"\" means absent");
        assert_eq!(c.audience, None, "\"\" means absent");
    }

    #[test]
    fn camel_case_is_accepted() {
        let body = br#"{"clientId":"c","redirectUri":"http://x/cb","authorizationMetadataKey":"k","audience":"https://a"}"#;
        let c = PublicClientConfig::from_json(body).unwrap();
        assert_eq!(c.client_id.as_deref(), Some("c"));
        assert_eq!(c.authorization_metadata_key.as_deref(), Some("k"));
        assert_eq!(c.audience.as_deref(), Some("https://a"));
        assert!(c.scopes.is_empty());
        let m = OAuth2Metadata::from_json(
            br#"{"tokenEndpoint":"https://idp/token","deviceAuthorizationEndpoint":""}"#,
        )
        .unwrap();
        assert_eq!(m.token_endpoint.as_deref(), Some("https://idp/token"));
        assert_eq!(m.device_authorization_endpoint, None);
    }

    #[test]
    fn oauth2_metadata_ignores_other_fields() {
        let body = br#"{"issuer":"https://idp","token_endpoint":"https://idp/token",
            "authorization_endpoint":"https://idp/auth","grant_types_supported":["client_credentials"],
            "device_authorization_endpoint":"https://idp/device"}"#;
        let m = OAuth2Metadata::from_json(body).unwrap();
        assert_eq!(m.token_endpoint.as_deref(), Some("https://idp/token"));
        assert_eq!(
            m.authorization_endpoint.as_deref(),
            Some("https://idp/auth")
        );
        assert_eq!(
            m.device_authorization_endpoint.as_deref(),
            Some("https://idp/device")
        );
    }

    #[test]
    fn revocation_and_rfc_9207_fields() {
        let m = OAuth2Metadata::from_json(
            br#"{"issuer":"https://idp","revocation_endpoint":"https://idp/revoke",
                 "authorization_response_iss_parameter_supported":true}"#,
        )
        .unwrap();
        assert_eq!(m.issuer.as_deref(), Some("https://idp"));
        assert_eq!(m.revocation_endpoint.as_deref(), Some("https://idp/revoke"));
        assert!(m.authorization_response_iss_parameter_supported);
        let m = OAuth2Metadata::from_json(
            br#"{"issuer":"","authorization_response_iss_parameter_supported":null}"#,
        )
        .unwrap();
        assert_eq!(m, OAuth2Metadata::default());
    }

    #[test]
    fn discovered_endpoints_must_be_https_unless_insecure() {
        let metadata = OAuth2Metadata::from_json(
            br#"{"token_endpoint":"http://idp.example/token?x=secret",
                 "authorization_endpoint":"https://idp.example/auth"}"#,
        )
        .unwrap();
        let config = |json: &str| crate::config::Config::from_json(json).unwrap();
        let strict = HttpClient::new(
            &config(r#"{"endpoint":"flyte.example.com","authType":"Pkce"}"#),
            None,
        )
        .unwrap();
        let e = metadata.require_https(&strict).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Discovery);
        assert!(e.message().contains("token_endpoint"), "{e}");
        assert!(!e.message().contains("secret"), "{e}");
        for allowed in [
            r#"{"endpoint":"flyte.example.com","authType":"Pkce","insecure":true}"#,
            r#"{"endpoint":"http://flyte.example.com","authType":"Pkce"}"#,
        ] {
            let http = HttpClient::new(&config(allowed), None).unwrap();
            metadata.require_https(&http).unwrap();
        }
    }

    #[test]
    fn null_and_empty_values_are_absent() {
        let c = PublicClientConfig::from_json(
            br#"{"client_id":null,"scopes":null,"authorization_metadata_key":"  "}"#,
        )
        .unwrap();
        assert_eq!(c, PublicClientConfig::default());
        let c = PublicClientConfig::from_json(br#"{"scopes":["", "all"]}"#).unwrap();
        assert_eq!(c.scopes, ["all"]);
    }

    #[test]
    fn garbage_is_a_discovery_error_that_does_not_echo_the_body() {
        for body in [
            &b"<html>secret-ish</html>"[..],
            br#"{"token_endpoint": 42}"#,
            br#"{"scopes":"all"}"#,
        ] {
            let e = PublicClientConfig::from_json(body)
                .err()
                .or_else(|| OAuth2Metadata::from_json(body).err())
                .expect("an error");
            assert_eq!(e.kind(), ErrorKind::Discovery);
            assert!(
                !e.message().contains("secret-ish") && !e.message().contains("42"),
                "{e}"
            );
        }
    }
}
