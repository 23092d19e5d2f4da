//! The discovery documents and the JWT expiry reader: never a panic, and a parse error is a
//! DISCOVERY error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for result in [
        flyteauth::discovery::OAuth2Metadata::from_json(data).map(drop),
        flyteauth::discovery::PublicClientConfig::from_json(data).map(drop),
    ] {
        if let Err(e) = result {
            assert_eq!(e.kind(), flyteauth::ErrorKind::Discovery);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = flyteauth::token::jwt_expiry(text);
        let _ = flyteauth::token::bearer_header_value(text);
    }
});
