//! Discovery over gRPC: a flyteadmin whose ingress routes only gRPC answers the HTTP routes
//! with 404, and serves `flyteidl.service.AuthMetadataService` over gRPC. The server is a real
//! gRPC server built from flyteidl's generated Go service (tests/fixtures/flyteadmin), answering
//! from the real IdP fixture's discovery document.

mod common;

use common::flyteadmin::Admin;
use common::{jwt_claims, Idp, Pki, AUDIENCE, CLIENT_ID, CLIENT_SECRET};
use flyteauth::{Authenticator, ErrorKind};
use serde_json::{json, Value};

const GET_METADATA: &str = "/flyteidl.service.AuthMetadataService/GetOAuth2Metadata";
const GET_CLIENT_CONFIG: &str = "/flyteidl.service.AuthMetadataService/GetPublicClientConfig";
const HTTP_METADATA: &str = "http GET /.well-known/oauth-authorization-server";
const HTTP_CLIENT_CONFIG: &str = "http GET /config/v1/flyte_client";

#[test]
fn a_token_through_grpc_discovery_while_the_http_routes_answer_404() {
    let idp = Idp::start(&[]);
    let admin = Admin::for_idp(&idp);
    // The fixture read the IdP's discovery document when it started; count from here.
    idp.reset_stats();
    let auth = Authenticator::from_json(&admin.cc_config(json!({}))).unwrap();

    // Several threads at once on a fresh authenticator: still one discovery.
    let headers: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| auth.metadata_blocking(None).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let md = &headers[0];
    let value = md
        .get("flyte-authorization")
        .unwrap_or_else(|| panic!("the gRPC client config's header key: {md:?}"));
    let claims = jwt_claims(value.strip_prefix("Bearer ").unwrap());
    assert_eq!(
        claims["iss"], idp.url,
        "token_endpoint from GetOAuth2Metadata"
    );
    assert_eq!(
        claims["aud"], AUDIENCE,
        "audience from GetPublicClientConfig"
    );
    assert_eq!(claims["client_id"], CLIENT_ID);

    // A new token later: discovery is not repeated.
    auth.refresh_blocking(None).unwrap();
    auth.metadata_blocking(None).unwrap();
    assert_eq!(idp.client_credentials_requests(), 2);
    assert_eq!(admin.calls(GET_METADATA), 1, "{}", admin.stats());
    assert_eq!(admin.calls(GET_CLIENT_CONFIG), 1, "{}", admin.stats());
    assert!(
        admin.calls(HTTP_METADATA) + admin.calls(HTTP_CLIENT_CONFIG) >= 1,
        "HTTP is tried first (auto): {}",
        admin.stats()
    );
    assert_eq!(
        idp.stats()["discovery_requests"],
        0,
        "the IdP's own discovery is never asked: {}",
        idp.stats()
    );

    // Another authenticator discovers once more, once.
    let other = Authenticator::from_json(&admin.cc_config(json!({}))).unwrap();
    other.metadata_blocking(None).unwrap();
    assert_eq!(admin.calls(GET_METADATA), 2, "{}", admin.stats());
    assert_eq!(admin.calls(GET_CLIENT_CONFIG), 2, "{}", admin.stats());
}

/// The header the library hands out is what a gRPC call to flyteadmin needs: ListProjects, a
/// plain unary call over h2c with the metadata attached, is answered (the fixture has the IdP
/// check the token); without it, UNAUTHENTICATED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_authorizes_a_grpc_call_to_admin_service() {
    let idp = Idp::start(&[]);
    let admin = Admin::for_idp(&idp);
    let auth = Authenticator::from_json(&admin.cc_config(json!({}))).unwrap();
    let md = auth.metadata().await.unwrap();
    let call = |headers: Vec<(String, String)>| {
        let url = format!(
            "http://{}/flyteidl.service.AdminService/ListProjects",
            admin.endpoint()
        );
        async move {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let client = reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .unwrap();
            let mut request = client
                .post(url)
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(vec![0u8, 0, 0, 0, 0]);
            for (k, v) in headers {
                request = request.header(k, v);
            }
            let response = http::Response::<reqwest::Body>::from(request.send().await.unwrap());
            let (parts, body) = response.into_parts();
            let collected = http_body_util::BodyExt::collect(body).await.unwrap();
            let trailers = collected.trailers().cloned().unwrap_or_default();
            let status = trailers
                .get("grpc-status")
                .or_else(|| parts.headers.get("grpc-status"))
                .map(|v| v.to_str().unwrap().to_owned());
            (status, collected.to_bytes())
        }
    };
    let headers: Vec<(String, String)> = md
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let (status, body) = call(headers).await;
    assert_eq!(
        status.as_deref(),
        Some("0"),
        "ListProjects with the metadata"
    );
    assert!(
        body.windows(b"flytesnacks".len())
            .any(|w| w == b"flytesnacks"),
        "a project in the answer"
    );
    let (status, _) = call(Vec::new()).await;
    assert_eq!(status.as_deref(), Some("16"), "UNAUTHENTICATED without it");
}

