//! Configuration: every authType spelling, flytekit's environment precedence, secret
//! resolution, and errors that name their key without echoing secrets.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use flyteauth::config::parse_go_duration;
use flyteauth::{AuthType, Config, ErrorKind};

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn json(text: &str) -> Result<Config, flyteauth::Error> {
    Config::from_json_with_env(text, &env(&[]))
}

fn config_error(text: &str) -> String {
    let e = json(text).expect_err("config should be rejected");
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    e.message().to_owned()
}

fn yaml_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

const CC: &str =
    r#""endpoint":"dns:///flyte.example.com","clientId":"app","clientSecret":"s3cr3t""#;

#[test]
fn all_eight_flytekit_spellings_case_insensitively() {
    let cases = [
        ("standard", AuthType::Pkce),
        ("Pkce", AuthType::Pkce),
        ("PKCE", AuthType::Pkce),
        ("basic", AuthType::ClientSecret),
        ("client_credentials", AuthType::ClientSecret),
        ("CLIENT_CREDENTIALS", AuthType::ClientSecret),
        ("ClientSecret", AuthType::ClientSecret),
        ("clientSecret", AuthType::ClientSecret),
        ("external_process", AuthType::ExternalCommand),
        ("ExternalCommand", AuthType::ExternalCommand),
        ("EXTERNALCOMMAND", AuthType::ExternalCommand),
        ("DeviceFlow", AuthType::DeviceFlow),
        ("devicEflow", AuthType::DeviceFlow),
    ];
    for (spelling, expected) in cases {
        let cfg = json(&format!(
            r#"{{{CC},"authType":"{spelling}","command":["echo","t"]}}"#
        ))
        .unwrap_or_else(|e| panic!("{spelling}: {e}"));
        assert_eq!(cfg.auth_type, expected, "{spelling}");
    }
    assert_eq!(AuthType::SPELLINGS.len(), 8);
}

