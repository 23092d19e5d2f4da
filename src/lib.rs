//! # flyteauth
//!
//! Flyte's client authentication as one native library: configuration in, the header metadata
//! for each call to a Flyte backend out. The same core serves Rust (this crate), C/C++ (the C
//! ABI in [`ffi`], header `include/flyteauth.h`), Go and Java (bindings over the C ABI).
//!
//! ```no_run
//! # fn main() -> Result<(), flyteauth::Error> {
//! let auth = flyteauth::Authenticator::from_json(r#"{
//!     "endpoint": "dns:///flyte.example.com", "authType": "ClientSecret",
//!     "clientId": "my-app", "clientSecretLocation": "/etc/secrets/client_secret"
//! }"#)?;
//! let metadata = auth.metadata_blocking(None)?;
//! for (key, value) in metadata.iter() {
//!     // attach `key: value` to the gRPC / HTTP call
//! #   let _ = (key, value);
//! }
//! # Ok(()) }
//! ```
//!
//! Layers, each using only those below it: [`ffi`] → [`authenticator`] (token lifecycle) →
//! [`flows`] → [`discovery`] → [`config`], [`http`], [`runtime`], [`error`]. Every difference
//! between operating systems lives in [`platform`].

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod authenticator;
pub mod cache;
pub mod cancel;
pub mod clock;
pub mod config;
pub mod discovery;
pub mod epoch;
pub mod error;
#[allow(unsafe_code)]
pub mod ffi;
pub mod flows;
pub mod http;
pub mod interaction;
pub mod logging;
pub mod platform;
pub mod redact;
pub mod refresh;
pub mod runtime;
pub mod secret;
pub mod token;

pub use authenticator::{Authenticator, CallOptions, Metadata};
pub use cancel::CancelToken;
pub use config::{AuthType, Config, Secret, TokenCacheKind};
pub use error::{Error, ErrorKind, Result};
pub use interaction::{Prompt, PromptCallback};

/// The library version, e.g. `"0.1.0"`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