#[test]
fn forced_grpc_discovery_never_asks_the_http_routes() {
    let idp = Idp::start(&[]);
    let admin = Admin::for_idp(&idp);
    let auth = Authenticator::from_json(&admin.cc_config(json!({"discovery": "grpc"}))).unwrap();
    auth.metadata_blocking(None).unwrap();
    let stats = admin.stats();
    assert_eq!(admin.calls(GET_METADATA), 1, "{stats}");
    assert_eq!(admin.calls(HTTP_METADATA), 0, "{stats}");
    assert_eq!(admin.calls(HTTP_CLIENT_CONFIG), 0, "{stats}");
}

/// `proxyCommand`'s token goes on the gRPC discovery calls too, as on every HTTP request to
/// the endpoint (an IAP-style gateway in front of flyteadmin needs it on every call).
#[test]
fn the_proxy_token_reaches_the_grpc_calls() {
    let idp = Idp::start(&[]);
    let admin = Admin::for_idp(&idp);
    let auth = Authenticator::from_json(&admin.cc_config(json!({
        "discovery": "grpc", "proxyCommand": ["echo", "iap-token"]
    })))
    .unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    assert_eq!(md.get("proxy-authorization"), Some("Bearer iap-token"));
    let stats = admin.stats();
    assert_eq!(
        admin.calls("grpc proxy-authorization Bearer iap-token"),
        2,
        "GetOAuth2Metadata and GetPublicClientConfig: {stats}"
    );
}

#[test]
fn forced_http_discovery_never_tries_grpc() {
    let idp = Idp::start(&[]);
    let admin = Admin::for_idp(&idp);
    let auth = Authenticator::from_json(&admin.cc_config(json!({"discovery": "http"}))).unwrap();
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Discovery, "{e}");
    assert!(e.message().contains("404"), "{e}");
    assert!(!e.message().contains("gRPC"), "gRPC was not tried: {e}");
    let stats = admin.stats();
    assert_eq!(admin.calls(GET_METADATA), 0, "{stats}");
    assert_eq!(admin.calls(GET_CLIENT_CONFIG), 0, "{stats}");
    assert!(
        admin.calls(HTTP_METADATA) + admin.calls(HTTP_CLIENT_CONFIG) >= 1,
        "{stats}"
    );
}

#[test]
fn a_server_without_auth_metadata_service_gives_an_actionable_error() {
    let admin = Admin::start(&["-no-auth-metadata"]);
    let auth = Authenticator::from_json(&admin.cc_config(json!({}))).unwrap();
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Discovery, "{e}");
    let message = e.message();
    for expected in [
        "AuthMetadataService",
        "tokenUrl",
        "404",
        "UNIMPLEMENTED",
        "gRPC",
    ] {
        assert!(message.contains(expected), "{expected:?} in: {message}");
    }
    assert!(!message.contains(CLIENT_SECRET), "{message}");

    // The same with only gRPC allowed.
    let auth = Authenticator::from_json(&admin.cc_config(json!({"discovery": "grpc"}))).unwrap();
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Discovery, "{e}");
    assert!(e.message().contains("UNIMPLEMENTED"), "{e}");
    assert!(e.message().contains("tokenUrl"), "{e}");
}

/// gRPC over TLS takes the same certificate settings as HTTP: the test CA from
/// `caCertFilePath` is trusted for the gRPC call and for the (https) IdP alike; without it the
/// gRPC call fails on the certificate.
#[test]
fn grpc_discovery_over_tls_trusts_ca_cert_file_path() {
    let pki = Pki::new();
    let idp = pki.start_https_idp();
    let admin = Admin::start(&[
        "-idp",
        &idp.url,
        "-idp-ca",
        &pki.path("ca.pem"),
        "-tls-cert",
        &pki.path("server.pem"),
        "-tls-key",
        &pki.path("server.key"),
    ]);
    let config = |extra: Value| {
        let mut cfg: Value = serde_json::from_str(&admin.cc_config(extra)).unwrap();
        cfg["insecure"] = json!(false);
        cfg.to_string()
    };
    let auth = Authenticator::from_json(&config(
        json!({"discovery": "grpc", "caCertFilePath": pki.path("ca.pem")}),
    ))
    .unwrap();
    let md = auth.metadata_blocking(None).unwrap();
    let claims = jwt_claims(
        md.get("flyte-authorization")
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap(),
    );
    assert_eq!(claims["iss"], idp.url);

    let untrusting = Authenticator::from_json(&config(json!({"discovery": "grpc"}))).unwrap();
    let e = untrusting.metadata_blocking(None).unwrap_err();
    assert!(
        e.message().contains("GetOAuth2Metadata") && e.message().contains("certificate"),
        "{e}"
    );
}

#[test]
fn a_bad_discovery_value_is_a_config_error_naming_the_key() {
    let e = Authenticator::from_json(
        &json!({"endpoint": "flyte.example.com", "authType": "Pkce", "discovery": "carrier-pigeon"})
            .to_string(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.message().contains("discovery"), "{e}");
}
