//! Windows: Credential Manager, the URL opener, `USERPROFILE`, `PATHEXT` and process trees.
//!
//! **Keyring.** Python `keyring`'s `WinVaultKeyring` (what pyflyte uses here) keeps generic
//! credentials (`CRED_TYPE_GENERIC`, `CRED_PERSIST_ENTERPRISE`, comment
//! `Stored using python-keyring`, the secret as UTF-16LE). Credential Manager has one
//! credential per *target name*, so it folds (service, username) into targets this way:
//! - `set_password(service, user, secret)`: the credential whose target is `service` (whoever
//!   its user is) is first copied to the target `<its user>@<service>`; then target `service`
//!   is written with user name `user`. The newest write of a service is under the bare service
//!   name, the others under `user@service`.
//! - `get_password(service, user)`: target `service` if its user name is `user`, else target
//!   `user@service`.
//! - `delete_password(service, user)`: both targets, each only if its user name is `user`.
//!
//! (Releases before keyring 3 used other targets; every release since 2015 does the above.)
//! We do the same ([`read_targets`], [`write_plan`], [`delete_targets`]), so pyflyte and
//! flyteauth read each other's tokens. Credential Manager holds at most 2560 bytes per secret
//! (1280 UTF-16 characters): a longer token cannot be stored by either (the write fails, a
//! cache miss with a warning).
//!
//! **External commands.** `std::process::Command` finds only `<name>.exe` for a bare name, but
//! the tools users configure are often batch shims (`gcloud` is `gcloud.cmd`). [`command`]
//! resolves a bare name through `PATH` × `PATHEXT` as cmd.exe does (directory by directory,
//! each with every extension), keeping only the extensions `CreateProcess` can start. A `.cmd`
//! or `.bat` runs through cmd.exe, which parses its command line again: since Rust 1.77.2
//! (CVE-2024-24576) std quotes each argument for cmd.exe and refuses, with an `InvalidInput`
//! error, an argument it cannot pass safely; we never build a command line ourselves.
//!
//! **Killing a command.** There are no process groups to signal; `taskkill /T /F /PID` ends
//! the command and every process it started (see [`ProcessTree`]).

use std::path::{Path, PathBuf};

/// The comment Python keyring puts on its credentials.
pub const PYTHON_KEYRING_COMMENT: &str = "Stored using python-keyring";

/// Python keyring's target for `user`'s credential when another user holds `service`.
pub fn compound_target(service: &str, user: &str) -> String {
    format!("{user}@{service}")
}

/// A target to read, and the user name its credential must have to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadTarget {
    /// The credential's target name.
    pub target: String,
    /// The credential counts only if its user name is this (`None`: whatever it is).
    pub user: Option<String>,
}

/// Where Python keyring's `get_password(service, user)` looks, in order.
pub fn read_targets(service: &str, user: &str) -> [ReadTarget; 2] {
    [
        ReadTarget {
            target: service.to_owned(),
            user: Some(user.to_owned()),
        },
        ReadTarget {
            target: compound_target(service, user),
            user: None,
        },
    ]
}

/// One credential write of [`write_plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The target name written.
    pub target: String,
    /// The credential's user name.
    pub user: String,
    /// Whether the secret is the one being set (else the occupant's, moved aside).
    pub new_secret: bool,
}

/// The writes of Python keyring's `set_password(service, user, ...)`, in order, when the
/// credential under target `service` belongs to `occupant` (if any).
pub fn write_plan(service: &str, user: &str, occupant: Option<&str>) -> Vec<Write> {
    let mut plan = Vec::with_capacity(2);
    if let Some(occupant) = occupant {
        plan.push(Write {
            target: compound_target(service, occupant),
            user: occupant.to_owned(),
            new_secret: false,
        });
    }
    plan.push(Write {
        target: service.to_owned(),
        user: user.to_owned(),
        new_secret: true,
    });
    plan
}

