//! External commands: `command` (the `ExternalCommand` flow) and `proxyCommand` (the
//! `proxy-authorization` header).
//!
//! The argv runs without a shell, with stdin closed. Its trimmed stdout is the token. A
//! failure reports the program name, the exit status and (a bounded part of) stderr, never
//! stdout and never the other arguments: either may carry a token.
//!
//! What a command may do is bounded:
//! - **Output.** At most 1 MiB on stdout and 1 MiB on stderr; a command that prints more is
//!   killed and reported, without quoting what it printed.
//! - **Time.** After `commandTimeout` the command is killed.
//! - **Its processes.** When the command is killed (timeout, too much output) or abandoned
//!   (the call that runs it is dropped: a cancelled caller, a freed authenticator), what it
//!   started is killed with it, so a process it started cannot outlive it and hold its output
//!   open: on unix its whole process group (a process that leaves it with `setsid` is out of
//!   reach), on Windows its process tree (see [`crate::platform`]).
//! - **Finding it.** A bare program name is found as the OS's shell finds it: on Windows
//!   through `PATH` × `PATHEXT`, so `gcloud` runs `gcloud.cmd`; std quotes the arguments of a
//!   `.cmd`/`.bat` for cmd.exe and refuses those it cannot pass safely (CVE-2024-24576).
//! - **Its background processes after success.** Once the command has exited by itself, its
//!   group is left alone (a credential helper may have started a legitimate daemon), and its
//!   output is read for at most 2 more seconds: a background process that inherited stdout and
//!   keeps it open does not hold the token back, and what was read by then is used.
//! - **Its exit, after fork().** tokio learns that a command exited from a pidfd where the
//!   kernel has them (Linux 5.3 and later), else from `SIGCHLD` through one process-wide pipe.
//!   A process forked from one that used it shares that pipe with its parent, which can read
//!   the child's notification first, so the wait would never end (kernels without pidfd:
//!   Amazon Linux 2's 4.14, RHEL 7; macOS; valgrind). The exit is also asked of the OS
//!   directly every [`REAP_POLL`], so it is seen either way.
//! - **Recursion.** A command that would run itself again (`command` is `flyteauth token`
//!   with the same config, or any program that uses the same flyteauth config) is refused
//!   before anything starts, instead of starting processes without end (see `recursion.rs`).

use std::pin::pin;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use crate::epoch::PerProcess;
use crate::error::{Error, ErrorKind, Result};

mod recursion;

/// The most stderr quoted in an error message, in bytes.
const STDERR_QUOTE_LIMIT: usize = 2048;

/// The most a command may print on stdout, and separately on stderr, in bytes.
const OUTPUT_LIMIT: usize = 1024 * 1024;

/// How long the output may stay open after the command has exited (held by a process it
/// started in the background) before what was read by then is used.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// How often a running command's exit is also asked of the OS directly (see the module docs).
const REAP_POLL: Duration = Duration::from_millis(200);

/// The deadline of a `commandTimeout` too large to add to the clock (about 30 years).
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// Run `argv` and return its trimmed stdout. `what` names the config key for messages.
pub async fn run_token_command(what: &str, argv: &[String], timeout: Duration) -> Result<String> {
    run_with_grace(what, argv, timeout, EXIT_GRACE).await
}

/// [`run_token_command`], with `grace` as how long the output may stay open after the exit
/// (tests give a grace that no delay on a busy machine can use up).
async fn run_with_grace(
    what: &str,
    argv: &[String],
    timeout: Duration,
    grace: Duration,
) -> Result<String> {
    let program = argv.first().map(String::as_str).unwrap_or_default();
    let guard = recursion::guard(argv).map_err(|recursion::Recursion| {
        Error::new(
            ErrorKind::Command,
            format!(
                "{what}: `{program}` would run itself again (recursion): `{what}` runs a program \
                 that uses the same flyteauth config, which runs `{what}` again; point `{what}` \
                 at a program that does not use this config"
            ),
        )
    })?;
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + FAR_FUTURE);
    // Without a shell; a bare name resolved as the OS's shell would (PATHEXT on Windows).
    let mut cmd = crate::platform::command(program, &argv[1..]);
    cmd.env(recursion::GUARD_ENV, guard)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(
            ErrorKind::Command,
            format!("{what}: cannot start `{program}`: {e}"),
        )
    })?;
    // From here on, leaving early (an error below, or this future being dropped) kills the
    // command's whole group; `collect` disarms it once the command has exited by itself.
    let mut group = TreeKiller::new(&child);
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let collected = collect(
        program,
        &mut child,
        &mut group,
        [&mut stdout, &mut stderr],
        deadline,
        grace,
    )
    .await;
    let status = match collected {
        Ok(status) => status,
        Err(failure) => {
            let killed = group.kill();
            if killed {
                // The command itself, whatever happened to its tree.
                let _ = child.start_kill();
            }
            return Err(failure.into_error(what, program, timeout, killed));
        }
    };
    if !status.success() {
        let status = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "a signal".to_owned(),
        };
        return Err(Error::new(
            ErrorKind::Command,
            format!(
                "{what}: `{program}` failed with {status}; stderr: {}",
                quote_stderr(&stderr)
            ),
        ));
    }
    let stdout = String::from_utf8(stdout).map_err(|_| {
        Error::new(
            ErrorKind::Command,
            format!("{what}: `{program}` printed something that is not UTF-8 on stdout"),
        )
    })?;
    let token = stdout.trim();
    if token.is_empty() {
        return Err(Error::new(
            ErrorKind::Command,
            format!(
                "{what}: `{program}` exited successfully but printed no token on stdout; stderr: {}",
                quote_stderr(&stderr)
            ),
        ));
    }
    Ok(token.to_owned())
}

