//! Cancellation of blocking calls from another thread (e.g. a Go `context.Context` or a Java
//! interrupt). Cancelling ends the *wait*: the call returns a `Cancelled` error promptly, and a
//! shared refresh it joined keeps running for the other callers.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A one-shot cancellation signal, shareable between threads.
#[derive(Debug, Default)]
pub struct CancelToken {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancel: every call waiting on this token returns `Cancelled`, now and later.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once the token is cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking the flag, so a cancel in between is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
