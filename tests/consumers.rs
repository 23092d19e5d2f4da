//! The CLI's machine-readable outputs, read by the real tools that consume them:
//!
//! - `kubectl` runs `flyteauth token --output exec-credential` as an exec credential plugin
//!   and calls an HTTPS endpoint (the IdP fixture's protected resource) that checks the
//!   bearer token's signature, issuer and expiry;
//! - `jq` turns `--output json` into curl's `-H` lines, and curl calls the same endpoint;
//! - `flyteauth get` (Bazel's `--credential_helper`) answers in the shape the Credential
//!   Helpers Specification's JSON schema defines (checked with Python `jsonschema`).
//!
//! They need kubectl, jq, curl and a Python with jsonschema, so they are `#[ignore]`d here and
//! run by `make test-cli-consumers` (part of `make test`; `.ci/run` installs the tools).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Idp, Pki};

/// A Flyte config for client credentials against the HTTPS fixture, trusting the test CA.
struct Setup {
    idp: Idp,
    pki: Pki,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let pki = Pki::new();
        let idp = pki.start_https_idp();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        std::fs::write(
            &config,
            format!(
                "admin:\n  endpoint: dns:///{}\n  caCertFilePath: {}\n  authType: ClientSecret\n  \
                 clientId: {}\n  clientSecretEnvVar: TEST_CLI_SECRET\n",
                idp.endpoint,
                pki.path("ca.pem"),
                common::CLIENT_ID
            ),
        )
        .unwrap();
        Setup {
            idp,
            pki,
            dir,
            config,
        }
    }

    /// `program` with the client secret in its environment (an exec plugin inherits it).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("TEST_CLI_SECRET", common::CLIENT_SECRET)
            .env("FLYTECTL_CONFIG", &self.config)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/flyteauth-test-bus",
            );
        cmd
    }

    fn api_url(&self) -> String {
        format!("{}/api/v1/projects", self.idp.url)
    }

    /// The fixture's counts of accepted and rejected calls to the protected resource (over
    /// HTTPS, so with curl rather than `Idp::stats`).
    fn api_counts(&self) -> (u64, u64) {
        let text = success(Command::new("curl").args([
            "--silent",
            "--show-error",
            "--fail",
            "--cacert",
            &self.pki.path("ca.pem"),
            &format!("{}/_test/stats", self.idp.url),
        ]));
        let stats: serde_json::Value = serde_json::from_str(&text).unwrap();
        (
            stats["api_accepted"].as_u64().unwrap(),
            stats["api_rejected"].as_u64().unwrap(),
        )
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?} (is it installed? .ci/run installs it): {e}")
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("eyJ"),
        "a token on stderr of {cmd:?}: {stderr}"
    );
    out
}

fn success(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn flyteauth() -> &'static str {
    env!("CARGO_BIN_EXE_flyteauth")
}

/// The kubectl client's minor version (`kubectl version --client -o json`).
fn kubectl_minor() -> u64 {
    let text = success(Command::new("kubectl").args(["version", "--client", "-o", "json"]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let minor = v["clientVersion"]["minor"].as_str().unwrap_or_default();
    minor.trim_end_matches('+').parse().unwrap_or(0)
}

fn kubeconfig(setup: &Setup, name: &str, user: &str) -> PathBuf {
    let path = setup.dir.path().join(name);
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: flyte\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: flyte\n  user:\n{user}contexts:\n- name: flyte\n  \
             context:\n    cluster: flyte\n    user: flyte\ncurrent-context: flyte\n",
            setup.idp.url,
            setup.pki.path("ca.pem")
        ),
    )
    .unwrap();
    path
}

/// kubectl runs `flyteauth token --output exec-credential` and its request is accepted by an
/// HTTPS endpoint that verifies the token; a wrong token is refused by the same endpoint.
#[test]
#[ignore = "needs kubectl: make test-cli-consumers"]
fn kubectl_uses_flyteauth_as_an_exec_credential_plugin() {
    let setup = Setup::new();
    let get = |kubeconfig: &Path| {
        run(setup
            .command("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", "--raw", "/api/v1/projects"]))
    };
    // The control: the endpoint refuses a token it did not sign.
    let wrong = kubeconfig(&setup, "wrong.yaml", "    token: not-a-token\n");
    let out = get(&wrong);
    assert!(!out.status.success(), "a wrong token must be refused");
    assert_eq!(setup.api_counts(), (0, 1));

    // v1beta1 (every kubectl since 1.11), then v1 (1.22 and later, which require
    // interactiveMode); flyteauth answers in the version kubectl asks for.
    let mut versions = vec![("v1beta1", "")];
    if kubectl_minor() >= 22 {
        versions.push(("v1", "      interactiveMode: Never\n"));
    }
    for (i, (version, extra)) in versions.iter().enumerate() {
        let exec = format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/{version}\n      command: {}\n      \
             args: [--config, {}, token, --output, exec-credential]\n{extra}",
            flyteauth(),
            setup.config.display()
        );
        let config = kubeconfig(&setup, &format!("{version}.yaml"), &exec);
        let out = get(&config);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "kubectl with the {version} plugin: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.trim(), r#"{"projects":[]}"#);
        assert_eq!(setup.api_counts(), (i as u64 + 1, 1), "{version}");
    }
}

