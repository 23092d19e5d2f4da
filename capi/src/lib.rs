//! flyteauth's C library: `libflyteauth.so` (soname `libflyteauth.so.<major>`, see build.rs),
//! `libflyteauth.a`, `flyteauth.dll` and `libflyteauth.dylib`.
//!
//! Every function of the C ABI (`include/flyteauth.h`) is defined in the `flyteauth` crate's
//! `ffi` module, `#[no_mangle] extern "C"`; linking that crate here is what exports them. This
//! crate adds no code: it exists so that the C library is compiled as a cdylib/staticlib only
//! (see the workspace's Cargo.toml for why).

pub use flyteauth_core::ffi;
