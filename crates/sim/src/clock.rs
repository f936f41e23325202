//! Virtual time.
//!
//! Simulated time is a number of milliseconds since the Unix epoch that only
//! the tick loop advances. Scenarios start at a fixed instant so that
//! timestamps inside records and sequence numbers are the same on every
//! run; how fast ticks happen in wall-clock time is the host's business and
//! never changes what a tick does.

/// 2026-01-01T00:00:00Z, where every scenario's clock starts.
pub const SCENARIO_EPOCH_MS: u64 = 1_767_225_600_000;

/// Formats epoch milliseconds as ISO 8601 UTC with milliseconds, e.g.
/// `2026-01-01T00:00:01.250Z`.
pub fn iso8601(epoch_ms: u64) -> String {
    let secs = epoch_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        epoch_ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
}
