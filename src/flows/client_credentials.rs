//! OAuth2 client credentials (RFC 6749 §4.4): `POST token_endpoint` with HTTP Basic client
//! authentication (§2.3.1: id and secret form-urlencoded, then base64), `grant_type`,
//! `scope` and `audience`.

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};

use super::FlowContext;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, OAuthTransport};
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
        server.map(|s| s.scopes.clone()).unwrap_or_default()
    } else {
        cfg.scopes.clone()
    };
    let server_audience = server.and_then(|s| s.audience.clone());
    let audience = if cfg.use_audience_from_admin {
        server_audience
    } else {
        cfg.audience.clone().or(server_audience)
    };

    let client = BasicClient::new(ClientId::new(client_id.clone()))
        .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
        .set_auth_type(AuthType::BasicAuth)
        .set_token_uri(TokenUrl::new(token_url.clone()).map_err(|e| {
            Error::new(
                ErrorKind::Discovery,
                format!("token endpoint '{token_url}' is not a valid URL: {e}"),
            )
        })?);
    let mut request = client
        .exchange_client_credentials()
        .add_scopes(scopes.into_iter().map(Scope::new));
    if let Some(audience) = &audience {
        request = request.add_extra_param("audience", audience.clone());
    }

    let transport = OAuthTransport::new(ctx.http);
    let response = request
        .request_async(&transport)
        .await
        .map_err(|e| token_error(e, transport.last_status(), &token_url, client_id))?;
    let lifetime = response.expires_in();
    Ok(Token::new(
        response.access_token().secret().clone(),
        lifetime,
    ))
}

/// Turn an oauth2 error into ours, keeping the server's `error`/`error_description` and the
/// HTTP status, and never the body (it may hold a token).
pub(crate) fn token_error(
    e: RequestTokenError<Error, oauth2::basic::BasicErrorResponse>,
    status: u16,
    token_url: &str,
    client_id: &str,
) -> Error {
    let url = redact_url(token_url);
    let with_status = |err: Error| {
        if status != 0 {
            err.with_http_status(status)
        } else {
            err
        }
    };
    match e {
        RequestTokenError::ServerResponse(resp) => {
            let code = resp.error().to_string();
            let description = resp.error_description().cloned();
            let detail = match &description {
                Some(d) => format!("{code}: {d}"),
                None => code.clone(),
            };
            with_status(
                Error::new(
                    ErrorKind::Authentication,
                    format!("POST {url}: the identity provider refused client '{client_id}' ({detail})"),
                )
                .with_oauth_error(code, description),
            )
        }
        RequestTokenError::Request(err) => err,
        RequestTokenError::Parse(err, _body) => with_status(Error::new(
            ErrorKind::Protocol,
            format!(
                "POST {url}: the answer (HTTP {status}) is not a valid OAuth2 token response (at `{}`)",
                err.path()
            ),
        )),
        RequestTokenError::Other(msg) => with_status(Error::new(
            ErrorKind::Protocol,
            format!("POST {url}: unexpected answer (HTTP {status}): {msg}"),
        )),
    }
}
