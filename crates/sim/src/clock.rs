//! Virtual time.
//!
//! Simulated time is a number of milliseconds since the Unix epoch that only
//! the tick loop advances. Scenarios start at a fixed instant so that
//! timestamps inside records and sequence numbers are the same on every
//! run; how fast ticks happen in wall-clock time is the host's business and
//! never changes what a tick does.

/// 2026-01-01T00:00:00Z, where every scenario's clock starts.
pub const SCENARIO_EPOCH_MS: u64 = 1_767_225_600_000;

pub use shardlab_engine::time::iso8601;

/// A fast-forward runs in slices of ticks; between slices the host answers
/// commands (Pause) and shows a snapshot. A slice should take about this
/// long on the wall clock.
pub const FAST_FORWARD_SLICE_MS: f64 = 100.0;
/// The fewest and most ticks in a slice.
pub const FAST_FORWARD_SLICE_TICKS: (u64, u64) = (40, 6_000);

/// How many ticks the next slice of a fast-forward runs, given that the
/// last one ran `ticks` ticks in `wall_ms`: as many as take about
/// [`FAST_FORWARD_SLICE_MS`] at that pace, at most twice as many as the
/// last. Slicing never changes what the ticks do, only how often the host
/// looks up: each look drains the shard workers' pipeline. (With a fixed
/// 200 ticks, an hour of an empty stream took 1.8 s in Chromium; sized by
/// pace, and with fewer snapshots, 0.64 s.)
pub fn next_fast_forward_slice(ticks: u64, wall_ms: f64) -> u64 {
    let (fewest, most) = FAST_FORWARD_SLICE_TICKS;
    let ticks = ticks.max(1);
    let paced = if wall_ms > 0.0 {
        (ticks as f64 * FAST_FORWARD_SLICE_MS / wall_ms) as u64
    } else {
        u64::MAX
    };
    paced.min(ticks.saturating_mul(2)).clamp(fewest, most)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(SCENARIO_EPOCH_MS + 1250),
            "2026-01-01T00:00:01.250Z"
        );
        assert_eq!(iso8601(1_545_084_650_987), "2018-12-17T22:10:50.987Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn fast_forward_slices_take_about_a_tenth_of_a_second() {
        // 200 ticks in 20 ms: 1,000 would take 100 ms, but growth is at
        // most twofold per slice.
        assert_eq!(next_fast_forward_slice(200, 20.0), 400);
        assert_eq!(next_fast_forward_slice(800, 100.0), 800);
        assert_eq!(next_fast_forward_slice(800, 400.0), 200);
        // Never fewer than 40 nor more than 6,000, whatever the clock says.
        assert_eq!(next_fast_forward_slice(200, 10_000.0), 40);
        assert_eq!(next_fast_forward_slice(5_000, 0.0), 6_000);
        assert_eq!(next_fast_forward_slice(0, 0.0), 40);
    }
}
