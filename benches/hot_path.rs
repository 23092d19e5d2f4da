//! Hot path: header metadata with a valid token, through the C ABI (fetch + read + free) and
//! through the Rust API. `make bench` (or `cargo bench --bench hot_path`) prints the figures.
//!
//! The authenticator uses an external command token (no expiry), so every call takes the
//! valid-token path that a service hits between refreshes; the token is fetched once before
//! measuring.

use std::ffi::CString;
use std::hint::black_box;
use std::ptr;

use criterion::{criterion_group, criterion_main, Criterion};
use flyteauth::ffi::*;

fn c_abi(c: &mut Criterion) {
    let config = CString::new(
        r#"{"authType":"ExternalCommand","command":["echo","bench-token"],"authorizationHeader":"authorization"}"#,
    )
    .unwrap();
    let mut auth = ptr::null_mut();
    let status = flyteauth_authenticator_new(config.as_ptr(), &mut auth, ptr::null_mut());
    assert_eq!(status, flyteauth_status::FLYTEAUTH_OK);
    let mut md = ptr::null_mut();
    assert_eq!(
        flyteauth_authenticator_fetch_metadata(auth, &mut md, ptr::null_mut()),
        flyteauth_status::FLYTEAUTH_OK
    );
    flyteauth_metadata_free(md);

    c.bench_function("c_abi/fetch_metadata+read+free", |b| {
        b.iter(|| {
            let mut md = ptr::null_mut();
            let status = flyteauth_authenticator_fetch_metadata(auth, &mut md, ptr::null_mut());
            black_box(status);
            black_box(flyteauth_metadata_key(md, 0));
            black_box(flyteauth_metadata_value(md, 0));
            flyteauth_metadata_free(md);
        })
    });
    flyteauth_authenticator_free(auth);
}

fn rust_api(c: &mut Criterion) {
    let auth = flyteauth::Authenticator::from_json(
        r#"{"authType":"ExternalCommand","command":["echo","bench-token"],"authorizationHeader":"authorization"}"#,
    )
    .unwrap();
    auth.metadata_blocking(None).unwrap();
    c.bench_function("rust/metadata_blocking", |b| {
        b.iter(|| {
            let md = auth.metadata_blocking(None).unwrap();
            black_box(md.value(0));
        })
    });
}

criterion_group!(benches, c_abi, rust_api);
criterion_main!(benches);
