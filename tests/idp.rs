//! End to end against the real identity provider (node-oidc-provider, tests/fixtures/idp),
//! which also serves Flyte's AuthMetadataService routes.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{jwt_claims, Idp, AUDIENCE, CLIENT_SECRET};
use flyteauth::{Authenticator, ErrorKind};
use serde_json::json;

fn bearer(value: &str) -> &str {
    value.strip_prefix("Bearer ").expect("a Bearer value")
}

#[test]
fn discovery_then_client_credentials_gives_a_jwt_for_the_servers_audience() {
    let idp = Idp::start(&[]);
    let auth = Authenticator::from_json(&idp.cc_config(json!({}))).unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    let pairs: Vec<_> = md.iter().collect();
    assert_eq!(pairs.len(), 1, "one header: {:?}", md);
    assert_eq!(
        pairs[0].0, "flyte-authorization",
        "the server's authorization_metadata_key"
    );
    let claims = jwt_claims(bearer(pairs[0].1));
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["client_id"], common::CLIENT_ID);
    assert_eq!(claims["iss"], idp.url);

    // Reused, not fetched again.
    let again = auth.metadata_blocking(None).unwrap();
    assert_eq!(
        again.get("flyte-authorization"),
        md.get("flyte-authorization")
    );
    let stats = idp.stats();
    assert_eq!(stats["token_by_grant"]["client_credentials"], 1);
    assert_eq!(stats["discovery_requests"], 1);
    assert_eq!(stats["client_config_requests"], 1);
}

#[test]
fn a_configured_audience_and_scopes_reach_the_token() {
    let idp = Idp::start(&[]);
    let auth = Authenticator::from_json(&idp.cc_config(json!({
        "audience": "https://other.test/api", "scopes": ["api:read"]
    })))
    .unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    let claims = jwt_claims(bearer(md.get("flyte-authorization").unwrap()));
    assert_eq!(claims["aud"], "https://other.test/api");
    assert_eq!(claims["scope"], "api:read");
}

/// RFC 8707: `resource` (a string or a list) is sent alongside `audience`; an IdP that
/// implements resource indicators issues the token for it.
#[test]
fn a_configured_resource_reaches_the_token() {
    let idp = Idp::start(&[]);
    for resource in [
        json!("https://resource.test/api"),
        json!(["https://resource.test/api"]),
    ] {
        let auth = Authenticator::from_json(&idp.cc_config(json!({ "resource": resource })))
            .unwrap_or_else(|e| panic!("resource {resource}: {e}"));
        let md = auth.metadata_blocking(None).unwrap();
        let claims = jwt_claims(bearer(md.get("flyte-authorization").unwrap()));
        assert_eq!(
            claims["aud"], "https://resource.test/api",
            "resource {resource}"
        );
    }
}

#[test]
fn wrong_secret_is_an_authentication_error_with_the_idps_code_and_no_secret() {
    let idp = Idp::start(&[]);
    let wrong = "wrong-secret-9f8e7d";
    let auth = Authenticator::from_json(&idp.cc_config(json!({"clientSecret": wrong}))).unwrap();
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.oauth_error(), Some("invalid_client"));
    assert_eq!(e.http_status(), Some(401));
    let everything = format!("{e} | {e:?} | {:?}", auth.config());
    assert!(!everything.contains(wrong), "secret leaked: {everything}");
    assert!(!everything.contains(CLIENT_SECRET));
    assert_eq!(
        idp.client_credentials_requests(),
        1,
        "a refused client is not retried"
    );
}

