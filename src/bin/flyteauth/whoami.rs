//! `flyteauth whoami`: whose credential this is, for a person debugging a 401. The access
//! token's claims (read, not verified: the server verifies), its expiry, scopes and audience,
//! and the headers it is sent in; never the token itself.

use std::time::SystemTime;

use flyteauth::{Authenticator, Config};
use serde_json::{Map, Value};

use crate::output::{bare_token, rfc3339};

/// Print who the current credential belongs to. Uses the cached login; never asks a person
/// to log in (that is `flyteauth login`).
pub fn run(config: Config) -> Result<(), flyteauth::Error> {
    let endpoint = config.endpoint.clone().unwrap_or_default();
    let auth = Authenticator::new(config)?;
    auth.set_interactive(false);
    let metadata = auth.metadata_blocking(None)?;
    println!("endpoint:   {endpoint}");
    let keys: Vec<&str> = metadata.iter().map(|(k, _)| k).collect();
    println!("headers:    {}", keys.join(", "));
    match metadata.expires_at() {
        Some(t) => println!("expires:    {} ({})", rfc3339(t), remaining(t)),
        None => println!("expires:    unknown (the IdP gave no lifetime)"),
    }
    let Some(claims) = flyteauth::token::jwt_claims(bare_token(&metadata)) else {
        println!("token:      opaque (not a JWT): only the server knows its claims");
        return Ok(());
    };
    for (label, names) in [
        ("subject:", &["sub"][..]),
        ("issuer:", &["iss"]),
        ("audience:", &["aud"]),
        ("scopes:", &["scope", "scp"]),
        ("client:", &["client_id", "azp", "cid"]),
    ] {
        if let Some(v) = names.iter().find_map(|n| claims.get(*n)) {
            println!("{label:<11} {}", plain(v));
        }
    }
    println!(
        "claims:     {}",
        serde_json::to_string_pretty(&Value::Object(without_hashes(claims)))
            .unwrap_or_default()
            .replace('\n', "\n            ")
    );
    Ok(())
}

/// A claim as a person reads it: strings unquoted, lists space-separated.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// The claims without hashes of other tokens (`at_hash`, `c_hash`): no use to a person.
fn without_hashes(mut claims: Map<String, Value>) -> Map<String, Value> {
    claims.retain(|k, _| !k.ends_with("_hash"));
    claims
}

fn remaining(t: SystemTime) -> String {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => format!("in {} s", d.as_secs()),
        Err(e) => format!("{} s ago", e.duration().as_secs()),
    }
}
