//! External commands (`command`, `proxyCommand`): argv without a shell, trimmed stdout, a
//! timeout, and failures that report exit status and stderr but never stdout. Output is
//! capped, the command runs in its own process group (killed as a group), a grandchild that
//! keeps stdout open cannot hold a successful command hostage, and a command that would run
//! itself again is refused. flytekit test_command_authenticator, with the better behaviour
//! asserted.

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
    assert!(auth.usable_metadata().is_some_and(
        |m| auth.is_current(&m) && m.get("authorization") == first.get("authorization")
    ));
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

/// The hot path hands each thread its own copy of the current snapshot, made once per token:
/// repeated calls on one thread return that one copy (so its reference count is written by
/// that thread only), another thread gets another copy of the same snapshot, and both are
/// current until the token is replaced.
#[test]
fn each_thread_gets_its_own_copy_of_the_current_snapshot() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let auth = counting_command_auth(dir.path());
    auth.metadata_blocking(None).unwrap();
    let here = auth.usable_metadata().unwrap();
    let again = auth.usable_metadata().unwrap();
    assert!(Arc::ptr_eq(&here, &again), "one copy per thread and token");
    let there = std::thread::scope(|s| {
        s.spawn(|| {
            let a = auth.usable_metadata().unwrap();
            let b = auth.usable_metadata().unwrap();
            assert!(Arc::ptr_eq(&a, &b), "one copy on the other thread too");
            a
        })
        .join()
        .unwrap()
    });
    assert!(!Arc::ptr_eq(&here, &there), "each thread has its own copy");
    assert!(auth.is_current(&here) && auth.is_current(&there));
    assert_eq!(here.get("authorization"), there.get("authorization"));
    auth.refresh_blocking(None).unwrap();
    assert!(
        !auth.is_current(&there),
        "a copy of a replaced snapshot is not current"
    );
    let next = auth.usable_metadata().unwrap();
    assert!(auth.is_current(&next) && !Arc::ptr_eq(&next, &here));
    assert_eq!(next.get("authorization"), Some("Bearer tok-2"));
}

#[test]
fn many_authenticators_on_one_thread_each_serve_their_own_token() {
    // More authenticators than a thread caches snapshots for, interleaved on one thread
    // and dropped and recreated: each call returns its own authenticator's current token.
    let mut auths: Vec<Authenticator> = (0..11)
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

/// Whether process `pid` is gone: no such process, or a zombie (killed, waiting to be reaped
/// by whoever inherited it).
#[cfg(target_os = "linux")]
fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state is the first field after the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_none_or(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
    }
}

/// Polls `cond` every 50 ms until it holds (true) or `limit` has passed (false).
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pid a test script wrote to `path` (`echo $! > path`), waiting up to 10 s for it.
fn pid_written_to(path: &std::path::Path) -> u32 {
    let mut pid = None;
    let written = eventually(Duration::from_secs(10), || {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        pid = text.strip_suffix('\n').and_then(|t| t.trim().parse().ok());
        pid.is_some()
    });
    assert!(
        written,
        "the script never wrote a pid to {}",
        path.display()
    );
    pid.unwrap()
}

/// Kills a test's grandchild when the test ends, so a failing test leaves no process behind.
#[cfg(target_os = "linux")]
struct KillOnDrop(u32);

#[cfg(target_os = "linux")]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !process_is_gone(self.0) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
}

#[test]
fn more_than_a_mebibyte_on_stderr_is_an_error_about_the_limit() {
    // 2 MiB of stderr, then a failure: the error says the limit was exceeded instead of
    // collecting it all.
    let auth = command_auth(
        json!([
            "sh",
            "-c",
            "head -c 2097152 /dev/zero | tr '\\0' e >&2; exit 1"
        ]),
        json!({}),
    );
    let e = auth.metadata_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Command, "{e}");
    let msg = e.message();
    assert!(
        msg.contains("stderr") && msg.contains("more than 1 MiB"),
        "{}",
        &msg[..msg.len().min(300)]
    );
    assert!(msg.len() < 4096, "the error quotes {} bytes", msg.len());
}

