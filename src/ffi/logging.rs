//! The C ABI of the library's log: `flyteauth_set_log_callback` (see [`crate::logging`]).

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use super::{boundary, c_string, flyteauth_release_callback, flyteauth_status, HostData};
use crate::logging::{Level, LevelFilter, Record};

/// How severe a log record is (the same numbers as Rust's `log` levels). As a threshold,
/// `FLYTEAUTH_LOG_OFF` passes nothing.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum flyteauth_log_level {
    /// As a threshold only: no record.
    FLYTEAUTH_LOG_OFF = 0,
    /// The library could not do something it should have.
    FLYTEAUTH_LOG_ERROR = 1,
    /// Something a person should know: the OS keyring cannot be used (tokens stay in
    /// memory), `insecureSkipVerify` is on, a login prompt no prompt callback shows.
    FLYTEAUTH_LOG_WARN = 2,
    /// A notable event: a token cached, a browser that could not be started.
    FLYTEAUTH_LOG_INFO = 3,
    /// Detail for debugging: retries, device-flow polling.
    FLYTEAUTH_LOG_DEBUG = 4,
    /// Finer detail.
    FLYTEAUTH_LOG_TRACE = 5,
}

/// A host's log callback: one record, with its level, the library module that made it
/// (`target`, e.g. "flyteauth::cache") and its message. Both strings are NUL-terminated UTF-8,
/// valid only during the call; a message never contains a secret. Called on the thread that
/// made the record (the caller's or one of the library's), possibly on several at once; it
/// must return promptly. A record the library makes while this callback runs on the same
/// thread (because it called into the library) is dropped.
pub type flyteauth_log_callback = Option<
    extern "C" fn(
        user_data: *mut c_void,
        level: flyteauth_log_level,
        target: *const c_char,
        message: *const c_char,
    ),
>;

/// The host's log callback and its `user_data` (released with the last reference: the
/// installed sink's, or a record being delivered).
struct HostLog {
    callback: extern "C" fn(*mut c_void, flyteauth_log_level, *const c_char, *const c_char),
    data: HostData,
}

impl HostLog {
    fn log(&self, record: &Record<'_>) {
        let level = match record.level {
            Level::Error => flyteauth_log_level::FLYTEAUTH_LOG_ERROR,
            Level::Warn => flyteauth_log_level::FLYTEAUTH_LOG_WARN,
            Level::Info => flyteauth_log_level::FLYTEAUTH_LOG_INFO,
            Level::Debug => flyteauth_log_level::FLYTEAUTH_LOG_DEBUG,
            Level::Trace => flyteauth_log_level::FLYTEAUTH_LOG_TRACE,
        };
        let target = c_string(record.target);
        let message = c_string(record.message);
        (self.callback)(
            self.data.user_data,
            level,
            target.as_ptr(),
            message.as_ptr(),
        );
    }
}

/// Send the library's log records at `min_level` and above (a `flyteauth_log_level` number,
/// 0-5) to `callback`, process-wide, replacing any callback set before; a NULL `callback`
/// removes it. While a callback is set, the library writes nothing to stderr: the messages it
/// would write there (a keyring that cannot be used, a login prompt when the authenticator
/// has no prompt callback) become `FLYTEAUTH_LOG_WARN` records. Without a callback, records
/// are dropped and those messages go to stderr. Set it before creating authenticators to see
/// every record.
///
/// `release` (may be NULL) is called exactly once with `user_data` when the library will no
/// longer call `callback`: after it is replaced or removed and every record being delivered to
/// it has returned. Free `user_data` there, not earlier. `callback`, `release` and `user_data`
/// must be usable from any thread. Returns `FLYTEAUTH_ERR_INVALID_ARGUMENT` when `min_level` is
/// not 0-5; then nothing changes, `release` is not called and `user_data` stays the caller's.
#[no_mangle]
pub extern "C" fn flyteauth_set_log_callback(
    callback: flyteauth_log_callback,
    user_data: *mut c_void,
    release: flyteauth_release_callback,
    min_level: c_int,
) -> flyteauth_status {
    boundary(flyteauth_status::FLYTEAUTH_ERR_INTERNAL, || {
        let level = match min_level {
            0 => LevelFilter::Off,
            1 => LevelFilter::Error,
            2 => LevelFilter::Warn,
            3 => LevelFilter::Info,
            4 => LevelFilter::Debug,
            5 => LevelFilter::Trace,
            _ => return flyteauth_status::FLYTEAUTH_ERR_INVALID_ARGUMENT,
        };
        let Some(callback) = callback else {
            crate::logging::set_sink(None, LevelFilter::Off);
            if let Some(release) = release {
                release(user_data);
            }
            return flyteauth_status::FLYTEAUTH_OK;
        };
        let host = HostLog {
            callback,
            data: HostData { user_data, release },
        };
        crate::logging::set_sink(
            Some(Arc::new(move |record: &Record<'_>| host.log(record))),
            level,
        );
        flyteauth_status::FLYTEAUTH_OK
    })
}
