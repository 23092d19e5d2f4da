//! The token cache in a real Secret Service (gnome-keyring on a private D-Bus session), PKCE
//! through a real headless Chromium, and interop with Python keyring (what pyflyte uses).
//!
//! These need the session bus, gnome-keyring, Chromium and a Python with `keyring`, so they
//! are `#[ignore]`d for a plain `cargo test`; `make test` runs them with everything in place:
//!
//! ```sh
//! scripts/with-keyring env FLYTEAUTH_TEST_PYTHON=target/pyenv/bin/python \
//!     BROWSER=scripts/headless-browser cargo test --test keyring -- --ignored --test-threads 1
//! ```

mod common;

use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::{answer_device_code, jwt_claims, Idp};
use flyteauth::{Authenticator, Prompt};
use serde_json::json;

fn python(code: &str) -> String {
    let py = std::env::var("FLYTEAUTH_TEST_PYTHON").expect(
        "FLYTEAUTH_TEST_PYTHON: a Python with keyring and secretstorage (make test sets it)",
    );
    let out = Command::new(py).arg("-c").arg(code).output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn py_get(service: &str, user: &str) -> String {
    python(&format!(
        "import keyring; print(keyring.get_password({service:?}, {user:?}) or '')"
    ))
}

fn py_set(service: &str, user: &str, value: &str) {
    python(&format!(
        "import keyring; keyring.set_password({service:?}, {user:?}, {value:?})"
    ));
}

/// How many Secret Service items match service + username (duplicates would be > 1).
fn py_count(service: &str, user: &str) -> usize {
    python(&format!(
        "import secretstorage; c = secretstorage.dbus_init(); \
         col = secretstorage.get_default_collection(c); \
         print(len(list(col.search_items({{'service': {service:?}, 'username': {user:?}}}))))"
    ))
    .parse()
    .unwrap()
}

struct Prompts(Arc<Mutex<mpsc::Receiver<Prompt>>>);

impl Prompts {
    fn next(&self) -> Prompt {
        self.0
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30))
            .expect("a login prompt")
    }
    fn none(&self) -> bool {
        self.0.lock().unwrap().try_recv().is_err()
    }
}

fn authenticator(idp: &Idp, auth_type: &str, extra: serde_json::Value) -> (Authenticator, Prompts) {
    let mut cfg = json!({"endpoint": idp.endpoint, "insecure": true, "authType": auth_type});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    auth.set_prompt_callback(Some(Arc::new(move |p: &Prompt| {
        let _ = tx.lock().unwrap().send(p.clone());
    })));
    (auth, Prompts(Arc::new(Mutex::new(rx))))
}

async fn device_login(idp: &Idp, auth: &Authenticator, prompts: &Prompts) -> String {
    let login = tokio::spawn({
        let auth = auth.clone();
        async move { auth.metadata().await }
    });
    let code = match prompts.next() {
        Prompt::DeviceCode { user_code, .. } => user_code,
        other => panic!("{other:?}"),
    };
    answer_device_code(&idp.url, &code, true).await;
    let md = login.await.unwrap().unwrap();
    md.get("flyte-authorization").unwrap().to_owned()
}

async fn sleep_until(t: std::time::SystemTime) {
    let left = t
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(left).await;
}

