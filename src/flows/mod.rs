//! The flows that produce an access token: one file per OAuth2 flow, plus the external
//! command. Each flow gets what it needs from the config and, where the config is silent,
//! from the server's discovery documents, with flytekit's precedence.

pub mod client_credentials;
pub mod command;
pub mod device;
pub mod pkce;
pub mod revocation;
pub mod token_endpoint;

use std::sync::Arc;

use crate::cache::KeyringCache;
use crate::cancel::CancelToken;
use crate::config::{AuthType, Config};
use crate::discovery::{Discovery, OAuth2Metadata, PublicClientConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::http::HttpClient;
use crate::interaction::PromptSink;
use crate::token::Token;

/// The header key when neither the config nor the server names one.
pub const DEFAULT_HEADER_KEY: &str = "authorization";

/// The key of the proxy token's header.
pub const PROXY_HEADER_KEY: &str = "proxy-authorization";

/// What a flow may use: the config, the HTTP client and the (cached) discovery.
#[derive(Clone, Copy)]
pub struct FlowContext<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The authenticator's HTTP client.
    pub http: &'a HttpClient,
    /// The authenticator's discovery cache.
    pub discovery: &'a Discovery,
    /// Where login prompts go.
    pub prompt: &'a PromptSink,
    /// The keyring cache, for interactive flows (purged when a refresh token is refused).
    pub cache: Option<&'a Arc<KeyringCache>>,
    /// Whether a person may be asked to log in.
    pub interactive: bool,
    /// Cancelled when nobody waits for this refresh any more: a login in progress stops
    /// waiting for its person (the PKCE port is released, device polling ends).
    pub abandon: &'a CancelToken,
}

/// The error of a login that nobody waits for any more.
pub(crate) fn abandoned() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "the login was abandoned: no caller waits for it any more",
    )
}

