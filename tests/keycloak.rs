//! Against a real Keycloak, the second real IdP (issue 14): client credentials through
//! discovery, PKCE and the device flow through Keycloak's own HTML pages (a scripted person
//! reads the login and consent forms and posts them), refresh-token rotation after a real
//! expiry, and logout revoking the login at Keycloak.
//!
//! Keycloak runs under `scripts/with-keycloak` (which configures the realm, the clients and
//! the user); the keyring checks need a Secret Service, so `make test-keycloak` runs:
//!
//! ```sh
//! scripts/with-keycloak scripts/with-keyring cargo test --test keycloak -- --ignored
//! ```
//!
//! Flyte in front of Keycloak: flyteadmin configured with an external authorization server
//! (`appAuth.externalAuthServer`) answers `/.well-known/oauth-authorization-server` with the
//! issuer's metadata and `/config/v1/flyte_client` with the public client of its own config
//! (`appAuth.thirdPartyConfig.flyteClient`). A real deployment's users configure only the Flyte
//! endpoint, so the tests do the same: a small in-process "flyteadmin" serves Keycloak's own
//! discovery document (fetched from the realm at the start of each test) and the client config,
//! and every OAuth2 request then goes to Keycloak itself. flyteadmin relays the metadata
//! through its `OAuth2MetadataResponse` message, which has ten fields (issuer, the
//! authorization, token and device authorization endpoints, jwks_uri and five lists): the
//! front relays exactly those, so `revocation_endpoint` and RFC 9207's
//! `authorization_response_iss_parameter_supported` are not in what flyteauth discovers there.

mod common;

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{jwt_claims, scripted_browser};
use flyteauth::cache::KeyringCache;
use flyteauth::{Authenticator, Prompt};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The Keycloak of `scripts/with-keycloak`, from its environment.
struct Keycloak {
    url: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    public_client_id: String,
    resource_client_id: String,
    resource_client_secret: String,
    user: String,
    password: String,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run these tests under scripts/with-keycloak (make test-keycloak)"
        )
    })
}

impl Keycloak {
    fn from_env() -> Keycloak {
        common::capture_library_logs();
        Keycloak {
            url: env("KEYCLOAK_URL"),
            issuer: env("KEYCLOAK_ISSUER"),
            client_id: env("KEYCLOAK_CLIENT_ID"),
            client_secret: env("KEYCLOAK_CLIENT_SECRET"),
            public_client_id: env("KEYCLOAK_PUBLIC_CLIENT_ID"),
            resource_client_id: env("KEYCLOAK_RESOURCE_CLIENT_ID"),
            resource_client_secret: env("KEYCLOAK_RESOURCE_CLIENT_SECRET"),
            user: env("KEYCLOAK_USER"),
            password: env("KEYCLOAK_PASSWORD"),
        }
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/protocol/openid-connect/{name}", self.issuer)
    }

