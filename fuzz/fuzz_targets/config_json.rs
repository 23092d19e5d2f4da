//! The JSON config parser: any input is a config or a CONFIG error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let env = std::collections::BTreeMap::<String, String>::new();
        if let Err(e) = flyteauth::Config::from_json_with_env(text, &env) {
            assert_eq!(e.kind(), flyteauth::ErrorKind::Config);
        }
    }
});
