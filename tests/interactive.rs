//! Interactive logins against the real IdP with a scripted person (a cookie-jar HTTP client):
//! the device flow (pending, slow_down, access_denied, expired_token) and PKCE (success,
//! state mismatch, error=, stray requests, timeout, port in use), plus refresh tokens and
//! non-interactive mode. The keyring and the real browser are in tests/keyring.rs.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{answer_device_code, jwt_claims, scripted_browser, Idp, AUDIENCE};
use flyteauth::{Authenticator, ErrorKind, Prompt};
use serde_json::json;

fn interactive(
    idp: &Idp,
    auth_type: &str,
    extra: serde_json::Value,
) -> (Authenticator, mpsc::Receiver<Prompt>) {
    let mut cfg = json!({"endpoint": idp.endpoint, "insecure": true, "authType": auth_type,
                         "tokenCache": "memory"});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    auth.set_prompt_callback(Some(std::sync::Arc::new(move |p: &Prompt| {
        let _ = tx.lock().unwrap().send(p.clone());
    })));
    (auth, rx)
}

/// Start a call that needs a login, and wait for the prompt it shows.
async fn begin_login(
    auth: &Authenticator,
    prompts: mpsc::Receiver<Prompt>,
) -> (
    tokio::task::JoinHandle<flyteauth::Result<std::sync::Arc<flyteauth::Metadata>>>,
    Prompt,
) {
    let login = tokio::spawn({
        let auth = auth.clone();
        async move { auth.metadata().await }
    });
    let prompt = tokio::task::spawn_blocking(move || next_prompt(&prompts))
        .await
        .unwrap();
    (login, prompt)
}

fn next_prompt(rx: &mpsc::Receiver<Prompt>) -> Prompt {
    rx.recv_timeout(Duration::from_secs(20))
        .expect("a login prompt")
}

fn device_code(prompt: Prompt) -> String {
    match prompt {
        Prompt::DeviceCode {
            user_code,
            verification_uri_complete,
            ..
        } => {
            assert!(verification_uri_complete.unwrap().contains(&user_code));
            user_code
        }
        other => panic!("expected a device code prompt, got {other:?}"),
    }
}

