//! Number and time formatting for display.

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as B, KiB, MiB with one decimal.
pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f < KIB {
        format!("{n} B")
    } else if f < KIB * KIB {
        format!("{:.1} KiB", f / KIB)
    } else if f < KIB * KIB * KIB {
        format!("{:.1} MiB", f / KIB / KIB)
    } else {
        format!("{:.1} GiB", f / KIB / KIB / KIB)
    }
}

/// Elapsed virtual time as `h:mm:ss.t`.
pub fn elapsed(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{}:{:02}:{:02}.{}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms % 1000 / 100
    )
}

/// A shard's share of the hash-key space, in percent, from its decimal bounds.
pub fn key_space_percent(start: &str, end: &str) -> (f64, f64) {
    let to_f = |s: &str| s.parse::<u128>().map_or(0.0, |v| v as f64);
    let space = u128::MAX as f64;
    let left = to_f(start) / space * 100.0;
    let width = (to_f(end) - to_f(start)) / space * 100.0;
    (left, width)
}

/// The speed shown as a multiplier: `0.25×`, `1×`, `100×`.
pub fn speed(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0}×")
    } else {
        format!("{s}×")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(elapsed(3_723_400), "1:02:03.4");
        assert_eq!(speed(0.25), "0.25×");
        assert_eq!(speed(10.0), "10×");
    }
}
