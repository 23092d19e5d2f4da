//! Flyte's config.yaml reader: any file content is a config or a CONFIG error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("flyteauth-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("config.yaml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let env = std::collections::BTreeMap::<String, String>::new();
    if let Err(e) = flyteauth::Config::from_flyte_config_with_env(Some(&path), &env) {
        assert_eq!(e.kind(), flyteauth::ErrorKind::Config);
    }
});
