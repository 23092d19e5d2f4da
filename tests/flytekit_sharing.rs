//! Logins shared with the real flytekit, through a real Secret Service: flytekit's own
//! `flytekit.clients.auth` code (pinned, from PyPI, in `target/flytekit-venv`), driven by
//! `scripts/flytekit-auth.py`, and the `flyteauth` CLI, both configured by the same Flyte
//! `config.yaml`, against the IdP fixture.
//!
//! - a `flyteauth login` is used by flytekit with no login of its own;
//! - a flytekit login is used by `flyteauth token --non-interactive`;
//! - after expiry, each tool refreshes with the refresh token the other wrote, with the
//!   fixture's rotating refresh tokens (a replayed one would revoke the grant), never an
//!   `invalid_grant`;
//! - however many logins and refreshes both make, the keyring holds one item per user.
//!
//! They need the session bus, gnome-keyring and the flytekit venv, so they are `#[ignore]`d
//! for a plain `cargo test`; `make test-flytekit-sharing` (part of `make test`) runs them:
//!
//! ```sh
//! scripts/with-keyring env FLYTEAUTH_TEST_FLYTEKIT_PYTHON=target/flytekit-venv/bin/python \
//!     cargo test --test flytekit_sharing -- --ignored --test-threads 1
//! ```
//!
//! Tokens are compared, never printed: assertion messages say "values not shown".

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tools::{
    blocking_refresh, keyring_items as keyring_items_of, keyring_values as keyring_values_of,
    sleep_past_expiry, watch, watch_ok, without_flyte_overrides, Run,
};
use common::{jwt_claims, Idp};
use serde_json::{json, Value};

/// Access-token lifetime in the expiry tests, and flyteauth's `tokenRefreshWindow` there:
/// a token either tool has just received has about 13 s before flyteauth would refresh it,
/// far more than a process start on a busy machine.
const EXPIRY_TTL: &str = "15";
const REFRESH_WINDOW: &str = "2s";

/// The fixture, and the one Flyte config file both tools read.
struct Setup {
    idp: Idp,
    _dir: tempfile::TempDir,
    config: PathBuf,
    /// `$BROWSER` for both tools (PKCE): the tests' headless Chromium.
    browser: Option<PathBuf>,
}

impl Setup {
    /// A device-flow config for a fixture started with `env`, plus `extra` `admin:` lines.
    fn new(env: &[(&str, &str)], extra: &str) -> Setup {
        Setup::with_auth_type("DeviceFlow", env, extra)
    }

    /// A PKCE config; both tools' browser is headless Chromium (`scripts/headless-browser`),
    /// and the server's redirect URI a free loopback port (flytekit listens on the port the
    /// redirect URI names, flyteadmin's default 53593 might be taken on a shared machine).
    fn pkce() -> Setup {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let redirect = format!("http://localhost:{port}/callback");
        let mut s = Setup::with_auth_type("Pkce", &[("FLYTE_REDIRECT_URI", &redirect)], "");
        s.browser =
            Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/headless-browser"));
        s
    }

    fn with_auth_type(auth_type: &str, env: &[(&str, &str)], extra: &str) -> Setup {
        let idp = Idp::start(env);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        std::fs::write(
            &config,
            format!(
                "admin:\n  endpoint: dns:///{}\n  insecure: true\n  authType: {auth_type}\n{extra}",
                idp.endpoint
            ),
        )
        .unwrap();
        Setup {
            idp,
            _dir: dir,
            config,
            browser: None,
        }
    }
}

fn flytekit_python() -> String {
    std::env::var("FLYTEAUTH_TEST_FLYTEKIT_PYTHON").expect(
        "FLYTEAUTH_TEST_FLYTEKIT_PYTHON: the Python of the flytekit venv (make test-flytekit-sharing sets it)",
    )
}

