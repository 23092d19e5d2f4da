//! `flyteauth doctor`: why a login or a call fails, in one report. Where each setting came
//! from (the file and line, or the `FLYTE_*` variable that overrode it), what discovery
//! returned, the clock against the server's, whether the keyring can be used, and whether a
//! credential can be had now; for each failure, what to change. Never a secret.

use std::path::Path;
use std::time::{Duration, SystemTime};

use flyteauth::cache::KeyringCache;
use flyteauth::config::{
    DiscoveryProtocol, FileFormat, FileOrigin, FlyteConfigSources, ProcessEnv, SettingSource,
};
use flyteauth::discovery::{Discovery, OAuth2Metadata, OAUTH2_METADATA_PATH};
use flyteauth::flows::command::ProxyToken;
use flyteauth::http::HttpClient;
use flyteauth::{AuthType, Authenticator, CallOptions, Config, ErrorKind, TokenCacheKind};

/// A clock this far from the server's makes expiry checks wrong enough to matter.
const SKEW_LIMIT: Duration = Duration::from_secs(60);
/// How long the credential check may take (discovery, a token request, a command).
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// The report, as it is printed: failures are counted for the exit status.
struct Report {
    failures: usize,
}

impl Report {
    fn section(&self, title: &str) {
        println!("\n{title}");
    }
    fn ok(&self, text: impl AsRef<str>) {
        println!("  ok    {}", text.as_ref());
    }
    fn info(&self, text: impl AsRef<str>) {
        println!("        {}", text.as_ref());
    }
    fn warn(&self, text: impl AsRef<str>, fix: &str) {
        println!("  warn  {}", text.as_ref());
        println!("        fix: {fix}");
    }
    fn fail(&mut self, text: impl AsRef<str>, fix: &str) {
        self.failures += 1;
        println!("  FAIL  {}", text.as_ref());
        println!("        fix: {fix}");
    }
}

/// Run every check and print the report; `Ok(false)` when something failed.
pub fn run(path: Option<&Path>) -> Result<bool, flyteauth::Error> {
    let mut report = Report { failures: 0 };
    println!("flyteauth {} doctor", flyteauth::VERSION);
    let Some(config) = configuration(&mut report, path) else {
        return Ok(false);
    };
    let http = match HttpClient::new(&config, ProxyToken::for_config(&config)) {
        Ok(http) => Some(http),
        Err(e) => {
            report.fail(e.message(), "fix the setting the message names");
            None
        }
    };
    if let Some(http) = &http {
        discovery(&mut report, &config, http);
    }
    keyring(&mut report, &config);
    credential(&mut report, config);
    println!();
    match report.failures {
        0 => println!("no problems found"),
        n => println!("{n} problem(s) found"),
    }
    Ok(report.failures == 0)
}

/// The file read and why, every setting with its source; then the checked configuration.
fn configuration(report: &mut Report, path: Option<&Path>) -> Option<Config> {
    report.section("Configuration");
    let sources = match FlyteConfigSources::trace(path, &ProcessEnv) {
        Ok(s) => s,
        Err(e) => {
            report.fail(
                e.message(),
                "point --config or $FLYTECTL_CONFIG at a readable YAML file",
            );
            return None;
        }
    };
    let file_name = match &sources.file {
        Some((file, origin)) => {
            let why = match origin {
                FileOrigin::Given => "--config",
                FileOrigin::PyflyteOverrideVar => "$_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE",
                FileOrigin::FlytectlConfigVar => "$FLYTECTL_CONFIG",
                FileOrigin::CurrentDir => "flytekit's INI file in the current directory",
                FileOrigin::HomeIni => "flytekit's INI file in ~/.flyte",
                FileOrigin::Home => "the default place",
            };
            let format = match sources.format {
                Some(FileFormat::Ini) => "INI",
                _ => "YAML",
            };
            report.info(format!("file: {} ({format}, {why})", file.display()));
            file.display().to_string()
        }
        None => {
            report.info(
                "file: none ($FLYTECTL_CONFIG unset, no ./flytekit.config, ~/.flyte/config \
                 or ~/.flyte/config.yaml)",
            );
            String::new()
        }
    };
    for warning in &sources.warnings {
        report.info(format!("note: {warning}"));
    }
    let at = |line: &Option<usize>| match line {
        Some(n) => format!("{file_name}:{n}"),
        None => file_name.clone(),
    };
    for setting in &sources.settings {
        let from = match &setting.source {
            SettingSource::File { line } => at(line),
            SettingSource::Env {
                var,
                overrides: Some(line),
            } => format!("${var} (overrides {})", at(line)),
            SettingSource::Env { var, .. } => format!("${var}"),
        };
        report.info(format!("{:<22} {:<40} {from}", setting.key, setting.value));
    }
    match Config::from_flyte_config(path) {
        Ok(config) => {
            report.ok(format!(
                "valid: authType {}, endpoint {}",
                config.auth_type.as_str(),
                config.endpoint.as_deref().unwrap_or("(none)")
            ));
            Some(config)
        }
        Err(e) => {
            report.fail(
                e.message(),
                "correct the key the message names, where the list above says it was set",
            );
            None
        }
    }
}

