//! The flows that produce an access token: one file per OAuth2 flow, plus the external
//! command. Each flow gets what it needs from the config and, where the config is silent,
//! from the server's discovery documents, with flytekit's precedence.

pub mod client_credentials;
pub mod command;

use crate::config::{AuthType, Config};
use crate::discovery::Discovery;
use crate::error::{Error, ErrorKind, Result};
use crate::http::HttpClient;
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
}

impl FlowContext<'_> {
    /// Obtain a new access token with the configured flow.
    pub async fn fetch_token(&self) -> Result<Token> {
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
            AuthType::Pkce | AuthType::DeviceFlow => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "authType {} is not available in this version of flyteauth yet; use \
                     ClientSecret or ExternalCommand",
                    self.config.auth_type.as_str()
                ),
            )),
        }
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
                    .require_client_config(self.http, "authorizationHeader")
                    .await?,
            ),
        };
        let key = server
            .and_then(|c| c.authorization_metadata_key.as_deref())
            .map(|k| k.trim().to_ascii_lowercase());
        Ok(key.unwrap_or_else(|| DEFAULT_HEADER_KEY.to_owned()))
    }
}
