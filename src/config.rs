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

mod ini;

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
    /// `resource` (flyteauth extension): RFC 8707 resource indicators, a string or a list,
    /// sent on the authorization, device authorization and token requests alongside
    /// `audience` (for IdPs that implement `resource` rather than Auth0's `audience`).
    pub resource: Vec<String>,
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
    /// `discovery` (flyteauth extension): how the server's AuthMetadataService is asked,
    /// `auto` (default: HTTP, then gRPC when HTTP fails), `http` or `grpc`.
    pub discovery: DiscoveryProtocol,
}

/// How the AuthMetadataService is reached (`discovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscoveryProtocol {
    /// HTTP first (`/.well-known/oauth-authorization-server`, `/config/v1/flyte_client`); when
    /// that fails (404, a body that is not the JSON document, no connection), gRPC.
    #[default]
    Auto,
    /// Only flyteadmin's HTTP routes.
    Http,
    /// Only gRPC (`flyteidl.service.AuthMetadataService`), as flytekit and flytectl do.
    Grpc,
}

impl DiscoveryProtocol {
    /// Parse a `discovery` value (case-insensitive).
    pub fn parse(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DiscoveryProtocol::Auto),
            "http" => Ok(DiscoveryProtocol::Http),
            "grpc" => Ok(DiscoveryProtocol::Grpc),
            other => Err(Error::config(format!(
                "discovery: unknown value '{other}'; use \"auto\", \"http\" or \"grpc\""
            ))),
        }
    }
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
    resource: Option<OneOrMany>,
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
    discovery: Option<String>,
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

/// A string or a list of strings (`resource`).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
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

/// One setting flytekit reads: its variable `FLYTE_{SECTION}_{OPTION}`, its INI
/// `[section] option`, our (config.yaml) key, and its kind.
type Entry = (
    &'static str,
    (&'static str, &'static str),
    &'static str,
    EnvKind,
);

/// flytekit's settings (`flytekit/configuration/internal.py`, `Platform` and `Credentials`),
/// mapped to our keys: the environment overrides, and the keys of the INI files.
const ENV_OVERRIDES: [Entry; 14] = [
    (
        "FLYTE_PLATFORM_URL",
        ("platform", "url"),
        "endpoint",
        EnvKind::Str,
    ),
    (
        "FLYTE_PLATFORM_INSECURE",
        ("platform", "insecure"),
        "insecure",
        EnvKind::Bool,
    ),
    (
        "FLYTE_PLATFORM_INSECURE_SKIP_VERIFY",
        ("platform", "insecure_skip_verify"),
        "insecureSkipVerify",
        EnvKind::Bool,
    ),
    (
        "FLYTE_PLATFORM_CA_CERT_FILE_PATH",
        ("platform", "ca_cert_file_path"),
        "caCertFilePath",
        EnvKind::Str,
    ),
    (
        "FLYTE_PLATFORM_HTTP_PROXY_URL",
        ("platform", "http_proxy_url"),
        "httpProxyURL",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_CLIENT_ID",
        ("credentials", "client_id"),
        "clientId",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_CLIENT_SECRET",
        ("credentials", "client_secret"),
        "clientSecret",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION",
        ("credentials", "client_secret_location"),
        "clientSecretLocation",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR",
        ("credentials", "client_secret_env_var"),
        "clientSecretEnvVar",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_AUTH_MODE",
        ("credentials", "auth_mode"),
        "authType",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_SCOPES",
        ("credentials", "scopes"),
        "scopes",
        EnvKind::List,
    ),
    (
        "FLYTE_CREDENTIALS_AUDIENCE",
        ("credentials", "audience"),
        "audience",
        EnvKind::Str,
    ),
    (
        "FLYTE_CREDENTIALS_COMMAND",
        ("credentials", "command"),
        "command",
        EnvKind::List,
    ),
    (
        "FLYTE_CREDENTIALS_PROXY_COMMAND",
        ("credentials", "proxy_command"),
        "proxyCommand",
        EnvKind::List,
    ),
];