/// The AuthMetadataService's two documents, and the clock against the server's `Date`.
fn discovery(report: &mut Report, config: &Config, http: &HttpClient) {
    report.section("Discovery");
    let Some(base) = config.base_url() else {
        report
            .info("no endpoint: nothing to discover (tokenUrl and the other keys are used as set)");
        return;
    };
    let url = format!("{base}{OAUTH2_METADATA_PATH}");
    let request = http::Request::get(&url)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .expect("a GET request with a parsed URL");
    let sent = SystemTime::now();
    let client = http.clone();
    match flyteauth::runtime::block_on(async move { client.send(request).await }) {
        Err(e) => report.fail(
            format!("GET {url}: {}", e.message()),
            &network_fix(e.kind(), config),
        ),
        Ok(response) => {
            clock(report, response.headers().get(http::header::DATE), sent);
            let status = response.status();
            if status == http::StatusCode::NOT_FOUND && config.discovery != DiscoveryProtocol::Http
            {
                // An ingress that routes only gRPC to flyteadmin: ask the service there.
                let grpc = Discovery::new(Some(base.clone()), DiscoveryProtocol::Grpc);
                let client = http.clone();
                match flyteauth::runtime::block_on(async move { grpc.metadata(&client).await }) {
                    Ok(m) => {
                        report.ok(format!(
                            "GET {url}: 404, but gRPC flyteidl.service.AuthMetadataService answers \
                             (discovery: {})",
                            discovery_name(config.discovery)
                        ));
                        print_endpoints(report, &m);
                    }
                    Err(e) => report.warn(
                        format!("GET {url}: 404; then {}", e.message()),
                        "set tokenUrl (and authorizationEndpoint/deviceAuthorizationEndpoint for logins) in the config",
                    ),
                }
            } else if status == http::StatusCode::NOT_FOUND {
                report.warn(
                    format!("GET {url}: 404: the server has no Flyte AuthMetadataService"),
                    "set tokenUrl (and authorizationEndpoint/deviceAuthorizationEndpoint for logins) in the config",
                );
            } else if !status.is_success() {
                report.fail(
                    format!("GET {url}: the server answered {status}"),
                    "check endpoint: it must be the Flyte (flyteadmin) address",
                );
            } else {
                match OAuth2Metadata::from_json(response.body()) {
                    Ok(m) => {
                        report.ok(format!("GET {url}"));
                        print_endpoints(report, &m);
                    }
                    Err(e) => report.fail(
                        e.message(),
                        "check endpoint: it must be the Flyte (flyteadmin) address",
                    ),
                }
            }
        }
    }
    let discovery = Discovery::new(Some(base.clone()), config.discovery);
    let client = http.clone();
    match flyteauth::runtime::block_on(async move { discovery.client_config(&client).await }) {
        Ok(Some(c)) => {
            report.ok(format!(
                "the public client config of {base}'s AuthMetadataService (discovery: {})",
                discovery_name(config.discovery)
            ));
            report.info(format!(
                "client_id: {}",
                c.client_id.as_deref().unwrap_or("(none)")
            ));
            report.info(format!(
                "redirect_uri: {}",
                c.redirect_uri.as_deref().unwrap_or("(none)")
            ));
            report.info(format!("scopes: {}", c.scopes.join(" ")));
            report.info(format!(
                "authorization_metadata_key: {}",
                c.authorization_metadata_key
                    .as_deref()
                    .unwrap_or("(none: authorization)")
            ));
            report.info(format!(
                "audience: {}",
                c.audience.as_deref().unwrap_or("(none)")
            ));
        }
        Ok(None) => report.info(format!(
            "{base}: no public client config (HTTP {}: 404{}); the config's own clientId, \
             scopes and audience are used",
            flyteauth::discovery::CLIENT_CONFIG_PATH,
            if config.discovery == DiscoveryProtocol::Http {
                ""
            } else {
                ", gRPC: UNIMPLEMENTED or unreachable"
            }
        )),
        Err(e) => report.fail(e.message(), &network_fix(e.kind(), config)),
    }
}

