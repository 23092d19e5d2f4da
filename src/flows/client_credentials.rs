//! OAuth2 client credentials (RFC 6749 §4.4): `POST token_endpoint` with HTTP Basic client
//! authentication (§2.3.1: id and secret form-urlencoded, then base64), `grant_type`,
//! `scope` and `audience`.

use super::token_endpoint::{self, Grant};
use super::FlowContext;
use crate::error::{Error, ErrorKind, Result};
use crate::token::Token;

/// Run the client credentials grant.
pub async fn fetch_token(ctx: &FlowContext<'_>) -> Result<Token> {
    let cfg = ctx.config;
    let (Some(client_id), Some(secret)) = (&cfg.client_id, &cfg.client_secret) else {
        return Err(Error::config(
            "clientId and clientSecret are required for ClientSecret",
        ));
    };

    let token_url = match &cfg.token_url {
        Some(url) => url.clone(),
        None => ctx
            .discovery
            .metadata(ctx.http)
            .await?
            .token_endpoint
            .clone()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Discovery,
                    "the server's OAuth2 metadata has no token_endpoint; set tokenUrl",
                )
            })?,
    };

    // The public client config is needed for what the config leaves open (and the header
    // key needs it anyway when `authorizationHeader` is unset).
    let needs_server =
        cfg.scopes.is_empty() || cfg.use_audience_from_admin || cfg.authorization_header.is_none();
    let server = if needs_server {
        Some(
            ctx.discovery
                .require_client_config(
                    ctx.http,
                    "set tokenUrl, scopes and authorizationHeader in the config instead",
                )
                .await?,
        )
    } else {
        None
    };
    let scopes = if cfg.scopes.is_empty() {
        server
            .as_ref()
            .map(|s| s.scopes.clone())
            .unwrap_or_default()
    } else {
        cfg.scopes.clone()
    };
    let server_audience = server.as_ref().and_then(|s| s.audience.clone());
    let audience = if cfg.use_audience_from_admin {
        server_audience
    } else {
        cfg.audience.clone().or(server_audience)
    };

    let scope = scopes.join(" ");
    token_endpoint::request_token(
        ctx.http,
        &token_url,
        &Grant::ClientCredentials {
            client_id,
            client_secret: secret.expose(),
            scope: &scope,
            audience: audience.as_deref(),
            resource: &cfg.resource,
        },
    )
    .await
}
