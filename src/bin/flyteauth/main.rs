//! `flyteauth`: log in to Flyte once, for every tool on this machine.
//!
//! ```text
//! flyteauth login    run the configured interactive flow (PKCE or device) and cache the tokens
//! flyteauth token    print the current credential: the access token (for another tool's
//!                    `command`), every header, or JSON for kubectl and Bazel (`--output`)
//! flyteauth logout   forget the cached tokens
//! flyteauth status   show the configuration and the cached login, never the tokens
//! flyteauth get      the credential-helper protocol's `get` (Bazel, Buck2, EngFlow)
//! flyteauth whoami   whose credential it is: the token's claims, expiry, scopes, audience
//! flyteauth doctor   where each setting came from, discovery, clock, keyring, what to fix
//! ```
//!
//! Messages go to stderr (stdout carries only what was asked for): warnings by default, more
//! with `-v`/`-vv`/`-vvv` or `FLYTEAUTH_LOG=info|debug|trace`.
//!
//! The configuration comes from `--config`, else Flyte's own lookup (`$FLYTECTL_CONFIG`,
//! `~/.flyte/config.yaml`) with the `FLYTE_*` overrides, exactly as the library reads it.

use std::path::PathBuf;
use std::process::ExitCode;

mod doctor;
mod log;
mod output;
mod whoami;

use clap::{Parser, Subcommand};
use flyteauth::cache::KeyringCache;
use flyteauth::{AuthType, Authenticator, CallOptions, Config, TokenCacheKind};

