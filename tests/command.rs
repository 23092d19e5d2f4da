//! External commands (`command`, `proxyCommand`): argv without a shell, trimmed stdout, a
//! timeout, and failures that report exit status and stderr but never stdout.
//! flytekit test_command_authenticator, with the better behaviour asserted.

mod common;

use std::time::{Duration, Instant};

use flyteauth::{Authenticator, ErrorKind};
use serde_json::json;

fn command_auth(argv: serde_json::Value, extra: serde_json::Value) -> Authenticator {
    common::capture_library_logs();
    let mut cfg = json!({"authType": "ExternalCommand", "command": argv,
                         "authorizationHeader": "authorization"});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    Authenticator::from_json(&cfg.to_string()).unwrap()
}

/// An authenticator whose command prints `tok-1`, then `tok-2`, ... on successive runs
/// (counting in a file under `dir`).
fn counting_command_auth(dir: &std::path::Path) -> Authenticator {
    let script = format!(
        "n=$(cat {f} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {f}; echo tok-$n",
        f = dir.join("n").display()
    );
    command_auth(json!(["sh", "-c", script]), json!({}))
}

#[test]
fn stdout_trimmed_is_the_token() {
    let auth = command_auth(json!(["printf", "  tok-123 \n\n"]), json!({}));
    let md = auth.metadata_blocking(None).unwrap();
    assert_eq!(
        md.iter().collect::<Vec<_>>(),
        [("authorization", "Bearer tok-123")]
    );
}

#[test]
fn no_shell_is_involved() {
    // With a shell, `$HOME` would expand and `;` would start a second command.
    let auth = command_auth(json!(["echo", "$HOME;echo"]), json!({}));
    let md = auth.metadata_blocking(None).unwrap();
    assert_eq!(md.get("authorization"), Some("Bearer $HOME;echo"));
}

#[test]
fn failure_reports_status_and_stderr_but_not_stdout() {
    let auth = command_auth(
        json!(["sh", "-c", "echo secret-token-on-stdout; echo \"Please run 'az login' to setup account\" >&2; exit 3", "arg-that-may-be-secret"]),
        json!({}),
    );
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Command, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("exit status 3"), "{msg}");
    assert!(
        msg.contains("Please run 'az login' to setup account"),
        "{msg}"
    );
    assert!(
        !msg.contains("secret-token-on-stdout"),
        "stdout leaked: {msg}"
    );
    assert!(
        !msg.contains("arg-that-may-be-secret"),
        "arguments leaked: {msg}"
    );
    assert!(msg.contains("`sh`"), "names the program: {msg}");
}

#[test]
fn a_missing_program_is_a_command_error() {
    let auth = command_auth(json!(["/nonexistent/get-token"]), json!({}));
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Command, "{e}");
    assert!(e.message().contains("/nonexistent/get-token"), "{e}");
}

#[test]
fn empty_output_is_an_error() {
    let auth = command_auth(json!(["true"]), json!({}));
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Command, "{e}");
    assert!(e.message().contains("no token"), "{e}");
}

#[test]
fn a_token_with_a_newline_inside_is_refused() {
    let auth = command_auth(json!(["printf", "a\\nb"]), json!({}));
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
}

#[test]
fn a_hanging_command_is_killed_at_the_timeout() {
    let auth = command_auth(json!(["sleep", "30"]), json!({"commandTimeout": "200ms"}));
    let started = Instant::now();
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("commandTimeout"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_command_runs_again_on_refresh() {
    // The Go client never re-runs it after the first time; we do.
    let dir = tempfile::tempdir().unwrap();
    let auth = counting_command_auth(dir.path());
    assert_eq!(
        auth.metadata_blocking(None).unwrap().get("authorization"),
        Some("Bearer tok-1")
    );
    assert_eq!(
        auth.metadata_blocking(None).unwrap().get("authorization"),
        Some("Bearer tok-1"),
        "cached"
    );
    auth.refresh_blocking(None).unwrap();
    assert_eq!(
        auth.metadata_blocking(None).unwrap().get("authorization"),
        Some("Bearer tok-2")
    );
}

#[test]
fn a_per_call_timeout_bounds_the_wait() {
    let auth = command_auth(json!(["sleep", "5"]), json!({}));
    let e = auth
        .metadata_blocking(Some(Duration::from_millis(100)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[test]
fn a_cancelled_call_returns_promptly_and_the_command_finishes_for_others() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let script = format!("touch {}; sleep 3; echo late-token", started.display());
    let auth = command_auth(json!(["sh", "-c", script]), json!({}));
    let cancel = Arc::new(flyteauth::CancelToken::new());
    let options = flyteauth::CallOptions {
        timeout: None,
        cancel: Some(cancel.clone()),
    };
    let waiter = {
        let auth = auth.clone();
        std::thread::spawn(move || auth.metadata_blocking_with(&options))
    };
    // Cancel only once the command is really running, so the call is really waiting.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    cancel.cancel();
    let e = waiter.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    // The shared refresh was not cancelled with the caller: a later call gets its token.
    let md = auth.metadata_blocking(None).unwrap();
    assert_eq!(md.get("authorization"), Some("Bearer late-token"));
    // An already-cancelled token fails at once.
    let options = flyteauth::CallOptions {
        timeout: None,
        cancel: Some(cancel),
    };
    assert_eq!(
        auth.refresh_blocking_with(&options).unwrap_err().kind(),
        ErrorKind::Cancelled
    );
}

#[test]
fn is_current_holds_until_the_snapshot_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let auth = counting_command_auth(dir.path());
    let first = auth.metadata_blocking(None).unwrap();
    assert!(auth.is_current(&first));
    assert!(auth
        .usable_metadata()
        .is_some_and(|m| std::sync::Arc::ptr_eq(&m, &first)));
    auth.refresh_blocking(None).unwrap();
    assert!(
        !auth.is_current(&first),
        "a replaced snapshot is no longer current"
    );
    let second = auth.usable_metadata().unwrap();
    assert!(auth.is_current(&second));
    assert_eq!(
        first.get("authorization"),
        Some("Bearer tok-1"),
        "old snapshots stay readable"
    );
}

#[test]
fn many_authenticators_on_one_thread_each_serve_their_own_token() {
    // More authenticators than a thread caches snapshots for, interleaved on one thread
    // and dropped and recreated: each call returns its own authenticator's current token.
    let mut auths: Vec<Authenticator> = (0..7)
        .map(|i| command_auth(json!(["echo", format!("tok-{i}")]), json!({})))
        .collect();
    for round in 0..5 {
        for (i, auth) in auths.iter().enumerate().rev() {
            let md = auth.metadata_blocking(None).unwrap();
            assert_eq!(
                md.get("authorization"),
                Some(format!("Bearer tok-{i}").as_str())
            );
        }
        let replaced = round % auths.len();
        auths[replaced] = command_auth(json!(["echo", format!("tok-{replaced}")]), json!({}));
    }
}

#[test]
fn after_logout_the_same_thread_does_not_get_the_old_token() {
    let dir = tempfile::tempdir().unwrap();
    let auth = counting_command_auth(dir.path());
    for _ in 0..3 {
        let md = auth.metadata_blocking(None).unwrap();
        assert_eq!(md.get("authorization"), Some("Bearer tok-1"));
    }
    auth.logout_blocking().unwrap();
    assert_eq!(
        auth.metadata_blocking(None).unwrap().get("authorization"),
        Some("Bearer tok-2")
    );
}