#[test]
fn unknown_auth_type_names_the_key_and_the_choices() {
    for bad in [
        "device_flow",
        "client-credentials",
        "external-command",
        "oauth",
    ] {
        let msg = config_error(&format!(r#"{{{CC},"authType":"{bad}"}}"#));
        assert!(msg.starts_with("authType:"), "{msg}");
        assert!(
            msg.contains(bad) && msg.contains("ClientSecret") && msg.contains("DeviceFlow"),
            "{msg}"
        );
    }
}

#[test]
fn default_auth_type_is_pkce_like_flytekit() {
    let cfg = json(r#"{"endpoint":"localhost:30080"}"#).unwrap();
    assert_eq!(cfg.auth_type, AuthType::Pkce);
}

#[test]
fn endpoint_normalisation_and_base_url() {
    let cfg = json(r#"{"endpoint":"dns:///flyte.mycorp.io","authType":"Pkce"}"#).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("flyte.mycorp.io"));
    assert_eq!(cfg.base_url().as_deref(), Some("https://flyte.mycorp.io"));
    let cfg = json(r#"{"endpoint":"localhost:30080","insecure":true}"#).unwrap();
    assert_eq!(cfg.base_url().as_deref(), Some("http://localhost:30080"));
    let cfg = json(r#"{"endpoint":"http://127.0.0.1:8088/"}"#).unwrap();
    assert_eq!(cfg.base_url().as_deref(), Some("http://127.0.0.1:8088"));
}

#[test]
fn unknown_key_is_named() {
    let msg = config_error(r#"{"endpoint":"x.io","clientSecretLocaton":"/tmp/s"}"#);
    assert!(msg.contains("clientSecretLocaton"), "{msg}");
    let msg = config_error(r#"{"endpoint":"x.io","pkceConfig":{"timeot":"1m"}}"#);
    assert!(
        msg.contains("pkceConfig") && msg.contains("timeot"),
        "{msg}"
    );
}

#[test]
fn wrong_type_is_named() {
    for (text, key) in [
        (r#"{"endpoint":"x.io","insecure":"yes"}"#, "insecure"),
        (r#"{"endpoint":"x.io","scopes":7}"#, "scopes"),
        (r#"{"endpoint":"x.io","maxRetries":-1}"#, "maxRetries"),
        (
            r#"{"endpoint":"x.io","perRetryTimeout":15}"#,
            "perRetryTimeout",
        ),
        (
            r#"{"endpoint":"x.io","pkceConfig":{"timeout":"soon"}}"#,
            "pkceConfig.timeout",
        ),
        (r#"{"endpoint":42}"#, "endpoint"),
    ] {
        let msg = config_error(text);
        assert!(msg.starts_with(key), "{key}: {msg}");
    }
}

#[test]
fn a_secret_of_the_wrong_type_is_not_echoed() {
    let msg = config_error(r#"{"endpoint":"x.io","clientId":"a","clientSecret":987654321}"#);
    assert!(msg.starts_with("clientSecret"), "{msg}");
    assert!(!msg.contains("987654321"), "{msg}");
}

#[test]
fn empty_commands_are_errors_naming_the_key() {
    let msg = config_error(r#"{"endpoint":"x.io","authType":"ExternalCommand","command":[]}"#);
    assert!(msg.starts_with("command:"), "{msg}");
    let msg = config_error(r#"{"endpoint":"x.io","authType":"ExternalCommand"}"#);
    assert!(msg.starts_with("command:"), "{msg}");
    let msg = config_error(r#"{"endpoint":"x.io","authType":"ExternalCommand","command":[""]}"#);
    assert!(msg.starts_with("command:"), "{msg}");
    let msg = config_error(&format!(
        r#"{{{CC},"authType":"ClientSecret","proxyCommand":[]}}"#
    ));
    assert!(msg.starts_with("proxyCommand:"), "{msg}");
}

#[test]
fn client_secret_requires_id_and_secret() {
    // flytekit: "Client ID and Client SECRET both are required."
    let msg = config_error(r#"{"endpoint":"x.io","authType":"basic","clientSecret":"s"}"#);
    assert!(msg.starts_with("clientId:"), "{msg}");
    let msg = config_error(r#"{"endpoint":"x.io","authType":"client_credentials","clientId":"a"}"#);
    assert!(msg.starts_with("clientSecret:"), "{msg}");
    let msg = config_error(
        r#"{"endpoint":"x.io","authType":"ClientSecret","clientId":"a","clientSecretEnvVar":"NOPE_UNSET"}"#,
    );
    assert!(msg.contains("NOPE_UNSET"), "{msg}");
    for mode in ["basic", "client_credentials", "ClientSecret"] {
        let cfg = json(&format!(r#"{{{CC},"authType":"{mode}"}}"#)).unwrap();
        assert_eq!(cfg.auth_type, AuthType::ClientSecret);
        assert_eq!(cfg.client_secret.unwrap().expose(), "s3cr3t");
    }
}

#[test]
fn secret_from_location_is_trimmed_and_selects_client_secret() {
    // flytekit test_client_secret_location: "hello\n" -> "hello", auth_mode ClientSecret.
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"  hello\n").unwrap();
    // As a JSON string: a Windows path has backslashes.
    let path = serde_json::to_string(&f.path().display().to_string()).unwrap();
    let cfg = json(&format!(
        r#"{{"endpoint":"x.io","authType":"Pkce","clientId":"a","clientSecretLocation":{path}}}"#
    ))
    .unwrap();
    assert_eq!(cfg.client_secret.as_ref().unwrap().expose(), "hello");
    assert_eq!(cfg.auth_type, AuthType::ClientSecret);
    assert!(
        !format!("{cfg:?}").contains("hello"),
        "Debug must redact the secret"
    );
}

#[test]
fn missing_secret_file_names_the_key() {
    let msg = config_error(
        r#"{"endpoint":"x.io","clientId":"a","clientSecretLocation":"/nonexistent/secret"}"#,
    );
    assert!(
        msg.starts_with("clientSecretLocation:") && msg.contains("/nonexistent/secret"),
        "{msg}"
    );
}

#[test]
fn secret_from_env_var_wins_and_selects_client_secret() {
    // flytekit test_client_secret_env_var.
    let cfg = Config::from_json_with_env(
        r#"{"endpoint":"x.io","clientId":"a","clientSecret":"inline","clientSecretEnvVar":"FAKE_SECRET_NAME"}"#,
        &env(&[("FAKE_SECRET_NAME", " from-env \n")]),
    )
    .unwrap();
    assert_eq!(cfg.client_secret.unwrap().expose(), "from-env");
    assert_eq!(cfg.auth_type, AuthType::ClientSecret);
}

#[test]
fn durations_are_go_durations() {
    assert_eq!(parse_go_duration("15s"), Ok(Duration::from_secs(15)));
    assert_eq!(parse_go_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_go_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
    assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
    for bad in ["", "15", "-1s", "1d", "s", "1.2.3s"] {
        assert!(parse_go_duration(bad).is_err(), "{bad}");
    }
    let cfg = json(
        r#"{"endpoint":"x.io","pkceConfig":{"timeout":"3m","refreshTime":"1m"},
            "deviceFlowConfig":{"timeout":"5m","refreshTime":"30s","pollInterval":"2s"},
            "tokenRefreshWindow":"45s","perRetryTimeout":"3s","maxRetries":2,"maxBackoffDelay":"1s"}"#,
    )
    .unwrap();
    assert_eq!(cfg.pkce.timeout, Duration::from_secs(180));
    assert_eq!(cfg.device_flow.poll_interval, Duration::from_secs(2));
    assert_eq!(cfg.token_refresh_window, Some(Duration::from_secs(45)));
    assert_eq!(cfg.per_retry_timeout, Duration::from_secs(3));
    assert_eq!(cfg.max_retries, 2);
}

#[test]
fn defaults_match_the_go_client() {
    let cfg = json(r#"{"endpoint":"x.io"}"#).unwrap();
    assert_eq!(cfg.max_retries, 4);
    assert_eq!(cfg.per_retry_timeout, Duration::from_secs(15));
    assert_eq!(cfg.pkce.timeout, Duration::from_secs(120));
    assert_eq!(cfg.device_flow.timeout, Duration::from_secs(600));
    assert_eq!(cfg.device_flow.poll_interval, Duration::from_secs(5));
    assert!(!cfg.insecure && !cfg.insecure_skip_verify);
}

#[test]
fn endpoint_is_required_unless_nothing_needs_discovery() {
    let msg = config_error(r#"{"authType":"ClientSecret","clientId":"a","clientSecret":"s"}"#);
    assert!(msg.starts_with("endpoint:"), "{msg}");
    json(
        r#"{"authType":"ClientSecret","clientId":"a","clientSecret":"s","tokenUrl":"http://idp/token",
            "scopes":["all"],"authorizationHeader":"authorization"}"#,
    )
    .unwrap();
    json(r#"{"authType":"ExternalCommand","command":["echo","x"],"authorizationHeader":"authorization"}"#)
        .unwrap();
}

#[test]
fn bad_urls_and_header_names_are_named() {
    let msg = config_error(&format!(r#"{{{CC},"tokenUrl":"not a url"}}"#));
    assert!(msg.starts_with("tokenUrl:"), "{msg}");
    let msg = config_error(&format!(r#"{{{CC},"httpProxyURL":"ftp://proxy"}}"#));
    assert!(msg.starts_with("httpProxyURL:"), "{msg}");
    let msg = config_error(&format!(r#"{{{CC},"authorizationHeader":"bad header"}}"#));
    assert!(msg.starts_with("authorizationHeader:"), "{msg}");
    let cfg = json(&format!(
        r#"{{{CC},"authorizationHeader":"Flyte-Authorization"}}"#
    ))
    .unwrap();
    assert_eq!(
        cfg.authorization_header.as_deref(),
        Some("flyte-authorization")
    );
}

#[test]
fn not_json_or_not_an_object() {
    assert!(config_error("{").contains("not valid JSON"));
    assert!(config_error("[1]").contains("JSON object"));
}

#[test]
fn go_client_keys_are_accepted() {
    json(
        r#"{"endpoint":"x.io","maxMessageSizeBytes":1000,"useAuth":true,
            "authorizationServerUrl":"","defaultServiceConfig":"{}","useAudienceFromAdmin":true}"#,
    )
    .unwrap();
}

// ---- Flyte's config.yaml and the FLYTE_* environment ----

#[test]
fn yaml_admin_section_is_read_and_other_sections_ignored() {
    // flytekit test_real_config / test_config_entry_file: dns:/// stripped, insecure, scopes.
    let f = yaml_file(
        "admin:\n  endpoint: dns:///flyte.mycorp.io\n  insecure: true\n  authType: ClientSecret\n  clientId: app\n  clientSecretEnvVar: MY_SECRET\n  scopes:\n    - all\nlogger:\n  level: 5\nstorage:\n  type: minio\n",
    );
    let cfg =
        Config::from_flyte_config_with_env(Some(f.path()), &env(&[("MY_SECRET", "x")])).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("flyte.mycorp.io"));
    assert!(cfg.insecure);
    assert_eq!(cfg.scopes, ["all"]);
    assert_eq!(cfg.auth_type, AuthType::ClientSecret);
}

#[test]
fn yaml_insecure_false() {
    // flytekit test_use_ssl.
    let f = yaml_file("admin:\n  endpoint: x.io\n  insecure: false\n");
    let cfg = Config::from_flyte_config_with_env(Some(f.path()), &env(&[])).unwrap();
    assert!(!cfg.insecure);
}

#[test]
fn yaml_errors_name_the_admin_key() {
    let f = yaml_file("admin:\n  endpoint: x.io\n  insecure: [1]\n");
    let e = Config::from_flyte_config_with_env(Some(f.path()), &env(&[])).unwrap_err();
    assert!(e.message().starts_with("admin.insecure"), "{e}");
    let f = yaml_file("admin:\n  endpoint: x.io\n  clientIdd: a\n");
    let e = Config::from_flyte_config_with_env(Some(f.path()), &env(&[])).unwrap_err();
    assert!(e.message().contains("clientIdd"), "{e}");
    let f = yaml_file("admin: [\n");
    let e = Config::from_flyte_config_with_env(Some(f.path()), &env(&[])).unwrap_err();
    assert!(e.message().contains("not valid YAML"), "{e}");
}

#[test]
fn env_beats_the_file() {
    // flytekit test_config_entry_precedence.
    let f =
        yaml_file("admin:\n  endpoint: dns:///file.io\n  insecure: true\n  clientId: file-id\n");
    let vars = env(&[
        ("FLYTE_PLATFORM_URL", "dns:///env.io"),
        ("FLYTE_PLATFORM_INSECURE", "FALSE"),
        ("FLYTE_CREDENTIALS_CLIENT_ID", "env-id"),
        ("FLYTE_CREDENTIALS_CLIENT_SECRET", "env-secret"),
        ("FLYTE_CREDENTIALS_AUTH_MODE", "basic"),
        ("FLYTE_CREDENTIALS_SCOPES", "a,b"),
        ("FLYTE_CREDENTIALS_AUDIENCE", "https://aud"),
    ]);
    let cfg = Config::from_flyte_config_with_env(Some(f.path()), &vars).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("env.io"));
    assert!(!cfg.insecure);
    assert_eq!(cfg.client_id.as_deref(), Some("env-id"));
    assert_eq!(cfg.client_secret.unwrap().expose(), "env-secret");
    assert_eq!(cfg.auth_type, AuthType::ClientSecret);
    assert_eq!(cfg.scopes, ["a", "b"]);
    assert_eq!(cfg.audience.as_deref(), Some("https://aud"));
}

#[test]
fn env_bool_rule_is_flytekits() {
    // flytekit test_env_var_bool_transformer: "FALSE" false, "1" true, "truee" true, "" false
    // (a set variable hides the file, even when empty).
    let f = yaml_file("admin:\n  endpoint: x.io\n  insecure: true\n");
    for (value, expected) in [
        ("FALSE", false),
        ("0", false),
        ("off", false),
        ("no", false),
        ("1", true),
        ("truee", true),
        ("", false),
    ] {
        let cfg = Config::from_flyte_config_with_env(
            Some(f.path()),
            &env(&[("FLYTE_PLATFORM_INSECURE", value)]),
        )
        .unwrap();
        assert_eq!(cfg.insecure, expected, "FLYTE_PLATFORM_INSECURE={value:?}");
    }
}

#[test]
fn env_commands_are_comma_lists() {
    // flytekit test_command_2: "a,b,c" -> ["a","b","c"].
    let vars = env(&[
        ("FLYTE_PLATFORM_URL", "x.io"),
        ("FLYTE_CREDENTIALS_AUTH_MODE", "ExternalCommand"),
        ("FLYTE_CREDENTIALS_COMMAND", "a,b,c"),
        ("FLYTE_CREDENTIALS_PROXY_COMMAND", "p,q"),
    ]);
    let cfg = Config::from_flyte_config_with_env(None, &vars).unwrap();
    assert_eq!(cfg.command, ["a", "b", "c"]);
    assert_eq!(cfg.proxy_command, ["p", "q"]);
}

#[test]
fn lookup_order_flytectl_config_then_home() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".flyte")).unwrap();
    std::fs::write(
        home.path().join(".flyte/config.yaml"),
        "admin:\n  endpoint: home.io\n",
    )
    .unwrap();
    let other = yaml_file("admin:\n  endpoint: flytectl.io\n");
    let home_s = home.path().display().to_string();
    let other_s = other.path().display().to_string();

    let cfg = Config::from_flyte_config_with_env(None, &env(&[("HOME", &home_s)])).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("home.io"));
    let cfg = Config::from_flyte_config_with_env(
        None,
        &env(&[("HOME", &home_s), ("FLYTECTL_CONFIG", &other_s)]),
    )
    .unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("flytectl.io"));
    // flytekit's get_config_file: a FLYTECTL_CONFIG naming a missing file is a warning, and the
    // lookup goes on to the next place.
    let cfg = Config::from_flyte_config_with_env(
        None,
        &env(&[("HOME", &home_s), ("FLYTECTL_CONFIG", "/nonexistent.yaml")]),
    )
    .unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("home.io"));
    // No file at all: environment only.
    let empty_home = tempfile::tempdir().unwrap();
    let cfg = Config::from_flyte_config_with_env(
        None,
        &env(&[
            ("HOME", &empty_home.path().display().to_string()),
            ("FLYTE_PLATFORM_URL", "envonly.io"),
        ]),
    )
    .unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("envonly.io"));
}

/// On Windows the home directory is `USERPROFILE` (what pyflyte's `Path.home()` and flytectl's
/// `os.UserHomeDir` read), else `HOMEDRIVE` + `HOMEPATH`; `HOME` only when neither is set.
#[cfg(windows)]
#[test]
fn windows_finds_the_config_under_userprofile() {
    let with_config = |endpoint: &str| {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".flyte")).unwrap();
        std::fs::write(
            home.path().join(".flyte").join("config.yaml"),
            format!("admin:\n  endpoint: {endpoint}\n"),
        )
        .unwrap();
        home
    };
    let profile = with_config("profile.io");
    let profile_s = profile.path().display().to_string();
    let cfg =
        Config::from_flyte_config_with_env(None, &env(&[("USERPROFILE", &profile_s)])).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("profile.io"));

    // USERPROFILE wins over HOME (an MSYS or Git Bash HOME), as in pyflyte and flytectl.
    let msys = with_config("msys.io");
    let cfg = Config::from_flyte_config_with_env(
        None,
        &env(&[
            ("HOME", &msys.path().display().to_string()),
            ("USERPROFILE", &profile_s),
        ]),
    )
    .unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("profile.io"));

    // HOMEDRIVE + HOMEPATH when USERPROFILE is not set: "C:" + "\\Users\\me".
    let drive = with_config("drive.io");
    let full = drive.path().display().to_string();
    let (homedrive, homepath) = full.split_at(2);
    let cfg = Config::from_flyte_config_with_env(
        None,
        &env(&[("HOMEDRIVE", homedrive), ("HOMEPATH", homepath)]),
    )
    .unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("drive.io"));
}

#[test]
fn explicit_missing_file_is_an_error() {
    let e = Config::from_flyte_config_with_env(
        Some(std::path::Path::new("/nonexistent/config.yaml")),
        &env(&[]),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("/nonexistent/config.yaml"), "{e}");
}

#[test]
fn resource_is_a_string_or_a_list_of_absolute_uris() {
    let one =
        json(r#"{"endpoint":"flyte.example.com","resource":" https://a.example/api "}"#).unwrap();
    assert_eq!(one.resource, ["https://a.example/api"]);
    let many = json(
        r#"{"endpoint":"flyte.example.com","resource":["https://a.example/api","","urn:flyte:api"]}"#,
    )
    .unwrap();
    assert_eq!(many.resource, ["https://a.example/api", "urn:flyte:api"]);
    assert!(json(r#"{"endpoint":"flyte.example.com"}"#)
        .unwrap()
        .resource
        .is_empty());
    for bad in [r#""flyteadmin""#, r#""https://a.example/api#frag""#] {
        let message = config_error(&format!(
            r#"{{"endpoint":"flyte.example.com","resource":{bad}}}"#
        ));
        assert!(message.starts_with("resource:"), "{message}");
    }
    assert!(config_error(r#"{"endpoint":"flyte.example.com","resource":42}"#).contains("resource"));
}

// ---- issue 14 item 3: read config.yaml and the environment as flytekit does ----

#[test]
fn comma_strings_are_lists_like_flytekit() {
    // flytekit's comma_list_transformer applies to YAML values too: `scopes: all,offline`.
    let f = yaml_file(
        "admin:\n  endpoint: x.io\n  authType: ExternalCommand\n  scopes: all,offline\n  command: aws,sso,get-token\n  proxyCommand: gcloud,auth,print-identity-token\n",
    );
    let cfg = Config::from_flyte_config_with_env(Some(f.path()), &env(&[])).unwrap();
    assert_eq!(cfg.scopes, ["all", "offline"]);
    assert_eq!(cfg.command, ["aws", "sso", "get-token"]);
    assert_eq!(
        cfg.proxy_command,
        ["gcloud", "auth", "print-identity-token"]
    );
    // The same rule in JSON: a comma string for a list key.
    let cfg = json(r#"{"endpoint":"x.io","scopes":"a,b","command":"echo,t"}"#).unwrap();
    assert_eq!(cfg.scopes, ["a", "b"]);
    assert_eq!(cfg.command, ["echo", "t"]);
}

#[test]
fn yaml_string_booleans_follow_flytekits_rule() {
    // flytekit passes YAML values through bool_transformer: "false"/"no"/"0"/"off" false.
    for (text, expected) in [("\"false\"", false), ("\"no\"", false), ("\"true\"", true)] {
        let f = yaml_file(&format!("admin:\n  endpoint: x.io\n  insecure: {text}\n"));
        let cfg = Config::from_flyte_config_with_env(Some(f.path()), &env(&[])).unwrap();
        assert_eq!(cfg.insecure, expected, "insecure: {text}");
    }
}

#[test]
fn empty_variables_hide_the_file_like_flytekit() {
    // flytekit's ConfigEntry.read: a set variable wins even when empty; the empty value is then
    // "absent" (the default) for strings and lists, and false for booleans.
    let f = yaml_file(
        "admin:\n  endpoint: file.io\n  insecure: true\n  insecureSkipVerify: true\n  authType: ExternalCommand\n  command: [echo, t]\n  clientId: file-id\n  audience: file-aud\n  scopes: [all]\n  caCertFilePath: /ca.pem\n  httpProxyURL: http://proxy:3128\n",
    );
    let cfg = Config::from_flyte_config_with_env(
        Some(f.path()),
        &env(&[
            ("FLYTE_PLATFORM_INSECURE", ""),
            ("FLYTE_PLATFORM_INSECURE_SKIP_VERIFY", ""),
            ("FLYTE_CREDENTIALS_AUTH_MODE", ""),
            ("FLYTE_CREDENTIALS_COMMAND", ""),
            ("FLYTE_CREDENTIALS_CLIENT_ID", ""),
            ("FLYTE_CREDENTIALS_AUDIENCE", ""),
            ("FLYTE_CREDENTIALS_SCOPES", ""),
            ("FLYTE_PLATFORM_CA_CERT_FILE_PATH", ""),
            ("FLYTE_PLATFORM_HTTP_PROXY_URL", ""),
        ]),
    )
    .unwrap();
    assert!(!cfg.insecure);
    assert!(!cfg.insecure_skip_verify);
    assert_eq!(cfg.auth_type, AuthType::Pkce);
    assert!(cfg.command.is_empty());
    assert_eq!(cfg.client_id, None);
    assert_eq!(cfg.audience, None);
    assert!(cfg.scopes.is_empty());
    assert_eq!(cfg.ca_cert_file_path, None);
    assert_eq!(cfg.http_proxy_url, None);
    // FLYTE_PLATFORM_URL='' hides the file's endpoint too (flytekit then uses its sandbox
    // default localhost:30080; we never guess an endpoint: it is required).
    let e = Config::from_flyte_config_with_env(Some(f.path()), &env(&[("FLYTE_PLATFORM_URL", "")]))
        .unwrap_err();
    assert!(e.message().starts_with("endpoint: required"), "{e}");
}

// ---- flytekit's INI files: ./flytekit.config and ~/.flyte/config ----

/// A home directory holding `~/.flyte/<name>` with `text`.
fn home_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".flyte")).unwrap();
    for (name, text) in files {
        std::fs::write(home.path().join(".flyte").join(name), text).unwrap();
    }
    home
}

const INI: &str = "[platform]\nurl = dns:///ini.io\ninsecure = True\nconsole_endpoint = https://console\n\n[credentials]\nclient_id = ini-id\nclient_secret = ini-secret\nauth_mode = basic\nscopes = all,offline\ncommand = aws,sso\n\n[sdk]\nworkflow_packages = a,b\n";

#[test]
fn home_ini_config_comes_before_config_yaml() {
    // flytekit's get_config_file: ~/.flyte/config (INI) is read before ~/.flyte/config.yaml,
    // and the YAML file is then not read at all.
    let home = home_with(&[
        ("config", INI),
        ("config.yaml", "admin:\n  endpoint: yaml.io\n"),
    ]);
    let vars = env(&[("HOME", &home.path().display().to_string())]);
    let cfg = Config::from_flyte_config_with_env(None, &vars).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("ini.io"));
    assert!(cfg.insecure);
    assert_eq!(cfg.client_id.as_deref(), Some("ini-id"));
    assert_eq!(cfg.client_secret.as_ref().unwrap().expose(), "ini-secret");
    assert_eq!(cfg.auth_type, AuthType::ClientSecret);
    assert_eq!(cfg.scopes, ["all", "offline"]);
    assert_eq!(cfg.command, ["aws", "sso"]);
    // The environment still wins over the INI file.
    let mut vars = vars;
    vars.insert("FLYTE_PLATFORM_INSECURE".into(), "0".into());
    let cfg = Config::from_flyte_config_with_env(None, &vars).unwrap();
    assert!(!cfg.insecure);
}

/// The environment plus a current directory, for `./flytekit.config`.
struct InDir {
    vars: BTreeMap<String, String>,
    cwd: std::path::PathBuf,
}

impl flyteauth::config::Env for InDir {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn current_dir(&self) -> Option<std::path::PathBuf> {
        Some(self.cwd.clone())
    }
}

#[test]
fn flytekit_config_in_the_current_directory_comes_first() {
    let home = home_with(&[("config", "[platform]\nurl = home-ini.io\n")]);
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("flytekit.config"), INI).unwrap();
    let mut here = InDir {
        vars: env(&[("HOME", &home.path().display().to_string())]),
        cwd: cwd.path().to_owned(),
    };
    let cfg = Config::from_flyte_config_with_env(None, &here).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("ini.io"));
    // FLYTECTL_CONFIG comes before it; relative to the current directory.
    std::fs::write(cwd.path().join("ctl.yaml"), "admin:\n  endpoint: ctl.io\n").unwrap();
    here.vars
        .insert("FLYTECTL_CONFIG".into(), "ctl.yaml".into());
    let cfg = Config::from_flyte_config_with_env(None, &here).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("ctl.io"));
    // pyflyte's override hides FLYTECTL_CONFIG, even when empty.
    here.vars
        .insert("_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE".into(), String::new());
    let cfg = Config::from_flyte_config_with_env(None, &here).unwrap();
    assert_eq!(cfg.endpoint.as_deref(), Some("ini.io"));
}

#[test]
fn ini_errors_name_the_key_and_the_file() {
    let cwd = tempfile::tempdir().unwrap();
    let here = |text: &str| {
        std::fs::write(cwd.path().join("flytekit.config"), text).unwrap();
        let e = Config::from_flyte_config_with_env(
            None,
            &InDir {
                vars: env(&[]),
                cwd: cwd.path().to_owned(),
            },
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        e.message().to_owned()
    };
    // configparser's getboolean raises on "truee" (the environment rule would say true).
    let msg = here("[platform]\nurl = x.io\ninsecure = truee\n");
    assert!(
        msg.contains("[platform] insecure") && msg.contains("flytekit.config:3"),
        "{msg}"
    );
    let msg = here("[platform]\nurl x.io\n");
    assert!(
        msg.contains("not a valid INI file") && msg.contains("line 2"),
        "{msg}"
    );
    let msg = here("[internal]\nx = 1\n");
    assert!(msg.contains("[internal]"), "{msg}");
}

#[test]
fn trace_points_at_ini_lines_and_lookup_warnings() {
    use flyteauth::config::{FileFormat, FileOrigin, FlyteConfigSources, SettingSource};
    let home = home_with(&[("config", INI)]);
    let vars = env(&[
        ("HOME", &home.path().display().to_string()),
        ("FLYTECTL_CONFIG", "/nonexistent/flytectl.yaml"),
        ("FLYTE_CREDENTIALS_CLIENT_ID", ""),
    ]);
    let sources = FlyteConfigSources::trace(None, &vars).unwrap();
    let (file, origin) = sources.file.clone().unwrap();
    assert_eq!(file, home.path().join(".flyte/config"));
    assert_eq!(origin, FileOrigin::HomeIni);
    assert_eq!(sources.format, Some(FileFormat::Ini));
    assert!(
        sources.warnings[0].contains("FLYTECTL_CONFIG")
            && sources.warnings[0].contains("/nonexistent/flytectl.yaml"),
        "{:?}",
        sources.warnings
    );
    let get = |key: &str| sources.settings.iter().find(|s| s.key == key).unwrap();
    assert_eq!(
        get("endpoint").source,
        SettingSource::File { line: Some(2) }
    );
    assert_eq!(get("endpoint").value, "dns:///ini.io");
    assert_eq!(get("clientSecret").value, "(set)");
    assert_eq!(
        get("clientId").source,
        SettingSource::Env {
            var: "FLYTE_CREDENTIALS_CLIENT_ID",
            overrides: Some(Some(7)),
        }
    );
    assert_eq!(get("clientId").value, "\"\"");
    assert_eq!(get("scopes").source, SettingSource::File { line: Some(10) });
}

#[test]
fn keyring_layouts_default_to_both_and_can_be_limited() {
    use flyteauth::config::KeyringLayouts;
    let base = r#"{"endpoint": "dns:///flyte.example.com", "authType": "DeviceFlow""#;
    let both = KeyringLayouts {
        flytekit: true,
        flytectl: true,
    };
    assert_eq!(json(&format!("{base}}}")).unwrap().keyring_layouts, both);
    assert_eq!(
        json(&format!(
            r#"{base}, "keyringLayouts": ["flytectl", "FlyteKit"]}}"#
        ))
        .unwrap()
        .keyring_layouts,
        both
    );
    assert_eq!(
        json(&format!(r#"{base}, "keyringLayouts": ["flytekit"]}}"#))
            .unwrap()
            .keyring_layouts,
        KeyringLayouts {
            flytekit: true,
            flytectl: false
        }
    );
    assert_eq!(
        json(&format!(r#"{base}, "keyringLayouts": []}}"#))
            .unwrap()
            .keyring_layouts,
        KeyringLayouts {
            flytekit: false,
            flytectl: false
        }
    );
    let e = config_error(&format!(r#"{base}, "keyringLayouts": ["pyflyte"]}}"#));
    assert!(e.contains("keyringLayouts") && e.contains("pyflyte"), "{e}");
    let e = config_error(&format!(
        r#"{base}, "keyringLayouts": ["flytectl", "flytectl"]}}"#
    ));
    assert!(e.contains("twice"), "{e}");
    // In config.yaml too.
    let f = yaml_file(
        "admin:\n  endpoint: dns:///flyte.example.com\n  authType: Pkce\n  keyringLayouts: [flytectl]\n",
    );
    let cfg = Config::from_flyte_config_with_env(Some(f.path()), &env(&[])).unwrap();
    assert_eq!(
        cfg.keyring_layouts,
        KeyringLayouts {
            flytekit: false,
            flytectl: true
        }
    );
}