impl FlowContext<'_> {
    /// Obtain a new access token with the configured flow. `previous` is the token being
    /// replaced (its refresh token is used first by the interactive flows); `login` forces a
    /// new interactive login even when a refresh token exists.
    pub async fn fetch_token(&self, previous: Option<&Token>, login: bool) -> Result<Token> {
        match self.config.auth_type {
            AuthType::ClientSecret => client_credentials::fetch_token(self).await,
            AuthType::ExternalCommand => {
                let token = command::run_token_command(
                    "command",
                    &self.config.command,
                    self.config.command_timeout,
                )
                .await?;
                Ok(Token::new(token, None))
            }
            AuthType::Pkce | AuthType::DeviceFlow => {
                let refresh = if login {
                    None
                } else {
                    previous.and_then(|t| t.refresh_secret())
                };
                self.interactive_token(refresh).await
            }
        }
    }

    /// Scopes and audience with flytekit's precedence: the config's, else the server's
    /// (`useAudienceFromAdmin` forces the server's audience).
    fn scopes_and_audience(&self, server: &PublicClientConfig) -> (Vec<String>, Option<String>) {
        let scopes = if self.config.scopes.is_empty() {
            server.scopes.clone()
        } else {
            self.config.scopes.clone()
        };
        let audience = if self.config.use_audience_from_admin {
            server.audience.clone()
        } else {
            self.config
                .audience
                .clone()
                .or_else(|| server.audience.clone())
        };
        (scopes, audience)
    }

    /// PKCE and the device flow: the refresh token first; when the server refuses it, purge
    /// the cache and log in again (or, non-interactive, say that a login is needed). Network
    /// errors during the refresh are returned as they are: a browser is never opened because
    /// the network is down.
    async fn interactive_token(&self, refresh_token: Option<&str>) -> Result<Token> {
        let server = self
            .discovery
            .require_client_config(
                self.http,
                "PKCE and the device flow need its client id and redirect URI; check the endpoint, \
                 or use ClientSecret or ExternalCommand",
            )
            .await?;
        let metadata = self.discovery.metadata(self.http).await?;
        let client_id = server.client_id.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::Discovery,
                "the server's /config/v1/flyte_client has no client_id for interactive logins",
            )
        })?;
        let token_endpoint = match (&self.config.token_url, &metadata.token_endpoint) {
            (Some(url), _) | (None, Some(url)) => url.as_str(),
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::Discovery,
                    "the server's OAuth2 metadata has no token_endpoint; set tokenUrl",
                ))
            }
        };

        if let Some(refresh_token) = refresh_token {
            let refreshed = token_endpoint::request_token(
                self.http,
                token_endpoint,
                &token_endpoint::Grant::RefreshToken {
                    client_id,
                    refresh_token,
                    resource: &self.config.resource,
                },
            )
            .await;
            match refreshed {
                Ok(token) => return Ok(token),
                Err(e) if e.kind() == ErrorKind::Authentication => {
                    crate::logging::warning!(
                        "flyteauth: the refresh token was refused ({}); a new login is needed",
                        e.oauth_error().unwrap_or("no error code")
                    );
                    if let Some(cache) = self.cache {
                        let (cache, refused) = (Arc::clone(cache), refresh_token.to_owned());
                        let _ = tokio::task::spawn_blocking(move || cache.purge_refused(&refused))
                            .await;
                    }
                }
                Err(e) => return Err(e),
            }
        }

        if !self.interactive {
            return Err(Error::new(
                ErrorKind::LoginRequired,
                format!(
                    "a login is needed ({}), but this authenticator is non-interactive; run \
                     `flyteauth login` (or any Flyte tool that logs in) and try again",
                    self.config.auth_type.as_str()
                ),
            ));
        }
        let (scopes, audience) = self.scopes_and_audience(&server);
        match self.config.auth_type {
            AuthType::Pkce => {
                let authorization_endpoint =
                    metadata.authorization_endpoint.as_deref().ok_or_else(|| {
                        Error::new(
                            ErrorKind::Discovery,
                            "the server's OAuth2 metadata has no authorization_endpoint",
                        )
                    })?;
                let redirect_uri = server.redirect_uri.as_deref().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Discovery,
                        "the server's /config/v1/flyte_client has no redirect_uri",
                    )
                })?;
                let endpoint_name = self.config.endpoint.as_deref().unwrap_or("Flyte");
                let expected_issuer = self.rfc9207_issuer(&metadata).await;
                pkce::login(
                    self.http,
                    self.prompt,
                    &pkce::PkceParams {
                        authorization_endpoint,
                        token_endpoint,
                        client_id,
                        redirect_uri,
                        scopes: &scopes,
                        audience: audience.as_deref(),
                        resource: &self.config.resource,
                        expected_issuer,
                        timeout: self.config.pkce.timeout,
                        endpoint_name,
                        abandon: self.abandon,
                    },
                )
                .await
            }
            _ => {
                let device_authorization_endpoint = metadata
                    .device_authorization_endpoint
                    .as_deref()
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Discovery,
                            "the server does not offer the device flow (no \
                             device_authorization_endpoint); use authType Pkce",
                        )
                    })?;
                device::login(
                    self.http,
                    self.prompt,
                    &device::DeviceParams {
                        device_authorization_endpoint,
                        token_endpoint,
                        client_id,
                        scopes: &scopes,
                        audience: audience.as_deref(),
                        resource: &self.config.resource,
                        timeout: self.config.device_flow.timeout,
                        default_interval: self.config.device_flow.poll_interval,
                        abandon: self.abandon,
                    },
                )
                .await
            }
        }
    }

    /// The issuer whose `iss` a PKCE callback must carry (RFC 9207), when the server says it
    /// sends one: per the Flyte endpoint's metadata, else per the issuer's own discovery
    /// document, since flyteadmin relays an external issuer's metadata (Keycloak, Okta)
    /// without that field. One more request per login, never per call; when that document
    /// cannot be read the check stays off, as for any server that does not advertise it.
    async fn rfc9207_issuer<'m>(&self, metadata: &'m OAuth2Metadata) -> Option<&'m str> {
        let issuer = metadata.issuer.as_deref()?;
        if metadata.authorization_response_iss_parameter_supported {
            return Some(issuer);
        }
        match crate::discovery::issuer_metadata(self.http, issuer).await {
            Ok(Some(own)) if own.authorization_response_iss_parameter_supported => Some(issuer),
            Ok(_) => None,
            Err(e) => {
                crate::logging::debug!(
                    "PKCE: the issuer's own metadata could not be read ({e}); the callback's \
                     iss is not checked"
                );
                None
            }
        }
    }

    /// Revoke `refresh_token` at the server's `revocation_endpoint` (RFC 7009), with the
    /// client authentication of the configured flow. The endpoint is the one in the Flyte
    /// endpoint's metadata, else the one in its issuer's own discovery document (flyteadmin
    /// does not relay it). `Ok(false)`: nothing to do (no endpoint configured, no OAuth2
    /// metadata, or no revocation endpoint advertised).
    pub async fn revoke_refresh_token(&self, refresh_token: &str) -> Result<bool> {
        if self.config.endpoint.is_none() {
            return Ok(false);
        }
        let metadata = match self.discovery.metadata(self.http).await {
            Ok(metadata) => metadata,
            // No AuthMetadataService (the config names tokenUrl): nothing advertised.
            Err(e) if e.http_status() == Some(404) => return Ok(false),
            Err(e) => return Err(e),
        };
        // flyteadmin relays an external issuer's metadata without its revocation_endpoint:
        // then it comes from the issuer's own discovery document.
        let from_issuer;
        let endpoint = match (&metadata.revocation_endpoint, &metadata.issuer) {
            (Some(endpoint), _) => endpoint.as_str(),
            (None, Some(issuer)) => {
                from_issuer = crate::discovery::issuer_metadata(self.http, issuer).await?;
                match from_issuer
                    .as_ref()
                    .and_then(|m| m.revocation_endpoint.as_deref())
                {
                    Some(endpoint) => endpoint,
                    None => return Ok(false),
                }
            }
            (None, None) => return Ok(false),
        };
        let server;
        let client = match (
            self.config.auth_type,
            &self.config.client_id,
            &self.config.client_secret,
        ) {
            (AuthType::ClientSecret, Some(client_id), Some(secret)) => {
                revocation::ClientAuth::Basic {
                    client_id,
                    client_secret: secret.expose(),
                }
            }
            _ => {
                server = self
                    .discovery
                    .require_client_config(self.http, "the public client id is needed to revoke")
                    .await?;
                let client_id = server.client_id.as_deref().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Discovery,
                        "the server's /config/v1/flyte_client has no client_id",
                    )
                })?;
                revocation::ClientAuth::Public { client_id }
            }
        };
        revocation::revoke_refresh_token(self.http, endpoint, &client, refresh_token).await?;
        Ok(true)
    }

    /// The metadata key for the token: `authorizationHeader`, else the server's non-empty
    /// `authorization_metadata_key`, else `authorization`.
    pub async fn header_key(&self) -> Result<String> {
        if let Some(key) = &self.config.authorization_header {
            return Ok(key.clone());
        }
        if self.config.endpoint.is_none() {
            return Ok(DEFAULT_HEADER_KEY.to_owned());
        }
        let server = match self.config.auth_type {
            // A command token does not depend on the server; a server without the
            // AuthMetadataService simply has no header preference.
            AuthType::ExternalCommand => self.discovery.client_config(self.http).await?,
            _ => Some(
                self.discovery
                    .require_client_config(
                        self.http,
                        "set authorizationHeader in the config instead",
                    )
                    .await?,
            ),
        };
        let key = server
            .as_ref()
            .and_then(|c| c.authorization_metadata_key.as_deref())
            .map(|k| k.trim().to_ascii_lowercase());
        Ok(key.unwrap_or_else(|| DEFAULT_HEADER_KEY.to_owned()))
    }
}

/// Remove the cached tokens, off the runtime's workers.
pub async fn purge_cache(cache: &Arc<KeyringCache>) {
    let cache = Arc::clone(cache);
    let _ = tokio::task::spawn_blocking(move || cache.purge()).await;
}
