//! Wire format and fault injection against an in-process mock server (wiremock): retries,
//! timeouts, garbage bodies, 404 discovery, the Basic header vectors, discovery caching,
//! proxy-authorization on every request, and single-flight under concurrency.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use flyteauth::{Authenticator, ErrorKind};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "s3cr3t-value-never-logged";

fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in})
}

async fn mount_discovery(server: &MockServer, header_key: &str) {
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": server.uri(),
            "token_endpoint": format!("{}/token", server.uri()),
            "authorization_endpoint": format!("{}/auth", server.uri()),
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/config/v1/flyte_client"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "client_id": "flytectl",
            "redirect_uri": "http://localhost:53593/callback",
            "scopes": ["offline", "all"],
            "authorization_metadata_key": header_key,
            "service_http_endpoint": "",
            "audience": "https://server-audience",
        })))
        .mount(server)
        .await;
}

fn cc_config(server: &MockServer, extra: serde_json::Value) -> String {
    common::capture_library_logs();
    let mut cfg = json!({
        "endpoint": server.uri(),
        "insecure": true,
        "authType": "ClientSecret",
        "clientId": "app",
        "clientSecret": SECRET,
        "maxRetries": 2,
        "perRetryTimeout": "2s",
        "maxBackoffDelay": "50ms",
    });
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    cfg.to_string()
}

async fn token_requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/token")
        .collect()
}

