//! The C ABI (v1). The only place with `extern "C"`, raw pointers and `unsafe`.
//!
//! Every export has the same shape: its whole body, pointer checks included, runs inside the
//! panic boundary, `status_boundary(err, || ...)` for an export that returns a status and
//! `boundary(on_panic, || ...)` for any other (`tests/ffi_boundary.rs` checks that each
//! `extern "C"` function starts so). The body checks its pointers, clears its
//! out-parameters, and does the work. A caught panic becomes `FLYTEAUTH_ERR_INTERNAL`, or
//! NULL, 0 or nothing where no status is returned. Details of a failure travel in an owned
//! `flyteauth_error` object, never in thread-local state, because Go goroutines and Java
//! virtual threads move between OS threads.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use crate::authenticator::{Authenticator, CallOptions, Metadata};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind};
use crate::interaction::Prompt;

/// An authenticator: turns configuration into header metadata. Opaque.
///
/// Thread safety: every function taking a `flyteauth_authenticator *` may be called from
/// any number of threads at once, except `flyteauth_authenticator_free`, which must be the
/// last call on the handle.
pub struct flyteauth_authenticator {
    _private: [u8; 0],
}

/// The details of a failure. Opaque; owned by the caller, released with
/// `flyteauth_error_free`. Immutable, so it may be read from any thread.
pub struct flyteauth_error {
    _private: [u8; 0],
}

/// An immutable list of headers (key/value pairs) for one call. Opaque; owned by the caller,
/// released with `flyteauth_metadata_free`. Immutable, so it may be read from any thread.
pub struct flyteauth_metadata {
    _private: [u8; 0],
}

/// A cancellation signal for blocking calls (`*_ex` functions). Opaque; created with
/// `flyteauth_cancel_new`, released with `flyteauth_cancel_free`. Thread-safe: typically one
/// thread waits in a call while another calls `flyteauth_cancel_cancel`.
pub struct flyteauth_cancel {
    _private: [u8; 0],
}

/// The result of a call. The numbers are stable: new codes are added, none is ever
/// renumbered or reused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum flyteauth_status {
    /// Success.
    FLYTEAUTH_OK = 0,
    /// An argument was NULL or not valid UTF-8; the message names it.
    FLYTEAUTH_ERR_INVALID_ARGUMENT = 1,
    /// The configuration is wrong (unknown key, wrong type, missing value, unreadable file);
    /// the message names the key. Fix the configuration; retrying will not help.
    FLYTEAUTH_ERR_CONFIG = 2,
    /// The server's auth metadata could not be fetched or understood.
    FLYTEAUTH_ERR_DISCOVERY = 3,
    /// The identity provider refused the credentials; see the OAuth error and HTTP status.
    FLYTEAUTH_ERR_AUTHENTICATION = 4,
    /// A connection failed or the server kept answering 5xx/429; retrying later may help.
    FLYTEAUTH_ERR_NETWORK = 5,
    /// A request, a command or the call itself did not finish in time.
    FLYTEAUTH_ERR_TIMEOUT = 6,
    /// The external command (`command` / `proxyCommand`) failed; the message has its exit
    /// status and stderr.
    FLYTEAUTH_ERR_COMMAND = 7,
    /// The call was cancelled.
    FLYTEAUTH_ERR_CANCELLED = 8,
    /// A bug in flyteauth, e.g. a caught panic. Please report it.
    FLYTEAUTH_ERR_INTERNAL = 9,
    /// The server answered with something that is not a valid OAuth2 response.
    FLYTEAUTH_ERR_PROTOCOL = 10,
    /// The configured flow is not available in this build.
    FLYTEAUTH_ERR_UNSUPPORTED = 11,
    /// A person must log in (PKCE or device flow, no usable cached or refresh token), but the
    /// authenticator is non-interactive. Run `flyteauth login`, then retry.
    FLYTEAUTH_ERR_LOGIN_REQUIRED = 12,
}

use flyteauth_status::*;

impl From<ErrorKind> for flyteauth_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidArgument => FLYTEAUTH_ERR_INVALID_ARGUMENT,
            ErrorKind::Config => FLYTEAUTH_ERR_CONFIG,
            ErrorKind::Discovery => FLYTEAUTH_ERR_DISCOVERY,
            ErrorKind::Authentication => FLYTEAUTH_ERR_AUTHENTICATION,
            ErrorKind::Network => FLYTEAUTH_ERR_NETWORK,
            ErrorKind::Timeout => FLYTEAUTH_ERR_TIMEOUT,
            ErrorKind::Command => FLYTEAUTH_ERR_COMMAND,
            ErrorKind::Cancelled => FLYTEAUTH_ERR_CANCELLED,
            ErrorKind::Protocol => FLYTEAUTH_ERR_PROTOCOL,
            ErrorKind::Unsupported => FLYTEAUTH_ERR_UNSUPPORTED,
            ErrorKind::LoginRequired => FLYTEAUTH_ERR_LOGIN_REQUIRED,
            ErrorKind::Internal => FLYTEAUTH_ERR_INTERNAL,
        }
    }
}