/// The targets Python keyring's `delete_password(service, user)` removes, each only if its
/// credential's user name is `user`.
pub fn delete_targets(service: &str, user: &str) -> [String; 2] {
    [service.to_owned(), compound_target(service, user)]
}

/// The home directory as pyflyte (`Path.home()`) and flytectl (`os.UserHomeDir`) find it on
/// Windows: `USERPROFILE`, else `HOMEDRIVE` + `HOMEPATH`; then `HOME` (set by MSYS shells) as
/// a last resort.
pub fn home_dir(var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(profile) = set("USERPROFILE") {
        return Some(PathBuf::from(profile));
    }
    if let (Some(drive), Some(path)) = (set("HOMEDRIVE"), set("HOMEPATH")) {
        return Some(PathBuf::from(format!("{drive}{path}")));
    }
    set("HOME").map(PathBuf::from)
}

/// The argv that opens `url` with the default browser, with no shell in between:
/// `rundll32 url.dll,FileProtocolHandler <url>` (what `start` does, minus cmd.exe's parsing of
/// `&`, `^` and `%` in the URL).
pub fn opener_argv(url: &url::Url) -> Vec<String> {
    vec![
        "rundll32.exe".to_owned(),
        "url.dll,FileProtocolHandler".to_owned(),
        url.as_str().to_owned(),
    ]
}

/// `PATHEXT` when it is not set.
pub const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// The extensions `CreateProcess` can start (others in `PATHEXT`, such as `.JS` or `.PY`,
/// need their interpreter named).
const STARTABLE: [&str; 4] = [".com", ".exe", ".bat", ".cmd"];