#[cfg(target_os = "linux")]
#[test]
fn endless_stdout_is_cut_off_at_the_limit_and_the_whole_group_killed() {
    // A grandchild prints forever: reading stops at 1 MiB, and the grandchild is killed with
    // its process group, long before the 60 s commandTimeout.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!(
        "yes secret-token-line & echo $! > {}; wait",
        pid_file.display()
    );
    let auth = command_auth(
        json!(["sh", "-c", script]),
        json!({"commandTimeout": "60s"}),
    );
    let started = Instant::now();
    let result = auth.metadata_blocking(None);
    let grandchild = KillOnDrop(pid_written_to(&pid_file));
    let e = result.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::Command, "{e}");
    let msg = e.message();
    assert!(
        msg.contains("stdout") && msg.contains("more than 1 MiB"),
        "{msg}"
    );
    assert!(!msg.contains("secret-token-line"), "stdout leaked: {msg}");
    assert!(
        eventually(Duration::from_secs(10), || process_is_gone(grandchild.0)),
        "the grandchild {} that flooded stdout is still running",
        grandchild.0
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_timeout_kills_the_grandchildren_too() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pid_file.display());
    let auth = command_auth(json!(["sh", "-c", script]), json!({"commandTimeout": "2s"}));
    let e = auth.metadata_blocking(None).unwrap_err();
    let grandchild = KillOnDrop(pid_written_to(&pid_file));
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        eventually(Duration::from_secs(10), || process_is_gone(grandchild.0)),
        "the grandchild {} outlived the command's timeout",
        grandchild.0
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_grandchild_holding_stdout_open_does_not_hold_up_a_successful_command() {
    // The command prints its token and exits 0, leaving a background process that inherited
    // stdout (a credential helper starting its daemon): the token is used soon after the exit,
    // not after commandTimeout, and the background process is left alone.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; echo tok-gc", pid_file.display());
    let auth = command_auth(
        json!(["sh", "-c", script]),
        json!({"commandTimeout": "60s"}),
    );
    let started = Instant::now();
    let result = auth.metadata_blocking(None);
    let elapsed = started.elapsed();
    let grandchild = KillOnDrop(pid_written_to(&pid_file));
    let md = result.unwrap();
    assert_eq!(md.get("authorization"), Some("Bearer tok-gc"));
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    assert!(
        !process_is_gone(grandchild.0),
        "a successful command's background process was killed"
    );
}

/// The pids of the running processes that execute `exe` (a zombie has no executable).
#[cfg(target_os = "linux")]
fn processes_running(exe: &std::path::Path) -> Vec<String> {
    let exe = exe.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| std::fs::read_link(entry.path().join("exe")).is_ok_and(|p| p == exe))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Kills every process running `exe` when the test ends (stopped first, so that none starts
/// another meanwhile), so a failing test leaves no process behind. Only the test that runs
/// the CLI binary uses it.
#[cfg(target_os = "linux")]
struct KillAllRunning<'a>(&'a std::path::Path);

#[cfg(target_os = "linux")]
impl Drop for KillAllRunning<'_> {
    fn drop(&mut self) {
        for _ in 0..20 {
            let pids = processes_running(self.0);
            if pids.is_empty() {
                return;
            }
            for signal in ["-STOP", "-KILL"] {
                let _ = std::process::Command::new("kill")
                    .arg(signal)
                    .args(&pids)
                    .stderr(std::process::Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_command_that_runs_flyteauth_token_with_the_same_config_is_refused() {
    // The real CLI, whose config's `command` is that same `flyteauth token`: without a guard
    // each run starts the next, forever. With it, the second level refuses and the first
    // reports a COMMAND error that says why.
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_flyteauth"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "admin:\n  endpoint: dns:///localhost:1\n  insecure: true\n  authType: ExternalCommand\n  \
             commandTimeout: 5s\n  command:\n    - {exe:?}\n    - -c\n    - {config:?}\n    - token\n"
        ),
    )
    .unwrap();
    let _cleanup = KillAllRunning(exe);
    let started = Instant::now();
    let output = std::process::Command::new(exe)
        .arg("-c")
        .arg(&config)
        .arg("token")
        .env_remove("FLYTEAUTH_COMMAND_GUARD")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/flyteauth-test-bus",
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut left = 0;
    let all_gone = eventually(Duration::from_secs(10), || {
        left = processes_running(exe).len();
        left == 0
    });
    assert!(
        all_gone,
        "{left} flyteauth processes still running 10 s after the first exited; its stderr: {stderr}"
    );
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("command error") && stderr.contains("recursion"),
        "{stderr}"
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    assert!(output.stdout.is_empty(), "no token was printed");
}
