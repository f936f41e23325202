//! Calendar arithmetic for the timestamps the API prints. Pure integer
//! arithmetic on epoch milliseconds; no clock is read here.

/// Formats epoch milliseconds as ISO 8601 UTC with milliseconds, e.g.
/// `2026-01-01T00:00:01.250Z`.
pub fn iso8601(epoch_ms: u64) -> String {
    let mut out = Vec::with_capacity(24);
    write_iso8601(&mut out, epoch_ms);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `iso8601(epoch_ms)` to `out`, without the formatting machinery
/// for years up to 9999: the simulation writes one per generated record.
pub fn write_iso8601(out: &mut Vec<u8>, epoch_ms: u64) {
    let secs = epoch_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    if y > 9999 {
        out.extend_from_slice(
            format!(
                "{y}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60,
                epoch_ms % 1000
            )
            .as_bytes(),
        );
        return;
    }
    // Two digits at a time into a buffer of the text's shape, then one copy.
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut two = |at: usize, v: u64| {
        text[at] = b'0' + (v / 10 % 10) as u8;
        text[at + 1] = b'0' + (v % 10) as u8;
    };
    let y = y as u64;
    two(0, y / 100);
    two(2, y % 100);
    two(5, m as u64);
    two(8, d as u64);
    two(11, rem / 3600);
    two(14, rem % 3600 / 60);
    two(17, rem % 60);
    let ms = epoch_ms % 1000;
    two(21, ms % 100);
    text[20] = b'0' + (ms / 100) as u8;
    out.extend_from_slice(&text);
}

/// AWS's date format in iterator-expiry messages: `Thu Jan 22 01:22:02 UTC 2015`.
pub fn amz_utc_string(epoch_ms: u64) -> String {
    let secs = epoch_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days.rem_euclid(7)) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    format!(
        "{weekday} {month} {d:02} {:02}:{:02}:{:02} UTC {y}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
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
    fn iso8601_matches_the_formatting_machinery() {
        let reference = |ms: u64| {
            let secs = ms / 1000;
            let (y, m, d) = civil_from_days((secs / 86_400) as i64);
            let rem = secs % 86_400;
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60,
                ms % 1000
            )
        };
        let mut x: u64 = 1;
        for i in 0..20_000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // Every scale: the epoch, recent years, and past year 9999.
            let ms = match i % 3 {
                0 => x % 1_000_000_000,
                1 => 1_700_000_000_000 + x % 100_000_000_000,
                _ => x >> (i % 20),
            };
            assert_eq!(iso8601(ms), reference(ms), "{ms}");
        }
        assert_eq!(iso8601(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(iso8601(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
    }

    #[test]
    fn dates_in_aws_format() {
        // The example AWS gives: Thu Jan 22 01:22:02 UTC 2015.
        assert_eq!(
            amz_utc_string(1_421_889_722_000),
            "Thu Jan 22 01:22:02 UTC 2015"
        );
        assert_eq!(amz_utc_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            amz_utc_string(1_767_225_600_000),
            "Thu Jan 01 00:00:00 UTC 2026"
        );
        assert_eq!(
            amz_utc_string(1_709_164_800_000),
            "Thu Feb 29 00:00:00 UTC 2024"
        );
    }

    #[test]
    fn iso8601_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_767_225_601_250), "2026-01-01T00:00:01.250Z");
        assert_eq!(iso8601(1_545_084_650_987), "2018-12-17T22:10:50.987Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