/// The OAuth2 endpoints the server advertises.
fn print_endpoints(report: &mut Report, m: &OAuth2Metadata) {
    for (name, value) in [
        ("token_endpoint", &m.token_endpoint),
        ("authorization_endpoint", &m.authorization_endpoint),
        (
            "device_authorization_endpoint",
            &m.device_authorization_endpoint,
        ),
    ] {
        report.info(format!("{name}: {}", value.as_deref().unwrap_or("(none)")));
    }
}

/// The `discovery` value as the config writes it.
fn discovery_name(protocol: DiscoveryProtocol) -> &'static str {
    match protocol {
        DiscoveryProtocol::Auto => "auto",
        DiscoveryProtocol::Http => "http",
        DiscoveryProtocol::Grpc => "grpc",
    }
}

fn clock(report: &mut Report, date: Option<&http::HeaderValue>, sent: SystemTime) {
    let Some(server) = date
        .and_then(|d| d.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
    else {
        report.info("clock: the server sent no Date header to compare with");
        return;
    };
    let local = sent
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let skew = local - server.timestamp();
    // `Date` has whole seconds and the answer took a while: a second either way is noise.
    if skew.unsigned_abs() > SKEW_LIMIT.as_secs() {
        report.warn(
            format!("clock: this machine is {skew:+} s off the server's Date"),
            "synchronise the system clock (NTP): token expiry is judged by it",
        );
    } else {
        report.ok(format!(
            "clock: within {} s of the server's Date ({skew:+} s)",
            SKEW_LIMIT.as_secs()
        ));
    }
}

/// The keyring, where a login is cached.
fn keyring(report: &mut Report, config: &Config) {
    report.section("Keyring");
    let interactive = matches!(config.auth_type, AuthType::Pkce | AuthType::DeviceFlow);
    let Some(endpoint) = config.endpoint.as_deref().filter(|_| interactive) else {
        report.info(format!(
            "not used: {} needs no login",
            config.auth_type.as_str()
        ));
        return;
    };
    if config.token_cache == TokenCacheKind::Memory {
        report.info("not used: tokenCache is \"memory\"");
        return;
    }
    let cache = KeyringCache::new(endpoint);
    match cache.probe() {
        Ok(true) => report.ok(format!("reachable; a login is cached (service \"{}\")", cache.service())),
        Ok(false) => report.ok(format!(
            "reachable; no login cached (service \"{}\"): run `flyteauth login`",
            cache.service()
        )),
        Err(e) => report.warn(
            format!("not usable ({e}): each process must log in again"),
            "start a Secret Service (e.g. gnome-keyring) in this session, or set tokenCache: memory to silence this",
        ),
    }
}

/// Whether a credential can be had now, without asking anyone to log in.
fn credential(report: &mut Report, config: Config) {
    report.section("Credential");
    let auth = match Authenticator::new(config.clone()) {
        Ok(a) => a,
        Err(e) => return report.fail(e.message(), "fix the setting the message names"),
    };
    auth.set_interactive(false);
    let options = CallOptions {
        timeout: Some(TOKEN_TIMEOUT),
        ..CallOptions::default()
    };
    match auth.metadata_blocking_with(&options) {
        Ok(metadata) => {
            let keys: Vec<&str> = metadata.iter().map(|(k, _)| k).collect();
            let expiry = match metadata
                .expires_at()
                .map(|t| t.duration_since(SystemTime::now()))
            {
                Some(Ok(d)) => format!(", expires in {} s", d.as_secs()),
                Some(Err(_)) => ", already expired".to_owned(),
                None => String::new(),
            };
            report.ok(format!(
                "a credential for the headers {}{expiry}",
                keys.join(", ")
            ));
        }
        Err(e) => {
            let fix = match e.kind() {
                ErrorKind::LoginRequired => "run `flyteauth login`".to_owned(),
                ErrorKind::Authentication => {
                    "the IdP refused the client: check clientId and the client secret (clientSecretLocation, clientSecretEnvVar), and scopes/audience".to_owned()
                }
                ErrorKind::Command => "run the configured command by hand: it must print a token and exit 0".to_owned(),
                kind => network_fix(kind, &config),
            };
            report.fail(e.message(), &fix);
        }
    }
}

/// What to change when a request to the server failed in the `kind` way.
fn network_fix(kind: ErrorKind, config: &Config) -> String {
    let scheme = if config.insecure {
        "http (insecure: true)"
    } else {
        "https"
    };
    match kind {
        ErrorKind::Timeout => format!("the server did not answer: check endpoint ({scheme}), httpProxyURL, and the network"),
        ErrorKind::Discovery => "check endpoint: it must be the Flyte (flyteadmin) address; without an AuthMetadataService, set tokenUrl".to_owned(),
        ErrorKind::Config => "fix the setting the message names".to_owned(),
        _ => format!(
            "check endpoint and the scheme ({scheme}), httpProxyURL; for a private CA set caCertFilePath"
        ),
    }
}
