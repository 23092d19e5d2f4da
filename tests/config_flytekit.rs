//! Table-driven comparison with flytekit's own `PlatformConfig.auto()`: each case is a set of
//! files (config.yaml, INI files, a secret file) and an environment; flytekit resolves it in a
//! venv (`scripts/flytekit-platform-config.py`), `Config::from_flyte_config_with_env` resolves
//! it here, and the settings must agree — except in the cases marked with a difference
//! documented in the README (Configuration reference, "Where flyteauth reads config
//! differently from flytekit"), which must still differ, so the table stays true.
//!
//! Ignored by default: it needs a Python with flytekit. Run it with
//! `make test-config-flytekit`, which makes the venv (pinned flytekit) and sets
//! `FLYTEAUTH_TEST_FLYTEKIT_PYTHON`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use flyteauth::config::Env;
use flyteauth::{AuthType, Config};
use serde_json::{json, Value};

/// One case: files under a fresh root (`home/` is HOME, `cwd/` the current directory), and
/// the environment; `{root}` in either is replaced by the root's path.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
    /// `None`: the same result; `Some(id)`: a documented difference (README table row).
    differs: Option<&'static str>,
}

const fn same(
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
) -> Case {
    Case {
        name,
        files,
        env,
        differs: None,
    }
}

const fn differs(
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
    id: &'static str,
) -> Case {
    Case {
        name,
        files,
        env,
        differs: Some(id),
    }
}

const HOME_YAML: &str = "home/.flyte/config.yaml";
const HOME_INI: &str = "home/.flyte/config";
const CWD_INI: &str = "cwd/flytekit.config";
const SECRET: (&str, &str) = ("secret.txt", "cmp-file-secret-never-logged\n");

const BASIC_YAML: &str =
    "admin:\n  endpoint: dns:///flyte.example.com\n  insecure: true\n  authType: Pkce\n  scopes:\n    - all\nlogger:\n  level: 5\n";
const FULL_INI: &str = "[platform]\nurl = dns:///ini.example.com\ninsecure = True\nconsole_endpoint = https://console\n\n[credentials]\nclient_id = ini-id\nclient_secret = cmp-ini-secret-never-logged\nauth_mode = basic\nscopes = all,offline\ncommand = aws,sso\n\n[sdk]\nworkflow_packages = a,b\n";

