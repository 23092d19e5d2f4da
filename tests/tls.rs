//! TLS and proxies apply to every request: `caCertFilePath`, `insecureSkipVerify` and
//! `httpProxyURL`, against the real IdP (serving HTTPS with a test CA for the TLS cases).

mod common;

use common::{jwt_claims, Idp, Pki, AUDIENCE};
use flyteauth::{Authenticator, ErrorKind, Prompt};
use serde_json::json;

fn https_config(idp: &Idp, extra: serde_json::Value) -> String {
    let mut cfg: serde_json::Value = serde_json::from_str(&idp.cc_config(extra)).unwrap();
    cfg["insecure"] = json!(false);
    cfg.to_string()
}

#[test]
fn ca_cert_file_path_is_trusted_for_discovery_and_token_calls() {
    let pki = Pki::new();
    let idp = pki.start_https_idp();
    assert!(idp.url.starts_with("https://"), "{}", idp.url);
    let auth = Authenticator::from_json(&https_config(
        &idp,
        json!({"caCertFilePath": pki.path("ca.pem")}),
    ))
    .unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    let token = md
        .get("flyte-authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert_eq!(jwt_claims(token)["aud"], AUDIENCE);
}

/// The CA file is read once, when the authenticator is created. A single-use grant (here the
/// device-code poll) goes on a client of its own that is built on first use, minutes later:
/// by then the file may have been rotated away (a Kubernetes secret's symlink swap) or
/// unmounted, and that must not fail the login.
#[tokio::test(flavor = "multi_thread")]
async fn the_ca_file_is_read_once_at_creation() {
    let pki = Pki::new();
    let idp = pki.start_https_idp();
    let cfg = json!({"endpoint": idp.endpoint, "authType": "DeviceFlow", "tokenCache": "memory",
                     "caCertFilePath": pki.path("ca.pem")});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    std::fs::remove_file(pki.path("ca.pem")).unwrap();
    let (tx, prompts) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    auth.set_prompt_callback(Some(std::sync::Arc::new(move |p: &Prompt| {
        let _ = tx.lock().unwrap().send(p.clone());
    })));
    let login = tokio::spawn({
        let auth = auth.clone();
        async move { auth.metadata().await }
    });
    let prompt = tokio::task::spawn_blocking(move || {
        prompts.recv_timeout(std::time::Duration::from_secs(20))
    })
    .await
    .unwrap()
    .expect("a device code prompt");
    let Prompt::DeviceCode { user_code, .. } = prompt else {
        panic!("expected a device code prompt, got {prompt:?}");
    };
    // The person approving the code: a browser that accepts the test server's certificate.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    common::answer_device_code_with(browser, &idp.url, &user_code, true).await;
    let md = login.await.unwrap().unwrap();
    let token = md
        .get("flyte-authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert_eq!(jwt_claims(token)["sub"], "test-user");
}

#[test]
fn an_unknown_ca_is_refused() {
    let pki = Pki::new();
    let idp = pki.start_https_idp();
    let auth = Authenticator::from_json(&https_config(&idp, json!({"maxRetries": 0}))).unwrap();
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(e.message().to_lowercase().contains("certificate"), "{e}");
}

#[test]
fn insecure_skip_verify_accepts_any_certificate() {
    let pki = Pki::new();
    let idp = pki.start_https_idp();
    let auth =
        Authenticator::from_json(&https_config(&idp, json!({"insecureSkipVerify": true}))).unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    assert!(md
        .get("flyte-authorization")
        .unwrap()
        .starts_with("Bearer ey"));
}

#[test]
fn a_bad_ca_file_is_a_config_error_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "this is not a certificate").unwrap();
    for path in [
        not_pem.display().to_string(),
        "/nonexistent/ca.pem".to_owned(),
    ] {
        let cfg = json!({"endpoint": "flyte.example.com", "authType": "ClientSecret",
                         "clientId": "a", "clientSecret": "b", "caCertFilePath": path});
        let e = Authenticator::from_json(&cfg.to_string()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.message().starts_with("caCertFilePath"), "{e}");
    }
}

#[test]
fn http_proxy_url_carries_every_request() {
    // The fixture also answers absolute-form requests, i.e. it can be its own HTTP proxy.
    // The endpoint's host does not resolve, so only a request sent through the proxy works.
    let idp = Idp::start(&[]);
    let cfg = json!({"endpoint": format!("flyte.invalid:{}", idp.port), "insecure": true,
        "authType": "ClientSecret", "clientId": common::CLIENT_ID,
        "clientSecret": common::CLIENT_SECRET, "httpProxyURL": idp.url});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    assert!(md
        .get("flyte-authorization")
        .unwrap()
        .starts_with("Bearer ey"));
    let stats = idp.stats();
    assert_eq!(
        stats["absolute_form_requests"], 3,
        "discovery x2 + token: {stats}"
    );
}