fn device_grants(idp: &Idp) -> u64 {
    idp.stats()["token_by_grant"]["urn:ietf:params:oauth:grant-type:device_code"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn device_flow_pending_then_approved() {
    let idp = Idp::start(&[]);
    let (auth, prompts) = interactive(&idp, "DeviceFlow", json!({}));
    let (login, prompt) = begin_login(&auth, prompts).await;
    let code = device_code(prompt);
    // Let the library see authorization_pending at least once before the approval.
    while device_grants(&idp) == 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer_device_code(&idp.url, &code, true).await;
    let md = login.await.unwrap().unwrap();
    let token = md
        .get("flyte-authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let claims = jwt_claims(token);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["sub"], "test-user");
    assert!(device_grants(&idp) >= 2, "pending, then the token");
}

#[tokio::test(flavor = "multi_thread")]
async fn device_flow_slow_down_adds_five_seconds() {
    let idp = Idp::start(&[("IDP_SLOW_DOWN_FIRST", "1"), ("IDP_DEVICE_INTERVAL", "1")]);
    let (auth, prompts) = interactive(&idp, "DeviceFlow", json!({}));
    let started = Instant::now();
    let (login, prompt) = begin_login(&auth, prompts).await;
    let code = device_code(prompt);
    answer_device_code(&idp.url, &code, true).await;
    // Poll 1 (after 1 s) gets slow_down; the interval becomes 6 s; poll 2 gets the token.
    login.await.unwrap().unwrap();
    assert_eq!(device_grants(&idp), 2, "exactly one poll after slow_down");
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn device_flow_access_denied_is_its_own_error() {
    let idp = Idp::start(&[]);
    let (auth, prompts) = interactive(&idp, "DeviceFlow", json!({}));
    let (login, prompt) = begin_login(&auth, prompts).await;
    let code = device_code(prompt);
    answer_device_code(&idp.url, &code, false).await;
    let e = login.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.oauth_error(), Some("access_denied"));
}

#[tokio::test(flavor = "multi_thread")]
async fn device_flow_expired_token_is_its_own_error() {
    let idp = Idp::start(&[("IDP_DEVICE_CODE_TTL", "2")]);
    let (auth, _prompts) = interactive(&idp, "DeviceFlow", json!({}));
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.oauth_error(), Some("expired_token"));
}

/// Walk the login URL like a person whose IdP session approves at once; the last redirect
/// lands on the library's loopback listener. Returns the final status.
async fn complete_browser_login(url: &str) -> reqwest::StatusCode {
    scripted_browser().get(url).send().await.unwrap().status()
}

fn login_url(prompt: Prompt) -> String {
    match prompt {
        Prompt::Browser { url } => url,
        other => panic!("expected a browser prompt, got {other:?}"),
    }
}

fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

const EPHEMERAL_REDIRECT: (&str, &str) = ("FLYTE_REDIRECT_URI", "http://127.0.0.1/callback");

#[tokio::test(flavor = "multi_thread")]
async fn pkce_login_then_a_rejected_token_is_replaced_with_the_refresh_token() {
    let idp = Idp::start(&[EPHEMERAL_REDIRECT]);
    let (auth, prompts) = interactive(&idp, "Pkce", json!({}));
    let (login, prompt) = begin_login(&auth, prompts).await;
    let url = login_url(prompt);
    assert_eq!(param(&url, "code_challenge_method"), "S256");
    assert_eq!(param(&url, "client_id"), "test-public");
    assert_eq!(complete_browser_login(&url).await, 200, "the success page");
    let first = login
        .await
        .unwrap()
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    assert_eq!(
        jwt_claims(first.strip_prefix("Bearer ").unwrap())["sub"],
        "test-user"
    );

    // The server rejects it: the refresh token is used, no second login.
    auth.invalidate(&first).await.unwrap();
    let second = auth
        .metadata()
        .await
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    assert!(first != second, "the token was not replaced");
    let stats = idp.stats();
    assert_eq!(stats["token_by_grant"]["authorization_code"], 1, "{stats}");
    assert_eq!(stats["token_by_grant"]["refresh_token"], 1, "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pkce_ignores_stray_requests_and_foreign_state() {
    let idp = Idp::start(&[EPHEMERAL_REDIRECT]);
    let (auth, prompts) = interactive(&idp, "Pkce", json!({}));
    let (login, prompt) = begin_login(&auth, prompts).await;
    let url = login_url(prompt);
    let redirect = param(&url, "redirect_uri");
    let origin = redirect.trim_end_matches("/callback");
    let probe = scripted_browser();
    let favicon = probe
        .get(format!("{origin}/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(favicon.status(), 404);
    let forged = probe
        .get(format!("{redirect}?code=attacker-code&state=not-the-state"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert!(!login.is_finished(), "neither request may end the wait");
    assert_eq!(complete_browser_login(&url).await, 200);
    login.await.unwrap().unwrap();
    assert_eq!(
        idp.stats()["token_by_grant"]["authorization_code"],
        1,
        "the forged code was never exchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pkce_error_callback_is_reported_with_the_servers_description() {
    let idp = Idp::start(&[EPHEMERAL_REDIRECT]);
    let (auth, prompts) = interactive(&idp, "Pkce", json!({}));
    let (login, prompt) = begin_login(&auth, prompts).await;
    let url = login_url(prompt);
    // The person refuses: stop at the IdP's first interaction and abort it.
    let follow = scripted_browser(); // (also installs the test's TLS crypto provider)
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut next = url.clone();
    let interaction = loop {
        let r = browser.get(&next).send().await.unwrap();
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with('/') {
            format!("{}{location}", idp.url)
        } else {
            location
        };
        if location.contains("/interaction/") {
            break location;
        }
        next = location;
    };
    // Walk the abort with the same cookie jar, one redirect at a time, until the callback.
    let mut next = format!("{interaction}/abort");
    for _ in 0..10 {
        let r = browser.get(&next).send().await.unwrap();
        match r.headers().get("location") {
            Some(l) => {
                let l = l.to_str().unwrap();
                next = if l.starts_with('/') {
                    format!("{}{l}", idp.url)
                } else {
                    l.to_owned()
                };
                if next.contains("/callback") {
                    let page = follow.get(&next).send().await.unwrap();
                    assert_eq!(page.status(), 400);
                    break;
                }
            }
            None => break,
        }
    }
    let e = login.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.oauth_error(), Some("access_denied"));
    assert!(
        e.message().contains("aborted"),
        "the server's description: {e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pkce_gives_up_after_its_timeout() {
    let idp = Idp::start(&[EPHEMERAL_REDIRECT]);
    let (auth, _prompts) = interactive(&idp, "Pkce", json!({"pkceConfig": {"timeout": "1s"}}));
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("pkceConfig.timeout"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pkce_port_in_use_is_a_clear_error_before_any_prompt() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let idp = Idp::start(&[("FLYTE_REDIRECT_URI", &redirect)]);
    let (auth, prompts) = interactive(&idp, "Pkce", json!({}));
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(
        e.message().contains(&port.to_string()) && e.message().contains("another login"),
        "{e}"
    );
    assert!(
        prompts.try_recv().is_err(),
        "no browser prompt when the port is busy"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn non_interactive_mode_says_to_log_in_instead_of_prompting() {
    let idp = Idp::start(&[EPHEMERAL_REDIRECT]);
    let (auth, prompts) = interactive(&idp, "Pkce", json!({"interactive": false}));
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired, "{e}");
    assert!(e.message().contains("flyteauth login"), "{e}");
    assert!(prompts.try_recv().is_err());
}

/// A 12-second token: its background refresh comes at least 5.5 s after the login started,
/// seconds after the test revokes the grant, and the test waits a whole second past expiry.
#[tokio::test(flavor = "multi_thread")]
async fn pkce_falls_back_to_a_new_login_when_the_refresh_token_is_refused() {
    let idp = Idp::start(&[EPHEMERAL_REDIRECT, ("IDP_ACCESS_TOKEN_TTL", "12")]);
    let (auth, prompts) = interactive(&idp, "Pkce", json!({}));
    let prompts = std::sync::Arc::new(std::sync::Mutex::new(prompts));
    let login = |auth: Authenticator| tokio::spawn(async move { auth.metadata().await });
    let next = |prompts: std::sync::Arc<std::sync::Mutex<mpsc::Receiver<Prompt>>>| {
        tokio::task::spawn_blocking(move || next_prompt(&prompts.lock().unwrap()))
    };
    let first = login(auth.clone());
    let url = login_url(next(prompts.clone()).await.unwrap());
    complete_browser_login(&url).await;
    let first = first.await.unwrap().unwrap();
    let expires = first.expires_at().expect("the token's expiry");
    let first = first.get("flyte-authorization").unwrap().to_owned();
    // The grant is revoked at the IdP: the background refresh before expiry is refused (it
    // never opens a browser itself); once the token has expired, the next call logs in again.
    idp.refuse_refresh();
    assert_eq!(
        idp.stats()["token_by_grant"]["refresh_token"]
            .as_u64()
            .unwrap_or(0),
        0,
        "the grant was revoked before the background refresh"
    );
    let past_expiry = (expires + Duration::from_secs(1))
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(past_expiry).await;
    assert!(
        prompts.lock().unwrap().try_recv().is_err(),
        "no login prompt before expiry"
    );
    let second = login(auth.clone());
    let url = login_url(next(prompts.clone()).await.unwrap());
    complete_browser_login(&url).await;
    let second = second
        .await
        .unwrap()
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    assert!(first != second, "a new login");
    let stats = idp.stats();
    assert!(
        stats["token_by_grant"]["refresh_token"].as_u64().unwrap() >= 1,
        "the refused refresh: {stats}"
    );
    assert_eq!(
        stats["token_by_grant"]["authorization_code"], 2,
        "then a new login: {stats}"
    );
}

/// Keycloak with PKCE required on the one public client refuses a device authorization
/// request without `code_challenge_method`, and checks the verifier on every poll
/// (`IDP_DEVICE_REQUIRE_PKCE`): the device flow sends both.
#[tokio::test(flavor = "multi_thread")]
async fn device_flow_sends_pkce_when_the_idp_requires_it() {
    let idp = Idp::start(&[("IDP_DEVICE_REQUIRE_PKCE", "1")]);
    let (auth, prompts) = interactive(&idp, "DeviceFlow", json!({}));
    let (login, prompt) = tokio::time::timeout(Duration::from_secs(60), async {
        let login = tokio::spawn({
            let auth = auth.clone();
            async move { auth.metadata().await }
        });
        // A refused device authorization ends the login before any prompt.
        let prompt =
            tokio::task::spawn_blocking(move || prompts.recv_timeout(Duration::from_secs(20)).ok())
                .await
                .unwrap();
        (login, prompt)
    })
    .await
    .expect("no hang");
    let Some(prompt) = prompt else {
        let e = login.await.unwrap().unwrap_err();
        panic!("the device authorization request was refused: {e}");
    };
    let code = device_code(prompt);
    // At least one poll (authorization_pending) before the approval: each carries the verifier.
    while device_grants(&idp) == 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer_device_code(&idp.url, &code, true).await;
    let md = login.await.unwrap().unwrap();
    let token = md
        .get("flyte-authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert_eq!(jwt_claims(token)["sub"], "test-user");
}

/// A mock authorization server that advertises RFC 9207 (`iss` on the authorization
/// response), with a token endpoint that would hand out a token for any code. `relayed`: the
/// Flyte endpoint's metadata is the issuer's as flyteadmin relays it (its
/// `OAuth2MetadataResponse` has no `authorization_response_iss_parameter_supported`), and
/// only the issuer's own discovery document advertises RFC 9207.
async fn iss_advertising_server(relayed: bool) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let uri = server.uri();
    let issuer = if relayed {
        format!("{uri}/realms/flyte")
    } else {
        uri.clone()
    };
    let mut metadata = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{uri}/auth"),
        "token_endpoint": format!("{uri}/token"),
        "authorization_response_iss_parameter_supported": true,
    });
    if relayed {
        Mock::given(method("GET"))
            .and(path("/realms/flyte/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(metadata.clone()))
            .mount(&server)
            .await;
        metadata
            .as_object_mut()
            .unwrap()
            .remove("authorization_response_iss_parameter_supported");
    }
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/config/v1/flyte_client"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "client_id": "flytectl", "redirect_uri": "http://127.0.0.1/callback",
            "scopes": ["all"], "authorization_metadata_key": "authorization",
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "tok-from-mixup", "token_type": "Bearer", "expires_in": 600})))
        .mount(&server)
        .await;
    server
}

/// RFC 9207 mix-up defence: when the metadata says the server sends `iss` on the
/// authorization response, a callback whose `iss` is another issuer, or that has none, is
/// refused with a clear error, and its code is never exchanged (nor shown).
#[tokio::test(flavor = "multi_thread")]
async fn pkce_refuses_a_callback_whose_iss_is_not_the_issuer() {
    refuses_a_callback_whose_iss_is_not_the_issuer(false).await;
}

/// The same behind flyteadmin, which relays an external issuer's metadata (Keycloak, Okta)
/// without the RFC 9207 field: the issuer's own discovery document says it sends `iss`.
#[tokio::test(flavor = "multi_thread")]
async fn pkce_checks_iss_when_only_the_issuers_own_metadata_advertises_it() {
    refuses_a_callback_whose_iss_is_not_the_issuer(true).await;
}

async fn refuses_a_callback_whose_iss_is_not_the_issuer(relayed: bool) {
    let server = iss_advertising_server(relayed).await;
    let cfg = json!({"endpoint": server.uri(), "authType": "Pkce", "tokenCache": "memory",
                     "pkceConfig": {"timeout": "60s"}});
    for iss in [Some("https://attacker.example"), None] {
        // A new authenticator per case: a failed login backs the next one off.
        let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
        let (tx, prompts) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        auth.set_prompt_callback(Some(std::sync::Arc::new(move |p: &Prompt| {
            let _ = tx.lock().unwrap().send(p.clone());
        })));
        let prompts = std::sync::Arc::new(std::sync::Mutex::new(prompts));
        let login = tokio::spawn({
            let auth = auth.clone();
            async move { auth.metadata().await }
        });
        let url = login_url(
            tokio::task::spawn_blocking({
                let prompts = prompts.clone();
                move || next_prompt(&prompts.lock().unwrap())
            })
            .await
            .unwrap(),
        );
        let mut callback = url::Url::parse(&param(&url, "redirect_uri")).unwrap();
        callback
            .query_pairs_mut()
            .append_pair("code", "mixed-up-code")
            .append_pair("state", &param(&url, "state"));
        if let Some(iss) = iss {
            callback.query_pairs_mut().append_pair("iss", iss);
        }
        let page = scripted_browser()
            .get(callback.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 400, "iss {iss:?}");
        let e = tokio::time::timeout(Duration::from_secs(60), login)
            .await
            .expect("the login ends")
            .unwrap()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "iss {iss:?}: {e}");
        assert!(e.message().contains("iss"), "{e}");
        assert!(!e.message().contains("mixed-up-code"), "{e}");
        assert_eq!(
            common::requests_containing(&server, "authorization_code").await,
            0,
            "the code was exchanged (iss {iss:?})"
        );
    }
}

/// The refresh tokens the fixture issued, from its token log (`IDP_TOKEN_LOG`: access, refresh
/// and ID tokens, one per line; only refresh tokens are opaque). The log is appended to the
/// run's own token log when there is one, so `scripts/check-secrets` still covers them.
fn issued_refresh_tokens(log: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if let Some(outer) = std::env::var_os("IDP_TOKEN_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(outer)
        {
            let _ = f.write_all(text.as_bytes());
        }
    }
    text.lines()
        .filter(|t| !t.is_empty() && !t.contains('.'))
        .map(str::to_owned)
        .collect()
}

/// RFC 7009: `logout` revokes the refresh token at the IdP's advertised
/// `revocation_endpoint` (public client: client_id in the body), so a refresh with it fails
/// `invalid_grant` afterwards, and forgets the login locally.
#[tokio::test(flavor = "multi_thread")]
async fn logout_revokes_the_refresh_token_at_the_idp() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tokens.log");
    let idp = Idp::start(&[("IDP_TOKEN_LOG", log.to_str().unwrap())]);
    let (auth, prompts) = interactive(&idp, "DeviceFlow", json!({}));
    let (login, prompt) = begin_login(&auth, prompts).await;
    answer_device_code(&idp.url, &device_code(prompt), true).await;
    login.await.unwrap().unwrap();
    let refresh_tokens = issued_refresh_tokens(&log);
    assert_eq!(refresh_tokens.len(), 1, "one login, one refresh token");

    tokio::time::timeout(Duration::from_secs(60), auth.logout())
        .await
        .expect("logout is bounded");

    let (status, body) = common::public_refresh_grant(&idp, &refresh_tokens[0]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the refresh token still works at the IdP after logout"
    );
    assert!(
        auth.fresh_metadata().is_none(),
        "the login is forgotten locally"
    );
}

/// RFC 8707 on the device flow: `resource` goes on the device authorization request and the
/// polls, so the token is issued for it (the server's audience is still sent alongside).
#[tokio::test(flavor = "multi_thread")]
async fn device_flow_sends_the_configured_resource() {
    let idp = Idp::start(&[]);
    let (auth, prompts) = interactive(
        &idp,
        "DeviceFlow",
        json!({"resource": ["https://resource.test/api"]}),
    );
    let (login, prompt) = begin_login(&auth, prompts).await;
    answer_device_code(&idp.url, &device_code(prompt), true).await;
    let md = login.await.unwrap().unwrap();
    let token = md
        .get("flyte-authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert_eq!(jwt_claims(token)["aud"], "https://resource.test/api");
}

/// A revocation endpoint that never answers: `logout` still forgets the login, within its
/// bound, after sending RFC 7009's form (the public client's id in the body).
#[tokio::test(flavor = "multi_thread")]
async fn logout_forgets_the_login_even_when_revocation_hangs() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": uri,
            "token_endpoint": format!("{uri}/token"),
            "device_authorization_endpoint": format!("{uri}/device"),
            "revocation_endpoint": format!("{uri}/revoke"),
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    common::mount_device_login(&server, json!(1)).await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
        .mount(&server)
        .await;
    let cfg = json!({"endpoint": uri, "authType": "DeviceFlow", "tokenCache": "memory"});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    auth.set_prompt_callback(Some(std::sync::Arc::new(|_: &Prompt| {})));
    tokio::time::timeout(Duration::from_secs(60), auth.metadata())
        .await
        .expect("the device login ends")
        .unwrap();

    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(60), auth.logout())
        .await
        .expect("logout is bounded");
    assert!(
        started.elapsed() < flyteauth::authenticator::REVOKE_TIMEOUT + Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let revocations = common::requests_containing(&server, "token_type_hint=refresh_token").await;
    assert!(revocations >= 1, "no revocation request");
    let revoke = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/revoke")
        .unwrap();
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(&revoke.body)
        .into_owned()
        .collect();
    assert_eq!(form.get("client_id").map(String::as_str), Some("flytectl"));
    assert_eq!(form.get("token").map(String::as_str), Some("refresh-1"));
    assert!(
        revoke.headers.get("authorization").is_none(),
        "a public client"
    );
    assert!(
        auth.fresh_metadata().is_none(),
        "the login is forgotten locally"
    );
}

/// flyteadmin relays an external issuer's metadata without `revocation_endpoint` (its
/// `OAuth2MetadataResponse` has no such field): `logout` finds it in the issuer's own
/// discovery document (`{issuer}/.well-known/openid-configuration`) and revokes there, but
/// only when that document names the same issuer.
#[tokio::test(flavor = "multi_thread")]
async fn logout_revokes_at_the_issuers_own_revocation_endpoint() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    for (named_issuer, revoked) in [(None, true), (Some("https://other.example"), false)] {
        let flyteadmin = MockServer::start().await;
        let issuer = MockServer::start().await;
        let issuer_uri = format!("{}/realms/flyte", issuer.uri());
        // The Flyte endpoint: the issuer's metadata as flyteadmin relays it.
        Mock::given(method("GET"))
            .and(path("/.well-known/oauth-authorization-server"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": issuer_uri,
                "token_endpoint": format!("{issuer_uri}/token"),
                "device_authorization_endpoint": format!("{issuer_uri}/device"),
            })))
            .with_priority(1)
            .mount(&flyteadmin)
            .await;
        // (Its /config/v1/flyte_client: client flytectl.)
        common::mount_device_login(&flyteadmin, json!(1)).await;
        // The issuer: the device login, its discovery document, its revocation endpoint.
        Mock::given(method("POST"))
            .and(path("/realms/flyte/device"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "device_code": "device-code-secret", "user_code": "ABCD-EFGH",
                "verification_uri": format!("{issuer_uri}/activate"), "expires_in": 600,
                "interval": 1})))
            .mount(&issuer)
            .await;
        Mock::given(method("POST"))
            .and(path("/realms/flyte/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "tok-1", "token_type": "Bearer", "expires_in": 600,
                "refresh_token": "refresh-1"})))
            .mount(&issuer)
            .await;
        Mock::given(method("GET"))
            .and(path("/realms/flyte/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": named_issuer.unwrap_or(&issuer_uri),
                "token_endpoint": format!("{issuer_uri}/token"),
                "revocation_endpoint": format!("{issuer_uri}/revoke"),
            })))
            .mount(&issuer)
            .await;
        Mock::given(method("POST"))
            .and(path("/realms/flyte/revoke"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&issuer)
            .await;
        let cfg = json!({"endpoint": flyteadmin.uri(), "authType": "DeviceFlow",
                         "tokenCache": "memory", "insecure": true});
        let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
        auth.set_prompt_callback(Some(std::sync::Arc::new(|_: &Prompt| {})));
        tokio::time::timeout(Duration::from_secs(60), auth.metadata())
            .await
            .expect("the device login ends")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(60), auth.logout())
            .await
            .expect("logout is bounded");
        let revocations: Vec<_> = issuer
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/realms/flyte/revoke")
            .collect();
        assert_eq!(
            revocations.len(),
            usize::from(revoked),
            "issuer {named_issuer:?}"
        );
        if let Some(revoke) = revocations.first() {
            let form: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(&revoke.body)
                    .into_owned()
                    .collect();
            assert_eq!(form.get("token").map(String::as_str), Some("refresh-1"));
            assert_eq!(form.get("client_id").map(String::as_str), Some("flytectl"));
        }
        assert!(
            auth.fresh_metadata().is_none(),
            "the login is forgotten locally"
        );
    }
}
