//! Where the library's log records and notices go.
//!
//! Every record the library makes goes through this module (the crate-internal macros
//! `warning!`, `info!` and `debug!` defined here, with the `log` crate's syntax). A host may install one process-wide **sink** — `flyteauth_set_log_callback` in C,
//! `SetLogger(*slog.Logger)` in Go, a `System.Logger` in Java, [`set_sink`] in Rust — and then
//! every record at or above the sink's level goes to it, and nothing of the library's goes to
//! stderr. Without a sink, records go to the `log` crate's logger (a Rust host's `env_logger`
//! and the like; a C host has none, so they are dropped), and the two things a person must
//! see — a keyring that cannot be used, a login prompt nobody else shows — are also written to
//! stderr ([`notice`]).
//!
//! Records never carry a secret: their messages are made from redacted values only (see
//! [`crate::redact`]), and `scripts/check-secrets` checks every log `make test` captures.
//!
//! A sink is called on whatever thread made the record (a caller's thread or one of the
//! library's runtime threads), never with a lock held; a record made while the same thread is
//! already inside the sink (a sink that calls back into the library) is dropped, not recursed
//! into. A Rust sink that panics has its panic caught.

use std::cell::Cell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

pub use log::{Level, LevelFilter};

/// One log record, as a sink receives it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// How severe it is.
    pub level: Level,
    /// The library module that made it, e.g. `flyteauth::cache`.
    pub target: &'a str,
    /// The message (never a secret).
    pub message: &'a str,
}

/// A host's log sink: called once per record at or above the level it was installed with.
pub type Sink = Arc<dyn Fn(&Record<'_>) + Send + Sync>;

struct Installed {
    sink: Sink,
    level: LevelFilter,
}

static SINK: RwLock<Option<Arc<Installed>>> = RwLock::new(None);
/// The installed sink's level as a number (`LevelFilter as usize`), 0 (`Off`) without a sink:
/// lets a record below it return without taking the lock.
static SINK_LEVEL: AtomicUsize = AtomicUsize::new(0);
/// Whether any sink is installed (even one at `Off`, which silences the library).
static HAS_SINK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Install `sink` for records at `level` and above (replacing the one before, which is dropped
/// once no record is being delivered to it), or remove the sink with `None`. With a sink
/// installed the library writes nothing to stderr; `LevelFilter::Off` with a sink silences it.
pub fn set_sink(sink: Option<Sink>, level: LevelFilter) {
    let new = sink.map(|sink| Arc::new(Installed { sink, level }));
    let old = {
        let mut slot = SINK.write().unwrap_or_else(PoisonError::into_inner);
        SINK_LEVEL.store(
            new.as_ref().map_or(0, |n| n.level as usize),
            Ordering::Release,
        );
        HAS_SINK.store(new.is_some(), Ordering::Release);
        std::mem::replace(&mut *slot, new)
    };
    // Dropped after the lock is released: dropping a host's sink runs its release function,
    // which may take time or call back into the library.
    drop(old);
}

/// Whether a host installed a sink.
pub fn has_sink() -> bool {
    HAS_SINK.load(Ordering::Acquire)
}

/// Deliver one record: to the sink when one is installed, else to the `log` crate's logger.
#[doc(hidden)]
pub fn emit(level: Level, target: &str, args: fmt::Arguments<'_>) {
    if has_sink() {
        if (level as usize) <= SINK_LEVEL.load(Ordering::Acquire) {
            deliver(level, target, args);
        }
    } else {
        log::log!(target: target, level, "{args}");
    }
}

/// A message a person must see (a keyring that cannot be used, a login prompt no callback
/// shows): a record at `level` for the sink when one is installed; otherwise written to
/// stderr and also given to the `log` crate's logger.
pub fn notice(level: Level, target: &str, args: fmt::Arguments<'_>) {
    if has_sink() {
        emit(level, target, args);
    } else {
        eprintln!("{args}");
        log::log!(target: target, level, "{args}");
    }
}

fn deliver(level: Level, target: &str, args: fmt::Arguments<'_>) {
    let installed = SINK.read().unwrap_or_else(PoisonError::into_inner).clone();
    let Some(installed) = installed else {
        return;
    };
    if level > installed.level || IN_SINK.with(Cell::get) {
        return;
    }
    let message = args.to_string();
    IN_SINK.with(|s| s.set(true));
    let _ = catch_unwind(AssertUnwindSafe(|| {
        (installed.sink)(&Record {
            level,
            target,
            message: &message,
        })
    }));
    IN_SINK.with(|s| s.set(false));
}

macro_rules! log_at {
    ($level:expr, $($arg:tt)+) => {
        $crate::logging::emit($level, module_path!(), format_args!($($arg)+))
    };
}
macro_rules! warning {
    ($($arg:tt)+) => { $crate::logging::log_at!($crate::logging::Level::Warn, $($arg)+) };
}
macro_rules! info {
    ($($arg:tt)+) => { $crate::logging::log_at!($crate::logging::Level::Info, $($arg)+) };
}
macro_rules! debug {
    ($($arg:tt)+) => { $crate::logging::log_at!($crate::logging::Level::Debug, $($arg)+) };
}
pub(crate) use {debug, info, log_at, warning};

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The sink is process-wide: the tests that install one take turns.
    static TURN: Mutex<()> = Mutex::new(());

    fn collecting(level: LevelFilter) -> Arc<Mutex<Vec<(Level, String, String)>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        set_sink(
            Some(Arc::new(move |r: &Record<'_>| {
                into.lock()
                    .unwrap()
                    .push((r.level, r.target.to_owned(), r.message.to_owned()));
            })),
            level,
        );
        seen
    }

    #[test]
    fn records_at_or_above_the_level_reach_the_sink_with_their_module() {
        let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = collecting(LevelFilter::Info);
        warning!("w {}", 1);
        info!("i");
        debug!("d");
        set_sink(None, LevelFilter::Off);
        // Other tests' records may arrive meanwhile: only this module's count.
        let seen: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.1 == module_path!())
            .cloned()
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    Level::Warn,
                    "flyteauth::logging::tests".to_owned(),
                    "w 1".to_owned()
                ),
                (
                    Level::Info,
                    "flyteauth::logging::tests".to_owned(),
                    "i".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_record_made_inside_the_sink_is_dropped_not_recursed_into() {
        let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        set_sink(
            Some(Arc::new(move |r: &Record<'_>| {
                into.lock().unwrap().push(r.message.to_owned());
                warning!("from inside the sink");
            })),
            LevelFilter::Trace,
        );
        warning!("outside");
        set_sink(None, LevelFilter::Off);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.iter().filter(|m| *m == "outside").count(), 1);
        assert!(
            !seen.iter().any(|m| m == "from inside the sink"),
            "{seen:?}"
        );
    }

    #[test]
    fn replacing_the_sink_drops_the_old_one_and_a_panicking_sink_is_contained() {
        let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let first = Arc::new(());
        let held = first.clone();
        set_sink(
            Some(Arc::new(move |_: &Record<'_>| {
                let _ = &held;
                panic!("a host bug");
            })),
            LevelFilter::Trace,
        );
        warning!("to a sink that panics");
        assert_eq!(Arc::strong_count(&first), 2);
        set_sink(None, LevelFilter::Off);
        assert_eq!(Arc::strong_count(&first), 1, "the replaced sink is dropped");
        assert!(!has_sink());
    }
}
