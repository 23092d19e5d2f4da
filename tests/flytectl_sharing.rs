//! Logins shared with flytectl, through a real Secret Service. flytectl's side is flytectl's
//! own code: its keyring token cache (`flytectl/pkg/pkce`, v0.9.4) and flyteidl's admin client
//! (v1.13.0) with its device flow, wired as flytectl's `get project` wires them
//! (tests/fixtures/flytectl; a flytectl binary cannot be built from the Go module proxy). It
//! calls `AdminService/ListProjects` on the flyteadmin fixture (gRPC only, checking every token
//! at the IdP fixture), and the `flyteauth` CLI reads the same config file.
//!
//! - a `flyteauth login` is used by flytectl with no login and no token request of its own;
//! - a flytectl login is used by flyteauth; after it expires flyteauth refreshes it, and
//!   flytectl keeps working with what flyteauth wrote: the fixture rotates refresh tokens and
//!   revokes the whole grant when a spent one comes back, so a flytectl left holding its old
//!   refresh token would be asked to log in again (and flyteauth's login would die with it);
//! - after flytectl refreshes on its own, flyteauth uses flytectl's newer tokens instead of
//!   replaying the refresh token it holds.
//!
//! They need the session bus and gnome-keyring, so they are `#[ignore]`d for a plain
//! `cargo test`; `make test-flytectl-sharing` (part of `make test`) runs them:
//!
//! ```sh
//! scripts/with-keyring env FLYTEAUTH_TEST_PYTHON=target/pyenv/bin/python \
//!     cargo test --test flytectl_sharing -- --ignored --test-threads 1
//! ```
//!
//! Tokens are compared, never printed: assertion messages say "values not shown".

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::flyteadmin::Admin;
use common::tools::{
    blocking_refresh, keyring_values, sleep_past_expiry, watch, watch_ok, without_flyte_overrides,
    Run,
};
use common::Idp;
use serde_json::Value;

/// Access-token lifetime in the expiry test. flyteidl's Go client treats a token as expired
/// 10 s before its stated expiry (golang.org/x/oauth2's `expiryDelta`), so a token either
/// tool has just received stays usable to flytectl for about 30 s: far more than a process
/// start on a busy machine.
const EXPIRY_TTL: &str = "40";

/// flytectl's side (tests/fixtures/flytectl), built once per test binary.
fn flytectl_client_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| common::go_fixture("flytectl", "flytectl-client"))
        .clone()
}

/// The IdP fixture, flyteadmin in front of it, and the one config file both tools read.
struct Setup {
    idp: Idp,
    admin: Admin,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    /// A device-flow config for flyteadmin, the IdP fixture started with `env`.
    fn new(env: &[(&str, &str)]) -> Setup {
        let idp = Idp::start(env);
        let admin = Admin::for_idp(&idp);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        // flytectl's refreshTime (how long before expiry it refreshes, default 5 minutes,
        // more than the tokens live here) and flyteauth's tokenRefreshWindow: both short.
        std::fs::write(
            &config,
            format!(
                "admin:\n  endpoint: dns:///{}\n  insecure: true\n  authType: DeviceFlow\n  \
                 tokenRefreshWindow: 2s\n  deviceFlowConfig:\n    refreshTime: 1s\n",
                admin.endpoint()
            ),
        )
        .unwrap();
        Setup {
            idp,
            admin,
            _dir: dir,
            config,
        }
    }

    /// The `ListProjects` calls flyteadmin answered.
    fn list_projects(&self) -> u64 {
        self.admin
            .calls("/flyteidl.service.AdminService/ListProjects")
    }

    /// flytectl's item (service `flytectl`, user `dns:///<endpoint>:flytectl-user`), parsed:
    /// golang.org/x/oauth2's Token as JSON. Fails on none or a duplicate.
    fn flytectl_item(&self) -> Value {
        let values = keyring_values(
            &python(),
            "flytectl",
            &format!("dns:///{}:flytectl-user", self.admin.endpoint()),
        );
        assert_eq!(values.len(), 1, "one item in flytectl's layout");
        serde_json::from_str(&values[0]).expect("flytectl's item is JSON")
    }
}

/// A Python with `secretstorage`, to list the Secret Service items.
fn python() -> String {
    std::env::var("FLYTEAUTH_TEST_PYTHON").expect(
        "FLYTEAUTH_TEST_PYTHON: a Python with secretstorage (make test-flytectl-sharing sets it)",
    )
}

/// flytectl's `get project`, with the shared config: it must list the fixture's project.
/// Fails if it failed or started a login it should not have needed.
fn flytectl(s: &Setup, login_allowed: bool) {
    let mut cmd = Command::new(flytectl_client_binary());
    cmd.arg("-config")
        .arg(&s.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = without_flyte_overrides(&mut cmd)
        .spawn()
        .expect("start flytectl's client");
    let run = watch(child, &s.idp, "flytectl get project", login_allowed);
    assert!(
        run.ok,
        "flytectl get project failed; stderr:\n{}",
        run.stderr
    );
    let last = run.stdout.lines().last().unwrap_or_default();
    let listed: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("no JSON result from flytectl's client ({e}): {last:?}"));
    assert!(
        listed["projects"].as_array().is_some_and(|p| !p.is_empty()),
        "flyteadmin listed the projects: {listed}"
    );
}

