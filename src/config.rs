//! The configuration model: one schema (the `admin:` keys of Flyte's `config.yaml`), three
//! sources (a JSON object, Flyte's config file, the `FLYTE_*` environment overrides).
//!
//! Every problem is reported at creation, as a [`ErrorKind::Config`](crate::ErrorKind::Config)
//! error whose message names the key, so that a typo never silently falls back to a default.
//! Secret values are never echoed back, not even in type errors.

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

pub use crate::secret::Secret;

/// The OAuth2 flow that produces the token. Parsed from `authType` with all eight of
/// flytekit's spellings, case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// Authorization code with PKCE in a browser (`standard`, `Pkce`).
    Pkce,
    /// OAuth2 client credentials (`basic`, `client_credentials`, `ClientSecret`).
    ClientSecret,
    /// A token printed by an external command (`external_process`, `ExternalCommand`).
    ExternalCommand,
    /// The device authorization grant, RFC 8628 (`DeviceFlow`).
    DeviceFlow,
}

impl AuthType {
    /// The spellings flytekit accepts, in flytekit's order.
    pub const SPELLINGS: [&'static str; 8] = [
        "standard",
        "basic",
        "client_credentials",
        "external_process",
        "ClientSecret",
        "Pkce",
        "ExternalCommand",
        "DeviceFlow",
    ];

    /// Parse an `authType` value (case-insensitive, any of [`AuthType::SPELLINGS`]).
    pub fn parse(value: &str) -> Result<AuthType> {
        match value.to_ascii_lowercase().as_str() {
            "standard" | "pkce" => Ok(AuthType::Pkce),
            "basic" | "client_credentials" | "clientsecret" => Ok(AuthType::ClientSecret),
            "external_process" | "externalcommand" => Ok(AuthType::ExternalCommand),
            "deviceflow" => Ok(AuthType::DeviceFlow),
            _ => Err(Error::config(format!(
                "authType: unknown authentication type '{value}'; use one of: {}",
                AuthType::SPELLINGS.join(", ")
            ))),
        }
    }

    /// The canonical (Go client) name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Pkce => "Pkce",
            AuthType::ClientSecret => "ClientSecret",
            AuthType::ExternalCommand => "ExternalCommand",
            AuthType::DeviceFlow => "DeviceFlow",
        }
    }
}

/// `pkceConfig`: the browser login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceConfig {
    /// `pkceConfig.timeout`: how long to wait for the browser callback (default 2m).
    pub timeout: Duration,
    /// `pkceConfig.refreshTime`: refresh this long before expiry (default 5m).
    pub refresh_time: Duration,
}

/// `deviceFlowConfig`: the device authorization grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFlowConfig {
    /// `deviceFlowConfig.timeout`: overall deadline for the login (default 10m).
    pub timeout: Duration,
    /// `deviceFlowConfig.refreshTime`: refresh this long before expiry (default 5m).
    pub refresh_time: Duration,
    /// `deviceFlowConfig.pollInterval`: used when the server sends no `interval` (default 5s).
    pub poll_interval: Duration,
}