/// What a `flyteauth_error *` points to: the error and its strings, NUL-terminated once.
struct ErrorBox {
    status: flyteauth_status,
    http_status: c_int,
    message: CString,
    oauth_error: Option<CString>,
    oauth_error_description: Option<CString>,
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{fffd}")).unwrap_or_default()
}

impl ErrorBox {
    fn new(e: &Error) -> Self {
        ErrorBox {
            status: e.kind().into(),
            http_status: e.http_status().map_or(0, c_int::from),
            message: c_string(&e.to_string()),
            oauth_error: e.oauth_error().map(c_string),
            oauth_error_description: e.oauth_error_description().map(c_string),
        }
    }
}

/// Write `value` to the out-parameter `out` (callers have checked it is non-NULL).
fn set_out<T>(out: *mut *mut T, value: *mut T) {
    debug_assert!(!out.is_null());
    // SAFETY: callers pass a non-NULL `out` that, per the API contract, points to writable
    // storage for one pointer.
    unsafe { *out = value };
}

/// Store `e` in `*err` when the caller asked for details; return its status.
fn fail(err: *mut *mut flyteauth_error, e: Error) -> flyteauth_status {
    let status = e.kind().into();
    if !err.is_null() {
        set_out(
            err,
            Box::into_raw(Box::new(ErrorBox::new(&e))).cast::<flyteauth_error>(),
        );
    }
    status
}

/// The panic boundary. Every export runs its whole body inside it (exports that return a
/// status through [`status_boundary`], which is built on it), so no panic unwinds into the
/// caller: unwinding out of an `extern "C"` function aborts the host process. A caught panic
/// makes the export return `on_panic`, its documented "nothing" value: NULL for a pointer, 0
/// for a length, a flag or a time, nothing for a release function.
///
/// `catch_unwind` costs nothing until something panics, so the hot-path accessors pay
/// nothing for it. The one `AssertUnwindSafe` of the module is here: after a panic the export
/// returns at once and touches none of the state the body may have left half-updated.
fn boundary<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// The panic boundary of an export that returns a status: `*err` (when non-NULL) is cleared
/// first and set on failure; a caught panic is `FLYTEAUTH_ERR_INTERNAL`, with an error object
/// saying so.
fn status_boundary(
    err: *mut *mut flyteauth_error,
    body: impl FnOnce() -> Result<(), Error>,
) -> flyteauth_status {
    // The outer boundary covers the bookkeeping too (building the error object runs the
    // error's `Display`); if that panics, `*err` stays NULL.
    boundary(FLYTEAUTH_ERR_INTERNAL, || {
        if !err.is_null() {
            set_out(err, ptr::null_mut());
        }
        // `None`: `body` panicked.
        match boundary(None, || Some(body())) {
            Some(Ok(())) => FLYTEAUTH_OK,
            Some(Err(e)) => fail(err, e),
            None => fail(
                err,
                Error::new(
                    ErrorKind::Internal,
                    "a panic was caught at the C boundary (a bug in flyteauth)",
                ),
            ),
        }
    })
}

/// Check a required out-parameter and set it to NULL, the value it keeps unless the call
/// succeeds.
fn clear_out<T>(out: *mut *mut T) -> Result<(), Error> {
    if out.is_null() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "argument `out` is NULL",
        ));
    }
    set_out(out, ptr::null_mut());
    Ok(())
}

/// Read a required C string argument.
fn read_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("argument `{name}` is NULL"),
        ));
    }
    // SAFETY: `p` is non-NULL and, per the API contract, points to a NUL-terminated string that
    // stays valid and unmodified for the duration of the call.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("argument `{name}` is not valid UTF-8"),
        )
    })
}

fn authenticator<'a>(a: *const flyteauth_authenticator) -> Result<&'a Authenticator, Error> {
    if a.is_null() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "argument `a` is NULL",
        ));
    }
    // SAFETY: non-NULL `a` came from `flyteauth_authenticator_new`/`_from_flyte_config`
    // (a `Box<Authenticator>`) and has not been freed (contract); shared access is fine
    // because `Authenticator` is `Sync`.
    Ok(unsafe { &*a.cast::<Authenticator>() })
}

fn error_box<'a>(e: *const flyteauth_error) -> Option<&'a ErrorBox> {
    // SAFETY: a non-NULL `e` came from this library (a `Box<ErrorBox>`) and has not been freed.
    unsafe { e.cast::<ErrorBox>().as_ref() }
}