/// Run `scripts/flytekit-auth.py <command>` in the flytekit venv with the shared config.
fn flytekit_run(s: &Setup, command: &str, login_allowed: bool) -> Run {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/flytekit-auth.py");
    let mut cmd = Command::new(flytekit_python());
    cmd.arg("-u")
        .arg(script)
        .arg(command)
        .env("FLYTECTL_CONFIG", &s.config)
        .env_remove("_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE")
        .env_remove("BROWSER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(browser) = &s.browser {
        cmd.env("BROWSER", browser);
    }
    let child = without_flyte_overrides(&mut cmd)
        .spawn()
        .expect("start the flytekit venv's Python");
    let what = format!("flytekit {command}");
    let run = watch(child, &s.idp, &what, login_allowed);
    assert!(run.ok, "{what} failed; stderr:\n{}", run.stderr);
    run
}

/// The JSON result the driver prints last.
fn result(run: &Run) -> Value {
    let last = run.stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("no JSON result from flytekit ({e})"))
}

/// flytekit's side: `scripts/flytekit-auth.py <command>` (`cached`, `login`, `call`), its
/// JSON result. Fails if flytekit failed, reported an `invalid_grant` or fell back from a
/// failed refresh to a new login.
fn flytekit(s: &Setup, command: &str, login_allowed: bool) -> Value {
    let run = flytekit_run(s, command, login_allowed);
    for bad in ["invalid_grant", "Failed to refresh token"] {
        assert!(
            !run.stderr.contains(bad),
            "flytekit {command}: {bad:?} on stderr:\n{}",
            run.stderr
        );
    }
    result(&run)
}

/// The `flyteauth` CLI with the shared config (in this test's Secret Service).
fn flyteauth_cmd(s: &Setup, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flyteauth"));
    cmd.arg("--config")
        .arg(&s.config)
        .args(args)
        .env_remove("BROWSER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(browser) = &s.browser {
        cmd.env("BROWSER", browser);
    }
    without_flyte_overrides(&mut cmd);
    cmd
}

fn flyteauth(s: &Setup, args: &[&str], login_allowed: bool) -> Run {
    let what = format!("flyteauth {}", args.join(" "));
    watch_ok(
        flyteauth_cmd(s, args).spawn().unwrap(),
        &s.idp,
        &what,
        login_allowed,
    )
}

/// `flyteauth login` through the device flow, the code approved by the scripted person.
fn flyteauth_login(s: &Setup) {
    flyteauth(s, &["login"], true);
}

/// `flyteauth token --non-interactive`: the access token it would hand to a tool, with no
/// prompt possible.
fn flyteauth_token(s: &Setup) -> String {
    flyteauth(s, &["token", "--non-interactive"], false)
        .stdout
        .trim()
        .to_owned()
}

/// Every Secret Service item, listed by the flytekit venv.
fn keyring_items() -> Vec<(Value, String)> {
    keyring_items_of(&flytekit_python())
}

/// The secrets of the items with `service` and `username`, listed by the flytekit venv.
fn keyring_values(service: &str, username: &str) -> Vec<String> {
    keyring_values_of(&flytekit_python(), service, username)
}

/// The one value of flytekit's item `username` (fails on none or a duplicate).
fn flytekit_item(s: &Setup, username: &str) -> String {
    let values = keyring_values(&s.idp.endpoint, username);
    assert_eq!(values.len(), 1, "one {username} item in flytekit's layout");
    values.into_iter().next().unwrap()
}

