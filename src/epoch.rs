//! The process epoch: which process a per-process resource belongs to.
//!
//! After `fork()` the child has a copy of the parent's memory but none of its threads: the
//! tokio runtime has no workers, a connection pool holds the parent's sockets, a lock held
//! by a parent's task is never released, a discovery fetch in flight never completes, and
//! the keyring connection is the parent's D-Bus session. Every such resource lives in a
//! [`PerProcess`], which hands the child a fresh one on first use. The parent's is leaked,
//! never dropped: dropping it could wait for threads that do not exist in the child, or
//! close file descriptors the child does not own.
//!
//! The epoch is the process id: a child always has another one than its parent.

use std::sync::{Mutex, PoisonError};

/// The current process epoch.
pub fn current() -> u32 {
    std::process::id()
}

/// A value that belongs to the process that made it (see the module docs).
pub struct PerProcess<T> {
    slot: Mutex<Option<(u32, T)>>,
}

impl<T> Default for PerProcess<T> {
    fn default() -> Self {
        PerProcess::new()
    }
}

impl<T> PerProcess<T> {
    /// Empty: the first use makes the value.
    pub const fn new() -> Self {
        PerProcess {
            slot: Mutex::new(None),
        }
    }

    /// Holding `value`, made by this process.
    pub fn with(value: T) -> Self {
        PerProcess {
            slot: Mutex::new(Some((current(), value))),
        }
    }
}

impl<T: Clone> PerProcess<T> {
    /// This process's value, made by `init` on first use here (also after a fork, when the
    /// parent's value is leaked).
    pub fn get_or_try_init<E>(&self, init: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let epoch = current();
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.take() {
            Some((owner, value)) if owner == epoch => {
                *slot = Some((owner, value.clone()));
                return Ok(value);
            }
            Some(inherited) => std::mem::forget(inherited),
            None => {}
        }
        let value = init()?;
        *slot = Some((epoch, value.clone()));
        Ok(value)
    }

    /// [`PerProcess::get_or_try_init`] for an `init` that cannot fail.
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> T {
        self.get_or_try_init(|| Ok::<_, std::convert::Infallible>(init()))
            .unwrap_or_else(|never| match never {})
    }
}

impl<T> std::fmt::Debug for PerProcess<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerProcess").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_per_process() {
        let p = PerProcess::new();
        let mut made = 0;
        for _ in 0..3 {
            assert_eq!(
                p.get_or_init(|| {
                    made += 1;
                    7
                }),
                7
            );
        }
        assert_eq!(made, 1);
        // A value from another process (as a forked child sees its parent's) is replaced.
        let inherited = PerProcess {
            slot: Mutex::new(Some((current().wrapping_add(1), 1))),
        };
        assert_eq!(inherited.get_or_init(|| 2), 2);
    }
}