const CASES: &[Case] = &[
    // ---- config.yaml ----
    same("yaml basic", &[(HOME_YAML, BASIC_YAML)], &[]),
    same(
        "yaml scopes as a comma string",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n  scopes: all,offline\n")],
        &[],
    ),
    same(
        "yaml command and proxyCommand as comma strings",
        &[(
            HOME_YAML,
            "admin:\n  endpoint: x.io\n  authType: ExternalCommand\n  command: aws,sso,get-token\n  proxyCommand: gcloud,auth,print-identity-token\n",
        )],
        &[],
    ),
    same(
        "yaml lists",
        &[(
            HOME_YAML,
            "admin:\n  endpoint: x.io\n  authType: external_process\n  command: [aws, sso]\n  proxyCommand: [p, q]\n  scopes: [a, b]\n",
        )],
        &[],
    ),
    same(
        "yaml insecure as the string \"false\"",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n  insecure: \"false\"\n")],
        &[],
    ),
    same(
        "yaml insecure: yes",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n  insecure: yes\n")],
        &[],
    ),
    same(
        "yaml TLS and proxy settings",
        &[(
            HOME_YAML,
            "admin:\n  endpoint: x.io\n  insecureSkipVerify: true\n  caCertFilePath: /etc/ca.pem\n  httpProxyURL: http://proxy:3128\n  audience: https://aud\n",
        )],
        &[],
    ),
    same(
        "yaml clientSecretLocation selects ClientSecret",
        &[
            (
                HOME_YAML,
                "admin:\n  endpoint: x.io\n  authType: Pkce\n  clientId: app\n  clientSecretLocation: {root}/secret.txt\n",
            ),
            SECRET,
        ],
        &[],
    ),
    same(
        "yaml clientSecretEnvVar selects ClientSecret",
        &[(
            HOME_YAML,
            "admin:\n  endpoint: x.io\n  clientId: app\n  clientSecretEnvVar: MY_SECRET\n",
        )],
        &[("MY_SECRET", "cmp-var-secret-never-logged")],
    ),
    same(
        "yaml basic with FLYTE_CREDENTIALS_CLIENT_SECRET",
        &[(
            HOME_YAML,
            "admin:\n  endpoint: x.io\n  authType: basic\n  clientId: app\n",
        )],
        &[("FLYTE_CREDENTIALS_CLIENT_SECRET", "cmp-env-secret-never-logged")],
    ),
    same(
        "yaml empty strings are unset",
        &[(
            HOME_YAML,
            "admin:\n  endpoint: x.io\n  clientId: \"\"\n  audience: \"\"\n  scopes: []\n",
        )],
        &[],
    ),
    differs(
        "yaml scopes with spaces after commas",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n  scopes: all, offline\n")],
        &[],
        "D3",
    ),
    differs(
        "yaml without an endpoint",
        &[(HOME_YAML, "admin:\n  insecure: true\n")],
        &[],
        "D1",
    ),
    differs(
        "yaml empty command list",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n  command: []\n")],
        &[],
        "D4",
    ),
    differs(
        "yaml key flytekit does not know",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n  clientIdd: typo\n")],
        &[],
        "D6",
    ),
    // ---- FLYTE_* variables ----
    same(
        "empty FLYTE_PLATFORM_INSECURE is false",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n  insecure: true\n")],
        &[("FLYTE_PLATFORM_INSECURE", "")],
    ),
    same(
        "FLYTE_PLATFORM_INSECURE=FALSE",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n  insecure: true\n")],
        &[("FLYTE_PLATFORM_INSECURE", "FALSE")],
    ),
    same(
        "FLYTE_PLATFORM_INSECURE=truee",
        &[(HOME_YAML, "admin:\n  endpoint: x.io\n")],
        &[
            ("FLYTE_PLATFORM_INSECURE", "truee"),
            ("FLYTE_PLATFORM_INSECURE_SKIP_VERIFY", "1"),
        ],
    ),
    same(
        "FLYTE_PLATFORM_URL beats the file",
        &[(HOME_YAML, BASIC_YAML)],
        &[("FLYTE_PLATFORM_URL", "dns:///env.example.com")],
    ),
    differs(
        "empty FLYTE_PLATFORM_URL hides the file's endpoint",
        &[(HOME_YAML, BASIC_YAML)],
        &[("FLYTE_PLATFORM_URL", "")],
        "D1",
    ),
    same(
        "empty string variables hide the file",
        &[(
            HOME_YAML,
            "admin:\n  endpoint: x.io\n  clientId: file-id\n  audience: file-aud\n  authType: DeviceFlow\n  caCertFilePath: /ca.pem\n  httpProxyURL: http://proxy:1\n",
        )],
        &[
            ("FLYTE_CREDENTIALS_CLIENT_ID", ""),
            ("FLYTE_CREDENTIALS_AUDIENCE", ""),
            ("FLYTE_CREDENTIALS_AUTH_MODE", ""),
            ("FLYTE_PLATFORM_CA_CERT_FILE_PATH", ""),
            ("FLYTE_PLATFORM_HTTP_PROXY_URL", ""),
        ],
    ),
    same(
        "empty FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION hides the file's",
        &[
            (
                HOME_YAML,
                "admin:\n  endpoint: x.io\n  clientId: app\n  clientSecretLocation: {root}/secret.txt\n",
            ),
            SECRET,
        ],
        &[("FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION", "")],
    ),
    differs(
        "empty FLYTE_CREDENTIALS_SCOPES",
        &[(HOME_YAML, BASIC_YAML)],
        &[("FLYTE_CREDENTIALS_SCOPES", "")],
        "D2",
    ),
    same(
        "FLYTE_CREDENTIALS_SCOPES comma list",
        &[(HOME_YAML, BASIC_YAML)],
        &[("FLYTE_CREDENTIALS_SCOPES", "a,b")],
    ),
    same(
        "FLYTE_CREDENTIALS_COMMAND comma list",
        &[],
        &[
            ("FLYTE_PLATFORM_URL", "x.io"),
            ("FLYTE_CREDENTIALS_AUTH_MODE", "ExternalCommand"),
            ("FLYTE_CREDENTIALS_COMMAND", "a,b,c"),
            ("FLYTE_CREDENTIALS_PROXY_COMMAND", "p,q"),
        ],
    ),
    same(
        "no file: the environment only",
        &[],
        &[
            ("FLYTE_PLATFORM_URL", "dns:///env.io"),
            ("FLYTE_CREDENTIALS_CLIENT_ID", "env-id"),
            ("FLYTE_CREDENTIALS_CLIENT_SECRET", "cmp-env-secret-never-logged"),
            ("FLYTE_CREDENTIALS_AUTH_MODE", "client_credentials"),
            ("FLYTE_CREDENTIALS_AUDIENCE", "https://aud"),
        ],
    ),
    // ---- which file ----
    same(
        "FLYTECTL_CONFIG beats ~/.flyte/config.yaml",
        &[
            (HOME_YAML, BASIC_YAML),
            ("other/ctl.yaml", "admin:\n  endpoint: ctl.io\n"),
        ],
        &[("FLYTECTL_CONFIG", "{root}/other/ctl.yaml")],
    ),
    same(
        "FLYTECTL_CONFIG naming a missing file falls back",
        &[(HOME_YAML, BASIC_YAML)],
        &[("FLYTECTL_CONFIG", "{root}/nonexistent.yaml")],
    ),
    same(
        "relative FLYTECTL_CONFIG",
        &[("cwd/ctl.yml", "admin:\n  endpoint: relative.io\n")],
        &[("FLYTECTL_CONFIG", "ctl.yml")],
    ),
    same(
        "pyflyte's override beats FLYTECTL_CONFIG",
        &[
            ("a.yaml", "admin:\n  endpoint: a.io\n"),
            ("b.yaml", "admin:\n  endpoint: b.io\n"),
        ],
        &[
            ("FLYTECTL_CONFIG", "{root}/a.yaml"),
            ("_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE", "{root}/b.yaml"),
        ],
    ),
    same(
        "FLYTECTL_CONFIG naming an INI file",
        &[("ctl.ini", FULL_INI)],
        &[("FLYTECTL_CONFIG", "{root}/ctl.ini")],
    ),
    differs(
        "FLYTECTL_CONFIG naming a YAML file without .yaml",
        &[("flytectl-config", "admin:\n  endpoint: noext.io\n")],
        &[("FLYTECTL_CONFIG", "{root}/flytectl-config")],
        "D5",
    ),
    same(
        "./flytekit.config beats ~/.flyte/config.yaml",
        &[(HOME_YAML, BASIC_YAML), (CWD_INI, FULL_INI)],
        &[],
    ),
    same(
        "~/.flyte/config beats ~/.flyte/config.yaml",
        &[(HOME_YAML, BASIC_YAML), (HOME_INI, FULL_INI)],
        &[],
    ),
    // ---- INI files ----
    same(
        "INI booleans yes/off",
        &[(
            HOME_INI,
            "[platform]\nurl = x.io\ninsecure = yes\ninsecure_skip_verify = off\n",
        )],
        &[],
    ),
    same(
        "INI with variables over it",
        &[(HOME_INI, FULL_INI)],
        &[
            ("FLYTE_PLATFORM_INSECURE", "0"),
            ("FLYTE_CREDENTIALS_SCOPES", "x"),
            ("FLYTE_CREDENTIALS_CLIENT_SECRET", "cmp-env-secret-never-logged"),
        ],
    ),
    same(
        "INI client_secret_location",
        &[
            (
                HOME_INI,
                "[platform]\nurl = x.io\n[credentials]\nclient_id = app\nclient_secret_location = {root}/secret.txt\n",
            ),
            SECRET,
        ],
        &[],
    ),
    same(
        "INI client_secret_env_var",
        &[(
            HOME_INI,
            "[platform]\nurl = x.io\n[credentials]\nclient_id = app\nclient_secret_env_var = MY_SECRET\n",
        )],
        &[("MY_SECRET", "cmp-var-secret-never-logged")],
    ),
    same(
        "INI invalid boolean is an error",
        &[(HOME_INI, "[platform]\nurl = x.io\ninsecure = truee\n")],
        &[],
    ),
    same(
        "INI DEFAULT section, interpolation, continuation",
        &[(
            HOME_INI,
            "[DEFAULT]\nhost = dflt.io\n[platform]\nURL = dns:///%(host)s\nhttp_proxy_url = http://proxy:3128\nca_cert_file_path = /etc/ca.pem\n[credentials]\naudience = https://aud\nproxy_command = gcloud,auth,\n  print-identity-token\n",
        )],
        &[],
    ),
    same(
        "INI unknown keys are ignored",
        &[(
            HOME_INI,
            "[platform]\nurl = x.io\nauth = True\n[credentials]\noauth_scopes = a\n",
        )],
        &[],
    ),
];