/// A validated configuration. Build it with [`Config::from_json`] or
/// [`Config::from_flyte_config`]; the field docs name the config key of each field.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `endpoint`, with `dns:///` removed (e.g. `flyte.example.com:443`).
    pub endpoint: Option<String>,
    /// `insecure`: talk plain HTTP to the endpoint.
    pub insecure: bool,
    /// `insecureSkipVerify`: do not verify TLS certificates (never do this in production).
    pub insecure_skip_verify: bool,
    /// `caCertFilePath`: extra PEM CA certificates trusted on every HTTPS request.
    pub ca_cert_file_path: Option<PathBuf>,
    /// `authType`.
    pub auth_type: AuthType,
    /// `clientId` (client credentials).
    pub client_id: Option<String>,
    /// The client secret, from `clientSecret`, `clientSecretLocation` or `clientSecretEnvVar`.
    pub client_secret: Option<Secret>,
    /// `scopes`; empty means "the server's".
    pub scopes: Vec<String>,
    /// `audience`.
    pub audience: Option<String>,
    /// `useAudienceFromAdmin`: use the server's audience even if `audience` is set.
    pub use_audience_from_admin: bool,
    /// `tokenUrl`: the token endpoint; skips `/.well-known/oauth-authorization-server`.
    pub token_url: Option<String>,
    /// `authorizationHeader`: the metadata key for the token (else the server's, else
    /// `authorization`).
    pub authorization_header: Option<String>,
    /// `command`: argv of the token command (`ExternalCommand`).
    pub command: Vec<String>,
    /// `proxyCommand`: argv of the command whose output goes in `proxy-authorization`.
    pub proxy_command: Vec<String>,
    /// `httpProxyURL`: HTTP(S) proxy for every request the library makes.
    pub http_proxy_url: Option<String>,
    /// `pkceConfig`.
    pub pkce: PkceConfig,
    /// `deviceFlowConfig`.
    pub device_flow: DeviceFlowConfig,
    /// `tokenRefreshWindow`: refresh this long before expiry (capped at half the lifetime).
    pub token_refresh_window: Option<Duration>,
    /// `maxRetries`: retries after the first attempt on transient errors (default 4).
    pub max_retries: u32,
    /// `perRetryTimeout`: timeout of each HTTP attempt (default 15s).
    pub per_retry_timeout: Duration,
    /// `maxBackoffDelay`: the longest wait between two attempts (default 8s).
    pub max_backoff_delay: Duration,
    /// `commandTimeout` (flyteauth extension): how long `command`/`proxyCommand` may run
    /// (default 60s).
    pub command_timeout: Duration,
    /// `interactive` (flyteauth extension, default true): whether a person may be asked to log
    /// in. When false, an expired login is a `LoginRequired` error instead of a prompt.
    pub interactive: bool,
    /// `tokenCache` (flyteauth extension): `keyring` (default) keeps PKCE and device-flow
    /// tokens in the OS keyring, shared with pyflyte and flytectl; `memory` keeps them in
    /// this process only.
    pub token_cache: TokenCacheKind,
    /// `keyringLayouts` (flyteauth extension): which keyring layouts a login or refresh is
    /// written in, `["flytekit", "flytectl"]` by default (both are always read).
    pub keyring_layouts: KeyringLayouts,
}

/// The keyring layouts written (`keyringLayouts`); both are always read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyringLayouts {
    /// flytekit's (pyflyte's): service = the endpoint, users `access_token`,
    /// `refresh_token`, `id_token`.
    pub flytekit: bool,
    /// flytectl's: service `flytectl`, user `dns:///<endpoint>:flytectl-user`, one JSON
    /// `oauth2.Token`.
    pub flytectl: bool,
}

impl Default for KeyringLayouts {
    fn default() -> Self {
        KeyringLayouts {
            flytekit: true,
            flytectl: true,
        }
    }
}

impl KeyringLayouts {
    /// Parse the `keyringLayouts` list: each name once, `flytekit` or `flytectl`
    /// (case-insensitive); an empty list writes nothing (read-only keyring use).
    fn parse(names: &[String]) -> Result<Self> {
        let mut layouts = KeyringLayouts {
            flytekit: false,
            flytectl: false,
        };
        for name in names {
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "flytekit" => &mut layouts.flytekit,
                "flytectl" => &mut layouts.flytectl,
                other => {
                    return Err(Error::config(format!(
                        "keyringLayouts: unknown layout '{other}'; use \"flytekit\" and/or \"flytectl\""
                    )))
                }
            };
            if std::mem::replace(slot, true) {
                return Err(Error::config(format!(
                    "keyringLayouts: '{}' is listed twice",
                    name.trim()
                )));
            }
        }
        Ok(layouts)
    }
}

/// Where interactive logins are kept (`tokenCache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCacheKind {
    /// The OS keyring (Secret Service on Linux), in flytekit's and flytectl's layouts (see
    /// `keyringLayouts`).
    Keyring,
    /// This process's memory only.
    Memory,
}

