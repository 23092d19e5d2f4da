//! The `flyteauth` CLI, as a user runs it, against the real IdP; and the "no keyring at all"
//! case: with no D-Bus session the device login still works, with one warning.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{answer_device_code, jwt_claims, Idp};

fn config_file(
    dir: &tempfile::TempDir,
    idp: &Idp,
    auth_type: &str,
    extra: &str,
) -> std::path::PathBuf {
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "admin:\n  endpoint: dns:///{}\n  insecure: true\n  authType: {auth_type}\n{extra}",
            idp.endpoint
        ),
    )
    .unwrap();
    path
}

/// A client-credentials config for the fixture's client, its secret in `TEST_CLI_SECRET`
/// (which each test sets on the CLI), plus `extra` lines.
fn client_credentials_file(dir: &tempfile::TempDir, idp: &Idp, extra: &str) -> std::path::PathBuf {
    let keys = format!(
        "  clientId: {}\n  clientSecretEnvVar: TEST_CLI_SECRET\n{extra}",
        common::CLIENT_ID
    );
    config_file(dir, idp, "ClientSecret", &keys)
}

fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flyteauth"));
    // No session bus: every keyring call fails, which must only cost a warning.
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/flyteauth-test-bus",
    )
    .env_remove("BROWSER");
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn device_login_without_any_keyring_works_with_one_warning() {
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, &idp, "DeviceFlow", "");
    let mut child = cli()
        .arg("--config")
        .arg(&config)
        .arg("token")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(code) = line
                .trim()
                .strip_prefix("(code ")
                .and_then(|c| c.strip_suffix(')'))
            {
                let _ = tx.send(code.to_owned());
            }
            lines.push(line);
        }
        lines
    });
    let code =
        tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(20)))
            .await
            .unwrap()
            .expect("the device code on stderr");
    answer_device_code(&idp.url, &code, true).await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = reader.join().unwrap().join("\n");
    assert!(output.status.success(), "stderr: {stderr}");
    let token = String::from_utf8(output.stdout).unwrap();
    assert_eq!(jwt_claims(token.trim())["sub"], "test-user");
    let warnings = stderr.matches("keyring is not usable").count();
    assert_eq!(warnings, 1, "exactly one keyring warning:\n{stderr}");
    assert!(
        !stderr.contains(token.trim()),
        "the token must not be on stderr"
    );
}

#[test]
fn status_and_token_for_client_credentials_need_no_login() {
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = client_credentials_file(&dir, &idp, "");
    let status = cli()
        .arg("-c")
        .arg(&config)
        .arg("status")
        .env("TEST_CLI_SECRET", common::CLIENT_SECRET)
        .output()
        .unwrap();
    let text = String::from_utf8(status.stdout).unwrap();
    assert!(status.status.success());
    assert!(
        text.contains("authType:   ClientSecret") && text.contains("not needed"),
        "{text}"
    );
    let token = cli()
        .arg("-c")
        .arg(&config)
        .args(["token", "--header"])
        .env("TEST_CLI_SECRET", common::CLIENT_SECRET)
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let line = String::from_utf8(token.stdout).unwrap();
    assert!(line.starts_with("flyte-authorization: Bearer ey"), "{line}");
}

#[test]
fn token_non_interactive_fails_with_a_hint_instead_of_prompting() {
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, &idp, "Pkce", "  tokenCache: memory\n");
    let out = cli()
        .arg("-c")
        .arg(&config)
        .args(["token", "--non-interactive"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("login required") && stderr.contains("flyteauth login"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("http://127.0.0.1"),
        "no login URL was shown: {stderr}"
    );
}

#[test]
fn a_bad_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, "admin:\n  endpoint: x.io\n  authTyp: Pkce\n").unwrap();
    let out = cli().arg("-c").arg(&path).arg("status").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().contains("authTyp"));
}