/// The environment of a case plus its current directory.
struct CaseEnv {
    vars: BTreeMap<String, String>,
    cwd: PathBuf,
}

impl Env for CaseEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn current_dir(&self) -> Option<PathBuf> {
        Some(self.cwd.clone())
    }
}

fn expand(text: &str, root: &Path) -> String {
    text.replace("{root}", &root.display().to_string())
}

/// Our result in the script's shape; the secret itself is returned apart.
fn ours(env: &CaseEnv) -> (Value, Option<String>) {
    match Config::from_flyte_config_with_env(None, env) {
        Err(_) => (json!({ "error": true }), None),
        Ok(c) => {
            let opt_list = |v: &Vec<String>| {
                if v.is_empty() {
                    Value::Null
                } else {
                    json!(v)
                }
            };
            let secret = c.client_secret.as_ref().map(|s| s.expose().to_owned());
            let value = json!({
                "endpoint": c.endpoint,
                "insecure": c.insecure,
                "insecure_skip_verify": c.insecure_skip_verify,
                "ca_cert_file_path": c.ca_cert_file_path.map(|p| p.display().to_string()),
                "auth_mode": c.auth_type.as_str(),
                "client_id": c.client_id,
                "client_credentials_secret": if secret.is_some() { "equal" } else { "unset" },
                "scopes": c.scopes,
                "audience": c.audience,
                "command": opt_list(&c.command),
                "proxy_command": opt_list(&c.proxy_command),
                "http_proxy_url": c.http_proxy_url,
            });
            (value, secret)
        }
    }
}

