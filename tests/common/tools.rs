//! Driving other tools' processes (flytekit, flytectl's client, the `flyteauth` CLI) through
//! device logins, and reading what they left in the Secret Service: shared by the suites that
//! check logins are shared between tools (tests/flytekit_sharing.rs, tests/flytectl_sharing.rs).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::Idp;

/// How long any one step (a process, a login) may take before the test gives up: generous,
/// for a busy machine; a step that hangs fails instead of blocking the suite.
pub const STEP: Duration = Duration::from_secs(120);

/// The user code of a device-login prompt line, from flytekit or flyteidl's Go client
/// (`...?user_code=ABCD-EFGH`) or flyteauth (`  (code ABCD-EFGH)`).
pub fn user_code(line: &str) -> Option<String> {
    let rest = line
        .split_once("user_code=")
        .map(|(_, r)| r)
        .or_else(|| line.trim().strip_prefix("(code "))?;
    let code: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!code.is_empty()).then_some(code)
}

/// Approve a device code at the fixture, as the person would in a browser.
pub fn approve(idp: &Idp, code: &str) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(super::answer_device_code(&idp.url, code, true));
}

/// What a finished process left: its exit status, stdout and stderr.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Run `child` (stdout and stderr piped) to the end, watching both for a device-login user
/// code: approved when `login_allowed`, else the process is killed and the test fails (the
/// tool started a login it should not have needed). A process that outlives [`STEP`] fails
/// the test too.
pub fn watch(mut child: Child, idp: &Idp, what: &str, login_allowed: bool) -> Run {
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    for (is_out, pipe) in [
        (true, Box::new(out) as Box<dyn std::io::Read + Send>),
        (false, Box::new(err)),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send((is_out, line));
            }
        });
    }
    drop(tx);
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let mut approved = std::collections::HashSet::new();
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((is_out, line)) => {
                if let Some(code) = user_code(&line) {
                    if !login_allowed {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!("{what} started a login (a device code prompt); stderr so far:\n{stderr}");
                    }
                    if approved.insert(code.clone()) {
                        approve(idp, &code);
                    }
                }
                let buf = if is_out { &mut stdout } else { &mut stderr };
                buf.push_str(&line);
                buf.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {STEP:?}; stderr:\n{stderr}");
            }
        }
    }
    let ok = child.wait().unwrap().success();
    Run { ok, stdout, stderr }
}

/// [`watch`] a tool that must succeed without an `invalid_grant` on its stderr (a refresh
/// token refused: a spent one replayed, or the grant revoked).
pub fn watch_ok(child: Child, idp: &Idp, what: &str, login_allowed: bool) -> Run {
    let run = watch(child, idp, what, login_allowed);
    assert!(run.ok, "{what} failed; stderr:\n{}", run.stderr);
    assert!(
        !run.stderr.contains("invalid_grant"),
        "{what}: invalid_grant on stderr:\n{}",
        run.stderr
    );
    run
}

/// The tools read only the shared config file: no `FLYTE_*` override from the environment
/// the tests run in (flytekit and flyteauth would both honour it).
pub fn without_flyte_overrides(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FLYTE_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Every Secret Service item of the default collection, as (attributes, secret), listed by
/// `python` (one with `secretstorage`, e.g. the flytekit venv's).
pub fn keyring_items(python: &str) -> Vec<(Value, String)> {
    let out = Command::new(python)
        .arg("-c")
        .arg(
            "import json, secretstorage\n\
             c = secretstorage.dbus_init()\n\
             col = secretstorage.get_default_collection(c)\n\
             print(json.dumps([[dict(i.get_attributes()), i.get_secret().decode()] \
                               for i in col.get_all_items()]))",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "listing the Secret Service items: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Vec<(Value, String)> = serde_json::from_slice(&out.stdout).unwrap();
    items
}

/// The secrets of the items with `service` and `username` (more than one is a duplicate).
pub fn keyring_values(python: &str, service: &str, username: &str) -> Vec<String> {
    keyring_items(python)
        .into_iter()
        .filter(|(a, _)| a["service"] == service && a["username"] == username)
        .map(|(_, s)| s)
        .collect()
}

/// Sleep until a second after the access token `token` (a JWT) has expired.
pub fn sleep_past_expiry(token: &str) {
    let exp = super::jwt_claims(token)["exp"]
        .as_u64()
        .expect("exp in the JWT");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let until = Duration::from_secs(exp + 1);
    std::thread::sleep(until.saturating_sub(now));
}

/// A blocking refresh grant at the fixture as the public client (what any tool's next
/// refresh would send): its HTTP status, for "the grant is still alive" checks.
pub fn blocking_refresh(idp: &Idp, refresh_token: &str) -> u16 {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(super::public_refresh_grant(idp, refresh_token))
        .0
}