fn metadata<'a>(m: *const flyteauth_metadata) -> Option<&'a Metadata> {
    // SAFETY: a non-NULL `m` came from `fetch_metadata` (`Arc::into_raw` of an
    // `Arc<Metadata>`) and has not been freed.
    unsafe { m.cast::<Metadata>().as_ref() }
}

/// The call options of an `*_ex` call: a bound in milliseconds (0: none) and an optional
/// cancel token (its reference count is taken for the duration of the call).
fn call_options(timeout_ms: u64, cancel: *const flyteauth_cancel) -> CallOptions {
    let cancel = if cancel.is_null() {
        None
    } else {
        let p = cancel.cast::<CancelToken>();
        // SAFETY: a non-NULL `cancel` came from `flyteauth_cancel_new` (`Arc::into_raw` of an
        // `Arc<CancelToken>`) and is alive for the duration of the call (contract); taking one
        // more strong reference keeps it alive inside the call.
        unsafe {
            Arc::increment_strong_count(p);
            Some(Arc::from_raw(p))
        }
    };
    CallOptions {
        timeout: (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms)),
        cancel,
    }
}

/// Write a new authenticator to `*out`.
fn put_authenticator(
    out: *mut *mut flyteauth_authenticator,
    make: impl FnOnce() -> Result<Authenticator, Error>,
) -> Result<(), Error> {
    clear_out(out)?;
    let a = make()?;
    set_out(
        out,
        Box::into_raw(Box::new(a)).cast::<flyteauth_authenticator>(),
    );
    Ok(())
}

/// The body of `flyteauth_authenticator_fetch_metadata(_ex)`.
fn fetch_metadata(
    a: *mut flyteauth_authenticator,
    timeout_ms: u64,
    cancel: *const flyteauth_cancel,
    out: *mut *mut flyteauth_metadata,
) -> Result<(), Error> {
    clear_out(out)?;
    let auth = authenticator(a)?;
    let m = auth.metadata_blocking_with(&call_options(timeout_ms, cancel))?;
    set_out(
        out,
        Arc::into_raw(m).cast_mut().cast::<flyteauth_metadata>(),
    );
    Ok(())
}

/// The body of `flyteauth_authenticator_invalidate(_ex)`.
fn invalidate(
    a: *mut flyteauth_authenticator,
    rejected_value: *const c_char,
    timeout_ms: u64,
    cancel: *const flyteauth_cancel,
) -> Result<(), Error> {
    let auth = authenticator(a)?;
    let rejected = read_str(rejected_value, "rejected_value")?;
    auth.invalidate_blocking_with(rejected, &call_options(timeout_ms, cancel))
}

/// The library version, e.g. `"0.1.0"`. A static string: do not free it.
#[no_mangle]
pub extern "C" fn flyteauth_version() -> *const c_char {
    boundary(ptr::null(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

/// The linked library's version as one number, MAJOR * 10000 + MINOR * 100 + PATCH (0.1.0 is
/// 100), to compare with the header's `FLYTEAUTH_VERSION_NUM`: a program built against a newer
/// header than the library it runs with can tell.
#[no_mangle]
pub extern "C" fn flyteauth_version_num() -> c_int {
    boundary(0, || {
        let part = |s: &str| s.parse::<c_int>().unwrap_or(0);
        part(env!("CARGO_PKG_VERSION_MAJOR")) * 10_000
            + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
            + part(env!("CARGO_PKG_VERSION_PATCH"))
    })
}

/// A short, static, human-readable name for a status code (e.g. `"authentication error"`);
/// `"unknown status"` for a number that is not a `flyteauth_status`. Do not free it.
#[no_mangle]
pub extern "C" fn flyteauth_status_str(status: c_int) -> *const c_char {
    boundary(ptr::null(), || {
        let s: &'static str = match status {
            0 => "ok\0",
            1 => "invalid argument\0",
            2 => "configuration error\0",
            3 => "discovery error\0",
            4 => "authentication error\0",
            5 => "network error\0",
            6 => "timeout\0",
            7 => "command error\0",
            8 => "cancelled\0",
            9 => "internal error\0",
            10 => "protocol error\0",
            11 => "unsupported\0",
            12 => "login required\0",
            _ => "unknown status\0",
        };
        s.as_ptr().cast()
    })
}

/// Create an authenticator from a JSON object with the `admin:` keys of Flyte's
/// `config.yaml` (e.g. `{"endpoint": "dns:///flyte.example.com", "authType": "ClientSecret",
/// "clientId": "my-app", "clientSecretLocation": "/etc/secrets/client_secret"}`), plus an
/// optional inline `"clientSecret"`.
///
/// Does no network I/O: discovery and the first token happen on the first
/// `flyteauth_authenticator_fetch_metadata`. The configuration is checked completely here:
/// an unknown key, a value of the wrong type or a missing required value returns
/// `FLYTEAUTH_ERR_CONFIG` with a message naming the key (and never a secret's value).
///
/// - `config_json`: NUL-terminated UTF-8; not retained.
/// - `out`: receives the new authenticator on success, NULL on failure. Release it with
///   `flyteauth_authenticator_free`.
/// - `err`: may be NULL. Otherwise set to NULL on success, or to a new error the caller must
///   release with `flyteauth_error_free`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_new(
    config_json: *const c_char,
    out: *mut *mut flyteauth_authenticator,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || {
        put_authenticator(out, || {
            Authenticator::from_json(read_str(config_json, "config_json")?)
        })
    })
}