/// flytectl's item (the layout flyteauth also writes), parsed.
fn flytectl_item(s: &Setup) -> Value {
    let values = keyring_values(
        "flytectl",
        &format!("dns:///{}:flytectl-user", s.idp.endpoint),
    );
    assert_eq!(values.len(), 1, "one item in flytectl's layout");
    serde_json::from_str(&values[0]).expect("flytectl's item is JSON")
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A login made by `flyteauth login` is flytekit's login: its authenticator finds the tokens
/// in the keyring when it is built and calls the API with them, with no login and no token
/// request of its own.
#[test]
#[ignore = "needs a Secret Service and the flytekit venv: run by `make test-flytekit-sharing`"]
fn a_flyteauth_login_is_used_by_flytekit_without_a_login() {
    let s = Setup::new(&[], "");
    flyteauth_login(&s);
    assert_eq!(s.idp.device_logins(), 1, "flyteauth's device login");
    let ours = flyteauth_token(&s);
    let refresh = flytekit_item(&s, "refresh_token");
    let requests = s.idp.token_requests();

    let cached = flytekit(&s, "cached", false);
    assert_eq!(cached["authenticator"], "DeviceCodeAuthenticator");
    assert_eq!(cached["loaded"], true, "flytekit found the login");
    assert!(
        text(&cached["access_token"]) == ours,
        "flytekit holds flyteauth's access token (values not shown)"
    );
    assert!(
        text(&cached["refresh_token"]) == refresh,
        "and its refresh token (values not shown)"
    );
    let call = flytekit(&s, "call", false);
    assert_eq!(
        call["statuses"],
        json!([200]),
        "flytekit's call is accepted"
    );
    assert_eq!(call["refreshed"], false);
    assert_eq!(call["header_key"], "flyte-authorization");
    assert!(
        text(&call["access_token"]) == ours,
        "with flyteauth's token (values not shown)"
    );
    assert_eq!(s.idp.device_logins(), 1, "flytekit started no login");
    assert_eq!(
        s.idp.token_requests(),
        requests,
        "flytekit made no token request"
    );
}

/// A login made by flytekit (its device flow, its `KeyringStore`) is flyteauth's login:
/// `flyteauth token --non-interactive` prints flytekit's access token, with no prompt and no
/// token request. Better than flytekit: flyteauth also copies the login to flytectl's layout,
/// so flytectl shares it too.
#[test]
#[ignore = "needs a Secret Service and the flytekit venv: run by `make test-flytekit-sharing`"]
fn a_flytekit_login_is_used_by_flyteauth_without_a_prompt() {
    let s = Setup::new(&[], "");
    let login = flytekit(&s, "login", true);
    assert_eq!(login["loaded"], false, "no login before");
    assert_eq!(s.idp.device_logins(), 1, "flytekit's device login");
    let theirs = text(&login["access_token"]).to_owned();
    assert_eq!(jwt_claims(&theirs)["sub"], "test-user");
    assert!(
        flytekit_item(&s, "access_token") == theirs,
        "flytekit stored its login (values not shown)"
    );
    let requests = s.idp.token_requests();

    let token = flyteauth_token(&s);
    assert!(
        token == theirs,
        "flyteauth prints flytekit's access token (values not shown)"
    );
    assert_eq!(s.idp.device_logins(), 1, "flyteauth started no login");
    assert_eq!(
        s.idp.token_requests(),
        requests,
        "flyteauth made no token request"
    );
    let flytectl = flytectl_item(&s);
    assert!(
        text(&flytectl["access_token"]) == theirs
            && text(&flytectl["refresh_token"]) == text(&login["refresh_token"]),
        "flytectl's layout holds flytekit's login (values not shown)"
    );
}

/// The expiry round trip, starting from `first` ("flyteauth" or "flytekit") logging in: each
/// refresh is made by the other tool than the one that wrote the refresh token it spends.
/// The fixture rotates refresh tokens and revokes the grant when a spent one comes back, so
/// a stale refresh token anywhere would end in `invalid_grant` and a new login.
fn expiry_round_trip(first: &str) {
    let s = Setup::new(
        &[("IDP_ACCESS_TOKEN_TTL", EXPIRY_TTL)],
        &format!("  tokenRefreshWindow: {REFRESH_WINDOW}\n"),
    );
    let mut current = if first == "flyteauth" {
        flyteauth_login(&s);
        flyteauth_token(&s)
    } else {
        text(&flytekit(&s, "login", true)["access_token"]).to_owned()
    };
    assert_eq!(s.idp.device_logins(), 1);
    let mut refreshes = 0;
    // Three expiries; the tool that refreshes alternates, starting with the other one.
    let tools = if first == "flyteauth" {
        ["flytekit", "flyteauth", "flytekit"]
    } else {
        ["flyteauth", "flytekit", "flyteauth"]
    };
    for tool in tools {
        let spent = flytekit_item(&s, "refresh_token");
        sleep_past_expiry(&current);
        let fresh = if tool == "flytekit" {
            // flytekit notices expiry the way it does: the server rejects the call (401),
            // its interceptor refreshes with the refresh token in the keyring, and retries.
            let call = flytekit(&s, "call", false);
            assert_eq!(call["loaded"], true);
            assert_eq!(
                call["statuses"],
                json!([401, 200]),
                "rejected, refreshed, accepted"
            );
            assert_eq!(call["refreshed"], true);
            text(&call["access_token"]).to_owned()
        } else {
            // flyteauth knows the expiry: it refreshes before any call is made.
            flyteauth_token(&s)
        };
        refreshes += 1;
        assert_eq!(
            s.idp.refresh_grants(),
            refreshes,
            "{tool} refreshed once with the refresh token the other tool wrote"
        );
        assert_eq!(s.idp.device_logins(), 1, "{tool} started no login");
        assert!(
            fresh != current,
            "{tool} has a new access token (values not shown)"
        );
        assert!(
            flytekit_item(&s, "access_token") == fresh,
            "{tool} stored it in flytekit's layout (values not shown)"
        );
        let rotated = flytekit_item(&s, "refresh_token");
        assert!(
            rotated != spent,
            "the rotated refresh token replaced the spent one (values not shown)"
        );
        // The other tool uses the new login as it is: no token request.
        let requests = s.idp.token_requests();
        let seen = if tool == "flytekit" {
            flyteauth_token(&s)
        } else {
            let cached = flytekit(&s, "call", false);
            assert_eq!(cached["statuses"], json!([200]));
            text(&cached["access_token"]).to_owned()
        };
        assert!(seen == fresh, "the other tool uses it (values not shown)");
        assert_eq!(s.idp.token_requests(), requests, "without a token request");
        // flytectl's layout (written by flyteauth only) never keeps a spent refresh token
        // once flyteauth has run: flyteauth copies flytekit's refresh to it.
        let flytectl = flytectl_item(&s);
        assert!(
            text(&flytectl["refresh_token"]) == rotated,
            "flytectl's layout holds the live refresh token (values not shown)"
        );
        current = fresh;
    }
    // The grant is alive: the refresh token both tools now hold is accepted.
    let status = blocking_refresh(&s.idp, &flytekit_item(&s, "refresh_token"));
    assert_eq!(status, 200, "the last refresh token still works at the IdP");
}

/// After flyteauth's login expires, flytekit refreshes with flyteauth's refresh token; after
/// that expires, flyteauth refreshes with the one flytekit wrote; then flytekit again.
#[test]
#[ignore = "needs a Secret Service and the flytekit venv: run by `make test-flytekit-sharing`"]
fn expiry_each_tool_refreshes_with_what_the_other_wrote_from_a_flyteauth_login() {
    expiry_round_trip("flyteauth");
}

/// The same, the other way round: flytekit logs in, flyteauth refreshes first.
#[test]
#[ignore = "needs a Secret Service and the flytekit venv: run by `make test-flytekit-sharing`"]
fn expiry_each_tool_refreshes_with_what_the_other_wrote_from_a_flytekit_login() {
    expiry_round_trip("flytekit");
}

/// The defect this suite found: `flyteauth login` writes both layouts; flytekit refreshes
/// (on a 401) and rewrites only its own, so flytectl's layout keeps the refresh token
/// flytekit just spent. Once both logins had expired, flyteauth no longer knew which was
/// newer (an expired token's expiry read as "now", so the layout read last won) and spent
/// flytectl's stale refresh token: `invalid_grant`, and with an IdP that revokes a grant on
/// reuse, every tool logged out. It must refresh with flytekit's newer refresh token.
#[test]
#[ignore = "needs a Secret Service and the flytekit venv: run by `make test-flytekit-sharing`"]
fn after_both_logins_expired_flyteauth_refreshes_with_flytekits_newer_refresh_token() {
    let s = Setup::new(
        &[("IDP_ACCESS_TOKEN_TTL", EXPIRY_TTL)],
        &format!("  tokenRefreshWindow: {REFRESH_WINDOW}\n"),
    );
    flyteauth_login(&s);
    let ours = flyteauth_token(&s);
    // pyflyte's call is rejected a little later (here: at once) and flytekit refreshes.
    std::thread::sleep(Duration::from_secs(2));
    let refreshed = flytekit(&s, "login", false);
    assert_eq!(refreshed["loaded"], true);
    assert_eq!(s.idp.refresh_grants(), 1, "flytekit refreshed");
    let theirs = text(&refreshed["access_token"]).to_owned();
    assert!(theirs != ours);
    // Both logins expire; then flyteauth is run again.
    sleep_past_expiry(&theirs);
    let token = flyteauth_token(&s);
    assert_eq!(
        s.idp.refresh_grants(),
        2,
        "flyteauth refreshed once, with flytekit's refresh token"
    );
    assert_eq!(s.idp.device_logins(), 1, "no new login");
    assert!(
        token != theirs && token != ours,
        "a new access token (values not shown)"
    );
    let refresh = flytekit_item(&s, "refresh_token");
    assert!(
        text(&flytectl_item(&s)["refresh_token"]) == refresh,
        "both layouts hold the new refresh token (values not shown)"
    );
    // flytekit's next call uses it.
    let call = flytekit(&s, "call", false);
    assert_eq!(call["statuses"], json!([200]));
    assert!(text(&call["access_token"]) == token, "values not shown");
}

/// Logins and refreshes by both tools, in every order that makes one tool overwrite an item
/// the other created: the keyring holds exactly one item per user in flytekit's layout and
/// one in flytectl's, never a duplicate (Python keyring replaces only an item with the same
/// attributes, and flyteauth's items carry Python keyring's `application`).
#[test]
#[ignore = "needs a Secret Service and the flytekit venv: run by `make test-flytekit-sharing`"]
fn one_keyring_item_per_user_after_logins_and_refreshes_by_both_tools() {
    // `openid`: ID tokens too, so all three of flytekit's users are written.
    let s = Setup::new(
        &[
            ("IDP_ACCESS_TOKEN_TTL", EXPIRY_TTL),
            ("FLYTE_SCOPES", "all openid"),
        ],
        &format!("  tokenRefreshWindow: {REFRESH_WINDOW}\n"),
    );
    // flyteauth creates the items; flytekit overwrites them with a login of its own (its
    // refresh is refused, so it falls back to a new device login, as pyflyte would).
    flyteauth_login(&s);
    s.idp.refuse_refresh();
    let relogin = flytekit_relogin(&s);
    s.idp.reset_stats(); // (also ends refuse-refresh)
                         // flyteauth logs in again over flytekit's items; flytekit refreshes over those.
    flyteauth_login(&s);
    let refreshed = flytekit(&s, "login", false);
    assert_eq!(refreshed["loaded"], true);
    assert_eq!(s.idp.refresh_grants(), 1, "flytekit refreshed");
    // After expiry flyteauth refreshes over flytekit's items.
    sleep_past_expiry(text(&refreshed["access_token"]));
    let last = flyteauth_token(&s);
    assert_eq!(s.idp.refresh_grants(), 2, "flyteauth refreshed");
    assert!(last != text(&relogin["access_token"]));

    let items: Vec<Value> = keyring_items()
        .into_iter()
        .map(|(a, _)| a)
        .filter(|a| a["service"] == s.idp.endpoint.as_str())
        .collect();
    let mut users: Vec<&str> = items.iter().map(|a| text(&a["username"])).collect();
    users.sort_unstable();
    assert_eq!(
        users,
        ["access_token", "id_token", "refresh_token"],
        "one item per user in flytekit's layout: {items:?}"
    );
    for a in &items {
        assert_eq!(
            a["application"], "Python keyring library",
            "Python keyring's attributes: {a:?}"
        );
    }
    assert!(
        flytekit_item(&s, "access_token") == last,
        "the last token (values not shown)"
    );
    let flytectl = keyring_values(
        "flytectl",
        &format!("dns:///{}:flytectl-user", s.idp.endpoint),
    );
    assert_eq!(flytectl.len(), 1, "one item in flytectl's layout");
    // And both tools still read the one login.
    assert!(text(&flytekit(&s, "cached", false)["access_token"]) == last);
}

/// flytekit's `login` when its refresh is refused: its warning and new device login are
/// expected here (unlike in [`flytekit`]).
fn flytekit_relogin(s: &Setup) -> Value {
    let run = flytekit_run(s, "login", true);
    assert!(
        run.stderr.contains("Failed to refresh token"),
        "flytekit fell back to a new login: {}",
        run.stderr
    );
    assert_eq!(s.idp.device_logins(), 2, "flytekit's new device login");
    result(&run)
}

/// PKCE, each tool's login through a real browser (headless Chromium): flytekit's login is
/// used by flyteauth, flyteauth's by flytekit, with no browser and no token request by the
/// other. Where flytekit differs: a PKCE login it loads from the keyring goes out under
/// `authorization` until its first refresh (it learns the server's `flyte-authorization`
/// only then); flyteauth always uses the server's key.
#[test]
#[ignore = "needs a Secret Service, Chromium and the flytekit venv: run by `make test-flytekit-sharing`"]
fn pkce_logins_through_chromium_are_shared_both_ways() {
    let s = Setup::pkce();
    let login = flytekit(&s, "login", false);
    assert_eq!(login["authenticator"], "PKCEAuthenticator");
    assert_eq!(
        s.idp.stat(&["token_by_grant", "authorization_code"]),
        1,
        "flytekit's login through Chromium"
    );
    let theirs = text(&login["access_token"]).to_owned();
    assert_eq!(jwt_claims(&theirs)["sub"], "test-user");
    let requests = s.idp.token_requests();
    let header = flyteauth(&s, &["token", "--non-interactive", "--header"], false).stdout;
    assert!(
        header.trim() == format!("flyte-authorization: Bearer {theirs}"),
        "flyteauth uses flytekit's PKCE login under the server's header key (values not shown)"
    );
    assert_eq!(s.idp.token_requests(), requests, "without a token request");

    flyteauth_login(&s);
    assert_eq!(
        s.idp.stat(&["token_by_grant", "authorization_code"]),
        2,
        "flyteauth's login through Chromium"
    );
    let ours = flyteauth_token(&s);
    assert!(ours != theirs);
    let requests = s.idp.token_requests();
    let call = flytekit(&s, "call", false);
    assert_eq!(call["loaded"], true);
    assert_eq!(
        call["statuses"],
        json!([200]),
        "flytekit's call is accepted"
    );
    assert!(
        text(&call["access_token"]) == ours,
        "with flyteauth's login (values not shown)"
    );
    assert_eq!(
        call["header_key"], "authorization",
        "flytekit's key before a refresh"
    );
    assert_eq!(
        s.idp.stat(&["token_by_grant", "authorization_code"]),
        2,
        "flytekit opened no browser"
    );
    assert_eq!(
        s.idp.token_requests(),
        requests,
        "flytekit made no token request"
    );
}
