//! The recursion guard of external commands.
//!
//! A `command` that is `flyteauth token` with the same config (or any program that uses the
//! same flyteauth config) would run itself again, and again, without end. So every command
//! gets, in [`GUARD_ENV`], the fingerprints of the commands already running up the chain:
//! the value this process inherited plus the command's own. A process that finds the
//! fingerprint of the command it is about to run in its inherited value refuses to run it.
//!
//! A fingerprint is FNV-1a (64 bits) over the argv joined with NUL bytes, in hex: the same in
//! every build and every process, and it does not spell out the arguments (they may be
//! secret); the argv itself never goes into the environment.

/// The environment variable that carries the fingerprints (comma-separated) of the commands
/// running up the chain.
pub(super) const GUARD_ENV: &str = "FLYTEAUTH_COMMAND_GUARD";

/// The fingerprint of `argv`: FNV-1a 64 over its arguments joined with NUL, 16 hex digits.
fn fingerprint(argv: &[String]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    for (i, arg) in argv.iter().enumerate() {
        let separator: &[u8] = if i == 0 { b"" } else { b"\0" };
        for &byte in separator.iter().chain(arg.as_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}

/// `argv` is already running up the chain: running it again would recurse.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Recursion;

/// The value of [`GUARD_ENV`] to give a command running `argv`, given the value this process
/// `inherited`; [`Recursion`] if `argv` is one of the commands up the chain. Malformed entries
/// of the inherited value are dropped.
pub(super) fn guard_for(inherited: Option<&str>, argv: &[String]) -> Result<String, Recursion> {
    let own = fingerprint(argv);
    let mut chain: Vec<&str> = inherited
        .unwrap_or_default()
        .split(',')
        .filter(|entry| entry.len() == 16 && entry.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    if chain.iter().any(|entry| entry.eq_ignore_ascii_case(&own)) {
        return Err(Recursion);
    }
    chain.push(&own);
    Ok(chain.join(","))
}

/// [`guard_for`] with this process's inherited [`GUARD_ENV`].
pub(super) fn guard(argv: &[String]) -> Result<String, Recursion> {
    let inherited = std::env::var_os(GUARD_ENV);
    guard_for(inherited.as_deref().and_then(|v| v.to_str()), argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn the_fingerprint_is_fnv1a_64_of_the_argv_joined_with_nul() {
        // Reference values of FNV-1a 64 (the empty input is the offset basis).
        assert_eq!(fingerprint(&argv(&[""])), "cbf29ce484222325");
        assert_eq!(fingerprint(&argv(&["a"])), "af63dc4c8601ec8c");
        assert_eq!(fingerprint(&argv(&["foobar"])), "85944171f73967e8");
        // "flyteauth\0token", computed independently (Python).
        assert_eq!(
            fingerprint(&argv(&["flyteauth", "token"])),
            "79563fde451bc98a"
        );
        // The separator keeps arguments apart.
        assert_ne!(
            fingerprint(&argv(&["ab", "c"])),
            fingerprint(&argv(&["a", "bc"]))
        );
    }

    #[test]
    fn the_first_command_starts_the_chain() {
        let cmd = argv(&["get-token", "--secret", "s3cr3t"]);
        let guard = guard_for(None, &cmd).unwrap();
        assert_eq!(guard, fingerprint(&cmd));
        assert!(!guard.contains("s3cr3t") && !guard.contains("get-token"));
    }

    #[test]
    fn a_command_adds_itself_to_the_inherited_chain() {
        let outer = argv(&["outer"]);
        let inner = argv(&["inner"]);
        let inherited = guard_for(None, &outer).unwrap();
        assert_eq!(
            guard_for(Some(&inherited), &inner).unwrap(),
            format!("{},{}", fingerprint(&outer), fingerprint(&inner))
        );
    }

    #[test]
    fn a_command_already_up_the_chain_is_refused() {
        let cmd = argv(&["flyteauth", "-c", "config.yaml", "token"]);
        let inherited = format!("{},{}", fingerprint(&argv(&["other"])), fingerprint(&cmd));
        assert_eq!(guard_for(Some(&inherited), &cmd), Err(Recursion));
        assert_eq!(
            guard_for(Some(&inherited.to_uppercase()), &cmd),
            Err(Recursion)
        );
    }

    #[test]
    fn malformed_inherited_entries_are_dropped() {
        let cmd = argv(&["get-token"]);
        let guard = guard_for(Some("junk,,0123456789abcdef,argv with spaces"), &cmd).unwrap();
        assert_eq!(guard, format!("0123456789abcdef,{}", fingerprint(&cmd)));
    }
}
