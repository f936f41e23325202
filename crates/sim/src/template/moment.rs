//! Date formats in moment.js's syntax, which the Kinesis Data Generator
//! uses for `{{date.now("...")}}`: `YYYY-MM-DD HH:mm:ss`, `Do MMMM`,
//! `[literal]`, `x` for epoch milliseconds. Times are the virtual clock's
//! and the zone is UTC (the playground's browser is in no zone of its own),
//! so a learner's template gives the same text everywhere.
//!
//! A format is parsed once into tokens; text moment does not read as a
//! token (punctuation, `T`, letters it has no meaning for) is copied, as
//! moment copies it.

use shardlab_engine::time::civil_from_days;
use shardlab_engine::time_pattern::{days_from_civil, MONTHS, WEEKDAYS};

/// One piece of a format.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Text(String),
    Field(&'static str),
}

/// A parsed moment.js format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MomentFormat {
    tokens: Vec<Token>,
}

/// moment's tokens, longest first so `YYYY` wins over `YY` and `MMMM`
/// over `MM`. Locale formats (`LT`, `LL`, ...) expand to their English
/// forms before formatting.
const TOKENS: &[&str] = &[
    "YYYY",
    "MMMM",
    "dddd",
    "DDDD",
    "SSSSSSSSS",
    "SSSSSSSS",
    "SSSSSSS",
    "SSSSSS",
    "SSSSS",
    "SSSS",
    "GGGG",
    "gggg",
    "DDDo",
    "MMM",
    "ddd",
    "DDD",
    "SSS",
    "YY",
    "MM",
    "Mo",
    "DD",
    "Do",
    "dd",
    "do",
    "HH",
    "hh",
    "kk",
    "mm",
    "ss",
    "SS",
    "WW",
    "Wo",
    "ww",
    "wo",
    "ZZ",
    "Qo",
    "zz",
    "Y",
    "Q",
    "M",
    "D",
    "d",
    "E",
    "e",
    "H",
    "h",
    "k",
    "m",
    "s",
    "S",
    "A",
    "a",
    "X",
    "x",
    "W",
    "w",
    "Z",
    "z",
];

const LOCALE: &[(&str, &str)] = &[
    ("LLLL", "dddd, MMMM D, YYYY h:mm A"),
    ("llll", "ddd, MMM D, YYYY h:mm A"),
    ("LTS", "h:mm:ss A"),
    ("LLL", "MMMM D, YYYY h:mm A"),
    ("lll", "MMM D, YYYY h:mm A"),
    ("LT", "h:mm A"),
    ("LL", "MMMM D, YYYY"),
    ("ll", "MMM D, YYYY"),
    ("L", "MM/DD/YYYY"),
    ("l", "M/D/YYYY"),
];

/// moment's default format for a time in a zone (here +00:00)...
pub const DEFAULT_LOCAL: &str = "YYYY-MM-DDTHH:mm:ssZ";
/// ...and for a time in UTC mode (`moment.utc().format()`).
pub const DEFAULT_UTC: &str = "YYYY-MM-DDTHH:mm:ss[Z]";

impl MomentFormat {
    pub fn parse(format: &str) -> Result<MomentFormat, String> {
        let mut expanded = String::with_capacity(format.len());
        let mut rest = format;
        // Locale formats expand first, outside brackets.
        'outer: while let Some(c) = rest.chars().next() {
            if c == '[' {
                let end = rest.find(']').ok_or_else(|| {
                    format!("the date format {format:?} opens a [ it never closes")
                })?;
                expanded.push_str(&rest[..=end]);
                rest = &rest[end + 1..];
                continue;
            }
            for (name, long) in LOCALE {
                if let Some(after) = rest.strip_prefix(name) {
                    expanded.push_str(long);
                    rest = after;
                    continue 'outer;
                }
            }
            expanded.push(c);
            rest = &rest[c.len_utf8()..];
        }
        let mut tokens = Vec::new();
        let mut text = String::new();
        let mut rest = expanded.as_str();
        'scan: while let Some(c) = rest.chars().next() {
            if c == '[' {
                // Checked above: every [ has its ].
                let end = rest.find(']').unwrap_or(rest.len() - 1);
                text.push_str(&rest[1..end]);
                rest = &rest[end + 1..];
                continue;
            }
            if c == '\\' {
                if let Some(next) = rest[1..].chars().next() {
                    text.push(next);
                    rest = &rest[1 + next.len_utf8()..];
                } else {
                    text.push('\\');
                    rest = "";
                }
                continue;
            }
            for token in TOKENS {
                if let Some(after) = rest.strip_prefix(token) {
                    if !text.is_empty() {
                        tokens.push(Token::Text(std::mem::take(&mut text)));
                    }
                    tokens.push(Token::Field(token));
                    rest = after;
                    continue 'scan;
                }
            }
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !text.is_empty() {
            tokens.push(Token::Text(text));
        }
        Ok(MomentFormat { tokens })
    }

    /// The instant `epoch_ms` (UTC) in this format.
    pub fn format(&self, epoch_ms: i64) -> String {
        let t = Instant::at(epoch_ms);
        let mut out = String::with_capacity(32);
        for token in &self.tokens {
            match token {
                Token::Text(s) => out.push_str(s),
                Token::Field(f) => t.field(f, &mut out),
            }
        }
        out
    }
}

