//! The real identity provider for integration tests: node-oidc-provider from
//! `tests/fixtures/idp`, one process per test, on an ephemeral loopback port.

#![allow(dead_code)]

pub mod flyteadmin;
pub mod tools;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running fixture; killed on drop.
pub struct Idp {
    child: Child,
    /// The issuer: `http://127.0.0.1:<port>` (`https://` with `IDP_TLS_CERT`).
    pub url: String,
    /// `127.0.0.1:<port>` (use with `"insecure": true`).
    pub endpoint: String,
    pub port: u16,
}

pub const CLIENT_ID: &str = "test-confidential";
pub const CLIENT_SECRET: &str = "test-secret";
pub const AUDIENCE: &str = "https://flyte.test/api";

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/idp")
}

impl Idp {
    /// Start the fixture with extra environment (`IDP_*`, `FLYTE_*`, see its README).
    pub fn start(env: &[(&str, &str)]) -> Idp {
        capture_library_logs();
        // One start at a time per test binary: a dozen node processes generating RSA keys at
        // once on a 2-core machine can take longer than the readiness timeout.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|p| p.into_inner());
        let dir = fixture_dir();
        assert!(
            dir.join("node_modules").is_dir(),
            "the IdP fixture is not installed: run `npm ci` in {} (`make test` does it)",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg("server.js")
            .current_dir(&dir)
            .env("IDP_PORT", "0")
            .env("IDP_EXIT_WITH_STDIN", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node (is Node.js installed?)");
        let stdout = child.stdout.take().unwrap();
        // From here on the process is owned by an `Idp`, so a failed start (a panic below)
        // still kills it instead of leaving an orphan that holds the test's stderr open.
        let mut idp = Idp {
            child,
            url: String::new(),
            endpoint: String::new(),
            port: 0,
        };
        let ready = ready_line(stdout, "the IdP fixture", &mut idp.child);
        idp.port = ready["port"].as_u64().expect("port in ready line") as u16;
        idp.url = ready["issuer"]
            .as_str()
            .expect("issuer in ready line")
            .to_owned();
        idp.endpoint = format!("127.0.0.1:{}", idp.port);
        idp
    }

    /// The fixture's request counters (`GET /_test/stats`).
    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.http("GET", "/_test/stats")).expect("stats JSON")
    }

    /// The counter at `path` in [`Idp::stats`] (0 when absent), e.g.
    /// `["token_by_grant", "refresh_token"]`.
    pub fn stat(&self, path: &[&str]) -> u64 {
        let mut v = self.stats();
        for p in path {
            v = v[*p].take();
        }
        v.as_u64().unwrap_or(0)
    }

    /// Device authorizations started: one per device-flow login, by any tool.
    pub fn device_logins(&self) -> u64 {
        self.stat(&["device_auth_requests"])
    }

    /// Refresh-token grants answered (accepted or refused).
    pub fn refresh_grants(&self) -> u64 {
        self.stat(&["token_by_grant", "refresh_token"])
    }

    /// Token-endpoint requests answered, of every grant.
    pub fn token_requests(&self) -> u64 {
        self.stat(&["token_requests"])
    }