/// Why collecting a command's output ended without an exit status.
enum Failure {
    /// `commandTimeout` ran out before the command exited.
    TimedOut,
    /// More than [`OUTPUT_LIMIT`] bytes came on this stream.
    TooMuch(&'static str),
    /// Reading this stream failed.
    Read(&'static str, std::io::Error),
    /// Waiting for the command to exit failed.
    Wait(std::io::Error),
}

impl Failure {
    /// The error to report; `killed`: whether the command was still running and was killed
    /// (else it had exited, and what failed came from a process it left running).
    fn into_error(self, what: &str, program: &str, timeout: Duration, killed: bool) -> Error {
        match self {
            Failure::TimedOut => Error::new(
                ErrorKind::Timeout,
                format!(
                    "{what}: `{program}` did not finish within {timeout:?} and was killed (see commandTimeout)"
                ),
            ),
            Failure::TooMuch(stream) if killed => Error::new(
                ErrorKind::Command,
                format!(
                    "{what}: `{program}` printed more than 1 MiB on {stream} (the limit) and was killed"
                ),
            ),
            Failure::TooMuch(stream) => Error::new(
                ErrorKind::Command,
                format!(
                    "{what}: a process `{program}` left running printed more than 1 MiB on its \
                     {stream} (the limit)"
                ),
            ),
            Failure::Read(stream, e) => Error::new(
                ErrorKind::Command,
                format!("{what}: reading the {stream} of `{program}` failed: {e}"),
            ),
            Failure::Wait(e) => Error::new(
                ErrorKind::Command,
                format!("{what}: waiting for `{program}` failed: {e}"),
            ),
        }
    }
}

/// Read the command's stdout and stderr into `[stdout, stderr]` while waiting for it to exit
/// (until `deadline`); then keep reading for at most `grace` (and not past `deadline`) for the
/// streams to close, and return its exit status.
async fn collect(
    program: &str,
    child: &mut tokio::process::Child,
    group: &mut TreeKiller,
    [stdout, stderr]: [&mut Vec<u8>; 2],
    deadline: Instant,
    grace: Duration,
) -> Result<ExitStatus, Failure> {
    let mut read_out = pin!(read_capped(child.stdout.take(), stdout, "stdout"));
    let mut read_err = pin!(read_capped(child.stderr.take(), stderr, "stderr"));
    let (mut out_open, mut err_open) = (true, true);
    let mut timeout = pin!(tokio::time::sleep_until(deadline));
    let status = loop {
        tokio::select! {
            read = read_out.as_mut(), if out_open => {
                read?;
                out_open = false;
            }
            read = read_err.as_mut(), if err_open => {
                read?;
                err_open = false;
            }
            status = exited(child) => break status.map_err(Failure::Wait)?,
            () = timeout.as_mut() => return Err(Failure::TimedOut),
        }
    };
    // It exited by itself: what it left running is its own business.
    group.disarm();
    let drain = async {
        tokio::try_join!(
            async {
                if out_open {
                    read_out.as_mut().await
                } else {
                    Ok(())
                }
            },
            async {
                if err_open {
                    read_err.as_mut().await
                } else {
                    Ok(())
                }
            },
        )
    };
    let grace_end = deadline.min(Instant::now() + grace);
    match tokio::time::timeout_at(grace_end, drain).await {
        Ok(drained) => {
            drained?;
        }
        Err(_) => crate::logging::debug!(
            "flyteauth: the output of `{program}` is still open after it exited (a process it \
             started keeps it); using what it printed"
        ),
    }
    Ok(status)
}

/// Wait for `child` to exit: tokio's notification, or the OS asked every [`REAP_POLL`] when
/// the notification never comes (a forked process without pidfd; see the module docs).
async fn exited(child: &mut tokio::process::Child) -> std::io::Result<ExitStatus> {
    loop {
        tokio::select! {
            status = child.wait() => return status,
            () = tokio::time::sleep(REAP_POLL) => {}
        }
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
    }
}

/// Append everything `stream` yields to `buf`, up to [`OUTPUT_LIMIT`] bytes.
async fn read_capped(
    stream: Option<impl AsyncRead + Unpin>,
    buf: &mut Vec<u8>,
    name: &'static str,
) -> Result<(), Failure> {
    let Some(mut stream) = stream else {
        return Ok(());
    };
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| Failure::Read(name, e))?;
        if n == 0 {
            return Ok(());
        }
        if buf.len() + n > OUTPUT_LIMIT {
            return Err(Failure::TooMuch(name));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Kills a command's process tree ([`crate::platform::ProcessTree`]: its process group on
/// unix, `taskkill /T` on Windows) when dropped or told to, unless disarmed because the
/// command exited by itself.
struct TreeKiller {
    armed: bool,
    tree: crate::platform::ProcessTree,
}

impl TreeKiller {
    /// The tree of `child`, started by [`crate::platform::command`].
    fn new(child: &tokio::process::Child) -> Self {
        TreeKiller {
            armed: true,
            tree: crate::platform::ProcessTree::of(child),
        }
    }

    /// Leave the group alone from now on.
    fn disarm(&mut self) {
        self.armed = false;
    }

    /// Kill the whole tree now, unless disarmed or already killed; whether it was armed.
    fn kill(&mut self) -> bool {
        let armed = std::mem::replace(&mut self.armed, false);
        if armed {
            self.tree.kill();
        }
        armed
    }
}

impl Drop for TreeKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

fn quote_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return "(empty)".to_owned();
    }
    if text.len() <= STDERR_QUOTE_LIMIT {
        return text.to_owned();
    }
    let mut end = STDERR_QUOTE_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end)
}