/// The `flyteauth` CLI with the shared config.
fn flyteauth(s: &Setup, args: &[&str], login_allowed: bool) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flyteauth"));
    cmd.arg("--config")
        .arg(&s.config)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("flyteauth {}", args.join(" "));
    watch_ok(
        without_flyte_overrides(&mut cmd).spawn().unwrap(),
        &s.idp,
        &what,
        login_allowed,
    )
}

/// `flyteauth token --non-interactive`: the access token it would hand to a tool.
fn flyteauth_token(s: &Setup) -> String {
    flyteauth(s, &["token", "--non-interactive"], false)
        .stdout
        .trim()
        .to_owned()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A login made by `flyteauth login` is flytectl's login: flytectl finds the token in its own
/// keyring item and calls flyteadmin with it, with no login and no token request.
#[test]
#[ignore = "needs a Secret Service: run by `make test-flytectl-sharing`"]
fn a_flyteauth_login_is_used_by_flytectl_without_a_login() {
    let s = Setup::new(&[]);
    flyteauth(&s, &["login"], true);
    assert_eq!(s.idp.device_logins(), 1);
    let token = flyteauth_token(&s);
    assert!(
        text(&s.flytectl_item()["access_token"]) == token,
        "flyteauth wrote its login in flytectl's layout (values not shown)"
    );
    let requests = s.idp.token_requests();
    flytectl(&s, false);
    assert_eq!(s.list_projects(), 1, "flytectl called flyteadmin");
    assert_eq!(
        s.idp.token_requests(),
        requests,
        "flytectl made no token request"
    );
    assert_eq!(s.idp.device_logins(), 1, "flytectl started no login");
}

/// A flytectl login, refreshed by flyteauth after it expires, still works in flytectl; and
/// a refresh flytectl then makes on its own is what flyteauth uses next. With the fixture's
/// rotating refresh tokens, a tool that kept a spent refresh token would revoke the grant.
#[test]
#[ignore = "needs a Secret Service: run by `make test-flytectl-sharing`"]
fn a_flytectl_login_refreshed_by_flyteauth_still_works_in_flytectl() {
    let s = Setup::new(&[("IDP_ACCESS_TOKEN_TTL", EXPIRY_TTL)]);

    // flytectl logs in (the device flow, approved by the scripted person).
    flytectl(&s, true);
    assert_eq!(s.idp.device_logins(), 1);
    let login = s.flytectl_item();
    let first = text(&login["access_token"]).to_owned();
    assert!(!first.is_empty(), "flytectl stored its login");

    // flyteauth uses it as it is.
    let requests = s.idp.token_requests();
    assert!(
        flyteauth_token(&s) == first,
        "flyteauth hands out flytectl's token (values not shown)"
    );
    assert_eq!(s.idp.token_requests(), requests, "without a token request");

    // After expiry flyteauth refreshes with flytectl's refresh token (which the IdP rotates),
    // and writes the result back to flytectl's item too.
    sleep_past_expiry(&first);
    let fresh = flyteauth_token(&s);
    assert!(
        fresh != first,
        "flyteauth has a new token (values not shown)"
    );
    assert_eq!(s.idp.refresh_grants(), 1, "flyteauth refreshed once");
    let after = s.flytectl_item();
    assert!(
        text(&after["access_token"]) == fresh,
        "flytectl's item holds flyteauth's new access token (values not shown)"
    );
    assert!(
        text(&after["refresh_token"]) != text(&login["refresh_token"]),
        "flytectl's item holds the rotated refresh token, not the spent one (values not shown)"
    );

    // flytectl works with it, and after that expires too, it refreshes with the refresh
    // token flyteauth wrote: never a login.
    flytectl(&s, false);
    sleep_past_expiry(&fresh);
    flytectl(&s, false);
    assert_eq!(s.idp.device_logins(), 1, "flytectl started no login");
    assert!(
        s.idp.refresh_grants() >= 2,
        "flytectl refreshed on its own after the second expiry"
    );
    let flytectls = s.flytectl_item();
    let newest = text(&flytectls["access_token"]).to_owned();
    assert!(
        newest != fresh,
        "flytectl stored its refresh (values not shown)"
    );

    // flyteauth now uses flytectl's newer tokens: the refresh token in flyteauth's own
    // layout was spent by flytectl's refresh, and replaying it would revoke the grant.
    let refreshes = s.idp.refresh_grants();
    assert!(
        flyteauth_token(&s) == newest,
        "flyteauth hands out flytectl's refreshed token (values not shown)"
    );
    assert_eq!(
        s.idp.refresh_grants(),
        refreshes,
        "without a refresh of its own"
    );
    assert_eq!(s.idp.device_logins(), 1);

    // The grant is alive: the refresh token both tools now hold is accepted.
    let status = blocking_refresh(&s.idp, text(&s.flytectl_item()["refresh_token"]));
    assert_eq!(status, 200, "the last refresh token still works at the IdP");
}