/// Create an authenticator from Flyte's `config.yaml` (its `admin:` section) and the
/// `FLYTE_*` environment overrides, which win over the file as in flytekit.
///
/// - `path`: the file; NULL means flytekit's lookup: `$FLYTECTL_CONFIG` (skipped with a
///   warning when it names no file), `./flytekit.config`, `~/.flyte/config` (INI),
///   `~/.flyte/config.yaml`, else no file (environment only).
/// - `out`, `err`: as for `flyteauth_authenticator_new`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_from_flyte_config(
    path: *const c_char,
    out: *mut *mut flyteauth_authenticator,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || {
        put_authenticator(out, || {
            let path = if path.is_null() {
                None
            } else {
                Some(Path::new(read_str(path, "path")?))
            };
            Authenticator::from_flyte_config(path)
        })
    })
}

/// Release an authenticator. NULL is a no-op. Must be the last call on `a`: no other call on
/// it may be running or start afterwards. Metadata obtained from it stays valid.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_free(a: *mut flyteauth_authenticator) {
    boundary((), || {
        if a.is_null() {
            return;
        }
        // SAFETY: non-NULL `a` came from `Box::into_raw(Box<Authenticator>)` in this library and
        // is freed exactly once (contract).
        drop(unsafe { Box::from_raw(a.cast::<Authenticator>()) });
    })
}

/// Get the headers for a call: the auth header (key from `authorizationHeader`, else the
/// server's public client config, else `"authorization"`; value `"Bearer <token>"`), plus
/// `"proxy-authorization"` when a proxy command is configured.
///
/// With a valid token this returns at once, without locking, allocating or touching the
/// network. Otherwise it blocks the calling thread while the token is obtained or refreshed;
/// concurrent callers share one request to the identity provider. Safe from any number of
/// threads, including threads running their own tokio runtime.
///
/// - `out`: receives the metadata on success (NULL on failure); release it with
///   `flyteauth_metadata_free`. It is an immutable snapshot and stays valid after `a` is freed.
/// - `err`: as for `flyteauth_authenticator_new`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_fetch_metadata(
    a: *mut flyteauth_authenticator,
    out: *mut *mut flyteauth_metadata,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || fetch_metadata(a, 0, ptr::null(), out))
}

/// `flyteauth_authenticator_fetch_metadata` with a bound and a cancel signal:
///
/// - `timeout_ms`: give up with `FLYTEAUTH_ERR_TIMEOUT` after this many milliseconds (0: no
///   bound beyond the configured per-request timeouts and retries).
/// - `cancel`: NULL, or a signal that, when cancelled from another thread, makes the call
///   return `FLYTEAUTH_ERR_CANCELLED` promptly. Must stay alive until the call returns.
///
/// Either way, a refresh the call started or joined keeps running for the other callers.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_fetch_metadata_ex(
    a: *mut flyteauth_authenticator,
    timeout_ms: u64,
    cancel: *const flyteauth_cancel,
    out: *mut *mut flyteauth_metadata,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || fetch_metadata(a, timeout_ms, cancel, out))
}

/// The non-blocking form of `flyteauth_authenticator_fetch_metadata`: when the current
/// token can be used now (valid, and either not due for refresh or inside its refresh window,
/// in which case one background refresh is started), set `*out` (release it with
/// `flyteauth_metadata_free`) and return 1; otherwise set `*out` to NULL and return 0 without
/// waiting (call `flyteauth_authenticator_fetch_metadata` then). Never blocks, never fails:
/// NULL arguments return 0. Meant for bindings whose blocking calls are costly to set up.
/// While a snapshot is current, every thread gets the same one here (so a binding may compare
/// the one it keeps with it by address); `flyteauth_authenticator_fetch_metadata` instead
/// gives each thread its own copy of it, whose reference count only that thread writes.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_try_fetch_metadata(
    a: *mut flyteauth_authenticator,
    out: *mut *mut flyteauth_metadata,
) -> c_int {
    boundary(0, || {
        if clear_out(out).is_err() {
            return 0;
        }
        match authenticator(a)
            .ok()
            .and_then(Authenticator::usable_shared_metadata)
        {
            Some(m) => {
                set_out(
                    out,
                    Arc::into_raw(m).cast_mut().cast::<flyteauth_metadata>(),
                );
                1
            }
            None => 0,
        }
    })
}