fn grants(idp: &Idp, grant: &str) -> u64 {
    idp.stats()["token_by_grant"][grant].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service: run by `make test` under scripts/with-keyring"]
async fn a_device_login_is_cached_in_flytekits_layout_and_reused() {
    let idp = Idp::start(&[]);
    let (first, prompts) = authenticator(&idp, "DeviceFlow", json!({}));
    let header = device_login(&idp, &first, &prompts).await;
    let token = header.strip_prefix("Bearer ").unwrap();
    // Python keyring (pyflyte) sees it under flytekit's service and usernames.
    assert!(
        py_get(&idp.endpoint, "access_token") == token,
        "Python reads our access token"
    );
    assert!(!py_get(&idp.endpoint, "refresh_token").is_empty());
    // A second authenticator (another process, in effect) logs in with no prompt at all.
    let (second, prompts2) = authenticator(&idp, "DeviceFlow", json!({"interactive": false}));
    let md = second.metadata().await.unwrap();
    assert!(
        md.get("flyte-authorization") == Some(header.as_str()),
        "not the expected token (values not shown)"
    );
    assert!(prompts2.none());
    assert!(grants(&idp, "urn:ietf:params:oauth:grant-type:device_code") >= 1);
    let before = idp.stats()["token_requests"].as_u64().unwrap();
    second.metadata().await.unwrap();
    assert_eq!(
        idp.stats()["token_requests"].as_u64().unwrap(),
        before,
        "no token request"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Chromium: run by `make test`"]
async fn pkce_through_real_chromium_then_cache_refresh_and_relogin() {
    assert!(
        std::env::var("BROWSER").is_ok_and(|b| b.contains("headless-browser")),
        "BROWSER must be scripts/headless-browser"
    );
    // A 16-second token: the cached token a second authenticator loads has most of that left
    // (even after a slow Chromium login), so its background refresh lands seconds before expiry.
    let ttl = Duration::from_secs(16);
    let idp = Idp::start(&[
        ("FLYTE_REDIRECT_URI", "http://127.0.0.1/callback"),
        ("IDP_ACCESS_TOKEN_TTL", "16"),
    ]);
    // 1. Login through Chromium; the tokens land in the keyring.
    let (first, prompts) = authenticator(&idp, "Pkce", json!({}));
    let header = first
        .metadata()
        .await
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    assert!(matches!(prompts.next(), Prompt::Browser { .. }));
    assert_eq!(
        jwt_claims(header.strip_prefix("Bearer ").unwrap())["sub"],
        "test-user"
    );
    assert_eq!(grants(&idp, "authorization_code"), 1);
    assert!(
        py_get(&idp.endpoint, "access_token") == header.strip_prefix("Bearer ").unwrap(),
        "the login is in the keyring"
    );

    drop(first); // (its background refresh stops with it)

    // 2. A second authenticator reuses them: no browser, no token request.
    let (second, prompts2) = authenticator(&idp, "Pkce", json!({}));
    let before = idp.stats()["token_requests"].as_u64().unwrap();
    let reused = second.metadata().await.unwrap();
    let reused_expires = reused.expires_at().expect("the cached token's expiry");
    let reused = reused.get("flyte-authorization").unwrap().to_owned();
    assert!(reused == header, "the cached login is used");
    assert_eq!(
        idp.stats()["token_requests"].as_u64().unwrap(),
        before,
        "no token request"
    );
    assert!(prompts2.none(), "no browser for a cached login");

    // 3. Before expiry: refreshed with the refresh token in the background, no browser. The
    // test looks a whole second after the cached token expired.
    sleep_until(reused_expires + Duration::from_secs(1)).await;
    let refreshed = second
        .metadata()
        .await
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    assert!(refreshed != header, "a refreshed token");
    assert!(grants(&idp, "refresh_token") >= 1);
    assert!(prompts2.none());
    assert_eq!(second.wait_count(), 1, "no call waited for the refresh");

    // 4. The grant is revoked at the IdP: after expiry, a new login through Chromium. The
    // test waits until every token issued before the revocation has expired, plus a second.
    idp.refuse_refresh();
    sleep_until(std::time::SystemTime::now() + ttl + Duration::from_secs(1)).await;
    let relogin = second
        .metadata()
        .await
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    assert!(matches!(prompts2.next(), Prompt::Browser { .. }));
    assert!(relogin != refreshed, "a new login");
    assert_eq!(grants(&idp, "authorization_code"), 2);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn tokens_written_by_python_keyring_are_used_without_a_login() {
    let idp = Idp::start(&[]);
    // Get a real token (memory only), then store it the way flytekit does.
    let (source, prompts) = authenticator(&idp, "DeviceFlow", json!({"tokenCache": "memory"}));
    let header = device_login(&idp, &source, &prompts).await;
    py_set(
        &idp.endpoint,
        "access_token",
        header.strip_prefix("Bearer ").unwrap(),
    );
    let (reader, prompts2) = authenticator(&idp, "DeviceFlow", json!({"interactive": false}));
    assert!(
        reader.metadata().await.unwrap().get("flyte-authorization") == Some(header.as_str()),
        "not the expected token (values not shown)"
    );
    assert!(prompts2.none());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn a_later_python_write_replaces_ours_instead_of_duplicating_it() {
    let idp = Idp::start(&[]);
    let (auth, prompts) = authenticator(&idp, "DeviceFlow", json!({}));
    device_login(&idp, &auth, &prompts).await;
    assert_eq!(py_count(&idp.endpoint, "access_token"), 1);
    py_set(&idp.endpoint, "access_token", "written-by-python");
    assert_eq!(
        py_count(&idp.endpoint, "access_token"),
        1,
        "Python replaced our item"
    );
    let (reader, _) = authenticator(&idp, "DeviceFlow", json!({"interactive": false}));
    assert!(
        reader.metadata().await.unwrap().get("flyte-authorization")
            == Some("Bearer written-by-python"),
        "not the expected token (values not shown)"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn flytectls_cached_login_is_read() {
    let idp = Idp::start(&[]);
    let (source, prompts) = authenticator(&idp, "DeviceFlow", json!({"tokenCache": "memory"}));
    let header = device_login(&idp, &source, &prompts).await;
    let token = header.strip_prefix("Bearer ").unwrap();
    let blob =
        json!({"access_token": token, "token_type": "Bearer", "expiry": "2999-01-01T00:00:00Z"});
    py_set(
        "flytectl",
        &format!("dns:///{}:flytectl-user", idp.endpoint),
        &blob.to_string(),
    );
    let (reader, prompts2) = authenticator(&idp, "DeviceFlow", json!({"interactive": false}));
    assert!(
        reader.metadata().await.unwrap().get("flyte-authorization") == Some(header.as_str()),
        "not the expected token (values not shown)"
    );
    assert!(prompts2.none());
}

/// Issue 11, symptom 8: a refresh token refused by the IdP purges the keyring only if the
/// keyring still holds it. Here pyflyte (another process) logs in again while our refresh
/// with the old token is on the wire; its new login must survive our refusal.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn a_refused_refresh_token_does_not_purge_a_newer_login_from_another_process() {
    common::capture_library_logs();
    let server = wiremock::MockServer::start().await;
    // The IdP refuses the refresh token, slowly: time for the other process to log in.
    common::mount_slow_refused_refresh(&server, Duration::from_secs(3)).await;
    common::mount_device_login(&server, json!(1)).await;
    let cfg = json!({"endpoint": server.uri(), "insecure": true, "authType": "DeviceFlow",
                     "tokenCache": "keyring", "perRetryTimeout": "20s"});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    auth.login().await.unwrap();
    let service = server.uri();
    assert_eq!(py_get(&service, "refresh_token"), "refresh-1");
    auth.set_interactive(false);
    let refresh = tokio::spawn({
        let auth = auth.clone();
        async move { auth.refresh().await }
    });
    common::wait_for_requests(&server, "grant_type=refresh_token", 1, "no refresh request").await;
    // pyflyte logs in meanwhile and stores its tokens.
    tokio::task::spawn_blocking({
        let service = service.clone();
        move || {
            py_set(&service, "access_token", "pyflyte-access");
            py_set(&service, "refresh_token", "pyflyte-refresh");
        }
    })
    .await
    .unwrap();
    let e = refresh.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), flyteauth::ErrorKind::LoginRequired, "{e}");
    assert_eq!(
        py_get(&service, "refresh_token"),
        "pyflyte-refresh",
        "the other process's login was purged"
    );
    assert_eq!(py_get(&service, "access_token"), "pyflyte-access");
}

fn py_delete(service: &str, user: &str) {
    python(&format!(
        "import keyring\ntry: keyring.delete_password({service:?}, {user:?})\nexcept keyring.errors.PasswordDeleteError: pass"
    ));
}

/// flytectl's keyring user for `endpoint` (what flytectl writes: `Endpoint.String()`, i.e.
/// the configured `dns:///host:port`, then `:flytectl-user`).
fn flytectl_user(endpoint: &str) -> String {
    format!("dns:///{endpoint}:flytectl-user")
}

/// flytectl's cached token, parsed (empty object when there is none).
fn flytectl_item(endpoint: &str) -> serde_json::Value {
    let raw = py_get("flytectl", &flytectl_user(endpoint));
    if raw.is_empty() {
        return json!({});
    }
    serde_json::from_str(&raw).expect("flytectl's item is JSON")
}

/// What flytectl's next command does with the refresh token it holds: a refresh grant at the
/// IdP, as the public client. The HTTP status (200: the token was good; 400: spent/revoked).
async fn replay_refresh(idp: &Idp, refresh_token: &str) -> u16 {
    common::public_refresh_grant(idp, refresh_token).await.0
}

/// A device login whose tokens are moved out of flytekit's layout into flytectl's, with an
/// access token already expired: as if flytectl had logged in an hour ago. Returns the
/// refresh token flytectl holds.
async fn flytectl_login_expired(idp: &Idp) -> String {
    let (source, prompts) = authenticator(idp, "DeviceFlow", json!({}));
    let header = device_login(idp, &source, &prompts).await;
    drop(source);
    let refresh = py_get(&idp.endpoint, "refresh_token");
    assert!(!refresh.is_empty(), "the device login has a refresh token");
    for user in ["access_token", "refresh_token", "id_token"] {
        py_delete(&idp.endpoint, user);
    }
    let blob = json!({"access_token": header.strip_prefix("Bearer ").unwrap(),
                      "token_type": "Bearer", "refresh_token": refresh,
                      "expiry": "2001-01-01T00:00:00Z"});
    py_set("flytectl", &flytectl_user(&idp.endpoint), &blob.to_string());
    refresh
}

/// Issue 14, item 1 (the defect): flyteauth refreshed flytectl's login with flytectl's
/// refresh token and wrote the rotated tokens only in flytekit's layout, so flytectl kept a
/// spent refresh token; its next refresh replayed it and the IdP revoked the whole grant.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn a_flytectl_login_refreshed_by_flyteauth_leaves_flytectl_the_new_refresh_token() {
    // oidc-provider rotates public clients' refresh tokens and revokes the grant on reuse.
    let idp = Idp::start(&[]);
    let spent = flytectl_login_expired(&idp).await;
    let (auth, prompts) = authenticator(&idp, "DeviceFlow", json!({"interactive": false}));
    let header = auth
        .metadata()
        .await
        .unwrap()
        .get("flyte-authorization")
        .unwrap()
        .to_owned();
    assert!(prompts.none());
    assert_eq!(grants(&idp, "refresh_token"), 1, "one refresh");
    let item = flytectl_item(&idp.endpoint);
    let held = item["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        held != spent,
        "flytectl's item still holds the refresh token flyteauth spent (values not shown)"
    );
    assert!(
        held == py_get(&idp.endpoint, "refresh_token"),
        "flytectl's item holds the new refresh token"
    );
    assert!(
        item["access_token"].as_str() == header.strip_prefix("Bearer "),
        "flytectl's item holds the new access token"
    );
    // flytectl's next refresh works (a replayed token would revoke the grant).
    assert_eq!(replay_refresh(&idp, &held).await, 200, "flytectl's refresh");
}

/// A refresh grant at the IdP as the public client (what flytectl does), the token response.
async fn refresh_grant(idp: &Idp, refresh_token: &str) -> serde_json::Value {
    let (status, body) = common::public_refresh_grant(idp, refresh_token).await;
    assert_eq!(status, 200, "the refresh grant");
    body
}

/// Issue 14, item 1: a login made by flyteauth is flytectl's login too: its item holds the
/// same tokens, as Go's `oauth2.Token` JSON, under the user flytectl writes.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn a_flyteauth_login_is_visible_in_flytectls_layout() {
    let idp = Idp::start(&[]);
    let (auth, prompts) = authenticator(&idp, "DeviceFlow", json!({}));
    let header = device_login(&idp, &auth, &prompts).await;
    let item = flytectl_item(&idp.endpoint);
    assert!(
        item["access_token"].as_str() == header.strip_prefix("Bearer "),
        "flytectl's item holds our access token"
    );
    assert!(
        item["refresh_token"].as_str() == Some(py_get(&idp.endpoint, "refresh_token").as_str()),
        "and our refresh token"
    );
    assert_eq!(item["token_type"], "Bearer");
    let expiry = item["expiry"].as_str().unwrap();
    let expiry = chrono::DateTime::parse_from_rfc3339(expiry).expect("RFC 3339");
    assert!(
        std::time::SystemTime::from(expiry) > std::time::SystemTime::now(),
        "a future expiry"
    );
    assert_eq!(
        item.as_object().unwrap().len(),
        4,
        "oauth2.Token's fields only"
    );
    // Under `dns:///<endpoint>:flytectl-user` only (what flytectl writes).
    assert_eq!(py_count("flytectl", &flytectl_user(&idp.endpoint)), 1);
    assert_eq!(
        py_count("flytectl", &format!("{}:flytectl-user", idp.endpoint)),
        0
    );
    // A logout is shared too.
    auth.logout().await;
    assert_eq!(flytectl_item(&idp.endpoint), json!({}));
}

/// Issue 14, item 3: `keyringLayouts` limits the layouts written.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn keyring_layouts_limits_the_layouts_written() {
    let idp = Idp::start(&[]);
    let (auth, prompts) =
        authenticator(&idp, "DeviceFlow", json!({"keyringLayouts": ["flytekit"]}));
    device_login(&idp, &auth, &prompts).await;
    assert_eq!(
        flytectl_item(&idp.endpoint),
        json!({}),
        "flytectl's not written"
    );
    assert!(!py_get(&idp.endpoint, "access_token").is_empty());
}

/// Issue 14, item 2: before refreshing, both layouts are re-read; flytectl already rotated
/// the tokens, so its login is used (and copied to flytekit's layout) instead of spending the
/// refresh token flytectl already spent, which would revoke the grant.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn a_refresh_uses_the_login_flytectl_rotated_meanwhile() {
    let idp = Idp::start(&[]);
    let (auth, prompts) = authenticator(&idp, "DeviceFlow", json!({}));
    device_login(&idp, &auth, &prompts).await;
    auth.set_interactive(false);
    // flytectl refreshes (rotating the refresh token) and stores its new tokens.
    let spent = flytectl_item(&idp.endpoint)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = refresh_grant(&idp, &spent).await;
    let (access, refresh) = (
        rotated["access_token"].as_str().unwrap().to_owned(),
        rotated["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert!(refresh != spent, "the IdP rotates refresh tokens");
    let expiry = chrono::DateTime::<chrono::Utc>::from(
        std::time::SystemTime::now() + Duration::from_secs(rotated["expires_in"].as_u64().unwrap()),
    );
    let blob = json!({"access_token": access, "token_type": "Bearer", "refresh_token": refresh,
                      "expiry": expiry.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)});
    py_set("flytectl", &flytectl_user(&idp.endpoint), &blob.to_string());
    assert_eq!(grants(&idp, "refresh_token"), 1);
    // The server rejects our token: a forced refresh takes flytectl's login, no grant.
    auth.refresh().await.unwrap();
    let md = auth.metadata().await.unwrap();
    assert!(
        md.get("flyte-authorization") == Some(format!("Bearer {access}").as_str()),
        "flytectl's new access token is used (values not shown)"
    );
    assert_eq!(grants(&idp, "refresh_token"), 1, "no refresh by flyteauth");
    assert!(
        py_get(&idp.endpoint, "refresh_token") == refresh,
        "flytekit's layout holds flytectl's new refresh token"
    );
    // The grant is alive: flytectl's refresh token works.
    assert_eq!(replay_refresh(&idp, &refresh).await, 200);
}

/// `flyteauth logout` in a new process: the login is only in the keyring, and logout revokes
/// that refresh token at the IdP (RFC 7009) before the keyring entries go.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service and Python keyring: run by `make test`"]
async fn logout_in_a_new_process_revokes_the_cached_refresh_token() {
    let idp = Idp::start(&[]);
    let (first, prompts) = authenticator(&idp, "DeviceFlow", json!({}));
    device_login(&idp, &first, &prompts).await;
    let refresh_token = py_get(&idp.endpoint, "refresh_token");
    assert!(!refresh_token.is_empty(), "a cached refresh token");
    drop(first);

    let (second, _prompts) = authenticator(&idp, "DeviceFlow", json!({"interactive": false}));
    tokio::time::timeout(Duration::from_secs(60), second.logout())
        .await
        .expect("logout is bounded");
    assert_eq!(py_count(&idp.endpoint, "refresh_token"), 0, "purged");
    let (status, body) = common::public_refresh_grant(&idp, &refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the cached refresh token still works at the IdP after logout"
    );
}