/// The token of `proxyCommand`, cached and re-run on demand; shared by the HTTP layer (every
/// request the library makes) and the header metadata.
pub struct ProxyToken {
    argv: Vec<String>,
    timeout: Duration,
    current: Mutex<Option<Arc<str>>>,
    /// One run at a time, per process: a run holding it in the parent at `fork()` never
    /// releases it in the child (see [`crate::epoch`]).
    run_lock: PerProcess<Arc<tokio::sync::Mutex<()>>>,
}

impl ProxyToken {
    /// A proxy token produced by `argv`.
    pub fn new(argv: Vec<String>, timeout: Duration) -> Self {
        ProxyToken {
            argv,
            timeout,
            current: Mutex::new(None),
            run_lock: PerProcess::new(),
        }
    }

    /// The proxy token of `config`'s `proxyCommand`, if it has one.
    pub fn for_config(config: &crate::config::Config) -> Option<Arc<ProxyToken>> {
        (!config.proxy_command.is_empty()).then(|| {
            Arc::new(ProxyToken::new(
                config.proxy_command.clone(),
                config.command_timeout,
            ))
        })
    }

    fn cached(&self) -> Option<Arc<str>> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current header value (`Bearer <token>`), running the command if there is none.
    pub async fn header_value(&self) -> Result<Arc<str>> {
        match self.cached() {
            Some(v) => Ok(v),
            None => self.rerun(None).await,
        }
    }

    /// Run the command again, unless another caller already replaced `stale` while this one
    /// waited (so a burst of rejections runs it once). With `stale == None`, run it only if
    /// there is no value yet.
    pub async fn rerun(&self, stale: Option<&Arc<str>>) -> Result<Arc<str>> {
        let lock = self.run_lock.get_or_init(Default::default);
        let _guard = lock.lock().await;
        if let Some(current) = self.cached() {
            let still_stale = stale.is_some_and(|s| Arc::ptr_eq(s, &current));
            if !still_stale {
                return Ok(current);
            }
        }
        let token = run_token_command("proxyCommand", &self.argv, self.timeout).await?;
        let value: Arc<str> = crate::token::bearer_header_value(&token)?.into();
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(value.clone());
        Ok(value)
    }
}