/// Whether `m` (obtained from `a`) is still `a`'s current metadata and fresh: 1 if so, 0 if
/// not (or an argument is NULL). `m` must be held (not yet released with
/// `flyteauth_metadata_free`) for the duration of the call, also when several threads share
/// it: release a shared `m` only once no thread can still pass it here. A binding may keep one `m` and reuse it for each call while
/// this returns 1, then release it and fetch again; that avoids touching the shared
/// reference count on every call. Never blocks.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_metadata_is_current(
    a: *const flyteauth_authenticator,
    m: *const flyteauth_metadata,
) -> c_int {
    boundary(0, || match (authenticator(a), metadata(m)) {
        (Ok(auth), Some(m)) => c_int::from(auth.is_current(m)),
        _ => 0,
    })
}

/// The number of headers in `m` (0 when `m` is NULL).
#[no_mangle]
pub extern "C" fn flyteauth_metadata_len(m: *const flyteauth_metadata) -> usize {
    boundary(0, || metadata(m).map_or(0, Metadata::len))
}

/// The key of header `i` (lowercase, NUL-terminated), or NULL when `m` is NULL or `i` is out of
/// range. Owned by `m`: valid until `flyteauth_metadata_free(m)`. Header 0 is always the auth
/// header (the one to pass to `flyteauth_authenticator_invalidate` when the server rejects
/// it); `proxy-authorization`, when configured, comes after it.
#[no_mangle]
pub extern "C" fn flyteauth_metadata_key(m: *const flyteauth_metadata, i: usize) -> *const c_char {
    boundary(ptr::null(), || {
        metadata(m).map_or(ptr::null(), |m| m.key_ptr(i))
    })
}

/// The value of header `i` (NUL-terminated), or NULL when `m` is NULL or `i` is out of range.
/// Owned by `m`: valid until `flyteauth_metadata_free(m)`. It is a credential: do not log it.
#[no_mangle]
pub extern "C" fn flyteauth_metadata_value(
    m: *const flyteauth_metadata,
    i: usize,
) -> *const c_char {
    boundary(ptr::null(), || {
        metadata(m).map_or(ptr::null(), |m| m.value_ptr(i))
    })
}

/// Release metadata. NULL is a no-op. Call once per metadata obtained.
#[no_mangle]
pub extern "C" fn flyteauth_metadata_free(m: *mut flyteauth_metadata) {
    boundary((), || {
        if m.is_null() {
            return;
        }
        // SAFETY: non-NULL `m` came from `Arc::into_raw(Arc<Metadata>)` in
        // `fetch_metadata` or `flyteauth_authenticator_try_fetch_metadata` and is released
        // exactly once (contract).
        drop(unsafe { Arc::from_raw(m.cast_const().cast::<Metadata>()) });
    })
}

/// Get new credentials now, e.g. after the server answered UNAUTHENTICATED / 401. Concurrent
/// callers share one refresh. Blocks; safe from any thread. Prefer
/// `flyteauth_authenticator_invalidate` in interceptors.
///
/// - `err`: as for `flyteauth_authenticator_new`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_refresh(
    a: *mut flyteauth_authenticator,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || {
        authenticator(a)?.refresh_blocking_with(&call_options(0, ptr::null()))
    })
}

/// `flyteauth_authenticator_refresh` with a bound (`timeout_ms`, 0: none) and a cancel signal
/// (NULL: none), as for `flyteauth_authenticator_fetch_metadata_ex`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_refresh_ex(
    a: *mut flyteauth_authenticator,
    timeout_ms: u64,
    cancel: *const flyteauth_cancel,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || {
        authenticator(a)?.refresh_blocking_with(&call_options(timeout_ms, cancel))
    })
}

/// The smart form of refresh for interceptors: `rejected_value` is the header value the server
/// rejected. Refreshes only if it is still the current one; otherwise another caller already
/// refreshed and this returns `FLYTEAUTH_OK` at once. A burst of rejections of one token
/// costs one refresh. Blocks; safe from any thread.
///
/// - `rejected_value`: NUL-terminated; not retained.
/// - `err`: as for `flyteauth_authenticator_new`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_invalidate(
    a: *mut flyteauth_authenticator,
    rejected_value: *const c_char,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || invalidate(a, rejected_value, 0, ptr::null()))
}

