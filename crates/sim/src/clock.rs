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
}