/// The keys accepted in the JSON object and the `admin:` section, as written by Flyte.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    endpoint: Option<String>,
    insecure: Option<bool>,
    insecure_skip_verify: Option<bool>,
    ca_cert_file_path: Option<String>,
    auth_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    client_secret_location: Option<String>,
    client_secret_env_var: Option<String>,
    scopes: Option<Vec<String>>,
    audience: Option<String>,
    use_audience_from_admin: Option<bool>,
    token_url: Option<String>,
    authorization_header: Option<String>,
    command: Option<Vec<String>>,
    proxy_command: Option<Vec<String>>,
    #[serde(rename = "httpProxyURL")]
    http_proxy_url: Option<String>,
    pkce_config: Option<RawPkceConfig>,
    device_flow_config: Option<RawDeviceFlowConfig>,
    token_refresh_window: Option<GoDuration>,
    max_retries: Option<u32>,
    per_retry_timeout: Option<GoDuration>,
    max_backoff_delay: Option<GoDuration>,
    command_timeout: Option<GoDuration>,
    interactive: Option<bool>,
    token_cache: Option<String>,
    keyring_layouts: Option<Vec<String>>,
    // Keys of the Go client's `admin` section that concern its gRPC channel, not
    // authentication. Accepted so that an existing config.yaml loads, otherwise ignored.
    #[allow(dead_code)]
    max_message_size_bytes: Option<i64>,
    #[allow(dead_code)]
    use_auth: Option<bool>,
    #[allow(dead_code)]
    authorization_server_url: Option<String>,
    #[allow(dead_code)]
    default_service_config: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPkceConfig {
    timeout: Option<GoDuration>,
    refresh_time: Option<GoDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDeviceFlowConfig {
    timeout: Option<GoDuration>,
    refresh_time: Option<GoDuration>,
    poll_interval: Option<GoDuration>,
}

/// A duration written the way Go's `time.ParseDuration` reads it: `15s`, `2m`, `1h30m`,
/// `500ms`, `1.5s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GoDuration(Duration);

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer).map_err(|_| {
            de::Error::custom("expected a duration string such as \"15s\", \"2m\" or \"500ms\"")
        })?;
        parse_go_duration(&text)
            .map(GoDuration)
            .map_err(de::Error::custom)
    }
}

/// Parse a Go duration string (`time.ParseDuration` syntax, non-negative).
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("invalid duration \"{text}\" (use e.g. \"15s\", \"2m\", \"1h30m\", \"500ms\")");
    let mut rest = text.trim();
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() || rest.starts_with('-') {
        return Err(bad());
    }
    rest = rest.strip_prefix('+').unwrap_or(rest);
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * seconds_per_unit;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// Where `FLYTE_*` environment variables go, with the value kind flytekit gives them.
#[derive(Clone, Copy)]
enum EnvKind {
    Str,
    Bool,
    List,
}

/// flytekit's environment overrides (`FLYTE_{SECTION}_{OPTION}`), mapped to our keys.
const ENV_OVERRIDES: [(&str, &str, EnvKind); 14] = [
    ("FLYTE_PLATFORM_URL", "endpoint", EnvKind::Str),
    ("FLYTE_PLATFORM_INSECURE", "insecure", EnvKind::Bool),
    (
        "FLYTE_PLATFORM_INSECURE_SKIP_VERIFY",
        "insecureSkipVerify",
        EnvKind::Bool,
    ),
    (
        "FLYTE_PLATFORM_CA_CERT_FILE_PATH",
        "caCertFilePath",
        EnvKind::Str,
    ),
    (
        "FLYTE_PLATFORM_HTTP_PROXY_URL",
        "httpProxyURL",
        EnvKind::Str,
    ),
    ("FLYTE_CREDENTIALS_CLIENT_ID", "clientId", EnvKind::Str),
    (
        "FLYTE_CREDENTIALS_CLIENT_SECRET",
        "clientSecret",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION",
        "clientSecretLocation",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR",
        "clientSecretEnvVar",
        EnvKind::Str,
    ),
    ("FLYTE_CREDENTIALS_AUTH_MODE", "authType", EnvKind::Str),
    ("FLYTE_CREDENTIALS_SCOPES", "scopes", EnvKind::List),
    ("FLYTE_CREDENTIALS_AUDIENCE", "audience", EnvKind::Str),
    ("FLYTE_CREDENTIALS_COMMAND", "command", EnvKind::List),
    (
        "FLYTE_CREDENTIALS_PROXY_COMMAND",
        "proxyCommand",
        EnvKind::List,
    ),
];

/// flytekit's environment bool rule: true unless empty or one of false/0/off/no.
fn env_bool(value: &str) -> bool {
    !matches!(
        value.to_ascii_lowercase().as_str(),
        "" | "false" | "0" | "off" | "no"
    )
}

/// Reads environment variables; a seam so tests need not mutate the process environment.
pub trait Env {
    /// The value of `name`, if set and valid UTF-8.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Config {
    /// Parse the JSON form: an object with the `admin:` keys of Flyte's `config.yaml`, plus an
    /// optional inline `clientSecret`. Environment overrides do not apply (the JSON is explicit),
    /// but `clientSecretEnvVar` names a variable that is read.
    pub fn from_json(json: &str) -> Result<Config> {
        Self::from_json_with_env(json, &ProcessEnv)
    }