/// `flyteauth_authenticator_invalidate` with a bound (`timeout_ms`, 0: none) and a cancel
/// signal (NULL: none), as for `flyteauth_authenticator_fetch_metadata_ex`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_invalidate_ex(
    a: *mut flyteauth_authenticator,
    rejected_value: *const c_char,
    timeout_ms: u64,
    cancel: *const flyteauth_cancel,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || invalidate(a, rejected_value, timeout_ms, cancel))
}

/// Log out: forget the tokens in memory and in the keyring (both layouts written), and revoke
/// the refresh token at the IdP (RFC 7009) when its metadata advertises a
/// `revocation_endpoint`. The next call that needs a token logs in again (or fails with
/// `FLYTEAUTH_ERR_LOGIN_REQUIRED` when not interactive). The login is forgotten even when
/// the revocation fails, which is a warning (log callback), never an error; each revocation
/// waits at most 10 s. Blocks; safe from any thread.
///
/// - `err`: as for `flyteauth_authenticator_new`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_logout(
    a: *mut flyteauth_authenticator,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || authenticator(a)?.logout_blocking())
}

/// A new cancellation signal, not cancelled. Release it with `flyteauth_cancel_free`.
#[no_mangle]
pub extern "C" fn flyteauth_cancel_new() -> *mut flyteauth_cancel {
    boundary(ptr::null_mut(), || {
        Arc::into_raw(Arc::new(CancelToken::new()))
            .cast_mut()
            .cast::<flyteauth_cancel>()
    })
}

/// Cancel: every `*_ex` call waiting with `c` returns `FLYTEAUTH_ERR_CANCELLED` promptly, and
/// every later call with `c` that would have to wait returns it at once. A call that can
/// complete without waiting (e.g. `fetch_metadata_ex` with a valid token) may still succeed.
/// Safe from any thread, any number of times. NULL is a no-op.
#[no_mangle]
pub extern "C" fn flyteauth_cancel_cancel(c: *const flyteauth_cancel) {
    boundary((), || {
        // SAFETY: a non-NULL `c` came from `flyteauth_cancel_new` and has not been freed
        // (contract).
        if let Some(token) = unsafe { c.cast::<CancelToken>().as_ref() } {
            token.cancel();
        }
    })
}

/// Release a cancellation signal. NULL is a no-op. Must not be called while a call that was
/// given `c` may still be running.
#[no_mangle]
pub extern "C" fn flyteauth_cancel_free(c: *mut flyteauth_cancel) {
    boundary((), || {
        if c.is_null() {
            return;
        }
        // SAFETY: non-NULL `c` came from `Arc::into_raw` in `flyteauth_cancel_new` and is
        // released exactly once (contract).
        drop(unsafe { Arc::from_raw(c.cast_const().cast::<CancelToken>()) });
    })
}

/// What a login prompt asks the person to do.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum flyteauth_prompt_kind {
    /// Open `url` in a browser and log in (PKCE). `user_code` is NULL.
    FLYTEAUTH_PROMPT_BROWSER = 1,
    /// Open `url` (the verification URI, with the code filled in when the server allows it)
    /// and enter `user_code` (device flow).
    FLYTEAUTH_PROMPT_DEVICE_CODE = 2,
}

/// A host's login prompt callback: show `url` (and `user_code`) to the person. Both strings
/// are NUL-terminated and valid only during the call. Called on a library thread, at most
/// once per prompt; it must return promptly and must not call flyteauth functions on the same
/// authenticator.
pub type flyteauth_prompt_callback = Option<
    extern "C" fn(
        user_data: *mut std::ffi::c_void,
        kind: flyteauth_prompt_kind,
        url: *const c_char,
        user_code: *const c_char,
    ),
>;

/// Whether `a` talks plain HTTP to its endpoint (the `insecure` setting after the config file
/// and the environment were applied): 1 if so, 0 if not or `a` is NULL. Bindings use it for
/// e.g. grpc-go's `RequireTransportSecurity`.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_insecure(a: *const flyteauth_authenticator) -> c_int {
    boundary(0, || {
        c_int::from(authenticator(a).is_ok_and(|a| a.config().insecure))
    })
}

/// When the token in `m` expires, in milliseconds since the Unix epoch; 0 when unknown (an
/// opaque token without `expires_in`, or a command token) or when `m` is NULL.
#[no_mangle]
pub extern "C" fn flyteauth_metadata_expires_at_ms(m: *const flyteauth_metadata) -> i64 {
    boundary(0, || {
        metadata(m)
            .and_then(Metadata::expires_at)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    })
}

/// Releases a host's `user_data` once the library no longer needs it.
pub type flyteauth_release_callback = Option<extern "C" fn(user_data: *mut std::ffi::c_void)>;