fn assert_no_secret(e: &flyteauth::Error) {
    let text = format!("{e} {e:?}");
    assert!(!text.contains(SECRET), "secret leaked: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_then_client_credentials_with_server_header_scopes_and_audience() {
    let server = MockServer::start().await;
    mount_discovery(&server, "flyte-authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1", 3600)))
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let md = auth.metadata().await.unwrap();
    assert_eq!(
        md.iter().collect::<Vec<_>>(),
        [("flyte-authorization", "Bearer tok-1")]
    );

    let reqs = token_requests(&server).await;
    assert_eq!(reqs.len(), 1);
    let body = String::from_utf8(reqs[0].body.clone()).unwrap();
    assert!(body.contains("grant_type=client_credentials"), "{body}");
    assert!(
        body.contains("scope=offline+all"),
        "server scopes when the config has none: {body}"
    );
    assert!(
        body.contains("audience=https%3A%2F%2Fserver-audience"),
        "{body}"
    );
    assert!(
        !body.contains(SECRET) && !body.contains("client_id"),
        "secret goes in Basic: {body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_header_vectors_from_flytekit() {
    // flytekit test_get_basic_authorization_header: ("client_id","abc") and
    // ("client_id", 'abc%%$?\/\/') - RFC 6749 §2.3.1 form-encoding of both parts.
    for (secret, expected) in [
        ("abc", "Basic Y2xpZW50X2lkOmFiYw=="),
        (
            r"abc%%$?\/\/",
            "Basic Y2xpZW50X2lkOmFiYyUyNSUyNSUyNCUzRiU1QyUyRiU1QyUyRg==",
        ),
    ] {
        let server = MockServer::start().await;
        mount_discovery(&server, "authorization").await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("authorization", expected))
            .respond_with(ResponseTemplate::new(200).set_body_json(token_body("ok", 60)))
            .expect(1)
            .mount(&server)
            .await;
        let cfg = json!({"endpoint": server.uri(), "insecure": true, "authType": "basic",
                         "clientId": "client_id", "clientSecret": secret});
        let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
        let md = auth
            .metadata()
            .await
            .unwrap_or_else(|e| panic!("{secret}: {e}"));
        assert_eq!(md.get("authorization"), Some("Bearer ok"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_scopes_audience_and_header_win_and_skip_client_config() {
    // flytekit test_client_creds_authenticator_with_custom_scopes.
    let server = MockServer::start().await;
    mount_discovery(&server, "flyte-authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("scope=foo+baz"))
        .and(body_string_contains("audience=https%3A%2F%2Fmine"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok", 60)))
        .expect(1)
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(
        &server,
        json!({"scopes": ["foo", "baz"], "audience": "https://mine", "authorizationHeader": "x-auth"}),
    ))
    .unwrap();
    let md = auth.metadata().await.unwrap();
    assert_eq!(md.get("x-auth"), Some("Bearer tok"));
    let fetched_client_config = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .any(|r| r.url.path() == "/config/v1/flyte_client");
    assert!(!fetched_client_config, "nothing left to ask the server");
}

#[tokio::test(flavor = "multi_thread")]
async fn use_audience_from_admin_overrides_the_config() {
    let server = MockServer::start().await;
    mount_discovery(&server, "").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(
            "audience=https%3A%2F%2Fserver-audience",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok", 60)))
        .expect(1)
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(
        &server,
        json!({"audience": "https://mine", "useAudienceFromAdmin": true}),
    ))
    .unwrap();
    let md = auth.metadata().await.unwrap();
    assert_eq!(
        md.get("authorization"),
        Some("Bearer tok"),
        "an empty server key falls back to `authorization`"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_discovery_at_all_when_the_config_has_everything() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok", 60)))
        .mount(&server)
        .await;
    let cfg = json!({"authType": "ClientSecret", "clientId": "app", "clientSecret": SECRET,
        "tokenUrl": format!("{}/token", server.uri()), "scopes": ["all"],
        "authorizationHeader": "authorization"});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    auth.metadata().await.unwrap();
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/token"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_is_fetched_once_per_authenticator() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok", 60)))
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    for _ in 0..3 {
        auth.refresh().await.unwrap();
    }
    let reqs = server.received_requests().await.unwrap();
    let count = |p: &str| reqs.iter().filter(|r| r.url.path() == p).count();
    assert_eq!(count("/token"), 3);
    assert_eq!(count("/.well-known/oauth-authorization-server"), 1);
    assert_eq!(count("/config/v1/flyte_client"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_then_success_is_retried() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("after-500", 60)))
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let md = auth.metadata().await.unwrap();
    assert_eq!(md.get("authorization"), Some("Bearer after-500"));
    assert_eq!(token_requests(&server).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_requests_is_retried_after_retry_after() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("after-429", 60)))
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let md = auth.metadata().await.unwrap();
    assert_eq!(md.get("authorization"), Some("Bearer after-429"));
    assert_eq!(token_requests(&server).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_server_errors_give_up_after_max_retries() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({"maxRetries": 2}))).unwrap();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert_eq!(e.http_status(), Some(503));
    assert!(e.message().contains("3 attempt"), "{e}");
    assert_eq!(
        token_requests(&server).await.len(),
        3,
        "1 attempt + maxRetries"
    );
    assert_no_secret(&e);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_server_times_out_in_bounded_time() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("late", 60))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(
        &server,
        json!({"perRetryTimeout": "300ms", "maxRetries": 1}),
    ))
    .unwrap();
    let started = Instant::now();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(token_requests(&server).await.len(), 2);
    // 2 attempts x 300 ms plus one backoff (<= 50 ms): far below the server's 30 s delay.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_json_token_answer_is_a_protocol_error_without_the_body() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string("<html>leaky-body-content</html>"),
        )
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert_eq!(e.http_status(), Some(200));
    assert!(!e.message().contains("leaky-body-content"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oauth_error_keeps_code_description_and_status() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "client authentication failed"})))
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.http_status(), Some(401));
    assert_eq!(e.oauth_error(), Some("invalid_client"));
    assert_eq!(
        e.oauth_error_description(),
        Some("client authentication failed")
    );
    assert_eq!(token_requests(&server).await.len(), 1, "4xx is not retried");
    assert_no_secret(&e);
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_is_a_network_error() {
    // A port that was just bound and released: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = json!({"endpoint": format!("127.0.0.1:{port}"), "insecure": true,
        "authType": "ClientSecret", "clientId": "app", "clientSecret": SECRET,
        "maxRetries": 1, "maxBackoffDelay": "10ms"});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(
        e.message()
            .contains("/.well-known/oauth-authorization-server"),
        "{e}"
    );
    assert_no_secret(&e);
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_404_says_what_to_configure() {
    let server = MockServer::start().await; // no routes: everything is 404
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Discovery, "{e}");
    assert_eq!(e.http_status(), Some(404));
    assert!(
        e.message().contains("no Flyte AuthMetadataService") && e.message().contains("tokenUrl"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_garbage_is_a_discovery_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Discovery, "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_body_is_refused() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(3 << 20)))
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.message().contains("larger than"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_authorization_goes_on_every_request_and_in_the_metadata() {
    // flytekit test_get_proxy_authenticated_session, and better: the token calls carry it too.
    let server = MockServer::start().await;
    let proxy = "Bearer foo-bar";
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .and(header("proxy-authorization", proxy))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_endpoint": format!("{}/token", server.uri())})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/config/v1/flyte_client"))
        .and(header("proxy-authorization", proxy))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"scopes": ["all"]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("proxy-authorization", proxy))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok", 60)))
        .expect(1)
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(
        &server,
        json!({"proxyCommand": ["echo", "foo-bar"]}),
    ))
    .unwrap();
    let md = auth.metadata().await.unwrap();
    assert_eq!(
        md.iter().collect::<Vec<_>>(),
        [
            ("authorization", "Bearer tok"),
            ("proxy-authorization", "Bearer foo-bar")
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_407_reruns_the_proxy_command_once() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("n");
    // Prints proxy-1, then proxy-2, ...: a new token each run.
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; echo proxy-$n",
        c = counter.display()
    );
    Mock::given(header("proxy-authorization", "Bearer proxy-1"))
        .respond_with(ResponseTemplate::new(407))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("proxy-authorization", "Bearer proxy-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok", 60)))
        .mount(&server)
        .await;
    let cfg = json!({"authType": "ClientSecret", "clientId": "app", "clientSecret": SECRET,
        "tokenUrl": format!("{}/token", server.uri()), "scopes": ["all"],
        "authorizationHeader": "authorization", "proxyCommand": ["sh", "-c", script]});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let md = auth.metadata().await.unwrap();
    assert_eq!(md.get("proxy-authorization"), Some("Bearer proxy-2"));
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "2");
}

