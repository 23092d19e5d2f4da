//! Token revocation (RFC 7009), used by `logout`: the refresh token is revoked at the
//! server's advertised `revocation_endpoint`, so a copy of it left anywhere (an old keyring
//! entry, a backup) is worthless afterwards.
//!
//! The client authenticates as its flow does: a public client (PKCE, device flow) sends its
//! `client_id` in the body; a confidential one uses HTTP Basic. The answer's body is ignored
//! (RFC 7009 §2.2: 200 with any body, also for a token the server no longer knows); an error
//! keeps the server's `error` and never the token.

use super::token_endpoint::post_form_ok;
use crate::error::Result;
use crate::http::{HttpClient, Policy};

/// How the client authenticates to the revocation endpoint.
pub enum ClientAuth<'a> {
    /// A public client: `client_id` in the form body.
    Public {
        /// The client id.
        client_id: &'a str,
    },
    /// A confidential client: HTTP Basic (RFC 6749 §2.3.1).
    Basic {
        /// The client id.
        client_id: &'a str,
        /// The client secret.
        client_secret: &'a str,
    },
}

/// Revoke `refresh_token` at `endpoint` (`token_type_hint=refresh_token`).
pub async fn revoke_refresh_token(
    http: &HttpClient,
    endpoint: &str,
    client: &ClientAuth<'_>,
    refresh_token: &str,
) -> Result<()> {
    let mut form = vec![
        ("token", refresh_token),
        ("token_type_hint", "refresh_token"),
    ];
    let basic = match *client {
        ClientAuth::Public { client_id } => {
            form.push(("client_id", client_id));
            None
        }
        ClientAuth::Basic {
            client_id,
            client_secret,
        } => Some((client_id, client_secret)),
    };
    post_form_ok(
        http,
        endpoint,
        &form,
        basic,
        "token revocation request",
        Policy::POST,
    )
    .await
    .map(drop)
}