/// A host's `user_data` and the function that releases it: called once, when this is dropped
/// (the last reference to the callback that carries it is gone).
struct HostData {
    user_data: *mut std::ffi::c_void,
    release: flyteauth_release_callback,
}

// SAFETY: the API contracts of the functions that take a callback with `user_data` and
// `release` (`flyteauth_authenticator_set_prompt_callback`, `flyteauth_set_log_callback`)
// require that both may be used from any thread; the library never dereferences `user_data`,
// it only passes it back.
unsafe impl Send for HostData {}
// SAFETY: as above.
unsafe impl Sync for HostData {}

impl Drop for HostData {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            release(self.user_data);
        }
    }
}

/// The host's prompt callback and its `user_data` (released with the last reference: the
/// authenticator's, or a prompt being shown).
struct HostPrompt {
    callback:
        extern "C" fn(*mut std::ffi::c_void, flyteauth_prompt_kind, *const c_char, *const c_char),
    data: HostData,
}

impl HostPrompt {
    fn show(&self, prompt: &Prompt) {
        let (kind, url, code) = match prompt {
            Prompt::Browser { url } => (
                flyteauth_prompt_kind::FLYTEAUTH_PROMPT_BROWSER,
                url.as_str(),
                None,
            ),
            Prompt::DeviceCode {
                verification_uri,
                user_code,
                verification_uri_complete,
            } => (
                flyteauth_prompt_kind::FLYTEAUTH_PROMPT_DEVICE_CODE,
                verification_uri_complete
                    .as_deref()
                    .unwrap_or(verification_uri),
                Some(user_code.as_str()),
            ),
        };
        let url = c_string(url);
        let code = code.map(c_string);
        (self.callback)(
            self.data.user_data,
            kind,
            url.as_ptr(),
            code.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
        );
    }
}

/// Show login prompts the host's own way: `callback` is called with `user_data` whenever a
/// person must act (the PKCE login URL, or the device flow's URL and code). Without a callback,
/// prompts are written to stderr (or, with a log callback, given to it as `FLYTEAUTH_LOG_WARN`
/// records). A NULL `callback` removes the callback.
///
/// `release` (may be NULL) is called exactly once with `user_data` when the library will no
/// longer call `callback`: after the callback is replaced or removed and any prompt being
/// shown has returned, or after `a` is freed and the work it started has finished. Free
/// `user_data` there, not earlier. `callback`, `release` and `user_data` must be usable from
/// any thread. If this function fails (e.g. `a` is NULL), `release` is not called and
/// `user_data` stays the caller's.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_set_prompt_callback(
    a: *mut flyteauth_authenticator,
    callback: flyteauth_prompt_callback,
    user_data: *mut std::ffi::c_void,
    release: flyteauth_release_callback,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || {
        let auth = authenticator(a)?;
        let Some(callback) = callback else {
            auth.set_prompt_callback(None);
            if let Some(release) = release {
                release(user_data);
            }
            return Ok(());
        };
        let host = HostPrompt {
            callback,
            data: HostData { user_data, release },
        };
        auth.set_prompt_callback(Some(Arc::new(move |prompt: &Prompt| host.show(prompt))));
        Ok(())
    })
}

/// Allow (`interactive` != 0) or forbid (0) asking a person to log in, overriding the
/// `interactive` config key. A host that must never block on a person forbids it: then a
/// needed login is `FLYTEAUTH_ERR_LOGIN_REQUIRED` instead of a prompt.
#[no_mangle]
pub extern "C" fn flyteauth_authenticator_set_interactive(
    a: *mut flyteauth_authenticator,
    interactive: c_int,
    err: *mut *mut flyteauth_error,
) -> flyteauth_status {
    status_boundary(err, || {
        authenticator(a)?.set_interactive(interactive != 0);
        Ok(())
    })
}

/// The status code of `e` (`FLYTEAUTH_ERR_INVALID_ARGUMENT` when `e` is NULL).
#[no_mangle]
pub extern "C" fn flyteauth_error_code(e: *const flyteauth_error) -> flyteauth_status {
    boundary(FLYTEAUTH_ERR_INTERNAL, || {
        error_box(e).map_or(FLYTEAUTH_ERR_INVALID_ARGUMENT, |b| b.status)
    })
}

/// The message of `e` (NUL-terminated UTF-8, e.g. `"authentication error: POST
/// https://idp/token: the identity provider refused client 'my-app' (invalid_client: ...)"`).
/// Never contains a secret or a token. Owned by `e`; NULL when `e` is NULL.
#[no_mangle]
pub extern "C" fn flyteauth_error_message(e: *const flyteauth_error) -> *const c_char {
    boundary(ptr::null(), || {
        error_box(e).map_or(ptr::null(), |b| b.message.as_ptr())
    })
}