/// flytekit's result, with its auth_mode spelled canonically and `[]` lists as absent.
fn flytekit(python: &str, env: &CaseEnv, secret: Option<&str>) -> Value {
    let mut cmd = Command::new(python);
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/flytekit-platform-config.py"
    ))
    .env_clear()
    .envs(&env.vars)
    .current_dir(&env.cwd);
    if let Some(s) = secret {
        cmd.env("FLYTEAUTH_CMP_SECRET", s);
    }
    let out = cmd.output().expect("run the flytekit script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no output from flytekit; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut v: Value = serde_json::from_str(line).expect("flytekit script output is JSON");
    if v.get("error").is_some() {
        return json!({ "error": true });
    }
    if let Some(mode) = v["auth_mode"].as_str() {
        if let Ok(t) = AuthType::parse(mode) {
            v["auth_mode"] = json!(t.as_str());
        }
    }
    v
}

#[test]
#[ignore = "needs flytekit: make test-config-flytekit"]
fn resolves_like_flytekit_platform_config_auto() {
    let python = std::env::var("FLYTEAUTH_TEST_FLYTEKIT_PYTHON").expect(
        "FLYTEAUTH_TEST_FLYTEKIT_PYTHON: a python with flytekit (make test-config-flytekit)",
    );
    assert!(CASES.len() >= 30);
    let mut failures = Vec::new();
    for case in CASES {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        for dir in ["home", "cwd"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        for (path, text) in case.files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, expand(text, root)).unwrap();
        }
        let mut vars: BTreeMap<String, String> = case
            .env
            .iter()
            .map(|(k, v)| (k.to_string(), expand(v, root)))
            .collect();
        vars.insert("HOME".into(), root.join("home").display().to_string());
        if let Ok(path) = std::env::var("PATH") {
            vars.insert("PATH".into(), path);
        }
        let env = CaseEnv {
            vars,
            cwd: root.join("cwd"),
        };
        let (mine, secret) = ours(&env);
        let theirs = flytekit(&python, &env, secret.as_deref());
        let (a, b) = (mine.as_object().unwrap(), theirs.as_object().unwrap());
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        // Only the script's "unset"/"equal"/"differs" for the secret: never a value.
        let error_side = match (a.contains_key("error"), b.contains_key("error")) {
            (true, false) => Some("ours is an error, flytekit's is not"),
            (false, true) => Some("flytekit's is an error, ours is not"),
            _ => None,
        };
        let fields: Vec<String> = keys
            .into_iter()
            .filter(|_| error_side.is_none())
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| {
                format!(
                    "{k}: ours {} flytekit {}",
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null)
                )
            })
            .collect();
        let report = error_side.map_or_else(|| fields.join("; "), str::to_owned);
        let fields = if error_side.is_some() {
            vec![report.clone()]
        } else {
            fields
        };
        match (case.differs, fields.is_empty()) {
            (None, true) => println!("same     {}", case.name),
            (Some(id), false) => println!("{id} (documented) {}: {report}", case.name),
            (None, false) => failures.push(format!("{}: {report}", case.name)),
            (Some(id), true) => failures.push(format!(
                "{}: marked {id} but resolves the same; update the README table",
                case.name
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from flytekit:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