/// An instant broken down in UTC.
struct Instant {
    epoch_ms: i64,
    year: i64,
    month: u32,
    day: u32,
    /// Days since 1970-01-01.
    days: i64,
    hour: u32,
    minute: u32,
    second: u32,
    millis: u32,
}

impl Instant {
    fn at(epoch_ms: i64) -> Instant {
        let days = epoch_ms.div_euclid(86_400_000);
        let in_day = epoch_ms.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        Instant {
            epoch_ms,
            year,
            month,
            day,
            days,
            hour: (in_day / 3_600_000) as u32,
            minute: (in_day / 60_000 % 60) as u32,
            second: (in_day / 1000 % 60) as u32,
            millis: (in_day % 1000) as u32,
        }
    }

    /// 0 = Sunday.
    fn weekday(&self) -> usize {
        // 1970-01-01 was a Thursday.
        (self.days + 4).rem_euclid(7) as usize
    }

    fn day_of_year(&self) -> i64 {
        self.days - days_from_civil(self.year, 1, 1) + 1
    }

    /// (week-year, week) with weeks starting on `first_day` (0 = Sunday)
    /// and week 1 the one holding January `jan_day` (ISO: Monday, the
    /// 4th; moment's English locale: Sunday, the 1st).
    fn week(&self, first_day: i64, jan_day: u32) -> (i64, i64) {
        let start_of_week1 = |year: i64| {
            let anchor = days_from_civil(year, 1, jan_day);
            let dow = (anchor + 4).rem_euclid(7);
            anchor - (dow - first_day).rem_euclid(7)
        };
        let mut year = self.year;
        if self.days < start_of_week1(year) {
            year -= 1;
        } else if self.days >= start_of_week1(year + 1) {
            year += 1;
        }
        (year, (self.days - start_of_week1(year)) / 7 + 1)
    }

    fn field(&self, f: &str, out: &mut String) {
        use std::fmt::Write;
        let h12 = match self.hour % 12 {
            0 => 12,
            h => h,
        };
        let w = self.weekday();
        // WEEKDAYS starts on Thursday, three days before Sunday's next.
        let day_name = WEEKDAYS[(w + 3) % 7];
        let _ = match f {
            "YYYY" => write!(out, "{:04}", self.year),
            "YY" => write!(out, "{:02}", self.year.rem_euclid(100)),
            "Y" => write!(out, "{}", self.year),
            "Q" => write!(out, "{}", (self.month - 1) / 3 + 1),
            "Qo" => write!(out, "{}", ordinal(i64::from((self.month - 1) / 3 + 1))),
            "M" => write!(out, "{}", self.month),
            "Mo" => write!(out, "{}", ordinal(i64::from(self.month))),
            "MM" => write!(out, "{:02}", self.month),
            "MMM" => write!(out, "{}", &MONTHS[self.month as usize - 1][..3]),
            "MMMM" => write!(out, "{}", MONTHS[self.month as usize - 1]),
            "D" => write!(out, "{}", self.day),
            "Do" => write!(out, "{}", ordinal(i64::from(self.day))),
            "DD" => write!(out, "{:02}", self.day),
            "DDD" => write!(out, "{}", self.day_of_year()),
            "DDDo" => write!(out, "{}", ordinal(self.day_of_year())),
            "DDDD" => write!(out, "{:03}", self.day_of_year()),
            "d" | "e" => write!(out, "{w}"),
            "do" => write!(out, "{}", ordinal(w as i64)),
            "dd" => write!(out, "{}", &day_name[..2]),
            "ddd" => write!(out, "{}", &day_name[..3]),
            "dddd" => write!(out, "{day_name}"),
            "E" => write!(out, "{}", if w == 0 { 7 } else { w }),
            "H" => write!(out, "{}", self.hour),
            "HH" => write!(out, "{:02}", self.hour),
            "h" => write!(out, "{h12}"),
            "hh" => write!(out, "{h12:02}"),
            "k" => write!(out, "{}", if self.hour == 0 { 24 } else { self.hour }),
            "kk" => write!(out, "{:02}", if self.hour == 0 { 24 } else { self.hour }),
            "m" => write!(out, "{}", self.minute),
            "mm" => write!(out, "{:02}", self.minute),
            "s" => write!(out, "{}", self.second),
            "ss" => write!(out, "{:02}", self.second),
            "A" => write!(out, "{}", if self.hour < 12 { "AM" } else { "PM" }),
            "a" => write!(out, "{}", if self.hour < 12 { "am" } else { "pm" }),
            "Z" => write!(out, "+00:00"),
            "ZZ" => write!(out, "+0000"),
            "z" | "zz" => write!(out, "UTC"),
            "X" => write!(out, "{}", self.epoch_ms.div_euclid(1000)),
            "x" => write!(out, "{}", self.epoch_ms),
            "W" | "WW" | "Wo" | "GGGG" => {
                let (year, week) = self.week(1, 4);
                match f {
                    "W" => write!(out, "{week}"),
                    "WW" => write!(out, "{week:02}"),
                    "Wo" => write!(out, "{}", ordinal(week)),
                    _ => write!(out, "{year:04}"),
                }
            }
            "w" | "ww" | "wo" | "gggg" => {
                let (year, week) = self.week(0, 1);
                match f {
                    "w" => write!(out, "{week}"),
                    "ww" => write!(out, "{week:02}"),
                    "wo" => write!(out, "{}", ordinal(week)),
                    _ => write!(out, "{year:04}"),
                }
            }
            // S, SS, SSS ...: fractions of a second to that many digits
            // (milliseconds, then zeros: moment keeps no finer time).
            s => {
                let digits = s.len();
                let ms = format!("{:03}", self.millis);
                if digits <= 3 {
                    write!(out, "{}", &ms[..digits])
                } else {
                    write!(out, "{ms}{}", "0".repeat(digits - 3))
                }
            }
        };
    }
}