    /// [`Config::from_json`] reading environment variables through `env`.
    pub fn from_json_with_env(json: &str, env: &dyn Env) -> Result<Config> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::config(format!("config is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(Error::config("config must be a JSON object"));
        }
        Self::from_value(value, "", env)
    }

    /// Read Flyte's `config.yaml`: `path`, else `$FLYTECTL_CONFIG`, else
    /// `~/.flyte/config.yaml`, else nothing; then apply the `FLYTE_*` environment
    /// overrides, which win over the file as in flytekit.
    pub fn from_flyte_config(path: Option<&Path>) -> Result<Config> {
        Self::from_flyte_config_with_env(path, &ProcessEnv)
    }

    /// [`Config::from_flyte_config`] reading environment variables through `env`.
    pub fn from_flyte_config_with_env(path: Option<&Path>, env: &dyn Env) -> Result<Config> {
        let admin = read_flyte_config(path, env)?;
        Self::from_value(Value::Object(admin), "admin.", env)
    }

    fn from_value(value: Value, prefix: &str, env: &dyn Env) -> Result<Config> {
        let raw: RawConfig = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                // serde reports unknown keys at the parent; its message names the key.
                Error::config(format!("{prefix}{inner}"))
            } else {
                Error::config(format!("{prefix}{path}: {inner}"))
            }
        })?;
        Self::resolve(raw, env)
    }

    /// Turn the raw keys into a checked configuration (flytekit's `PlatformConfig.auto()` order
    /// for the client secret).
    fn resolve(raw: RawConfig, env: &dyn Env) -> Result<Config> {
        let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());

        let endpoint = non_empty(raw.endpoint).map(|e| e.replace("dns:///", "").trim().to_owned());
        let mut auth_type = match non_empty(raw.auth_type) {
            Some(s) => AuthType::parse(s.trim())?,
            None => AuthType::Pkce,
        };

        // Client secret: inline, then the file, then the named variable; a secret from the
        // file or the variable selects ClientSecret, as in flytekit.
        let mut client_secret = raw.client_secret.filter(|s| !s.expose().trim().is_empty());
        client_secret = client_secret.map(|s| Secret::new(s.expose().trim()));
        if let Some(location) = non_empty(raw.client_secret_location) {
            let text = std::fs::read_to_string(&location).map_err(|e| {
                Error::config(format!(
                    "clientSecretLocation: cannot read the client secret file {location}: {e}"
                ))
            })?;
            let trimmed = text.trim();
            if !trimmed.is_empty() {
                client_secret = Some(Secret::new(trimmed));
                auth_type = AuthType::ClientSecret;
            }
        }
        let secret_env_var = non_empty(raw.client_secret_env_var);
        if let Some(name) = &secret_env_var {
            if let Some(value) = env.var(name).filter(|v| !v.trim().is_empty()) {
                client_secret = Some(Secret::new(value.trim()));
                auth_type = AuthType::ClientSecret;
            }
        }

        let client_id = non_empty(raw.client_id).map(|s| s.trim().to_owned());
        if auth_type == AuthType::ClientSecret {
            if client_id.is_none() {
                return Err(Error::config(
                    "clientId: required for authType ClientSecret (client credentials)",
                ));
            }
            if client_secret.is_none() {
                let hint = match &secret_env_var {
                    Some(name) => format!(
                        " (the variable {name} named by clientSecretEnvVar is empty or unset)"
                    ),
                    None => String::new(),
                };
                return Err(Error::config(format!(
                    "clientSecret: required for authType ClientSecret; set clientSecretLocation, \
                     clientSecretEnvVar or clientSecret{hint}"
                )));
            }
        }

        let command = check_command("command", raw.command)?;
        if auth_type == AuthType::ExternalCommand && command.is_empty() {
            return Err(Error::config(
                "command: required for authType ExternalCommand (the argv of a program that prints a token)",
            ));
        }
        let proxy_command = check_command("proxyCommand", raw.proxy_command)?;

        let authorization_header = match non_empty(raw.authorization_header) {
            Some(h) => Some(check_header_name(&h)?),
            None => None,
        };
        let token_url = match non_empty(raw.token_url) {
            Some(u) => Some(check_url("tokenUrl", u.trim())?),
            None => None,
        };
        let http_proxy_url = match non_empty(raw.http_proxy_url) {
            Some(u) => Some(check_url("httpProxyURL", u.trim())?),
            None => None,
        };
        if let Some(ep) = &endpoint {
            check_endpoint(ep)?;
        }

        let pkce = raw.pkce_config.unwrap_or_default();
        let device = raw.device_flow_config.unwrap_or_default();
        let dur = |d: Option<GoDuration>, default: Duration| d.map(|d| d.0).unwrap_or(default);
        let per_retry_timeout = dur(raw.per_retry_timeout, Duration::from_secs(15));
        if per_retry_timeout.is_zero() {
            return Err(Error::config("perRetryTimeout: must be greater than 0"));
        }
        let command_timeout = dur(raw.command_timeout, Duration::from_secs(60));
        if command_timeout.is_zero() {
            return Err(Error::config("commandTimeout: must be greater than 0"));
        }

        let config = Config {
            endpoint,
            insecure: raw.insecure.unwrap_or(false),
            insecure_skip_verify: raw.insecure_skip_verify.unwrap_or(false),
            ca_cert_file_path: non_empty(raw.ca_cert_file_path).map(PathBuf::from),
            auth_type,
            client_id,
            client_secret,
            scopes: raw
                .scopes
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            audience: non_empty(raw.audience).map(|s| s.trim().to_owned()),
            use_audience_from_admin: raw.use_audience_from_admin.unwrap_or(false),
            token_url,
            authorization_header,
            command,
            proxy_command,
            http_proxy_url,
            pkce: PkceConfig {
                timeout: dur(pkce.timeout, Duration::from_secs(120)),
                refresh_time: dur(pkce.refresh_time, Duration::from_secs(300)),
            },
            device_flow: DeviceFlowConfig {
                timeout: dur(device.timeout, Duration::from_secs(600)),
                refresh_time: dur(device.refresh_time, Duration::from_secs(300)),
                poll_interval: dur(device.poll_interval, Duration::from_secs(5)),
            },
            token_refresh_window: raw.token_refresh_window.map(|d| d.0),
            max_retries: raw.max_retries.unwrap_or(4),
            per_retry_timeout,
            max_backoff_delay: dur(raw.max_backoff_delay, Duration::from_secs(8)),
            command_timeout,
            interactive: raw.interactive.unwrap_or(true),
            token_cache: match non_empty(raw.token_cache)
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("keyring") => TokenCacheKind::Keyring,
                Some("memory") | Some("none") => TokenCacheKind::Memory,
                Some(other) => {
                    return Err(Error::config(format!(
                        "tokenCache: unknown value '{other}'; use \"keyring\" or \"memory\""
                    )))
                }
            },
            keyring_layouts: match &raw.keyring_layouts {
                Some(names) => KeyringLayouts::parse(names)?,
                None => KeyringLayouts::default(),
            },
        };
        config.check_endpoint_needed()?;
        Ok(config)
    }

    /// Whether the flow can run from the config alone; otherwise the endpoint is required.
    fn check_endpoint_needed(&self) -> Result<()> {
        if self.endpoint.is_some() {
            return Ok(());
        }
        let self_sufficient = match self.auth_type {
            AuthType::ClientSecret => {
                self.token_url.is_some()
                    && !self.scopes.is_empty()
                    && self.authorization_header.is_some()
                    && !self.use_audience_from_admin
            }
            AuthType::ExternalCommand => self.authorization_header.is_some(),
            AuthType::Pkce | AuthType::DeviceFlow => false,
        };
        if self_sufficient {
            Ok(())
        } else {
            Err(Error::config(
                "endpoint: required (e.g. \"dns:///flyte.example.com\"); set admin.endpoint or \
                 FLYTE_PLATFORM_URL, or configure tokenUrl, scopes and authorizationHeader so \
                 that no discovery is needed",
            ))
        }
    }

    /// The HTTP(S) base URL of the endpoint (`http://` when `insecure`), if one is set.
    pub fn base_url(&self) -> Option<String> {
        let ep = self.endpoint.as_deref()?;
        let base = if ep.starts_with("http://") || ep.starts_with("https://") {
            ep.to_owned()
        } else if self.insecure {
            format!("http://{ep}")
        } else {
            format!("https://{ep}")
        };
        Some(base.trim_end_matches('/').to_owned())
    }
}

