//! Every difference between operating systems, in one place.
//!
//! | Concern | Linux (and other unix) | macOS | Windows |
//! |---|---|---|---|
//! | Keyring (shared with pyflyte's Python `keyring`) | Secret Service item, attributes `service`, `username`, `application` | login Keychain generic password, `service` + `account` | Credential Manager generic credential, target `service` or `user@service` |
//! | Browser | `$BROWSER`, then `xdg-open` | `$BROWSER`, then `open` | `$BROWSER` (`;`-separated), then `rundll32 url.dll,FileProtocolHandler` |
//! | Home (for `~/.flyte/config.yaml`) | `HOME` | `HOME` | `USERPROFILE`, `HOMEDRIVE`+`HOMEPATH`, then `HOME` |
//! | External commands | argv as given | argv as given | a bare name resolved through `PATH` × `PATHEXT` (`gcloud` → `gcloud.cmd`) |
//! | Killing a command and what it started | its process group | its process group | its process tree (`taskkill /T /F`) |
//! | Coarse wall clock (hot path) | `CLOCK_REALTIME_COARSE` (vDSO) | `SystemTime::now` | `SystemTime::now` |
//!
//! Each OS has one file. The parts that only compute something (keyring item layouts, the
//! `PATHEXT` search, the home directory rule, the opener's argv) are compiled on every OS, so
//! their unit tests run on the development host too; the parts that call the OS are compiled
//! only for their OS. The rest of the library uses only the items re-exported here, which
//! every OS provides with the same signatures:
//!
//! - `Keyring`: `open()`, `get(service, user)`, `set(service, user, secret)`,
//!   `delete(service, user)`, laid out as Python `keyring` lays out its items on that OS;
//! - `opener_argv(&Url) -> Vec<String>`: the URL opener;
//! - `home_dir(var) -> Option<PathBuf>`: the home directory from the environment;
//! - `command(program, args) -> tokio::process::Command`: an external command, resolved;
//! - `ProcessTree`: kills a command and what it started;
//! - `coarse_now_nanos() -> u64`: the cheap wall clock of the hot path.

pub mod linux;
pub mod macos;
#[cfg(unix)]
mod unix;
pub mod windows;

#[cfg(all(unix, not(target_os = "macos")))]
pub(crate) use linux::{coarse_now_nanos, opener_argv, Keyring};
#[cfg(target_os = "macos")]
pub(crate) use macos::{opener_argv, Keyring};
#[cfg(unix)]
pub(crate) use unix::{command, home_dir, ProcessTree};
#[cfg(windows)]
pub(crate) use windows::{command, home_dir, opener_argv, Keyring, ProcessTree};

/// The separator of the commands listed in `$BROWSER` (Python's `webbrowser` splits on
/// `os.pathsep`: `;` on Windows, where paths contain `:`).
pub const BROWSER_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// Nanoseconds since the Unix epoch from the precise wall clock, where there is no cheaper
/// coarse one (see [`crate::clock`]).
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub(crate) fn coarse_now_nanos() -> u64 {
    crate::clock::nanos_since_epoch(std::time::SystemTime::now())
}