    /// Keycloak's userinfo answer for an access token: (status, body).
    async fn userinfo(&self, access_token: &str) -> (u16, Value) {
        let response = scripted_browser()
            .get(self.endpoint("userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
        (status, body)
    }

    /// A refresh-token grant for the public client, sent to Keycloak by hand: (status, body).
    async fn refresh_with(&self, refresh_token: &str) -> (u16, Value) {
        post_form(
            &self.endpoint("token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &self.public_client_id),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }
}

async fn post_form(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = scripted_browser()
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}

/// The fields of flyteidl's `OAuth2MetadataResponse` (flyteidl/service/auth.proto), the
/// message in which flyteadmin's AuthMetadataService relays an external issuer's metadata.
const FLYTEADMIN_METADATA_FIELDS: [&str; 10] = [
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "response_types_supported",
    "scopes_supported",
    "token_endpoint_auth_methods_supported",
    "jwks_uri",
    "code_challenge_methods_supported",
    "grant_types_supported",
    "device_authorization_endpoint",
];

/// The Flyte endpoint in front of Keycloak (see the module's comment). `discovery()` counts
/// the requests for the OAuth2 metadata.
struct FlyteFront {
    server: MockServer,
    /// Keycloak's discovery document, as the front serves it (flyteadmin's fields of it).
    metadata: Value,
}

impl FlyteFront {
    async fn start(kc: &Keycloak) -> FlyteFront {
        let text = scripted_browser()
            .get(format!("{}/.well-known/openid-configuration", kc.issuer))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let keycloak: Value = serde_json::from_str(&text).expect("Keycloak's discovery document");
        // What flyteadmin's OAuth2MetadataResponse carries of it.
        let metadata: serde_json::Map<String, Value> = FLYTEADMIN_METADATA_FIELDS
            .iter()
            .filter_map(|&field| Some((field.to_owned(), keycloak.get(field)?.clone())))
            .collect();
        let metadata = Value::Object(metadata);
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/.well-known/oauth-authorization-server"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&metadata))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/config/v1/flyte_client"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "client_id": kc.public_client_id,
                // A loopback redirect on any free port (Keycloak's client allows
                // http://127.0.0.1:*), so that tests running at once never share a port.
                "redirect_uri": "http://127.0.0.1/callback",
                "scopes": ["openid"],
                "authorization_metadata_key": "flyte-authorization",
            })))
            .mount(&server)
            .await;
        FlyteFront { server, metadata }
    }

    /// `127.0.0.1:<port>`, the `endpoint` of the config (with `insecure`: plain HTTP).
    fn endpoint(&self) -> String {
        self.server.address().to_string()
    }

    async fn discovery_requests(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/.well-known/oauth-authorization-server")
            .count()
    }
}

/// An interactive authenticator against `front` whose prompts arrive on the receiver.
fn interactive(
    front: &FlyteFront,
    auth_type: &str,
    token_cache: &str,
) -> (Authenticator, Arc<Mutex<mpsc::Receiver<Prompt>>>) {
    let cfg = json!({"endpoint": front.endpoint(), "insecure": true, "authType": auth_type,
                     "tokenCache": token_cache});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    auth.set_prompt_callback(Some(Arc::new(move |p: &Prompt| {
        let _ = tx.lock().unwrap().send(p.clone());
    })));
    (auth, Arc::new(Mutex::new(rx)))
}

async fn next_prompt(prompts: &Arc<Mutex<mpsc::Receiver<Prompt>>>) -> Prompt {
    let prompts = Arc::clone(prompts);
    tokio::task::spawn_blocking(move || {
        prompts
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(60))
            .expect("a login prompt")
    })
    .await
    .unwrap()
}

/// One HTML form of a page: its action and its fields (hidden and pre-filled ones with their
/// values; buttons by name).
struct Form {
    action: String,
    fields: Vec<(String, String)>,
    names: Vec<String>,
}

impl Form {
    fn set(&mut self, name: &str, value: &str) {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_owned(), value.to_owned()));
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x3d;", "=")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// The first `<form>` of `page`.
fn first_form(page: &str) -> Option<Form> {
    let start = page.find("<form")?;
    let tag_end = start + page[start..].find('>')?;
    let action = attr(&page[start..tag_end], "action")?;
    let body_end = page[tag_end..]
        .find("</form>")
        .map_or(page.len(), |i| tag_end + i);
    let body = &page[tag_end..body_end];
    let mut form = Form {
        action,
        fields: Vec::new(),
        names: Vec::new(),
    };
    for element in ["<input", "<button"] {
        for (at, _) in body.match_indices(element) {
            let tag = &body[at..at + body[at..].find('>').unwrap_or(body.len() - at)];
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            form.names.push(name.clone());
            let kind = attr(tag, "type").unwrap_or_default();
            if element == "<input" && kind != "submit" {
                form.fields
                    .push((name, attr(tag, "value").unwrap_or_default()));
            }
        }
    }
    Some(form)
}