impl std::fmt::Debug for ProxyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyToken")
            .field("program", &self.argv.first())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Whether process `pid` is gone: no such process, or a zombie waiting to be reaped.
    fn process_is_gone(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat.rsplit_once(')').is_none_or(|(_, rest)| {
                matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))
            }),
        }
    }

    /// Waits up to 10 s for `pid` to be gone; kills it (so a failing test leaves nothing
    /// behind) and returns false if it is not.
    async fn gone_within_10s(pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !process_is_gone(pid) {
            if Instant::now() >= deadline {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// The pid a script wrote to `path` (`echo $! > path`), waiting up to 10 s for it.
    async fn pid_written_to(path: &std::path::Path) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if let Some(pid) = text.strip_suffix('\n').and_then(|t| t.trim().parse().ok()) {
                return pid;
            }
            assert!(Instant::now() < deadline, "no pid in {}", path.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn dropping_the_run_kills_the_whole_process_group() {
        // The caller gave up (cancelled, or the authenticator was freed) while the command
        // runs: its background process must not outlive it either.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            format!("sleep 300 & echo $! > {}; wait", pid_file.display()),
        ];
        let run = tokio::spawn(async move {
            run_token_command("command", &argv, Duration::from_secs(60)).await
        });
        let grandchild = pid_written_to(&pid_file).await;
        run.abort();
        assert!(run.await.unwrap_err().is_cancelled());
        assert!(
            gone_within_10s(grandchild).await,
            "the grandchild {grandchild} outlived the dropped run"
        );
    }

    #[tokio::test]
    async fn an_exit_within_the_timeout_is_a_success_even_if_the_output_stays_open() {
        // The grace after the exit is cut short by commandTimeout, but the command did exit in
        // time: what it printed is used, and its background process is left alone.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            format!("sleep 300 & echo $! > {}; echo tok", pid_file.display()),
        ];
        // The timeout, not the (much longer) grace, ends the wait: 5 s is ample for the
        // script to exit even on a busy machine.
        let token = run_with_grace(
            "command",
            &argv,
            Duration::from_secs(5),
            Duration::from_secs(600),
        )
        .await;
        let background = pid_written_to(&pid_file).await;
        let alive = !process_is_gone(background);
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &background.to_string()])
            .status();
        assert_eq!(token.unwrap(), "tok");
        assert!(
            alive,
            "the background process of a successful command was killed"
        );
    }

    #[tokio::test]
    async fn a_flood_from_a_process_left_running_after_the_exit_is_an_error() {
        // Usually the flood starts after the exit (then the process gets SIGPIPE when the
        // output is closed); on a slow machine it may start before (then the group is killed).
        // The grace is long, so however late a busy machine starts the flood, it comes within
        // the grace (with the default 2 s, a flood delayed past it is not seen: CI, stop 20).
        let argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "(sleep 3; exec yes) & echo tok".to_owned(),
        ];
        let e = run_with_grace(
            "command",
            &argv,
            Duration::from_secs(120),
            Duration::from_secs(600),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Command, "{e}");
        assert!(
            e.message().contains("more than 1 MiB on")
                && e.message().contains("stdout (the limit)"),
            "{e}"
        );
    }
}

#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;

    /// A directory on PATH with `name.cmd` holding `script`; PATH keeps its other entries.
    fn cmd_shim_on_path(name: &str, script: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{name}.cmd")), script).unwrap();
        let mut path = vec![dir.path().to_path_buf()];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        // Other tests only ever add to PATH, never rely on its exact value.
        std::env::set_var("PATH", std::env::join_paths(path).unwrap());
        dir
    }

    #[tokio::test]
    async fn a_cmd_shim_runs_by_its_bare_name_through_pathext() {
        // `gcloud` on Windows is `gcloud.cmd`: Rust's Command alone finds only `gcloud.exe`.
        let _dir = cmd_shim_on_path("flyteauth-test-shim", "@echo tok-from-cmd\r\n");
        let argv = vec!["flyteauth-test-shim".to_owned()];
        let token = run_token_command("command", &argv, Duration::from_secs(60)).await;
        assert_eq!(token.unwrap(), "tok-from-cmd");
    }

    #[tokio::test]
    async fn a_batch_argument_is_never_run_as_a_command() {
        // CVE-2024-24576: cmd.exe parses a batch file's command line again. std quotes the
        // arguments for it and refuses (InvalidInput) what it cannot quote safely. (The script
        // echoes `%1`, quotes kept: a script that expands `%~1` unquoted injects by itself.)
        let _dir = cmd_shim_on_path("flyteauth-test-echo", "@echo off\r\necho %1\r\n");
        let argv = vec![
            "flyteauth-test-echo".to_owned(),
            "tok\" & echo injected".to_owned(),
        ];
        match run_token_command("command", &argv, Duration::from_secs(60)).await {
            Ok(token) => assert!(!token.lines().any(|l| l.trim() == "injected"), "{token}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Command, "{e}"),
        }
    }
}