/// Keys of flytekit's INI `[platform]`/`[credentials]` sections that concern something other
/// than authentication: accepted silently.
const INI_IGNORED: [(&str, &str); 1] = [("platform", "console_endpoint")];

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

    /// The current directory, where flytekit looks for `flytekit.config` and against which
    /// relative paths in `$FLYTECTL_CONFIG` resolve. The process's by default.
    fn current_dir(&self) -> Option<PathBuf> {
        std::env::current_dir().ok()
    }
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
        let Value::Object(mut object) = value else {
            return Err(Error::config("config must be a JSON object"));
        };
        apply_flytekit_transforms(&mut object, false);
        Self::from_value(Value::Object(object), "", env)
    }

    /// Read a Flyte config file as flytekit's `PlatformConfig.auto()` does: `path`, else
    /// `$FLYTECTL_CONFIG` (skipped with a warning when it names no file), `./flytekit.config`,
    /// `~/.flyte/config` (INI), `~/.flyte/config.yaml`, else nothing; then apply the `FLYTE_*`
    /// environment overrides, which win over the file even when empty, as in flytekit.
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

        let resource = match raw.resource {
            None => Vec::new(),
            Some(OneOrMany::One(r)) => vec![r],
            Some(OneOrMany::Many(list)) => list,
        }
        .into_iter()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect::<Vec<_>>();
        for r in &resource {
            // RFC 8707 §2: an absolute URI without a fragment.
            match url::Url::parse(r) {
                Ok(u) if u.fragment().is_none() => {}
                _ => {
                    return Err(Error::config(format!(
                        "resource: '{r}' is not an absolute URI without a fragment (RFC 8707), \
                         e.g. \"https://flyte.example.com/api\""
                    )))
                }
            }
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
            resource,
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
            discovery: match non_empty(raw.discovery) {
                Some(value) => DiscoveryProtocol::parse(&value)?,
                None => DiscoveryProtocol::Auto,
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

/// Why a Flyte config file was read (flytekit's `get_config_file` order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrigin {
    /// Named by the caller (`--config`, `flyteauth_authenticator_from_flyte_config`'s path).
    Given,
    /// Named by `$_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE` (set by pyflyte for its child processes).
    PyflyteOverrideVar,
    /// Named by `$FLYTECTL_CONFIG`.
    FlytectlConfigVar,
    /// `./flytekit.config` in the current directory (INI).
    CurrentDir,
    /// `~/.flyte/config` (INI).
    HomeIni,
    /// `~/.flyte/config.yaml`, the default place.
    Home,
}

/// How a Flyte config file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Flyte's `config.yaml`: the `admin:` section.
    Yaml,
    /// flytekit's legacy INI file: `[platform]` and `[credentials]`.
    Ini,
}

impl FileFormat {
    /// flytekit's rule: a name ending in `yaml` or `yml` is YAML, any other INI. A file whose
    /// name says INI but whose first line is not a `[section]` header is read as YAML
    /// (flytekit fails on it; flytectl reads it as YAML).
    fn of(path: &Path, text: &str) -> FileFormat {
        let name = path.to_string_lossy();
        if name.ends_with("yaml") || name.ends_with("yml") {
            return FileFormat::Yaml;
        }
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
        match first {
            Some(line) if !line.starts_with('[') => FileFormat::Yaml,
            _ => FileFormat::Ini,
        }
    }
}

/// Where one `admin:` setting of a Flyte config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingSource {
    /// The config file; `line` is 1-based, `None` when it cannot be pointed at (flow style).
    File {
        /// The line of the key in the file.
        line: Option<usize>,
    },
    /// A `FLYTE_*` environment variable, which wins over the file (even when empty).
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
    /// The `admin:` key, e.g. `clientId` (an INI file's keys are shown by this name too).
    pub key: String,
    /// Its value as text; a secret's value is never shown, only `(set)`; an empty variable
    /// that unsets the key shows as `""`.
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
    /// The format the file was read in.
    pub format: Option<FileFormat>,
    /// Every setting: the file's in line order, then those only a variable set.
    pub settings: Vec<Setting>,
    /// What was skipped on the way, as flytekit warns: a `$FLYTECTL_CONFIG` naming no file,
    /// an INI key flytekit does not read.
    pub warnings: Vec<String>,
}

/// A config file's settings under our keys, with the line of each.
struct FileSettings {
    admin: Map<String, Value>,
    lines: BTreeMap<String, usize>,
    format: Option<FileFormat>,
}