/// `token --header` prints every header, not only the first (an IAP user's
/// `proxy-authorization` too), and each machine-readable `--output` parses as its consumer
/// reads it: the same headers, the token without `Bearer `, and an RFC 3339 expiry.
#[test]
fn token_prints_every_header_and_each_output_format_parses() {
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = client_credentials_file(
        &dir,
        &idp,
        "  proxyCommand: [sh, -c, \"echo iap-proxy-token\"]\n",
    );
    let run = |args: &[&str], env: &[(&str, &str)]| -> String {
        let out = cli()
            .arg("-c")
            .arg(&config)
            .args(args)
            .env("TEST_CLI_SECRET", common::CLIENT_SECRET)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Messages name header keys only: the values are credentials (and make test scans logs).
    let keys = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split(": ").next().unwrap_or_default().to_owned())
            .collect()
    };
    let header = run(&["token", "--header"], &[]);
    assert_eq!(
        keys(&header),
        ["flyte-authorization", "proxy-authorization"]
    );
    let lines: Vec<&str> = header.lines().collect();
    assert!(lines[0].starts_with("flyte-authorization: Bearer ey"));
    assert!(lines[1].ends_with(": Bearer iap-proxy-token"));
    assert_eq!(
        keys(&run(&["token", "--output", "header"], &[])),
        keys(&header)
    );

    let token = run(&["token"], &[]).trim_end().to_owned();
    assert_eq!(jwt_claims(&token)["aud"], common::AUDIENCE);
    let is_rfc3339_utc = |v: &serde_json::Value| {
        let s = v.as_str().unwrap_or_default();
        s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
    };

    let json: serde_json::Value =
        serde_json::from_str(&run(&["token", "-o", "json"], &[])).unwrap();
    assert!(json["headers"]["flyte-authorization"]
        .as_str()
        .unwrap()
        .starts_with("Bearer ey"));
    assert!(json["headers"]["proxy-authorization"]
        .as_str()
        .unwrap()
        .ends_with("iap-proxy-token"));
    assert!(is_rfc3339_utc(&json["expiresAt"]), "{}", json["expiresAt"]);

    let exec: serde_json::Value = serde_json::from_str(&run(
        &["token", "-o", "exec-credential"],
        &[(
            "KUBERNETES_EXEC_INFO",
            r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}"#,
        )],
    ))
    .unwrap();
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(exec["kind"], "ExecCredential");
    assert_eq!(
        jwt_claims(exec["status"]["token"].as_str().unwrap())["aud"],
        common::AUDIENCE
    );
    assert!(
        is_rfc3339_utc(&exec["status"]["expirationTimestamp"]),
        "{exec}"
    );

    let bazel: serde_json::Value =
        serde_json::from_str(&run(&["token", "-o", "bazel"], &[])).unwrap();
    let headers = bazel["headers"].as_object().unwrap();
    assert_eq!(headers.len(), 2);
    assert!(headers["flyte-authorization"][0]
        .as_str()
        .unwrap()
        .starts_with("Bearer ey"));
    assert!(is_rfc3339_utc(&bazel["expires"]), "{}", bazel["expires"]);
}

/// `doctor` with flytekit's INI file: `./flytekit.config` is found in the current directory
/// (after a `$FLYTECTL_CONFIG` that names no file, which is a note), read as INI, and each
/// setting points at its INI line.
#[test]
fn doctor_traces_flytekit_config_in_the_current_directory() {
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // Line 1 [platform], 2 url, 3 insecure, 4 [credentials], 5 auth_mode, 6 client_id,
    // 7 client_secret_env_var.
    let file = dir.path().join("flytekit.config");
    std::fs::write(
        &file,
        format!(
            "[platform]\nurl = dns:///{}\ninsecure = True\n[credentials]\nauth_mode = ClientSecret\nclient_id = {}\nclient_secret_env_var = TEST_CLI_SECRET\n",
            idp.endpoint,
            common::CLIENT_ID
        ),
    )
    .unwrap();
    let out = cli()
        .arg("doctor")
        .current_dir(dir.path())
        .env("HOME", home.path())
        .env("FLYTECTL_CONFIG", "/nonexistent/flytectl.yaml")
        .env_remove("_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE")
        .env_remove("FLYTE_CREDENTIALS_CLIENT_ID")
        .env_remove("FLYTE_CREDENTIALS_AUTH_MODE")
        .env_remove("FLYTE_PLATFORM_URL")
        .env("TEST_CLI_SECRET", common::CLIENT_SECRET)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(common::CLIENT_SECRET), "{text}");
    let file = file.display().to_string();
    assert!(
        text.contains(&format!(
            "file: {file} (INI, flytekit's INI file in the current directory)"
        )),
        "{text}"
    );
    assert!(
        text.contains("note: $FLYTECTL_CONFIG names /nonexistent/flytectl.yaml"),
        "{text}"
    );
    let line_of = |key: &str| -> String {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} line in:\n{text}"))
            .to_owned()
    };
    assert!(
        line_of("endpoint").ends_with(&format!("{file}:2")),
        "{text}"
    );
    assert!(
        line_of("authType").ends_with(&format!("{file}:5")),
        "{text}"
    );
    assert!(
        line_of("clientId").ends_with(&format!("{file}:6")),
        "{text}"
    );
    assert!(out.status.success(), "{text}");
}