#[derive(Parser)]
#[command(
    name = "flyteauth",
    version,
    about = "Log in to Flyte once, for every tool on this machine"
)]
struct Cli {
    /// Flyte config file (default: $FLYTECTL_CONFIG, else ~/.flyte/config.yaml).
    #[arg(long, short = 'c', global = true)]
    config: Option<PathBuf>,
    /// More messages on stderr: -v info, -vv debug, -vvv trace (default: warnings; also
    /// FLYTEAUTH_LOG=off|error|warn|info|debug|trace).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the configured interactive flow (PKCE or device flow) and cache the tokens.
    Login,
    /// Print the current credential on stdout (logging in first if needed): by default the
    /// access token, for another tool's `command` (that tool adds the `Bearer ` prefix itself).
    Token {
        /// What to print: the token; every header (`key: value` lines, e.g. for curl -H); JSON
        /// with the headers and the expiry; a kubectl ExecCredential; a Bazel credential
        /// helper's answer.
        #[arg(long, short = 'o', value_enum, default_value_t = output::Format::Token)]
        output: output::Format,
        /// The same as `--output header`.
        #[arg(long, conflicts_with = "output")]
        header: bool,
        /// Fail instead of asking a person to log in.
        #[arg(long)]
        non_interactive: bool,
    },
    /// Forget the cached tokens of this endpoint.
    Logout,
    /// Show the configuration and the cached login (never the tokens).
    Status,
    /// The credential-helper protocol's `get` (Bazel's `--credential_helper`, Buck2,
    /// EngFlow): reads `{"uri": ...}` on stdin and prints `{"headers": ..., "expires": ...}`.
    /// Never asks anyone to log in (run `flyteauth login` first). The configuration comes from
    /// $FLYTECTL_CONFIG or ~/.flyte/config.yaml, as such tools pass no arguments.
    Get,
    /// Show whose credential this is: the access token's claims, expiry, scopes and audience
    /// (never the token). Uses the cached login; never asks anyone to log in.
    Whoami,
    /// Diagnose a failing login or call: where each setting came from (file and line, or the
    /// variable that overrode it), discovery, the clock against the server's, the keyring,
    /// whether a credential can be had; and what to change for each failure. Exits 1 if any
    /// check failed.
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    log::install(log::level(cli.verbose));
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("flyteauth: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run the command; `Ok(false)` when it reported a failure itself (`doctor`).
fn run(cli: Cli) -> Result<bool, flyteauth::Error> {
    if let Command::Doctor = cli.command {
        // Before the configuration is checked: explaining a bad one is its job.
        return doctor::run(cli.config.as_deref());
    }
    let config = Config::from_flyte_config(cli.config.as_deref())?;
    match cli.command {
        Command::Status => {
            status(&config);
            Ok(true)
        }
        Command::Whoami => whoami::run(config).map(|()| true),
        Command::Get => {
            output::read_helper_request(std::io::stdin().lock())?;
            let auth = Authenticator::new(config)?;
            auth.set_interactive(false);
            let metadata = auth.metadata_blocking(None)?;
            println!("{}", output::render(output::Format::Bazel, &metadata, None));
            Ok(true)
        }
        Command::Doctor => doctor::run(cli.config.as_deref()),
        Command::Logout => {
            let endpoint = config.endpoint.clone().unwrap_or_default();
            Authenticator::new(config)?.logout_blocking()?;
            eprintln!("flyteauth: logged out of {endpoint}");
            Ok(true)
        }
        Command::Login => {
            let endpoint = config.endpoint.clone().unwrap_or_default();
            let cached = where_cached(&config);
            let auth = Authenticator::new(config)?;
            log::show_prompts(&auth);
            auth.login_blocking(&CallOptions::default())?;
            eprintln!("flyteauth: logged in to {endpoint} ({cached})");
            Ok(true)
        }
        Command::Token {
            output,
            header,
            non_interactive,
        } => {
            let auth = Authenticator::new(config)?;
            log::show_prompts(&auth);
            if non_interactive {
                auth.set_interactive(false);
            }
            let metadata = auth.metadata_blocking(None)?;
            if metadata.is_empty() {
                return Err(flyteauth::Error::new(
                    flyteauth::ErrorKind::Internal,
                    "no header was produced",
                ));
            }
            let format = if header {
                output::Format::Header
            } else {
                output
            };
            let exec_info = std::env::var("KUBERNETES_EXEC_INFO").ok();
            println!(
                "{}",
                output::render(format, &metadata, exec_info.as_deref())
            );
            Ok(true)
        }
    }
}

fn where_cached(config: &Config) -> String {
    match (&config.endpoint, config.token_cache, config.auth_type) {
        (Some(ep), TokenCacheKind::Keyring, AuthType::Pkce | AuthType::DeviceFlow) => {
            format!(
                "tokens cached in the OS keyring, service \"{}\"",
                ep.replace("dns:///", "")
            )
        }
        _ => "tokens not cached: this flow needs no login".to_owned(),
    }
}

fn status(config: &Config) {
    println!(
        "endpoint:   {}",
        config.endpoint.as_deref().unwrap_or("(not set)")
    );
    println!("authType:   {}", config.auth_type.as_str());
    let interactive = matches!(config.auth_type, AuthType::Pkce | AuthType::DeviceFlow);
    let Some(endpoint) = config.endpoint.as_deref().filter(|_| interactive) else {
        println!("login:      not needed for {}", config.auth_type.as_str());
        return;
    };
    if config.token_cache == TokenCacheKind::Memory {
        println!("login:      tokenCache is \"memory\": nothing is cached between processes");
        return;
    }
    let cache = KeyringCache::with_layouts(endpoint, config.keyring_layouts);
    println!("keyring:    service \"{}\"", cache.service());
    match cache.load() {
        None => println!("login:      none cached (run `flyteauth login`)"),
        Some(token) => {
            let access = if token.secret().is_empty() {
                "none".to_owned()
            } else {
                match token.lifetime {
                    Some(l) if l.is_zero() => "expired".to_owned(),
                    Some(l) => format!("valid for {}s more", l.as_secs()),
                    None => "present (expiry unknown)".to_owned(),
                }
            };
            println!("access:     {access}");
            println!(
                "refresh:    {}",
                if token.refresh_token.is_some() {
                    "present"
                } else {
                    "none"
                }
            );
        }
    }
}
