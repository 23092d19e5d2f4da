//! What every unix (Linux, macOS, the BSDs) does the same way: the home directory, external
//! commands and their process groups.

use std::path::PathBuf;

/// `$HOME` (what pyflyte's `Path.home()` and flytectl's `os.UserHomeDir` read on unix).
pub(crate) fn home_dir(var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    var("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// `program` with `args`, as the leader of a new process group (see [`ProcessTree`]).
pub(crate) fn command(program: &str, args: &[String]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).process_group(0);
    cmd
}

/// Kills a command's process group (SIGKILL): the command and every process it started that
/// stayed in its group. A process that left the group (`setsid`) is out of reach.
#[derive(Debug)]
pub(crate) struct ProcessTree {
    group: Option<rustix::process::Pid>,
}

impl ProcessTree {
    /// The group of `child`, which [`command`] started as the leader of its own group.
    pub(crate) fn of(child: &tokio::process::Child) -> Self {
        ProcessTree {
            group: child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .and_then(rustix::process::Pid::from_raw)
                // Never pid 1: kill(-1) would signal every process we may signal.
                .filter(|pid| *pid != rustix::process::Pid::INIT),
        }
    }

    /// Kill the whole group now (ESRCH, the group is gone already, is fine).
    pub(crate) fn kill(&self) {
        if let Some(group) = self.group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}