/// `doctor` says where each setting came from: a `FLYTE_*` variable that overrode the file is
/// named, with the file line it won over; a failing check exits 1 and says what to change.
#[test]
fn doctor_names_the_variable_that_overrode_a_file_value() {
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // Line 1 `admin:`, 2 endpoint, 3 insecure, 4 authType, 5 clientId, 6 clientSecretEnvVar.
    let config = config_file(
        &dir,
        &idp,
        "ClientSecret",
        "  clientId: not-the-client\n  clientSecretEnvVar: TEST_CLI_SECRET\n",
    );
    let doctor = |env: &[(&str, &str)]| {
        let out = cli()
            .arg("-c")
            .arg(&config)
            .arg("doctor")
            .env("TEST_CLI_SECRET", common::CLIENT_SECRET)
            .env_remove("FLYTE_CREDENTIALS_CLIENT_ID")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.contains(common::CLIENT_SECRET), "{stdout}");
        (out.status.success(), stdout)
    };
    let line_of = |text: &str, key: &str| -> String {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} line in:\n{text}"))
            .to_owned()
    };
    let file = config.display().to_string();

    let (ok, text) = doctor(&[("FLYTE_CREDENTIALS_CLIENT_ID", common::CLIENT_ID)]);
    assert!(ok, "{text}");
    let client_id = line_of(&text, "clientId");
    assert!(client_id.contains(common::CLIENT_ID), "{client_id}");
    assert!(
        client_id.contains(&format!(
            "$FLYTE_CREDENTIALS_CLIENT_ID (overrides {file}:5)"
        )),
        "{client_id}"
    );
    assert!(
        line_of(&text, "authType").ends_with(&format!("{file}:4")),
        "{text}"
    );
    assert!(text.contains("token_endpoint: http://127.0.0.1"), "{text}");
    assert!(
        text.contains("authorization_metadata_key: flyte-authorization"),
        "{text}"
    );
    assert!(text.contains("ok    clock: within"), "{text}");
    assert!(
        text.contains("ok    a credential for the headers flyte-authorization"),
        "{text}"
    );

    // Without the variable the file's client id is used, the IdP refuses it, and the report
    // says so with what to change.
    let (ok, text) = doctor(&[]);
    assert!(!ok, "doctor must exit 1 when a check fails:\n{text}");
    assert!(
        line_of(&text, "clientId").ends_with(&format!("{file}:5")),
        "{text}"
    );
    assert!(
        text.contains("FAIL") && text.contains("invalid_client"),
        "{text}"
    );
    assert!(
        text.contains("fix: the IdP refused the client: check clientId"),
        "{text}"
    );
}

/// `whoami` shows the access token's claims (subject, audience, scopes) and its expiry,
/// never the token itself; `-vv` shows the requests on stderr, still without it.
#[test]
fn whoami_shows_the_claims_never_the_token() {
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = client_credentials_file(&dir, &idp, "");
    let out = cli()
        .arg("-c")
        .arg(&config)
        .args(["-vv", "whoami"])
        .env("TEST_CLI_SECRET", common::CLIENT_SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    let field = |name: &str| -> &str {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{stdout}"))
            .trim()
    };
    assert_eq!(field("subject:"), common::CLIENT_ID);
    assert_eq!(field("audience:"), common::AUDIENCE);
    assert_eq!(field("headers:"), "flyte-authorization");
    assert!(field("expires:").ends_with(" s)"), "{stdout}");
    assert!(stdout.contains("\"iss\": \"http://127.0.0.1"), "{stdout}");
    // No token anywhere: a JWT's three base64url parts joined by dots.
    for text in [&stdout, &stderr] {
        assert!(!text.contains("eyJ"), "a token was printed:\n{text}");
    }
    assert!(
        stderr.contains("flyteauth: debug: flyteauth::http: POST http://127.0.0.1")
            && stderr.contains("/token: 200 OK"),
        "-vv shows the requests: {stderr}"
    );
    let quiet = cli()
        .arg("-c")
        .arg(&config)
        .arg("whoami")
        .env("TEST_CLI_SECRET", common::CLIENT_SECRET)
        .env_remove("FLYTEAUTH_LOG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert_eq!(
        String::from_utf8(quiet.stderr).unwrap(),
        "",
        "warnings only by default"
    );
}