#[test]
fn thirty_two_threads_one_token_request() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        mount_discovery(&server, "authorization").await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(token_body("shared", 3600))
                    .set_delay(Duration::from_millis(200)),
            )
            .mount(&server)
            .await;
        server
    });
    let auth = Arc::new(Authenticator::from_json(&cc_config(&server, json!({}))).unwrap());
    let barrier = Arc::new(std::sync::Barrier::new(32));
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let auth = auth.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let md = auth.metadata_blocking(None).unwrap();
                md.get("authorization").unwrap().to_owned()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "Bearer shared");
    }
    assert_eq!(rt.block_on(token_requests(&server)).len(), 1);
    assert_eq!(auth.refresh_count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalidate_refreshes_only_a_current_value() {
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await;
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(move |_: &Request| {
            let i = n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(token_body(&format!("tok-{i}"), 3600))
        })
        .mount(&server)
        .await;
    let auth = Authenticator::from_json(&cc_config(&server, json!({}))).unwrap();
    let first = auth.metadata().await.unwrap();
    assert_eq!(first.get("authorization"), Some("Bearer tok-1"));
    auth.invalidate("Bearer something-else").await.unwrap();
    assert_eq!(
        n.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not current: no refresh"
    );
    let joined = futures::future::join_all((0..16).map(|_| auth.invalidate("Bearer tok-1"))).await;
    assert!(joined.iter().all(Result::is_ok));
    assert_eq!(
        n.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "16 rejections of one token: one refresh"
    );
    assert_eq!(
        auth.metadata().await.unwrap().get("authorization"),
        Some("Bearer tok-2")
    );
    auth.refresh().await.unwrap();
    assert_eq!(
        auth.metadata().await.unwrap().get("authorization"),
        Some("Bearer tok-3")
    );
}

#[test]
fn sixty_four_threads_rejecting_one_value_cost_one_refresh() {
    // A burst of 401s from one expiry: every thread that saw its call rejected invalidates
    // the value it sent, at the same moment. One refresh serves all of them, and every
    // thread then reads the new value.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        mount_discovery(&server, "authorization").await;
        let n2 = n.clone();
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(move |_: &Request| {
                let i = n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                ResponseTemplate::new(200)
                    .set_body_json(token_body(&format!("tok-{i}"), 3600))
                    .set_delay(Duration::from_millis(50))
            })
            .mount(&server)
            .await;
        server
    });
    let auth = Arc::new(Authenticator::from_json(&cc_config(&server, json!({}))).unwrap());
    let stale = auth.metadata_blocking(None).unwrap();
    let stale = stale.get("authorization").unwrap().to_owned();
    let barrier = Arc::new(std::sync::Barrier::new(64));
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let (auth, barrier, stale) = (auth.clone(), barrier.clone(), stale.clone());
            std::thread::spawn(move || {
                // Each thread has used the stale value before it is rejected.
                let seen = auth.metadata_blocking(None).unwrap();
                assert_eq!(seen.get("authorization"), Some(stale.as_str()));
                barrier.wait();
                auth.invalidate_blocking(&stale, None).unwrap();
                let md = auth.metadata_blocking(None).unwrap();
                md.get("authorization").unwrap().to_owned()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "Bearer tok-2");
    }
    assert_eq!(
        n.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "one refresh"
    );
    assert_eq!(rt.block_on(token_requests(&server)).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn device_flow_without_a_device_endpoint_says_to_use_pkce() {
    // flytekit test_get_authenticator_deviceflow: no device endpoint is an error.
    let server = MockServer::start().await;
    mount_discovery(&server, "authorization").await; // its metadata has no device endpoint
    let cfg = json!({"endpoint": server.uri(), "insecure": true, "authType": "DeviceFlow",
                     "tokenCache": "memory"});
    let auth = Authenticator::from_json(&cfg.to_string()).unwrap();
    let e = auth.metadata().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Discovery, "{e}");
    assert!(
        e.message().contains("device_authorization_endpoint") && e.message().contains("Pkce"),
        "{e}"
    );
}
