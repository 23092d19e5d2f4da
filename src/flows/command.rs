//! External commands: `command` (the `ExternalCommand` flow) and `proxyCommand` (the
//! `proxy-authorization` header).
//!
//! The argv runs without a shell, with stdin closed and a timeout after which the process is
//! killed. Its trimmed stdout is the token. A failure reports the program name, the exit
//! status and (a bounded part of) stderr, never stdout and never the other arguments: either
//! may carry a token.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// The most stderr quoted in an error message, in bytes.
const STDERR_QUOTE_LIMIT: usize = 2048;

/// Run `argv` and return its trimmed stdout. `what` names the config key for messages.
pub async fn run_token_command(what: &str, argv: &[String], timeout: Duration) -> Result<String> {
    let program = argv.first().map(String::as_str).unwrap_or_default();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| {
        Error::new(
            ErrorKind::Command,
            format!("{what}: cannot start `{program}`: {e}"),
        )
    })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            return Err(Error::new(
                ErrorKind::Command,
                format!("{what}: waiting for `{program}` failed: {e}"),
            ))
        }
        // Dropping the future drops the child, which kills it (kill_on_drop).
        Err(_) => {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "{what}: `{program}` did not finish within {:?} and was killed (see commandTimeout)",
                    timeout
                ),
            ))
        }
    };
    if !output.status.success() {
        let status = match output.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "a signal".to_owned(),
        };
        return Err(Error::new(
            ErrorKind::Command,
            format!(
                "{what}: `{program}` failed with {status}; stderr: {}",
                quote_stderr(&output.stderr)
            ),
        ));
    }
    let stdout = String::from_utf8(output.stdout).map_err(|_| {
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
                quote_stderr(&output.stderr)
            ),
        ));
    }
    Ok(token.to_owned())
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
    run_lock: tokio::sync::Mutex<()>,
}

impl ProxyToken {
    /// A proxy token produced by `argv`.
    pub fn new(argv: Vec<String>, timeout: Duration) -> Self {
        ProxyToken {
            argv,
            timeout,
            current: Mutex::new(None),
            run_lock: tokio::sync::Mutex::new(()),
        }
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
        let _guard = self.run_lock.lock().await;
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