/// Why a Flyte config file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrigin {
    /// Named by the caller (`--config`, `flyteauth_authenticator_from_flyte_config`'s path).
    Given,
    /// Named by `$FLYTECTL_CONFIG`.
    FlytectlConfigVar,
    /// `~/.flyte/config.yaml`, the default place.
    Home,
}

/// Where one `admin:` setting of a Flyte config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingSource {
    /// The config file; `line` is 1-based, `None` when it cannot be pointed at (flow style).
    File {
        /// The line of the key in the file.
        line: Option<usize>,
    },
    /// A `FLYTE_*` environment variable, which wins over the file.
    Env {
        /// The variable.
        var: &'static str,
        /// The file's line for the same key when the file set it too (`Some(None)`: set, at
        /// a line that cannot be pointed at).
        overrides: Option<Option<usize>>,
    },
}

/// One setting of a Flyte config, as `flyteauth doctor` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The `admin:` key, e.g. `clientId`.
    pub key: String,
    /// Its value as text; a secret's value is never shown, only `(set)`.
    pub value: String,
    /// Where it came from.
    pub source: SettingSource,
}

/// How a Flyte config is put together: the file read (and why), and the source of every
/// setting. The provenance behind [`Config::from_flyte_config`]; it does not check the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlyteConfigSources {
    /// The file read, if any, and why it was that one.
    pub file: Option<(PathBuf, FileOrigin)>,
    /// Every setting: the file's in line order, then those only a variable set.
    pub settings: Vec<Setting>,
}