impl FlyteConfigSources {
    /// Trace `path` (else flytekit's lookup: `$FLYTECTL_CONFIG`, `./flytekit.config`,
    /// `~/.flyte/config`, `~/.flyte/config.yaml`) and the `FLYTE_*` overrides, exactly as
    /// [`Config::from_flyte_config_with_env`] reads them.
    pub fn trace(path: Option<&Path>, env: &dyn Env) -> Result<FlyteConfigSources> {
        let mut warnings = Vec::new();
        let file = locate_config_file(path, env, &mut warnings)?;
        let FileSettings {
            mut admin,
            lines,
            format,
        } = read_file_settings(file.as_ref().map(|(p, _)| p.as_path()), &mut warnings)?;
        let line_of = |key: &str| lines.get(key).copied();
        let mut from_file: Vec<String> = admin.keys().cloned().collect();
        from_file.sort_by_key(|k| line_of(k).unwrap_or(usize::MAX));
        let overridden = apply_env_overrides(&mut admin, env);
        let mut settings = Vec::with_capacity(admin.len());
        let mut push = |key: &str, source: SettingSource| {
            let value = match admin.get(key) {
                Some(Value::Null) => "\"\"".to_owned(),
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
        Ok(FlyteConfigSources {
            file,
            format,
            settings,
            warnings,
        })
    }
}

/// The settings of the Flyte config file to read, under our keys, with the `FLYTE_*`
/// overrides applied. Lookup warnings go to the log.
fn read_flyte_config(path: Option<&Path>, env: &dyn Env) -> Result<Map<String, Value>> {
    let mut warnings = Vec::new();
    let file = locate_config_file(path, env, &mut warnings)?;
    let mut admin =
        read_file_settings(file.as_ref().map(|(p, _)| p.as_path()), &mut warnings)?.admin;
    for warning in &warnings {
        crate::logging::warning!("{warning}");
    }
    apply_env_overrides(&mut admin, env);
    Ok(admin)
}

fn read_file_settings(file: Option<&Path>, warnings: &mut Vec<String>) -> Result<FileSettings> {
    let Some(path) = file else {
        return Ok(FileSettings {
            admin: Map::new(),
            lines: BTreeMap::new(),
            format: None,
        });
    };
    let text = read_config_text(path)?;
    let format = FileFormat::of(path, &text);
    let (admin, lines) = match format {
        FileFormat::Yaml => (admin_section(&text, path)?, admin_key_lines(&text)),
        FileFormat::Ini => ini_settings(&text, path, warnings)?,
    };
    Ok(FileSettings {
        admin,
        lines,
        format: Some(format),
    })
}

fn read_config_text(file: &Path) -> Result<String> {
    std::fs::read_to_string(file)
        .map_err(|e| Error::config(format!("cannot read Flyte config {}: {e}", file.display())))
}

/// flytekit's legacy INI file, under our keys: `[platform]` and `[credentials]` as in
/// [`ENV_OVERRIDES`]; booleans by configparser's `getboolean` (anything else is an error
/// naming the key, as it is in flytekit); lists as comma strings; other sections ignored.
fn ini_settings(
    text: &str,
    file: &Path,
    warnings: &mut Vec<String>,
) -> Result<(Map<String, Value>, BTreeMap<String, usize>)> {
    let ini = ini::Ini::parse(text)
        .map_err(|e| Error::config(format!("{} is not a valid INI file: {e}", file.display())))?;
    if ini.has_section("internal") {
        return Err(Error::config(format!(
            "{}: an [internal] section is not allowed (flytekit rejects it too)",
            file.display()
        )));
    }
    let mut admin = Map::new();
    let mut lines = BTreeMap::new();
    for (_, (section, option), key, kind) in ENV_OVERRIDES {
        let Some((text, line)) = ini.get(section, option) else {
            continue;
        };
        let value = match kind {
            EnvKind::Bool => match ini::parse_bool(&text) {
                Some(flag) => Value::Bool(flag),
                None => {
                    return Err(Error::config(format!(
                        "[{section}] {option}: not a boolean (use true/false, yes/no, on/off \
                         or 1/0) at {}:{line}",
                        file.display()
                    )))
                }
            },
            EnvKind::List => comma_list(&text),
            EnvKind::Str => Value::String(text),
        };
        admin.insert(key.to_owned(), value);
        lines.insert(key.to_owned(), line);
    }
    for section in ["platform", "credentials"] {
        for (option, value) in ini.options(section) {
            let known = ENV_OVERRIDES
                .iter()
                .any(|(_, (s, o), _, _)| *s == section && *o == option)
                || INI_IGNORED.contains(&(section, option));
            if !known {
                warnings.push(format!(
                    "[{section}] {option} at {}:{} is not a setting flytekit reads; ignored",
                    file.display(),
                    value.line
                ));
            }
        }
    }
    Ok((admin, lines))
}

/// flytekit's `get_config_file`: `path`, else the file named by
/// `$_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE` or else `$FLYTECTL_CONFIG` when it exists (a warning
/// and the next place when it does not), else `./flytekit.config`, else `~/.flyte/config`, else
/// `~/.flyte/config.yaml`, else none. `~` is the home directory by the OS's rule
/// ([`crate::platform::home_dir`]: `HOME`; on Windows `USERPROFILE`).
fn locate_config_file(
    path: Option<&Path>,
    env: &dyn Env,
    warnings: &mut Vec<String>,
) -> Result<Option<(PathBuf, FileOrigin)>> {
    if let Some(p) = path {
        return Ok(Some((p.to_path_buf(), FileOrigin::Given)));
    }
    let cwd = env.current_dir().unwrap_or_default();
    // pyflyte's override hides FLYTECTL_CONFIG whenever it is set, even empty.
    let named = match env.var(PYFLYTE_OVERRIDE_VAR) {
        Some(v) => Some((PYFLYTE_OVERRIDE_VAR, v, FileOrigin::PyflyteOverrideVar)),
        None => env
            .var(FLYTECTL_CONFIG_VAR)
            .map(|v| (FLYTECTL_CONFIG_VAR, v, FileOrigin::FlytectlConfigVar)),
    };
    if let Some((var, value, origin)) = named.filter(|(_, v, _)| !v.is_empty()) {
        let path = cwd.join(value);
        if path.exists() {
            return Ok(Some((path, origin)));
        }
        warnings.push(format!(
            "${var} names {}, which does not exist; ignored, as flytekit does",
            path.display()
        ));
    }
    let here = cwd.join("flytekit.config");
    if !cwd.as_os_str().is_empty() && here.exists() {
        return Ok(Some((here, FileOrigin::CurrentDir)));
    }
    if let Some(home) = crate::platform::home_dir(&|name| env.var(name)) {
        let dir = home.join(".flyte");
        if dir.join("config").exists() {
            return Ok(Some((dir.join("config"), FileOrigin::HomeIni)));
        }
        if dir.join("config.yaml").exists() {
            return Ok(Some((dir.join("config.yaml"), FileOrigin::Home)));
        }
    }
    Ok(None)
}

/// The variable naming the config file, as flytectl and flytekit read it.
const FLYTECTL_CONFIG_VAR: &str = "FLYTECTL_CONFIG";
/// pyflyte's own override of [`FLYTECTL_CONFIG_VAR`], for the processes it starts.
const PYFLYTE_OVERRIDE_VAR: &str = "_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE";

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
            Some(Value::Object(mut admin)) => {
                apply_flytekit_transforms(&mut admin, true);
                Ok(admin)
            }
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

/// Apply flytekit's `FLYTE_*` overrides (its `ConfigEntry.read`): a set variable wins over
/// the file even when empty. An empty string or list variable then means "unset" (flytekit's
/// `set_if_exists` keeps the default), an empty boolean variable means false. Returns the
/// variables applied, with their keys.
fn apply_env_overrides(
    admin: &mut Map<String, Value>,
    env: &dyn Env,
) -> Vec<(&'static str, &'static str)> {
    let mut applied = Vec::new();
    for (name, _, key, kind) in ENV_OVERRIDES {
        let Some(value) = env.var(name) else {
            continue;
        };
        let json = match kind {
            EnvKind::Bool => Value::Bool(env_bool(&value)),
            _ if value.is_empty() => Value::Null,
            EnvKind::Str => Value::String(value),
            EnvKind::List => comma_list(&value),
        };
        admin.insert(key.to_owned(), json);
        applied.push((name, key));
    }
    applied
}

/// flytekit's `comma_list_transformer`: `"a,b"` is `["a", "b"]` (items not trimmed); an
/// empty string is no list at all.
fn comma_list(value: &str) -> Value {
    if value.is_empty() {
        return Value::Null;
    }
    Value::Array(
        value
            .split(',')
            .map(|s| Value::String(s.to_owned()))
            .collect(),
    )
}

/// The keys flytekit reads as lists (`scopes`, `command`, `proxyCommand`).
const LIST_KEYS: [&str; 3] = ["scopes", "command", "proxyCommand"];
/// The keys flytekit reads as booleans (`insecure`, `insecureSkipVerify`).
const BOOL_KEYS: [&str; 2] = ["insecure", "insecureSkipVerify"];

/// flytekit's value transforms on a file's values: a string for a list key is a comma list
/// (in JSON too); with `bools`, a string for a boolean key follows the environment rule
/// (config.yaml: `insecure: "false"`).
fn apply_flytekit_transforms(admin: &mut Map<String, Value>, bools: bool) {
    for key in LIST_KEYS {
        if let Some(Value::String(text)) = admin.get(key) {
            let list = comma_list(text);
            admin.insert(key.to_owned(), list);
        }
    }
    if bools {
        for key in BOOL_KEYS {
            if let Some(Value::String(text)) = admin.get(key) {
                let flag = env_bool(text);
                admin.insert(key.to_owned(), Value::Bool(flag));
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variable_is_flytekits_name_for_its_ini_key() {
        for (var, (section, option), _, _) in ENV_OVERRIDES {
            let expected = format!("FLYTE_{}_{}", section.to_uppercase(), option.to_uppercase());
            assert_eq!(var, expected);
        }
    }
}