/// `--output json` through jq gives curl its `-H` lines; `--header` gives them directly. Both
/// calls are accepted, and jq reads the expiry as a time.
#[test]
#[ignore = "needs jq and curl: make test-cli-consumers"]
fn jq_and_curl_use_the_json_and_header_outputs() {
    let setup = Setup::new();
    let json = success(
        setup
            .command(flyteauth())
            .args(["token", "--output", "json"]),
    );
    let mut jq = setup
        .command("jq")
        .args(["-r", r#".headers | to_entries[] | "\(.key): \(.value)""#])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("jq (is it installed? .ci/run installs it)");
    std::io::Write::write_all(&mut jq.stdin.take().unwrap(), json.as_bytes()).unwrap();
    let headers = jq.wait_with_output().unwrap();
    assert!(headers.status.success());
    let headers_file = setup.dir.path().join("headers.txt");
    std::fs::write(&headers_file, &headers.stdout).unwrap();
    assert!(
        String::from_utf8_lossy(&headers.stdout).starts_with("flyte-authorization: Bearer "),
        "jq printed the header lines"
    );
    // `expiresAt` is a time jq can read, in the future.
    let expires = success(Command::new("jq").args([
        "-n",
        "--argjson",
        "doc",
        &json,
        "$doc.expiresAt | fromdateiso8601 - now",
    ]));
    let left: f64 = expires.trim().parse().unwrap();
    assert!(left > 0.0 && left <= 300.0, "expires in {left} s");

    let curl = |header_arg: &str| {
        success(Command::new("curl").args([
            "--silent",
            "--show-error",
            "--fail",
            "--cacert",
            &setup.pki.path("ca.pem"),
            "-H",
            header_arg,
            &setup.api_url(),
        ]))
    };
    assert_eq!(
        curl(&format!("@{}", headers_file.display())),
        r#"{"projects":[]}"#
    );
    let header = success(setup.command(flyteauth()).args(["token", "--header"]));
    assert_eq!(curl(header.trim_end()), r#"{"projects":[]}"#);
    assert_eq!(setup.api_counts(), (2, 0));
}

/// `flyteauth get` speaks the credential-helper protocol: a request on stdin, an answer that
/// the specification's schema accepts (with `expires` as an RFC 3339 date-time), headers that
/// the endpoint accepts. The schema check is shown to reject `--output json`'s shape.
#[test]
#[ignore = "needs a Python with jsonschema: make test-cli-consumers"]
fn bazel_credential_helper_answer_matches_the_published_schema() {
    let setup = Setup::new();
    let mut helper = setup
        .command(flyteauth())
        .env_remove("FLYTEAUTH_LOG")
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut helper.stdin.take().unwrap(),
        br#"{"uri":"https://remote-cache.example.com/ac/0123"}"#,
    )
    .unwrap();
    let out = helper.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = String::from_utf8(out.stdout).unwrap();

    let python = std::env::var("FLYTEAUTH_TEST_PYTHON").expect(
        "FLYTEAUTH_TEST_PYTHON: a Python with jsonschema (make test-cli-consumers sets it)",
    );
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/credential-helper/get-credentials-response.schema.json");
    // Exit 0 when `doc` is valid, 1 with the first error otherwise.
    let validate = |doc: &str| -> Output {
        let check = "import json, sys, jsonschema\n\
                     schema = json.load(open(sys.argv[1]))\n\
                     cls = jsonschema.validators.validator_for(schema)\n\
                     cls.check_schema(schema)\n\
                     errors = list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(json.loads(sys.argv[2])))\n\
                     assert 'date-time' in cls.FORMAT_CHECKER.checkers, 'no date-time checker (rfc3339-validator)'\n\
                     print('; '.join(e.message for e in errors)); sys.exit(1 if errors else 0)";
        run(Command::new(&python)
            .args(["-c", check])
            .arg(&schema)
            .arg(doc))
    };
    let verdict = validate(&answer);
    assert!(
        verdict.status.success(),
        "the schema rejects the answer: {}{}",
        String::from_utf8_lossy(&verdict.stdout),
        String::from_utf8_lossy(&verdict.stderr)
    );
    // The control: headers as plain strings, and an expiry that is not a date-time.
    for wrong in [
        r#"{"headers": {"authorization": "Bearer x"}}"#,
        r#"{"headers": {}, "expires": "in five minutes"}"#,
    ] {
        assert!(
            !validate(wrong).status.success(),
            "the schema must reject {wrong}"
        );
    }

    let parsed: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let mut curl = Command::new("curl");
    curl.args([
        "--silent",
        "--show-error",
        "--fail",
        "--cacert",
        &setup.pki.path("ca.pem"),
    ]);
    for (key, values) in parsed["headers"].as_object().unwrap() {
        for value in values.as_array().unwrap() {
            curl.arg("-H")
                .arg(format!("{key}: {}", value.as_str().unwrap()));
        }
    }
    assert_eq!(success(curl.arg(setup.api_url())), r#"{"projects":[]}"#);
}