/// A person in a browser: opens `start`, follows Keycloak's redirects, signs in on its login
/// form, grants access on its consent form (when it shows one), and stops at the first page
/// that is not Keycloak's (flyteauth's callback page) or that has no form. Returns that
/// page's status and text, and the forms answered on the way (`login`, `consent`, `code`).
async fn person_logs_in(kc: &Keycloak, start: &str) -> (u16, String, Vec<&'static str>) {
    let browser = scripted_browser();
    let mut response = browser.get(start).send().await.unwrap();
    let mut answered = Vec::new();
    for _ in 0..8 {
        let url = response.url().clone();
        let status = response.status().as_u16();
        let page = response.text().await.unwrap();
        if !url.as_str().starts_with(&kc.url) {
            return (status, page, answered);
        }
        let Some(mut form) = first_form(&page) else {
            return (status, page, answered);
        };
        let has = |name: &str| form.names.iter().any(|n| n == name);
        if has("username") && has("password") {
            answered.push("login");
            form.set("username", &kc.user);
            form.set("password", &kc.password);
        } else if has("accept") {
            answered.push("consent");
            form.set("accept", "Yes");
        } else if has("device_user_code") {
            answered.push("code");
        } else {
            panic!("an unexpected form at {url} (status {status}): {page}");
        }
        let action = url.join(&form.action).unwrap();
        response = browser
            .post(action)
            .form(&form.fields)
            .send()
            .await
            .unwrap();
    }
    panic!("the login did not end after 8 pages");
}

fn bearer(md: &flyteauth::Metadata) -> String {
    md.get("flyte-authorization")
        .expect("the token under the server's authorization_metadata_key")
        .strip_prefix("Bearer ")
        .expect("a bearer token")
        .to_owned()
}

/// The refresh token of the login cached in the keyring for `front` (where pyflyte and
/// flytectl would find it too), waiting up to 10 s for it to be written.
async fn cached_refresh_token(front: &FlyteFront, not: Option<&str>) -> String {
    let cache = Arc::new(KeyringCache::new(&front.endpoint()));
    for _ in 0..100 {
        let cache = Arc::clone(&cache);
        let cached = tokio::task::spawn_blocking(move || cache.load())
            .await
            .unwrap()
            .and_then(|t| t.refresh_secret().map(str::to_owned));
        if let Some(token) = cached.filter(|t| Some(t.as_str()) != not) {
            return token;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no (new) refresh token in the keyring for {}",
        front.endpoint()
    );
}

/// Log in with PKCE through Keycloak's pages; returns the access token.
async fn pkce_login(
    kc: &Keycloak,
    auth: &Authenticator,
    prompts: &Arc<Mutex<mpsc::Receiver<Prompt>>>,
) -> (String, Arc<flyteauth::Metadata>) {
    let login = tokio::spawn({
        let auth = auth.clone();
        async move { auth.metadata().await }
    });
    let url = match next_prompt(prompts).await {
        Prompt::Browser { url } => url,
        other => panic!("expected a browser prompt, got {other:?}"),
    };
    let (status, page, answered) = person_logs_in(kc, &url).await;
    assert_eq!(
        (status, answered),
        (200, vec!["login"]),
        "Keycloak's login form, then flyteauth's callback page: {page}"
    );
    assert!(page.contains("You are logged in"), "{page}");
    let md = tokio::time::timeout(Duration::from_secs(60), login)
        .await
        .expect("the login ends")
        .unwrap()
        .expect("the PKCE login");
    (url, md)
}

/// Client credentials, with the token endpoint found through the Flyte endpoint's discovery:
/// the token is Keycloak's, for the confidential client, and the Flyte API (the resource
/// server, introspecting it at Keycloak as flyteadmin would) finds it active and its own.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Keycloak: make test-keycloak"]
async fn client_credentials_through_discovery() {
    let kc = Keycloak::from_env();
    let front = FlyteFront::start(&kc).await;
    let cfg = json!({"endpoint": front.endpoint(), "insecure": true, "authType": "ClientSecret",
                     "clientId": kc.client_id, "clientSecret": kc.client_secret});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let md = tokio::time::timeout(Duration::from_secs(60), auth.metadata())
        .await
        .expect("bounded")
        .expect("a client-credentials token from Keycloak");
    let token = bearer(&md);
    assert!(
        front.discovery_requests().await >= 1,
        "found through discovery"
    );
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], kc.issuer.as_str());
    assert_eq!(claims["azp"], kc.client_id.as_str());

    let response = scripted_browser()
        .post(kc.endpoint("token/introspect"))
        .basic_auth(&kc.resource_client_id, Some(&kc.resource_client_secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    let introspection: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["client_id"], kc.client_id.as_str());
    let audience = &introspection["aud"];
    assert!(
        audience == kc.resource_client_id.as_str()
            || audience
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == kc.resource_client_id.as_str())),
        "the Flyte API is in the audience: {introspection}"
    );
}