/// A 12-second token: refreshed in the background 5.5-7.5 s after it was requested, at least
/// 4 s before it expires, so a busy machine cannot make a call wait for the network.
#[test]
fn a_token_is_replaced_after_it_expires() {
    let ttl = Duration::from_secs(12);
    let idp = Idp::start(&[("IDP_ACCESS_TOKEN_TTL", "12")]);
    let auth = Authenticator::from_json(&idp.cc_config(json!({}))).unwrap();
    let started = Instant::now();
    let first = auth.metadata_blocking(None).unwrap();
    let first_value = first.get("flyte-authorization").unwrap().to_owned();
    let exp = jwt_claims(bearer(&first_value))["exp"].as_u64().unwrap();
    // Wait until the IdP considers the first token expired (the deadline only catches a hang).
    let deadline = Instant::now() + ttl + Duration::from_secs(30);
    while unix_now() <= exp {
        assert!(Instant::now() < deadline, "the clock does not reach exp");
        std::thread::sleep(Duration::from_millis(200));
    }
    let second = auth.metadata_blocking(None).unwrap();
    let second_value = second.get("flyte-authorization").unwrap();
    assert!(
        second_value != first_value,
        "an expired token must not be served"
    );
    assert!(
        jwt_claims(bearer(second_value))["exp"].as_u64().unwrap() >= unix_now(),
        "not expired"
    );
    // The first token, then one background refresh before each expiry.
    let requests = idp.client_credentials_requests();
    let expected = common::refresh_request_bounds(ttl, started.elapsed());
    assert!(
        expected.contains(&requests) && requests >= 2,
        "{requests} IdP requests (expected {}..={}, and at least 2)",
        expected.start(),
        expected.end()
    );
    assert_eq!(
        auth.wait_count(),
        1,
        "no call waited after the first: refreshed in time"
    );
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn thirty_two_threads_on_a_fresh_authenticator_make_one_idp_request() {
    let idp = Idp::start(&[]);
    let auth = Arc::new(Authenticator::from_json(&idp.cc_config(json!({}))).unwrap());
    let barrier = Arc::new(std::sync::Barrier::new(32));
    let values: Vec<String> = (0..32)
        .map(|_| {
            let (auth, barrier) = (auth.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let md = auth.metadata_blocking(None).unwrap();
                md.get("flyte-authorization").unwrap().to_owned()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(values.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(idp.client_credentials_requests(), 1);
}

#[test]
fn proxy_command_authorizes_discovery_and_token_calls() {
    let idp = Idp::start(&[("IDP_REQUIRE_PROXY_AUTH", "Bearer iap-token")]);
    let auth = Authenticator::from_json(&idp.cc_config(json!({
        "proxyCommand": ["echo", "iap-token"]
    })))
    .unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    assert_eq!(md.get("proxy-authorization"), Some("Bearer iap-token"));
    assert!(md
        .get("flyte-authorization")
        .unwrap()
        .starts_with("Bearer ey"));
    let stats = idp.stats();
    assert_eq!(stats["proxy_auth_rejections"], 0, "{stats}");
    assert_eq!(
        stats["proxy_authorization"]["Bearer iap-token"], 3,
        "discovery x2 + token: {stats}"
    );

    // Without the proxy token the same server turns the library away at discovery.
    let bare = Authenticator::from_json(&idp.cc_config(json!({}))).unwrap();
    let e = bare.metadata_blocking(None).unwrap_err();
    assert_eq!(e.http_status(), Some(407), "{e}");
}

#[test]
fn external_command_uses_the_servers_header_key() {
    let idp = Idp::start(&[]);
    let cfg = json!({"endpoint": idp.endpoint, "insecure": true, "authType": "ExternalCommand",
                     "command": ["echo", "  cmd-token  "]});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    assert_eq!(
        md.iter().collect::<Vec<_>>(),
        [("flyte-authorization", "Bearer cmd-token")]
    );
}

#[test]
fn external_command_against_a_server_without_auth_metadata_uses_authorization() {
    let idp = Idp::start(&[("FLYTE_CLIENT_CONFIG_404", "1")]);
    let cfg = json!({"endpoint": idp.endpoint, "insecure": true, "authType": "ExternalCommand",
                     "command": ["echo", "cmd-token"]});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    assert_eq!(md.get("authorization"), Some("Bearer cmd-token"));
}

#[test]
fn client_credentials_against_a_server_without_auth_metadata_says_what_to_set() {
    let idp = Idp::start(&[("FLYTE_CLIENT_CONFIG_404", "1")]);
    let auth = Authenticator::from_json(&idp.cc_config(json!({}))).unwrap();
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Discovery, "{e}");
    assert_eq!(e.http_status(), Some(404));
    assert!(e.message().contains("set tokenUrl"), "{e}");

    // ...and with what it says, it works.
    let auth = Authenticator::from_json(&idp.cc_config(json!({
        "tokenUrl": format!("{}/token", idp.url), "scopes": ["all"],
        "authorizationHeader": "authorization", "audience": AUDIENCE
    })))
    .unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    assert_eq!(
        jwt_claims(bearer(md.get("authorization").unwrap()))["aud"],
        AUDIENCE
    );
}

#[test]
fn from_flyte_config_reads_a_config_yaml() {
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("client_secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).unwrap();
    let yaml = dir.path().join("config.yaml");
    std::fs::write(
        &yaml,
        format!(
            "admin:\n  endpoint: dns:///{}\n  insecure: true\n  authType: ClientSecret\n  clientId: {}\n  clientSecretLocation: {}\nlogger:\n  show-source: true\n",
            idp.endpoint,
            common::CLIENT_ID,
            secret_file.display()
        ),
    )
    .unwrap();
    let auth = Authenticator::from_flyte_config(Some(&yaml)).unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    assert!(md
        .get("flyte-authorization")
        .unwrap()
        .starts_with("Bearer ey"));
}

#[test]
fn refresh_gets_a_new_token_and_invalidate_ignores_stale_values() {
    let idp = Idp::start(&[]);
    let auth = Authenticator::from_json(&idp.cc_config(json!({}))).unwrap();
    let first = auth
        .metadata_blocking(None)
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    auth.refresh_blocking(None).unwrap();
    let second = auth
        .metadata_blocking(None)
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    assert!(first != second, "the token was not replaced");
    auth.invalidate_blocking(&first, None).unwrap();
    assert_eq!(
        idp.client_credentials_requests(),
        2,
        "the first value is no longer current"
    );
    auth.invalidate_blocking(&second, None).unwrap();
    assert_eq!(idp.client_credentials_requests(), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn the_blocking_api_works_from_inside_a_tokio_runtime() {
    // A Rust host calling the blocking API from async code: no "cannot block_on" panic.
    let idp = Idp::start(&[]);
    let auth = Authenticator::from_json(&idp.cc_config(json!({}))).unwrap();
    let md = auth
        .metadata_blocking(Some(Duration::from_secs(30)))
        .unwrap();
    assert!(md.get("flyte-authorization").is_some());
    auth.refresh_blocking(None).unwrap();
    // And the async API on the host's own runtime.
    let md = auth.metadata().await.unwrap();
    assert!(md.get("flyte-authorization").is_some());
}

#[test]
fn c_abi_accessors_for_bindings_expiry_and_insecure() {
    use flyteauth::ffi::*;
    use std::ffi::CString;
    let idp = Idp::start(&[("IDP_ACCESS_TOKEN_TTL", "120")]);
    let config = CString::new(idp.cc_config(json!({}))).unwrap();
    let mut a = std::ptr::null_mut();
    assert_eq!(
        flyteauth_authenticator_new(config.as_ptr(), &mut a, std::ptr::null_mut()),
        flyteauth_status::FLYTEAUTH_OK
    );
    assert_eq!(flyteauth_authenticator_insecure(a), 1);
    assert_eq!(flyteauth_authenticator_insecure(std::ptr::null()), 0);
    let mut m = std::ptr::null_mut();
    assert_eq!(
        flyteauth_authenticator_fetch_metadata(a, &mut m, std::ptr::null_mut()),
        flyteauth_status::FLYTEAUTH_OK
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let expires = flyteauth_metadata_expires_at_ms(m);
    assert!(
        expires > now_ms + 100_000 && expires <= now_ms + 121_000,
        "{expires} vs {now_ms}"
    );
    assert_eq!(flyteauth_authenticator_metadata_is_current(a, m), 1);
    assert_eq!(flyteauth_metadata_expires_at_ms(std::ptr::null()), 0);
    flyteauth_metadata_free(m);
    flyteauth_authenticator_free(a);
}
