//! The library's one tokio runtime, and the bridge from blocking callers to it.
//!
//! The runtime is built lazily on first use, small (two workers, a handful of blocking
//! threads) and named `flyteauth-*`, because it lives inside a host process (a JVM, a Go
//! program) that has pools of its own. It is never shut down: unloading the library
//! (`dlclose`) while its threads run is not supported. After `fork()`, the child gets a new
//! runtime on its first blocking call.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use crate::epoch::PerProcess;
use crate::error::{Error, ErrorKind, Result};

/// The runtime of this process (see [`crate::epoch`]).
static RUNTIME: PerProcess<&'static Runtime> = PerProcess::new();

/// Worker threads of the runtime.
pub const WORKER_THREADS: usize = 2;

/// The runtime, built on first use, and built again in a child process after `fork()`: the
/// parent's runtime has no threads in the child. The old one is leaked, never dropped
/// (dropping it would wait for threads that do not exist).
pub fn runtime() -> Result<&'static Runtime> {
    RUNTIME.get_or_try_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .max_blocking_threads(4)
            .thread_name("flyteauth-rt")
            .thread_keep_alive(Duration::from_secs(10))
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("cannot start the flyteauth runtime: {e}"),
                )
            })?;
        Ok(&*Box::leak(Box::new(rt)))
    })
}

/// Run `future` to completion on the library's runtime and wait for it on this thread.
///
/// Safe from any thread: a foreign thread drives the future itself (`block_on`), and a thread
/// that is already inside a tokio runtime (a Rust host calling the blocking API) hands the
/// future to our runtime and waits on a channel instead, which does not panic.
pub fn block_on<F, T>(future: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime()?;
    if Handle::try_current().is_err() {
        return rt.block_on(future);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::Internal,
            "the flyteauth runtime dropped a call",
        ))
    })
}

/// Spawn `future` on the library's runtime without waiting for it.
pub fn spawn<F>(future: F) -> Result<tokio::task::JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Ok(runtime()?.spawn(future))
}