/// PKCE: the person signs in on Keycloak's real login form; Keycloak redirects to flyteauth's
/// loopback callback; the token is the user's.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Keycloak: make test-keycloak"]
async fn pkce_login_through_keycloaks_login_form() {
    let kc = Keycloak::from_env();
    let front = FlyteFront::start(&kc).await;
    let (auth, prompts) = interactive(&front, "Pkce", "memory");
    let (url, md) = pkce_login(&kc, &auth, &prompts).await;
    let query: std::collections::HashMap<String, String> = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(url.starts_with(&kc.endpoint("auth")), "{url}");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], kc.public_client_id);

    let token = bearer(&md);
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], kc.issuer.as_str());
    assert_eq!(claims["azp"], kc.public_client_id.as_str());
    let (status, userinfo) = kc.userinfo(&token).await;
    assert_eq!(status, 200, "{userinfo}");
    assert_eq!(userinfo["preferred_username"], kc.user.as_str());
}

/// The device flow on the same public client, which requires PKCE: Keycloak refuses a device
/// authorization request without a code challenge, and flyteauth's login (which sends one,
/// and the verifier on its polls) succeeds once the person approves the code on Keycloak's
/// device page: signs in, then grants access.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Keycloak: make test-keycloak"]
async fn device_flow_on_the_pkce_required_public_client() {
    let kc = Keycloak::from_env();
    let front = FlyteFront::start(&kc).await;
    let device_endpoint = front.metadata["device_authorization_endpoint"]
        .as_str()
        .expect("Keycloak advertises the device flow")
        .to_owned();
    let (status, refused) = post_form(
        &device_endpoint,
        &[("client_id", &kc.public_client_id), ("scope", "openid")],
    )
    .await;
    assert_eq!(
        status, 400,
        "PKCE is required for this client (Keycloak's error: {})",
        refused["error"]
    );

    let (auth, prompts) = interactive(&front, "DeviceFlow", "memory");
    let login = tokio::spawn({
        let auth = auth.clone();
        async move { auth.metadata().await }
    });
    let (complete, user_code) = match next_prompt(&prompts).await {
        Prompt::DeviceCode {
            verification_uri_complete,
            user_code,
            ..
        } => (
            verification_uri_complete.expect("Keycloak sends verification_uri_complete"),
            user_code,
        ),
        other => panic!("expected a device code prompt, got {other:?}"),
    };
    assert!(complete.contains(&user_code), "{complete}");
    let (status, page, answered) = person_logs_in(&kc, &complete).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        answered.contains(&"login") && answered.contains(&"consent"),
        "{answered:?}: {page}"
    );
    let md = tokio::time::timeout(Duration::from_secs(90), login)
        .await
        .expect("the device login ends")
        .unwrap()
        .expect("the device login");
    let token = bearer(&md);
    assert_eq!(jwt_claims(&token)["azp"], kc.public_client_id.as_str());
    let (status, userinfo) = kc.userinfo(&token).await;
    assert_eq!(status, 200, "{userinfo}");
    assert_eq!(userinfo["preferred_username"], kc.user.as_str());
}