/// English ordinals: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st.
fn ordinal(n: i64) -> String {
    let suffix = match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(format: &str, ms: i64) -> String {
        MomentFormat::parse(format).unwrap().format(ms)
    }

    // 2010-02-14 15:25:50.125 UTC, a Sunday: the moment.js docs' instant.
    const FEB_14: i64 = 1_266_161_150_125;

    #[test]
    fn the_kdg_help_examples() {
        assert_eq!(
            f("dddd, MMMM Do YYYY, h:mm:ss a", FEB_14),
            "Sunday, February 14th 2010, 3:25:50 pm"
        );
        assert_eq!(f("ddd, hA", FEB_14), "Sun, 3PM");
        assert_eq!(
            f("DD/MMM/YYYY:HH:mm:ss Z", FEB_14),
            "14/Feb/2010:15:25:50 +00:00"
        );
        assert_eq!(f(DEFAULT_LOCAL, FEB_14), "2010-02-14T15:25:50+00:00");
        assert_eq!(f(DEFAULT_UTC, FEB_14), "2010-02-14T15:25:50Z");
    }

    #[test]
    fn fields_literals_and_locale_formats() {
        assert_eq!(
            f("YYYY-MM-DD HH:mm:ss.SSS", FEB_14),
            "2010-02-14 15:25:50.125"
        );
        assert_eq!(f("x", FEB_14), "1266161150125");
        assert_eq!(f("X", FEB_14), "1266161150");
        assert_eq!(f("[Today is] dddd", FEB_14), "Today is Sunday");
        assert_eq!(f("LLLL", FEB_14), "Sunday, February 14, 2010 3:25 PM");
        assert_eq!(f("L LT", FEB_14), "02/14/2010 3:25 PM");
        assert_eq!(f("Q Qo DDD DDDD E d", FEB_14), "1 1st 45 045 7 0");
        assert_eq!(f("SS SSSSSS", FEB_14), "12 125000");
        assert_eq!(f("hh kk", 0), "12 24");
        // Letters moment has no use for are copied.
        assert_eq!(f("YYYY!T@", FEB_14), "2010!T@");
        assert!(MomentFormat::parse("[open").is_err());
    }

    #[test]
    fn weeks_iso_and_english() {
        // 2021-01-03 (a Sunday) is in ISO week 53 of 2020, but starts
        // week 2 of 2021 in moment's English locale.
        let jan3 = days_from_civil(2021, 1, 3) * 86_400_000;
        assert_eq!(f("GGGG-[W]WW", jan3), "2020-W53");
        assert_eq!(f("gggg ww wo", jan3), "2021 02 2nd");
        let dec31 = days_from_civil(2024, 12, 31) * 86_400_000;
        assert_eq!(f("GGGG W", dec31), "2025 1");
        assert_eq!(ordinal(112), "112th");
        assert_eq!(ordinal(22), "22nd");
    }
}
