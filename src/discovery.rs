//! Client configuration from Flyte's AuthMetadataService over HTTP:
//! `GET {base}/.well-known/oauth-authorization-server` (the OAuth2 endpoints) and
//! `GET {base}/config/v1/flyte_client` (client id, redirect URI, scopes, header key,
//! audience).
//!
//! Each document is fetched at most once per authenticator and then cached; a failed fetch is
//! not cached, so the next call tries again (the HTTP layer already retried transient errors).
//! flyteadmin's gateway writes snake_case keys; camelCase is accepted too, and `""` means
//! absent, as proto3 writes unset strings.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use tokio::sync::OnceCell;

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
    /// Per process: a fetch in flight in the parent at `fork()` would never complete in the
    /// child (see [`crate::epoch`]); the child fetches again.
    metadata: PerProcess<Arc<OnceCell<Arc<OAuth2Metadata>>>>,
    client_config: PerProcess<Arc<OnceCell<Option<Arc<PublicClientConfig>>>>>,
}

impl Discovery {
    /// Discovery against `base_url` (`None`: no endpoint configured).
    pub fn new(base_url: Option<String>) -> Self {
        Discovery {
            base_url,
            metadata: PerProcess::new(),
            client_config: PerProcess::new(),
        }
    }

    fn url(&self, path: &str) -> Result<String> {
        match &self.base_url {
            Some(base) => Ok(format!("{base}{path}")),
            None => Err(Error::config(
                "endpoint: required to discover the server's auth configuration",
            )),
        }
    }

    /// The OAuth2 metadata, fetched on first use.
    pub async fn metadata(&self, http: &HttpClient) -> Result<Arc<OAuth2Metadata>> {
        let cell = self.metadata.get_or_init(Default::default);
        cell.get_or_try_init(|| async {
            let url = self.url(OAUTH2_METADATA_PATH)?;
            let body = fetch(http, &url)
                .await?
                .ok_or_else(|| not_found(&url, "set tokenUrl in the config instead"))?;
            let metadata = OAuth2Metadata::from_json(&body)?;
            metadata.require_https(http)?;
            Ok(Arc::new(metadata))
        })
        .await
        .cloned()
    }

    /// The public client configuration, fetched on first use. `Ok(None)` when the server has
    /// no such route (404): callers decide whether they can do without it.
    pub async fn client_config(
        &self,
        http: &HttpClient,
    ) -> Result<Option<Arc<PublicClientConfig>>> {
        let cell = self.client_config.get_or_init(Default::default);
        cell.get_or_try_init(|| async {
            let url = self.url(CLIENT_CONFIG_PATH)?;
            match fetch(http, &url).await? {
                Some(body) => PublicClientConfig::from_json(&body).map(|c| Some(Arc::new(c))),
                None => Ok(None),
            }
        })
        .await
        .cloned()
    }

    /// [`Discovery::client_config`], where a 404 is an error whose message ends with `hint`
    /// (what to configure instead, or why there is no way around it).
    pub async fn require_client_config(
        &self,
        http: &HttpClient,
        hint: &str,
    ) -> Result<Arc<PublicClientConfig>> {
        match self.client_config(http).await? {
            Some(c) => Ok(c),
            None => Err(not_found(&self.url(CLIENT_CONFIG_PATH)?, hint)),
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

/// A 404 from the AuthMetadataService; `hint` says what to do instead (a full sentence).
fn not_found(url: &str, hint: &str) -> Error {
    Error::new(
        ErrorKind::Discovery,
        format!("GET {url}: 404 Not Found: the server has no Flyte AuthMetadataService; {hint}"),
    )
    .with_http_status(404)
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
