//! Where the CLI's messages go: everything on stderr (stdout carries only the credential).
//!
//! The library's records at the chosen level, from `-v` (info), `-vv` (debug), `-vvv` (trace)
//! or `FLYTEAUTH_LOG` (`off`, `error`, `warn`, `info`, `debug`, `trace`; `RUST_LOG` is read
//! the same way when `FLYTEAUTH_LOG` is unset). The default is `warn`. Login prompts are
//! not log records: they are always shown, whatever the level.

use std::io::Write;
use std::sync::Arc;

use flyteauth::logging::{self, Level, LevelFilter, Record};
use flyteauth::{Authenticator, Prompt};

/// The level asked for: `-v` counts win over the environment.
pub fn level(verbose: u8) -> LevelFilter {
    match verbose {
        0 => std::env::var("FLYTEAUTH_LOG")
            .or_else(|_| std::env::var("RUST_LOG"))
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(LevelFilter::Warn),
        1 => LevelFilter::Info,
        2 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

/// Send the library's records at `level` and above to stderr.
pub fn install(level: LevelFilter) {
    logging::set_sink(Some(Arc::new(write_record)), level);
}

/// Show login prompts on stderr, whatever the log level.
pub fn show_prompts(auth: &Authenticator) {
    auth.set_prompt_callback(Some(Arc::new(|prompt: &Prompt| {
        let _ = writeln!(std::io::stderr().lock(), "{}", prompt.message());
    })));
}

fn write_record(record: &Record<'_>) {
    let message = record.message;
    let text = match record.level {
        // The library's warnings already read "flyteauth: warning: ...".
        Level::Error | Level::Warn if message.starts_with("flyteauth:") => message.to_owned(),
        level => format!(
            "flyteauth: {}: {}: {message}",
            level.as_str().to_ascii_lowercase(),
            record.target
        ),
    };
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