    /// How many client-credentials token requests the IdP has answered.
    pub fn client_credentials_requests(&self) -> u64 {
        self.stats()["token_by_grant"]["client_credentials"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Zero the counters.
    pub fn reset_stats(&self) {
        self.http("POST", "/_test/reset");
    }

    /// Take the token endpoint down (503) or bring it back.
    pub fn set_token_endpoint_down(&self, down: bool) {
        self.http("POST", if down { "/_test/down" } else { "/_test/up" });
    }

    /// From now on, refuse every refresh-token grant (`invalid_grant`), as if an
    /// administrator had revoked the grants.
    pub fn refuse_refresh(&self) {
        self.http("POST", "/_test/refuse-refresh");
    }

    /// Refuse every client-credentials token request (`401 invalid_client`, as if the
    /// client had been disabled at the IdP) until called with `false`.
    pub fn refuse_clients(&self, refuse: bool) {
        self.http(
            "POST",
            if refuse {
                "/_test/refuse-clients"
            } else {
                "/_test/accept-clients"
            },
        );
    }

    /// Token requests per wall-clock second since start or the last reset, as
    /// `(seconds since the epoch, count)` in time order; seconds without a request are absent.
    pub fn token_requests_by_second(&self) -> Vec<(u64, u64)> {
        let stats = self.stats();
        let mut by_second: Vec<(u64, u64)> = stats["token_requests_by_second"]
            .as_object()
            .expect("token_requests_by_second in the stats")
            .iter()
            .map(|(s, n)| (s.parse().expect("epoch seconds"), n.as_u64().unwrap_or(0)))
            .collect();
        by_second.sort_unstable();
        by_second
    }

    /// A minimal HTTP/1.0 exchange with the fixture's instrumentation routes (test-only; the
    /// library's own requests never go through here).
    fn http(&self, method: &str, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        resp.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }

    /// A client-credentials config for this fixture, as JSON, merged with `extra`.
    pub fn cc_config(&self, extra: serde_json::Value) -> String {
        cc_config_for(&self.endpoint, extra)
    }
}

/// A client-credentials config with the fixture's client for `endpoint` (plaintext:
/// `insecure`), as JSON, merged with `extra`.
pub fn cc_config_for(endpoint: &str, extra: serde_json::Value) -> String {
    let mut cfg = serde_json::json!({
        "endpoint": endpoint,
        "insecure": true,
        "authType": "ClientSecret",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
    });
    for (k, v) in extra.as_object().expect("an object") {
        cfg[k] = v.clone();
    }
    cfg.to_string()
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The token requests an authenticator that refreshes in the background may make during
/// `window` (from before its first call to the moment the IdP's counters are read), with
/// tokens of `ttl` from the fixture (`IDP_ACCESS_TOKEN_TTL`), by the library's refresh rule:
/// a token is refreshed `refresh_lead(lifetime)` before it expires, jittered to 75-100 % of
/// that, where the lifetime runs from just before the request and is at most what the JWT's
/// whole-second `exp` leaves (so between `ttl` less a second, less the request's latency,
/// and `ttl`).
///
/// - At most: the first request, plus one per shortest gap (`lifetime - lead` for the
///   shortest lifetime), plus one whole refresh of slack (a slow request shortens the next
///   lifetime a little more).
/// - At least: the first request, plus one per longest gap (`ttl - 0.75 * lead`), less one
///   whole refresh of slack (a timer or a request delayed by a busy machine).
///
/// Neither bound depends on the number of calling threads: a refresh per thread, or per
/// call, is far above the upper bound.
pub fn refresh_request_bounds(ttl: Duration, window: Duration) -> std::ops::RangeInclusive<u64> {
    use flyteauth::authenticator::refresh_lead;
    let shortest_lifetime = ttl.saturating_sub(Duration::from_secs(1));
    let shortest_gap = shortest_lifetime - refresh_lead(shortest_lifetime, None);
    let longest_gap = ttl - refresh_lead(ttl, None).mul_f64(0.75);
    let gaps = |gap: Duration| (window.as_secs_f64() / gap.as_secs_f64()).floor() as u64;
    let most = 1 + gaps(shortest_gap) + 1;
    let least = (1 + gaps(longest_gap)).saturating_sub(1).max(1);
    least..=most
}

/// The claims of a JWT, decoded without verification.
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// A scripted person's browser: a cookie jar that follows redirects (plain HTTP to the
/// fixture; no real browser). The real-browser test uses Chromium instead.
pub fn scripted_browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(20))
        .build()
        .expect("test HTTP client")
}

/// A refresh grant at the fixture's token endpoint as its public client, what pyflyte or
/// flytectl does with the refresh token it holds: the HTTP status (200: the token was good;
/// 400: spent or revoked) and the JSON body (`Null` when it is not JSON).
pub async fn public_refresh_grant(idp: &Idp, refresh_token: &str) -> (u16, serde_json::Value) {
    let response = scripted_browser()
        .post(format!("{}/token", idp.url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "test-public"),
        ])
        .send()
        .await
        .expect("the IdP answers");
    let status = response.status().as_u16();
    let body =
        serde_json::from_slice(&response.bytes().await.unwrap_or_default()).unwrap_or_default();
    (status, body)
}

/// Approve (or deny) a device code at the fixture: GET /device for the xsrf token, then
/// POST the code with confirm=yes (or abort=yes).
pub async fn answer_device_code(idp_url: &str, user_code: &str, approve: bool) {
    answer_device_code_with(scripted_browser(), idp_url, user_code, approve).await
}

/// [`answer_device_code`] with a given browser (e.g. one that trusts a test CA).
pub async fn answer_device_code_with(
    browser: reqwest::Client,
    idp_url: &str,
    user_code: &str,
    approve: bool,
) {
    let page = browser
        .get(format!("{idp_url}/device"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"xsrf\" value=\"";
    let start = page.find(marker).expect("xsrf field on the device page") + marker.len();
    let xsrf = &page[start..start + page[start..].find('"').unwrap()];
    let answer = if approve { "confirm" } else { "abort" };
    let response = browser
        .post(format!("{idp_url}/device"))
        .form(&[("xsrf", xsrf), ("user_code", user_code), (answer, "yes")])
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "device answer: {}",
        response.status()
    );
}

/// Sends the library's `log` records, at every level, somewhere a person (and
/// `scripts/check-secrets`) can read them: appended to `$FLYTEAUTH_TEST_LOG_DIR/rust-library.log`
/// when that is set (`make test` sets it), else to stderr, which the test harness shows for
/// failing tests. Safe to call many times.
pub fn capture_library_logs() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let file = std::env::var_os("FLYTEAUTH_TEST_LOG_DIR").and_then(|dir| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(PathBuf::from(dir).join("rust-library.log"))
                .ok()
        });
        let logger = Box::leak(Box::new(TestLogger {
            file: file.map(std::sync::Mutex::new),
        }));
        if log::set_logger(logger).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