/// Where cmd.exe would find the bare program name `program`: in each directory of `path` in
/// order, `program` itself if it already ends in one of `pathext`'s extensions, then
/// `program` + each extension. `None` when `program` is a path (has a separator or a drive),
/// or is not found. `is_file` says whether a candidate exists.
pub fn resolve_program(
    program: &str,
    path: &[PathBuf],
    pathext: &str,
    is_file: &dyn Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if program.is_empty() || program.contains(['/', '\\', ':']) {
        return None;
    }
    let extensions: Vec<String> = pathext
        .split(';')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| STARTABLE.contains(&e.as_str()))
        .collect();
    let lower = program.to_ascii_lowercase();
    let has_extension = extensions.iter().any(|e| lower.ends_with(e.as_str()));
    for dir in path.iter().filter(|d| !d.as_os_str().is_empty()) {
        if has_extension && is_file(&dir.join(program)) {
            return Some(dir.join(program));
        }
        for ext in &extensions {
            let candidate = dir.join(format!("{program}{ext}"));
            if is_file(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

#[cfg(windows)]
pub(crate) use sys::{command, Keyring, ProcessTree};

#[cfg(windows)]
mod sys {
    use std::collections::HashMap;
    use std::os::windows::process::CommandExt;
    use std::process::Stdio;
    use std::sync::Arc;

    use keyring_core::api::CredentialStoreApi;
    use keyring_core::{Entry, Error};
    use windows_native_keyring_store::Store;

    use super::PYTHON_KEYRING_COMMENT;
    use super::{delete_targets, read_targets, resolve_program, write_plan, DEFAULT_PATHEXT};

    /// `CREATE_NO_WINDOW`: no console window flashes up for a helper process.
    const CREATE_NO_WINDOW: u32 = 0x0800_0000;

    /// `program` with `args`; a bare name is resolved through `PATH` × `PATHEXT` first.
    pub(crate) fn command(program: &str, args: &[String]) -> tokio::process::Command {
        let path: Vec<_> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        let pathext = std::env::var("PATHEXT").unwrap_or_else(|_| DEFAULT_PATHEXT.to_owned());
        let resolved = resolve_program(program, &path, &pathext, &|p| p.is_file());
        let mut cmd = match resolved {
            Some(full) => tokio::process::Command::new(full),
            None => tokio::process::Command::new(program),
        };
        cmd.args(args);
        cmd
    }

    /// Kills a command and every process it started, with `taskkill /T /F /PID`, which walks
    /// the tree by parent process id. A job object would also catch a process whose parent
    /// has already exited, but needs `unsafe` Win32 calls (allowed only in `src/ffi`) and
    /// creating the child suspended, which std's `Command` cannot resume.
    #[derive(Debug)]
    pub(crate) struct ProcessTree {
        pid: Option<u32>,
    }

    impl ProcessTree {
        /// The tree of `child`.
        pub(crate) fn of(child: &tokio::process::Child) -> Self {
            ProcessTree { pid: child.id() }
        }

        /// Kill the tree now; waits for taskkill (it must see the tree before the command
        /// itself is killed, or the children lose their parent link).
        pub(crate) fn kill(&self) {
            let Some(pid) = self.pid else { return };
            let status = std::process::Command::new("taskkill")
                .args(["/T", "/F", "/PID", &pid.to_string()])
                .creation_flags(CREATE_NO_WINDOW)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if let Err(e) = status {
                crate::logging::debug!("flyteauth: taskkill /T /PID {pid} could not run: {e}");
            }
        }
    }

    /// Credential Manager, with Python keyring's targets (see the module docs).
    #[derive(Clone)]
    pub(crate) struct Keyring(Arc<Store>);

    impl Keyring {
        /// The Credential Manager of this user.
        pub(crate) fn open() -> Result<Keyring, Error> {
            Store::new().map(Keyring)
        }

        /// The credential with target name `target` (service and user do not matter then).
        fn entry(&self, target: &str) -> Result<Entry, Error> {
            self.0
                .build("flyteauth", "", Some(&HashMap::from([("target", target)])))
        }

        /// The user name and secret under `target`, if there is a credential.
        fn read(&self, target: &str) -> Result<Option<(String, String)>, Error> {
            let entry = self.entry(target)?;
            let user = match entry.get_attributes() {
                Ok(attrs) => attrs.get("username").cloned().unwrap_or_default(),
                Err(Error::NoEntry) => return Ok(None),
                Err(e) => return Err(e),
            };
            let secret = match entry.get_password() {
                Ok(s) => s,
                // Python keyring also reads UTF-8 secrets (written by other tools).
                Err(Error::BadEncoding(bytes)) => {
                    String::from_utf8(bytes).map_err(|e| Error::BadEncoding(e.into_bytes()))?
                }
                Err(Error::NoEntry) => return Ok(None),
                Err(e) => return Err(e),
            };
            Ok(Some((user, secret)))
        }

        /// Write `secret` under `target` with user name `user` and Python keyring's comment.
        fn write(&self, target: &str, user: &str, secret: &str) -> Result<(), Error> {
            let entry = self.entry(target)?;
            // set_password keeps an existing credential's user name: when it is someone
            // else's, remove it first, so that no reader ever sees `secret` under their name.
            match entry.get_attributes() {
                Ok(attrs) if attrs.get("username").map(String::as_str) != Some(user) => {
                    match entry.delete_credential() {
                        Ok(()) | Err(Error::NoEntry) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(_) | Err(Error::NoEntry) => {}
                Err(e) => return Err(e),
            }
            entry.set_password(secret)?;
            entry.update_attributes(&HashMap::from([
                ("username", user),
                ("comment", PYTHON_KEYRING_COMMENT),
            ]))
        }

        /// The secret of (`service`, `user`), if there is one.
        pub(crate) fn get(&self, service: &str, user: &str) -> Result<Option<String>, Error> {
            for place in read_targets(service, user) {
                if let Some((owner, secret)) = self.read(&place.target)? {
                    if place.user.is_none_or(|u| u == owner) {
                        return Ok(Some(secret));
                    }
                }
            }
            Ok(None)
        }

        /// Set the secret of (`service`, `user`) as Python keyring does.
        pub(crate) fn set(&self, service: &str, user: &str, secret: &str) -> Result<(), Error> {
            let occupant = self.read(service)?;
            for write in write_plan(service, user, occupant.as_ref().map(|(u, _)| u.as_str())) {
                let value = match (&occupant, write.new_secret) {
                    (_, true) => secret,
                    (Some((_, moved)), false) => moved.as_str(),
                    (None, false) => continue,
                };
                self.write(&write.target, &write.user, value)?;
            }
            Ok(())
        }

        /// Remove the secret of (`service`, `user`); none is fine.
        pub(crate) fn delete(&self, service: &str, user: &str) -> Result<(), Error> {
            for target in delete_targets(service, user) {
                if let Some((owner, _)) = self.read(&target)? {
                    if owner == user {
                        match self.entry(&target)?.delete_credential() {
                            Ok(()) | Err(Error::NoEntry) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Python keyring's WinVaultKeyring over an in-memory Credential Manager (target → (user,
    /// secret)), driven only by the plan functions above, to check that a sequence of writes
    /// leaves the targets Python keyring leaves and reads back what it reads.
    #[derive(Default)]
    struct Vault(HashMap<String, (String, String)>);

    impl Vault {
        fn set(&mut self, service: &str, user: &str, secret: &str) {
            let occupant = self.0.get(service).cloned();
            for w in write_plan(service, user, occupant.as_ref().map(|(u, _)| u.as_str())) {
                let value = if w.new_secret {
                    secret.to_owned()
                } else {
                    occupant.clone().unwrap().1
                };
                self.0.insert(w.target, (w.user, value));
            }
        }
        fn get(&self, service: &str, user: &str) -> Option<&str> {
            read_targets(service, user).into_iter().find_map(|place| {
                let (owner, secret) = self.0.get(&place.target)?;
                place
                    .user
                    .is_none_or(|u| &u == owner)
                    .then_some(secret.as_str())
            })
        }
        fn delete(&mut self, service: &str, user: &str) {
            for target in delete_targets(service, user) {
                if self.0.get(&target).is_some_and(|(owner, _)| owner == user) {
                    self.0.remove(&target);
                }
            }
        }
        fn targets(&self) -> Vec<(&str, &str)> {
            let mut t: Vec<_> = self
                .0
                .iter()
                .map(|(target, (user, _))| (target.as_str(), user.as_str()))
                .collect();
            t.sort();
            t
        }
    }

    #[test]
    fn targets_are_python_keyrings() {
        // keyring/backends/Windows.py: _compound_name = '%(username)s@%(service)s'.
        assert_eq!(
            compound_target("flyte.example.com", "access_token"),
            "access_token@flyte.example.com"
        );
        assert_eq!(
            read_targets("flyte.example.com", "access_token"),
            [
                ReadTarget {
                    target: "flyte.example.com".to_owned(),
                    user: Some("access_token".to_owned())
                },
                ReadTarget {
                    target: "access_token@flyte.example.com".to_owned(),
                    user: None
                },
            ]
        );
        assert_eq!(
            delete_targets("svc", "u"),
            ["svc".to_owned(), "u@svc".to_owned()]
        );
        assert_eq!(PYTHON_KEYRING_COMMENT, "Stored using python-keyring");
    }

    #[test]
    fn a_pyflyte_store_leaves_the_targets_python_keyring_leaves() {
        // flytekit's KeyringStore.store: refresh_token, then access_token, then id_token.
        let mut vault = Vault::default();
        let svc = "flyte.example.com";
        vault.set(svc, "refresh_token", "r1");
        vault.set(svc, "access_token", "a1");
        vault.set(svc, "id_token", "i1");
        assert_eq!(
            vault.targets(),
            [
                ("access_token@flyte.example.com", "access_token"),
                ("flyte.example.com", "id_token"),
                ("refresh_token@flyte.example.com", "refresh_token"),
            ]
        );
        assert_eq!(vault.get(svc, "refresh_token"), Some("r1"));
        assert_eq!(vault.get(svc, "access_token"), Some("a1"));
        assert_eq!(vault.get(svc, "id_token"), Some("i1"));
        // A second login replaces every value; the bare target always holds the newest write.
        vault.set(svc, "refresh_token", "r2");
        vault.set(svc, "access_token", "a2");
        assert_eq!(vault.get(svc, "refresh_token"), Some("r2"));
        assert_eq!(vault.get(svc, "access_token"), Some("a2"));
        assert_eq!(vault.get(svc, "id_token"), Some("i1"));
        assert_eq!(vault.0[svc].0, "access_token");
        // Delete removes only the user's own credentials.
        vault.delete(svc, "access_token");
        assert_eq!(vault.get(svc, "access_token"), None);
        assert_eq!(vault.get(svc, "refresh_token"), Some("r2"));
        assert_eq!(vault.get(svc, "id_token"), Some("i1"));
        // Another service is untouched by all of it.
        assert_eq!(vault.get("other.example.com", "access_token"), None);
    }

    #[test]
    fn the_home_directory_is_pyflytes() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let home = |pairs: &'static [(&'static str, &'static str)]| home_dir(&env(pairs));
        assert_eq!(
            home(&[("USERPROFILE", r"C:\Users\me")]),
            Some(PathBuf::from(r"C:\Users\me"))
        );
        assert_eq!(
            home(&[("USERPROFILE", r"C:\Users\me"), ("HOME", "/c/msys/home")]),
            Some(PathBuf::from(r"C:\Users\me"))
        );
        assert_eq!(
            home(&[("HOMEDRIVE", "D:"), ("HOMEPATH", r"\Users\me")]),
            Some(PathBuf::from(r"D:\Users\me"))
        );
        assert_eq!(
            home(&[("USERPROFILE", ""), ("HOME", r"C:\msys\home")]),
            Some(PathBuf::from(r"C:\msys\home"))
        );
        assert_eq!(home(&[("HOMEDRIVE", "D:")]), None);
    }

    #[test]
    fn the_opener_gets_the_url_as_one_argument_without_a_shell() {
        let url = url::Url::parse("https://idp.example/authorize?a=1&b=%22x%22^y").unwrap();
        let argv = opener_argv(&url);
        assert_eq!(argv[..2], ["rundll32.exe", "url.dll,FileProtocolHandler"]);
        assert_eq!(argv[2], url.as_str());
        assert!(!argv.iter().any(|a| a.eq_ignore_ascii_case("cmd")));
    }

    #[test]
    fn bare_names_resolve_through_path_and_pathext_as_cmd_does() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join("gcloud.cmd"), "").unwrap();
        std::fs::write(b.path().join("tool.exe"), "").unwrap();
        std::fs::write(a.path().join("tool.bat"), "").unwrap();
        std::fs::write(a.path().join("script.js"), "").unwrap();
        let path = [a.path().to_path_buf(), b.path().to_path_buf()];
        let is_file = |p: &Path| p.is_file();
        let resolve = |name: &str| resolve_program(name, &path, DEFAULT_PATHEXT, &is_file);
        assert_eq!(resolve("gcloud"), Some(b.path().join("gcloud.cmd")));
        assert_eq!(resolve("gcloud.cmd"), Some(b.path().join("gcloud.cmd")));
        // Directory by directory: an earlier directory's .bat wins over a later .exe.
        assert_eq!(resolve("tool"), Some(a.path().join("tool.bat")));
        assert_eq!(resolve("missing"), None);
        // Paths are left alone; so are extensions CreateProcess cannot start.
        assert_eq!(resolve(r"C:\tools\gcloud"), None);
        assert_eq!(resolve("./gcloud"), None);
        assert_eq!(resolve_program("script", &path, ".JS;.EXE", &is_file), None);
        // PATHEXT order decides within a directory; case does not matter.
        std::fs::write(b.path().join("both.cmd"), "").unwrap();
        std::fs::write(b.path().join("both.exe"), "").unwrap();
        assert_eq!(
            resolve_program("both", &path, ".cmd;.EXE", &is_file),
            Some(b.path().join("both.cmd"))
        );
        assert_eq!(resolve("both"), Some(b.path().join("both.exe")));
    }
}