impl FlyteConfigSources {
    /// Trace `path` (else `$FLYTECTL_CONFIG`, else `~/.flyte/config.yaml`) and the `FLYTE_*`
    /// overrides, exactly as [`Config::from_flyte_config_with_env`] reads them.
    pub fn trace(path: Option<&Path>, env: &dyn Env) -> Result<FlyteConfigSources> {
        let file = locate_config_file(path, env)?;
        let (mut admin, lines) = match &file {
            Some((path, _)) => {
                let text = read_config_text(path)?;
                (admin_section(&text, path)?, admin_key_lines(&text))
            }
            None => (Map::new(), BTreeMap::new()),
        };
        let line_of = |key: &str| lines.get(key).copied();
        let mut from_file: Vec<String> = admin.keys().cloned().collect();
        from_file.sort_by_key(|k| line_of(k).unwrap_or(usize::MAX));
        let overridden = apply_env_overrides(&mut admin, env);
        let mut settings = Vec::with_capacity(admin.len());
        let mut push = |key: &str, source: SettingSource| {
            let value = match admin.get(key) {
                _ if key == "clientSecret" => "(set)".to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => return,
            };
            settings.push(Setting {
                key: key.to_owned(),
                value,
                source,
            });
        };
        for key in &from_file {
            let source = match overridden.iter().find(|(_, k)| k == key) {
                Some((var, _)) => SettingSource::Env {
                    var,
                    overrides: Some(line_of(key)),
                },
                None => SettingSource::File { line: line_of(key) },
            };
            push(key, source);
        }
        for (var, key) in overridden
            .iter()
            .filter(|(_, k)| !from_file.iter().any(|f| f == k))
        {
            push(
                key,
                SettingSource::Env {
                    var,
                    overrides: None,
                },
            );
        }
        Ok(FlyteConfigSources { file, settings })
    }
}

/// The `admin:` section of the Flyte config file to read, with the `FLYTE_*` overrides
/// applied.
fn read_flyte_config(path: Option<&Path>, env: &dyn Env) -> Result<Map<String, Value>> {
    let mut admin = match locate_config_file(path, env)? {
        Some((path, _)) => admin_section(&read_config_text(&path)?, &path)?,
        None => Map::new(),
    };
    apply_env_overrides(&mut admin, env);
    Ok(admin)
}

fn read_config_text(file: &Path) -> Result<String> {
    std::fs::read_to_string(file)
        .map_err(|e| Error::config(format!("cannot read Flyte config {}: {e}", file.display())))
}