/// The HTTP status the server answered with, or 0 when no server answered (or `e` is NULL).
#[no_mangle]
pub extern "C" fn flyteauth_error_http_status(e: *const flyteauth_error) -> c_int {
    boundary(0, || error_box(e).map_or(0, |b| b.http_status))
}

/// The OAuth2 `error` code the server answered with (RFC 6749 §5.2, e.g. `"invalid_client"`),
/// or NULL if there was none. Owned by `e`.
#[no_mangle]
pub extern "C" fn flyteauth_error_oauth_error(e: *const flyteauth_error) -> *const c_char {
    boundary(ptr::null(), || {
        error_box(e)
            .and_then(|b| b.oauth_error.as_ref())
            .map_or(ptr::null(), |s| s.as_ptr())
    })
}

/// The OAuth2 `error_description` the server answered with, or NULL if there was none.
/// Owned by `e`.
#[no_mangle]
pub extern "C" fn flyteauth_error_oauth_error_description(
    e: *const flyteauth_error,
) -> *const c_char {
    boundary(ptr::null(), || {
        error_box(e)
            .and_then(|b| b.oauth_error_description.as_ref())
            .map_or(ptr::null(), |s| s.as_ptr())
    })
}

/// Release an error. NULL is a no-op. Call once per error received.
#[no_mangle]
pub extern "C" fn flyteauth_error_free(e: *mut flyteauth_error) {
    boundary((), || {
        if e.is_null() {
            return;
        }
        // SAFETY: non-NULL `e` came from `Box::into_raw(Box<ErrorBox>)` in `fail` and is
        // released exactly once (contract).
        drop(unsafe { Box::from_raw(e.cast::<ErrorBox>()) });
    })
}

// The library's log (`flyteauth_set_log_callback`).
mod logging;
pub use logging::{flyteauth_log_callback, flyteauth_log_level, flyteauth_set_log_callback};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_its_documented_number() {
        let cases = [
            (ErrorKind::InvalidArgument, 1),
            (ErrorKind::Config, 2),
            (ErrorKind::Discovery, 3),
            (ErrorKind::Authentication, 4),
            (ErrorKind::Network, 5),
            (ErrorKind::Timeout, 6),
            (ErrorKind::Command, 7),
            (ErrorKind::Cancelled, 8),
            (ErrorKind::Internal, 9),
            (ErrorKind::Protocol, 10),
            (ErrorKind::Unsupported, 11),
            (ErrorKind::LoginRequired, 12),
        ];
        for (kind, number) in cases {
            assert_eq!(flyteauth_status::from(kind) as i32, number, "{kind:?}");
            // SAFETY: the status string is a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(flyteauth_status_str(number)) };
            assert_eq!(name.to_str().unwrap(), kind.as_str());
        }
    }

    #[test]
    fn a_panic_in_a_body_becomes_the_documented_value() {
        assert_eq!(boundary(7usize, || panic!("test panic")), 7);
        assert!(boundary(ptr::null::<c_char>(), || panic!("test panic")).is_null());
        boundary((), || panic!("test panic"));

        let mut err = ptr::null_mut();
        let status = status_boundary(&mut err, || panic!("test panic"));
        assert_eq!(status, FLYTEAUTH_ERR_INTERNAL);
        assert_eq!(flyteauth_error_code(err), FLYTEAUTH_ERR_INTERNAL);
        // SAFETY: `err` holds an error object, whose message is a NUL-terminated string.
        let message = unsafe { CStr::from_ptr(flyteauth_error_message(err)) };
        assert!(message.to_str().unwrap().contains("panic"), "{message:?}");
        flyteauth_error_free(err);

        let status = status_boundary(ptr::null_mut(), || panic!("test panic"));
        assert_eq!(status, FLYTEAUTH_ERR_INTERNAL);
    }

    #[test]
    fn a_missing_out_parameter_is_an_invalid_argument() {
        let mut err = ptr::null_mut();
        let status = flyteauth_authenticator_new(c"{}".as_ptr(), ptr::null_mut(), &mut err);
        assert_eq!(status, FLYTEAUTH_ERR_INVALID_ARGUMENT);
        // SAFETY: `err` holds an error object, whose message is a NUL-terminated string.
        let message = unsafe { CStr::from_ptr(flyteauth_error_message(err)) };
        assert!(message.to_str().unwrap().contains("`out`"), "{message:?}");
        flyteauth_error_free(err);
        let mut m = ptr::NonNull::<flyteauth_metadata>::dangling().as_ptr();
        assert_eq!(
            flyteauth_authenticator_try_fetch_metadata(ptr::null_mut(), &mut m),
            0
        );
        assert!(m.is_null(), "cleared on entry");
    }
}