struct TestLogger {
    file: Option<std::sync::Mutex<std::fs::File>>,
}

impl log::Log for TestLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        // Everything the library says; only warnings and errors from its dependencies.
        m.target().starts_with("flyteauth") || m.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!(
            "[{} {}] {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        match &self.file {
            Some(f) => {
                let _ = f
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .write_all(line.as_bytes());
            }
            None => eprint!("{line}"),
        }
    }

    fn flush(&self) {}
}

/// Mount a device-flow login (discovery, device authorization, device-code grant answering
/// `tok-1` with refresh token `refresh-1`) on `server`.
pub async fn mount_device_login(server: &wiremock::MockServer, interval: serde_json::Value) {
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/.well-known/oauth-authorization-server",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "issuer": server.uri(),
                "token_endpoint": format!("{}/token", server.uri()),
                "device_authorization_endpoint": format!("{}/device", server.uri()),
            })),
        )
        .mount(server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/config/v1/flyte_client"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "client_id": "flytectl", "redirect_uri": "http://localhost:53593/callback",
                "scopes": ["offline", "all"], "authorization_metadata_key": "authorization",
            })),
        )
        .mount(server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/device"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "device_code": "device-code-secret", "user_code": "ABCD-EFGH",
                "verification_uri": format!("{}/activate", server.uri()),
                "expires_in": 600, "interval": interval,
            })),
        )
        .mount(server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/token"))
        .and(wiremock::matchers::body_string_contains("device_code"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "tok-1", "token_type": "Bearer", "expires_in": 600,
            "refresh_token": "refresh-1"})),
        )
        .mount(server)
        .await;
}

/// How many requests `server` received whose body contains `fragment` (e.g.
/// `grant_type=refresh_token`).
pub async fn requests_containing(server: &wiremock::MockServer, fragment: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(fragment))
        .count()
}

/// Wait until `server` has received `count` requests whose body contains `fragment`; a
/// generous bound (60 s) turns a hang into a failure that says `what` never happened.
pub async fn wait_for_requests(
    server: &wiremock::MockServer,
    fragment: &str,
    count: usize,
    what: &str,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while requests_containing(server, fragment).await < count {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Answer device-code polls on `server` with `authorization_pending`, before any other mock
/// (the first `times` polls, or all of them with `None`).
pub async fn mount_device_pending(server: &wiremock::MockServer, times: Option<u64>) {
    let mut mock = wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/token"))
        .and(wiremock::matchers::body_string_contains("device_code"))
        .respond_with(
            wiremock::ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "authorization_pending"})),
        )
        .with_priority(1);
    if let Some(n) = times {
        mock = mock.up_to_n_times(n);
    }
    mock.mount(server).await;
}

/// Refuse every refresh-token grant on `server` (`invalid_grant`), after `delay`: a refresh
/// that stays on the wire that long.
pub async fn mount_slow_refused_refresh(server: &wiremock::MockServer, delay: Duration) {
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=refresh_token",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "invalid_grant"}))
                .set_delay(delay),
        )
        .mount(server)
        .await;
}

/// A test CA and a server certificate for 127.0.0.1/localhost signed by it, as PEM files in a
/// temporary directory (`ca.pem`, `server.pem`, `server.key`).
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A test CA and a server certificate for 127.0.0.1/localhost signed by it.
    pub fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "flyteauth test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
        Pki { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The IdP fixture serving HTTPS with the server certificate.
    pub fn start_https_idp(&self) -> Idp {
        Idp::start(&[
            ("IDP_TLS_CERT", &self.path("server.pem")),
            ("IDP_TLS_KEY", &self.path("server.key")),
        ])
    }
}

/// The JSON ready line a fixture process prints first on `stdout` (`{"ready":true,...}`),
/// within 60 s; the rest of `stdout` is drained, so the fixture never blocks on a full pipe.
pub fn ready_line(
    stdout: std::process::ChildStdout,
    what: &str,
    child: &mut Child,
) -> serde_json::Value {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "{what} did not print its ready line within 60 s (process: {:?})",
                child.try_wait()
            )
        });
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{what}: bad ready line {line:?}: {e}"))
}

/// `go build` the Go program in `tests/fixtures/<dir>` into `target/fixtures/<out>`, once per
/// test binary (`make fixture` builds it first; Go's build cache makes this a moment then).
/// Its go.sum pins every module, so the checksum database need not be reachable.
pub fn go_fixture(dir: &str, out: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("target/fixtures").join(out);
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(root.join("tests/fixtures").join(dir))
        .env("GONOSUMDB", "github.com/flyteorg")
        .status()
        .unwrap_or_else(|e| {
            panic!("run `go build` for tests/fixtures/{dir} (is Go installed?): {e}")
        });
    assert!(status.success(), "go build of tests/fixtures/{dir} failed");
    bin
}
