//! The C ABI with arbitrary config bytes (NUL-terminated), and NULL/non-NULL combinations of
//! out-parameters: a status and no panic across the boundary; every object handed out is
//! released. Configs that need the network point at a closed port with no retries.
#![no_main]
use std::ffi::CString;
use std::ptr;

use flyteauth::ffi::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let text: Vec<u8> = rest.iter().copied().filter(|&b| b != 0).collect();
    let Ok(config) = CString::new(text) else { return };
    let mut a: *mut flyteauth_authenticator = ptr::null_mut();
    let mut err: *mut flyteauth_error = ptr::null_mut();
    let err_arg = if flags & 1 == 0 { &mut err as *mut _ } else { ptr::null_mut() };
    let status = flyteauth_authenticator_new(config.as_ptr(), &mut a, err_arg);
    if status == flyteauth_status::FLYTEAUTH_OK {
        assert!(!a.is_null() && err.is_null());
        // Only exercise calls that cannot block on the network.
        let mut m = ptr::null_mut();
        if flyteauth_authenticator_try_fetch_metadata(a, &mut m) == 1 {
            let _ = flyteauth_metadata_len(m);
            flyteauth_metadata_free(m);
        }
        let _ = flyteauth_authenticator_insecure(a);
        flyteauth_authenticator_free(a);
    } else {
        assert!(a.is_null());
        if flags & 1 == 0 {
            assert!(!err.is_null());
            let _ = flyteauth_error_message(err);
            let _ = flyteauth_error_code(err);
            flyteauth_error_free(err);
        }
    }
});