/// `path`, else `$FLYTECTL_CONFIG`, else `~/.flyte/config.yaml` if it exists, else none. `~` is
/// the home directory by the OS's rule ([`crate::platform::home_dir`]: `HOME`; on Windows
/// `USERPROFILE`).
fn locate_config_file(path: Option<&Path>, env: &dyn Env) -> Result<Option<(PathBuf, FileOrigin)>> {
    if let Some(p) = path {
        return Ok(Some((p.to_path_buf(), FileOrigin::Given)));
    }
    if let Some(p) = env.var("FLYTECTL_CONFIG").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(p);
        if !path.is_file() {
            return Err(Error::config(format!(
                "FLYTECTL_CONFIG points to {}, which is not a readable file",
                path.display()
            )));
        }
        return Ok(Some((path, FileOrigin::FlytectlConfigVar)));
    }
    if let Some(home) = crate::platform::home_dir(&|name| env.var(name)) {
        let path = home.join(".flyte").join("config.yaml");
        if path.is_file() {
            return Ok(Some((path, FileOrigin::Home)));
        }
    }
    Ok(None)
}

/// The 1-based line of each key directly under the top-level `admin:` mapping, in block
/// style (a flow-style `admin: {...}` has none). Only for pointing a person at a line: the
/// values come from the YAML parser.
fn admin_key_lines(text: &str) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    let mut in_admin = false;
    let mut child_indent = None;
    for (i, line) in text.lines().enumerate() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if indent == 0 {
            in_admin = content.starts_with("admin:") || content.starts_with("\"admin\":");
            child_indent = None;
            continue;
        }
        if !in_admin || *child_indent.get_or_insert(indent) != indent {
            continue;
        }
        if let Some((key, _)) = content.split_once(':') {
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            lines.entry(key.to_owned()).or_insert(i + 1);
        }
    }
    lines
}

/// The `admin:` mapping of a Flyte config file, as JSON (other sections are ignored).
fn admin_section(text: &str, file: &Path) -> Result<Map<String, Value>> {
    let doc: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| Error::config(format!("{} is not valid YAML: {e}", file.display())))?;
    match doc {
        Value::Null => Ok(Map::new()),
        Value::Object(mut top) => match top.remove("admin") {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(admin)) => Ok(admin),
            Some(_) => Err(Error::config(format!(
                "admin: expected a mapping in {}",
                file.display()
            ))),
        },
        _ => Err(Error::config(format!(
            "{} must be a YAML mapping with an admin: section",
            file.display()
        ))),
    }
}

/// Apply flytekit's `FLYTE_*` overrides: a set, non-empty variable wins over the file.
/// Returns the variables applied, with their keys.
fn apply_env_overrides(
    admin: &mut Map<String, Value>,
    env: &dyn Env,
) -> Vec<(&'static str, &'static str)> {
    let mut applied = Vec::new();
    for (name, key, kind) in ENV_OVERRIDES {
        let Some(value) = env.var(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let json = match kind {
            EnvKind::Str => Value::String(value),
            EnvKind::Bool => Value::Bool(env_bool(&value)),
            EnvKind::List => Value::Array(
                value
                    .split(',')
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
        };
        admin.insert(key.to_owned(), json);
        applied.push((name, key));
    }
    applied
}

fn check_command(key: &str, argv: Option<Vec<String>>) -> Result<Vec<String>> {
    match argv {
        None => Ok(Vec::new()),
        Some(argv) if argv.is_empty() || argv[0].trim().is_empty() => Err(Error::config(format!(
            "{key}: must be a non-empty list whose first item is the program to run"
        ))),
        Some(argv) => Ok(argv),
    }
}

/// gRPC metadata keys are lowercase ASCII letters, digits, `-`, `_` and `.`.
fn check_header_name(name: &str) -> Result<String> {
    let name = name.trim().to_ascii_lowercase();
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    if valid && !name.is_empty() {
        Ok(name)
    } else {
        Err(Error::config(format!(
            "authorizationHeader: '{name}' is not a valid header name (letters, digits, '-', '_', '.')"
        )))
    }
}

fn check_url(key: &str, value: &str) -> Result<String> {
    // Only the redacted URL in messages: proxy and token URLs may carry credentials.
    let url = url::Url::parse(value)
        .map_err(|e| Error::config(format!("{key}: the value is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "{key}: '{}' must be an http:// or https:// URL",
            crate::redact::url(value)
        )));
    }
    Ok(value.to_owned())
}

fn check_endpoint(endpoint: &str) -> Result<()> {
    let with_scheme = if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("https://{endpoint}")
    };
    match url::Url::parse(&with_scheme) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(Error::config(format!(
            "endpoint: '{endpoint}' is not a host[:port] (e.g. \"dns:///flyte.example.com\")"
        ))),
    }
}
