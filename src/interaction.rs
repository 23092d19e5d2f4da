//! Reaching the person for an interactive login: what they must do is handed to the host's
//! prompt callback (a GUI or an IDE can show it its own way), or without one written to stderr
//! (to the host's log sink when it installed one, see [`crate::logging`]); for PKCE the browser is also opened, best-effort, with `$BROWSER` or the platform opener
//! (an `http://` or `https://` URL only).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

/// What the person must do to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Open `url` in a browser and log in (PKCE).
    Browser {
        /// The authorization URL.
        url: String,
    },
    /// Visit `verification_uri` and enter `user_code` (device flow).
    DeviceCode {
        /// Where to go.
        verification_uri: String,
        /// The code to enter.
        user_code: String,
        /// A URL with the code already filled in, if the server sent one.
        verification_uri_complete: Option<String>,
    },
}

impl Prompt {
    /// The text written to stderr.
    pub fn message(&self) -> String {
        match self {
            Prompt::Browser { url } => format!(
                "flyteauth: log in with your browser; if it does not open, open this URL:\n  {url}"
            ),
            Prompt::DeviceCode {
                verification_uri_complete: Some(complete),
                user_code,
                ..
            } => format!(
                "flyteauth: to log in, open this URL in a browser on any device:\n  {complete}\n  (code {user_code})"
            ),
            Prompt::DeviceCode {
                verification_uri,
                user_code,
                ..
            } => format!(
                "flyteauth: to log in, open {verification_uri} in a browser on any device and enter the code {user_code}"
            ),
        }
    }
}

/// A host's prompt callback. Called on a library thread; it must return promptly and must
/// not call back into a blocking method of the same authenticator.
pub type PromptCallback = Arc<dyn Fn(&Prompt) + Send + Sync>;

/// Where prompts go: stderr, and the host's callback if one is set.
#[derive(Default)]
pub struct PromptSink {
    callback: Mutex<Option<PromptCallback>>,
}

impl PromptSink {
    /// Set (or clear) the host's callback.
    pub fn set_callback(&self, callback: Option<PromptCallback>) {
        let old = std::mem::replace(
            &mut *self.callback.lock().unwrap_or_else(|p| p.into_inner()),
            callback,
        );
        // Dropped after the lock is released: dropping runs the host's release function,
        // which may take time or call back into the library.
        drop(old);
    }

    /// Show `prompt`: to the host's callback when it set one, on a blocking-pool thread (so a
    /// slow or misbehaving callback never stalls the login; a panic in it is caught);
    /// otherwise as a notice (stderr, or the host's log sink: see [`crate::logging`]).
    pub fn show(&self, prompt: &Prompt) {
        let callback = self
            .callback
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(callback) = callback else {
            crate::logging::notice(
                crate::logging::Level::Warn,
                module_path!(),
                format_args!("{}", prompt.message()),
            );
            return;
        };
        let prompt = prompt.clone();
        let call = move || {
            if catch_unwind(AssertUnwindSafe(|| callback(&prompt))).is_err() {
                crate::logging::warning!("flyteauth: the prompt callback panicked");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(call)),
            Err(_) => call(),
        }
    }
}

impl std::fmt::Debug for PromptSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptSink").finish_non_exhaustive()
    }
}

/// Open `url` in a browser, best-effort: each command of `$BROWSER` (separated by `:`, on
/// Windows `;`; `%s` is replaced by the URL, else the URL is appended), then the platform
/// opener ([`crate::platform::opener_argv`]: `xdg-open`, `open`, or on Windows
/// `rundll32 url.dll,FileProtocolHandler`). Returns whether a
/// command was started. The process is reaped in the background; its output is discarded.
///
/// Only `http://` and `https://` URLs are opened: the URL comes from the server's metadata,
/// and the platform opener would hand any other scheme (`file:`, `smb:`, a custom handler) to
/// whatever program the desktop associates with it. Others are refused with a warning.
pub fn open_browser(url: &str) -> bool {
    open_browser_with(url, std::env::var("BROWSER").ok().as_deref())
}

/// [`open_browser`] with `browser` in place of `$BROWSER`.
fn open_browser_with(url: &str, browser: Option<&str>) -> bool {
    let parsed = match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => parsed,
        Ok(parsed) => {
            crate::logging::warning!(
                "flyteauth: not opening a browser for a `{}:` URL; only http and https URLs are opened",
                parsed.scheme()
            );
            return false;
        }
        Err(_) => {
            crate::logging::warning!(
                "flyteauth: not opening a browser for a login URL that is not a URL"
            );
            return false;
        }
    };
    let mut candidates: Vec<Vec<String>> = Vec::new();
    if let Some(browser) = browser {
        let entries = browser.split(crate::platform::BROWSER_SEPARATOR);
        for entry in entries.filter(|e| !e.trim().is_empty()) {
            let mut argv: Vec<String> = entry.split_whitespace().map(str::to_owned).collect();
            if argv.iter().any(|a| a.contains("%s")) {
                argv.iter_mut().for_each(|a| *a = a.replace("%s", url));
            } else {
                argv.push(url.to_owned());
            }
            candidates.push(argv);
        }
    }
    // The platform's opener gets the URL as url::Url wrote it (percent-encoded), as one
    // argument, never through a shell.
    candidates.push(crate::platform::opener_argv(&parsed));
    for argv in candidates {
        let spawned = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut child) = spawned {
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
            return true;
        }
    }
    false
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A `$BROWSER`: a script that ignores its arguments and creates `marker`.
    fn marking_browser(marker: &std::path::Path) -> String {
        use std::os::unix::fs::PermissionsExt;
        let script = marker.with_extension("sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script.display().to_string()
    }

    fn appears_within(path: &std::path::Path, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !path.exists() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    #[tokio::test]
    async fn only_http_and_https_urls_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        for url in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "ssh://attacker.example/",
            "smb://attacker.example/share",
            "relative/path",
            "not a url",
        ] {
            let marker = dir.path().join("refused");
            assert!(
                !open_browser_with(url, Some(&marking_browser(&marker))),
                "{url} was handed to the browser"
            );
            assert!(!marker.exists(), "{url} started the browser");
        }
        for url in [
            "https://idp.example/authorize?x=1",
            "HTTP://127.0.0.1:53593/",
        ] {
            let marker = dir.path().join("opened");
            let _ = std::fs::remove_file(&marker);
            assert!(
                open_browser_with(url, Some(&marking_browser(&marker))),
                "{url} was not opened"
            );
            assert!(
                appears_within(&marker, Duration::from_secs(10)),
                "{url}: the browser did not start"
            );
        }
    }
}
