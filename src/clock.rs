//! The wall clock, read cheaply on the hot path.
//!
//! Token freshness is a wall-clock question (tokens carry wall-clock `exp`, and a monotonic
//! clock stops while a machine sleeps), but a precise wall-clock read costs 17–28 ns on the
//! VMs we measured, more than the rest of the hot path. Linux has a coarse clock (updated
//! every tick, a few milliseconds) readable in ~3 ns from the vDSO; a refresh point is always
//! far (≥ half the remaining lifetime) from expiry, so a few milliseconds of slack there is
//! harmless. Expiry itself is always checked with the precise clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, from the coarse wall clock where there is one (Linux;
/// elsewhere the precise clock, see [`crate::platform`]).
#[inline]
pub fn coarse_now_nanos() -> u64 {
    crate::platform::coarse_now_nanos()
}

/// `t` as nanoseconds since the Unix epoch (0 before it, saturating far in the future).
pub fn nanos_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_clock_agrees_with_the_precise_one() {
        let precise = nanos_since_epoch(SystemTime::now());
        let coarse = coarse_now_nanos();
        let diff = precise.abs_diff(coarse);
        assert!(diff < 100_000_000, "coarse and precise differ by {diff} ns");
    }
}
