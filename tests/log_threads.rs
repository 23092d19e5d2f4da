//! The calls a binding makes on its hot path — `try_fetch_metadata`, `metadata_is_current`,
//! `metadata_len`/`key`/`value`/`free` — never deliver a log record on the calling thread.
//!
//! Java's FFM binding makes them as *critical* downcalls, during which the JVM cannot run an
//! upcall: a record delivered synchronously to the host's log callback there would be an
//! upcall from a critical call. Records of the background refresh these calls start must
//! arrive on the library's own threads. Checked across a refresh window while the token
//! endpoint fails, so that records are being made (the control) while the calls go on.

mod common;

use std::ffi::CString;
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Idp;
use flyteauth::ffi::{self, flyteauth_status::FLYTEAUTH_OK};
use flyteauth::logging::{self, LevelFilter, Record};

#[test]
fn hot_path_calls_never_log_on_the_calling_thread() {
    let idp = Idp::start(&[("IDP_ACCESS_TOKEN_TTL", "8")]);
    let caller = std::thread::current().id();
    // (on the calling thread, message) of every record.
    let records: Arc<Mutex<Vec<(bool, String)>>> = Arc::default();
    let sink_records = Arc::clone(&records);
    logging::set_sink(
        Some(Arc::new(move |r: &Record<'_>| {
            let here = std::thread::current().id() == caller;
            sink_records
                .lock()
                .unwrap()
                .push((here, r.message.to_owned()));
        })),
        LevelFilter::Trace,
    );

    // Refresh in the last 4 s of the 8 s lifetime: the window the hot path acts in.
    let config =
        CString::new(idp.cc_config(serde_json::json!({ "tokenRefreshWindow": "4s" }))).unwrap();
    let mut auth = ptr::null_mut();
    assert_eq!(
        ffi::flyteauth_authenticator_new(config.as_ptr(), &mut auth, ptr::null_mut()),
        FLYTEAUTH_OK
    );
    let mut first = ptr::null_mut();
    assert_eq!(
        ffi::flyteauth_authenticator_fetch_metadata(auth, &mut first, ptr::null_mut()),
        FLYTEAUTH_OK
    );
    ffi::flyteauth_metadata_free(first);
    idp.set_token_endpoint_down(true);
    records.lock().unwrap().clear();

    // The hot path, as a binding runs it, until the token has expired (`try_fetch` gives
    // nothing); the deadline only detects a hang.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut calls = 0u64;
    loop {
        let mut m = ptr::null_mut();
        if ffi::flyteauth_authenticator_try_fetch_metadata(auth, &mut m) == 0 {
            break;
        }
        calls += 1;
        // 1 while fresh, 0 inside the refresh window: either way it must not log.
        let current = ffi::flyteauth_authenticator_metadata_is_current(auth, m);
        assert!(current == 0 || current == 1);
        for i in 0..ffi::flyteauth_metadata_len(m) {
            assert!(!ffi::flyteauth_metadata_key(m, i).is_null());
            assert!(!ffi::flyteauth_metadata_value(m, i).is_null());
        }
        ffi::flyteauth_metadata_free(m);
        assert!(Instant::now() < deadline, "the token never expired");
        std::thread::sleep(Duration::from_millis(5));
    }
    ffi::flyteauth_authenticator_free(auth);
    logging::set_sink(None, LevelFilter::Off);

    let records = records.lock().unwrap();
    let token_failures = records
        .iter()
        .filter(|(_, m)| m.contains("/token") || m.contains("refresh failed"))
        .count();
    assert!(calls > 0, "the hot path ran");
    assert!(
        token_failures > 0,
        "the background refresh failed and said so (the control): {records:?}"
    );
    let on_caller: Vec<&String> = records.iter().filter(|(h, _)| *h).map(|(_, m)| m).collect();
    assert!(
        on_caller.is_empty(),
        "{} record(s) delivered on the calling thread of a hot-path call, e.g. {:?}",
        on_caller.len(),
        &on_caller[..on_caller.len().min(3)]
    );
}