/// Rotation after a real expiry (the public client's access tokens live 10 s): once the first
/// access token has expired (Keycloak refuses it), flyteauth answers a new one that Keycloak
/// accepts, the keyring holds a new refresh token, and Keycloak refuses the first refresh
/// token (rotation with reuse detection).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Keycloak and a Secret Service: make test-keycloak"]
async fn refresh_token_rotation_after_expiry() {
    let kc = Keycloak::from_env();
    let front = FlyteFront::start(&kc).await;
    let (auth, prompts) = interactive(&front, "Pkce", "keyring");
    let (_, md) = pkce_login(&kc, &auth, &prompts).await;
    let first = bearer(&md);
    let first_refresh = cached_refresh_token(&front, None).await;
    let expires = md.expires_at().expect("the token's expiry");
    let lifetime = expires
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    assert!(lifetime <= Duration::from_secs(11), "{lifetime:?}");

    // Past the expiry (and Keycloak's whole-second exp) by a margin: no tight timing.
    tokio::time::sleep(lifetime + Duration::from_secs(2)).await;
    let (status, _) = kc.userinfo(&first).await;
    assert_eq!(status, 401, "Keycloak still accepts the first token");

    let md = tokio::time::timeout(Duration::from_secs(60), auth.metadata())
        .await
        .expect("bounded")
        .expect("a refreshed token");
    let second = bearer(&md);
    assert!(first != second, "a new access token");
    let (status, userinfo) = kc.userinfo(&second).await;
    assert_eq!(status, 200, "the refreshed token works: {userinfo}");
    assert!(
        prompts.lock().unwrap().try_recv().is_err(),
        "refreshed, not a second login"
    );
    let second_refresh = cached_refresh_token(&front, Some(&first_refresh)).await;
    assert!(first_refresh != second_refresh, "a rotated refresh token");
    let (status, body) = kc.refresh_with(&first_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the first refresh token is refused after rotation (Keycloak's error: {})",
        body["error"]
    );
}

/// Logout: flyteauth revokes the refresh token at Keycloak's revocation endpoint (RFC 7009),
/// which flyteadmin does not relay: it is in the issuer's own discovery document. Keycloak
/// refuses the refresh token afterwards (`invalid_grant`), the keyring no longer holds the
/// login, and the session's access token is no longer accepted either.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Keycloak and a Secret Service: make test-keycloak"]
async fn logout_revokes_the_session_at_keycloak() {
    let kc = Keycloak::from_env();
    let front = FlyteFront::start(&kc).await;
    assert!(
        front.metadata.get("revocation_endpoint").is_none(),
        "flyteadmin does not relay the revocation endpoint"
    );
    let (auth, prompts) = interactive(&front, "Pkce", "keyring");
    let (_, md) = pkce_login(&kc, &auth, &prompts).await;
    let access = bearer(&md);
    let refresh = cached_refresh_token(&front, None).await;
    assert_eq!(kc.userinfo(&access).await.0, 200, "logged in");

    tokio::time::timeout(Duration::from_secs(60), auth.logout())
        .await
        .expect("logout is bounded");

    let (status, body) = kc.refresh_with(&refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "Keycloak still accepts the refresh token after logout (its error: {})",
        body["error"]
    );
    let cache = KeyringCache::new(&front.endpoint());
    let cached = tokio::task::spawn_blocking(move || cache.load())
        .await
        .unwrap();
    assert!(cached.is_none(), "the login is gone from the keyring");
    assert!(auth.fresh_metadata().is_none(), "and from memory");
    let (status, _) = kc.userinfo(&access).await;
    assert_eq!(
        status, 401,
        "the session's access token is refused after logout"
    );
}
