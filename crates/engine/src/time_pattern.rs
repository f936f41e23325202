//! `!{timestamp:...}` patterns: the subset of Java's `DateTimeFormatter`
//! that S3 prefixes use, evaluated on epoch milliseconds in UTC.
//!
//! Firehose documents the namespace as "a valid Java DateTimeFormatter
//! string". Prefixes in the wild use years, months, days, hours, minutes,
//! seconds, day-of-year, weekday and month names, and quoted literals; those
//! are supported. Any other pattern letter is refused when the delivery
//! stream is created, with the letter named, rather than printed wrong.

use crate::time::civil_from_days;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    Literal(String),
    /// `yyyy`/`uuuu` (4+ digits), `yy`/`uu` (2 digits), `y` (as is).
    Year(usize),
    /// `M`/`MM` numbers, `MMM` short name, `MMMM` full name.
    Month(usize),
    Day(usize),
    DayOfYear(usize),
    Hour(usize),
    Minute(usize),
    Second(usize),
    /// `S`..`SSS`: fraction of the second, truncated.
    Fraction(usize),
    /// `E`..`EEE` short weekday, `EEEE` full.
    Weekday(usize),
}

/// A parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampPattern {
    fields: Vec<Field>,
}

/// English month names, January first.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// English weekday names, Thursday first: 1970-01-01 was a Thursday.
pub const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

impl TimestampPattern {
    pub fn parse(pattern: &str) -> Result<TimestampPattern, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut fields = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                // 'text' is literal; '' is one quote.
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(format!(
                                "the timestamp pattern '{pattern}' has an unclosed quote"
                            ))
                        }
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            literal.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&other) => {
                            literal.push(other);
                            j += 1;
                        }
                    }
                }
                i = j + 1;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                literal.push(c);
                i += 1;
                continue;
            }
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            let field = match (c, n) {
                ('y' | 'u', n) => Field::Year(n),
                ('M' | 'L', 1..=4) => Field::Month(n),
                ('d', 1..=2) => Field::Day(n),
                ('D', 1..=3) => Field::DayOfYear(n),
                ('H', 1..=2) => Field::Hour(n),
                ('m', 1..=2) => Field::Minute(n),
                ('s', 1..=2) => Field::Second(n),
                ('S', 1..=3) => Field::Fraction(n),
                ('E', 1..=4) => Field::Weekday(n),
                _ => {
                    return Err(format!(
                        "the timestamp pattern '{pattern}' uses '{}', which Shardlab does not \
                         support (supported: y, u, M, d, D, H, m, s, S, E and quoted text)",
                        c.to_string().repeat(n)
                    ))
                }
            };
            if !literal.is_empty() {
                fields.push(Field::Literal(std::mem::take(&mut literal)));
            }
            fields.push(field);
            i += n;
        }
        if !literal.is_empty() {
            fields.push(Field::Literal(literal));
        }
        Ok(TimestampPattern { fields })
    }

    /// The pattern applied to an instant, in UTC.
    pub fn format(&self, epoch_ms: u64) -> String {
        let t = Civil::at(epoch_ms);
        let mut out = String::new();
        for f in &self.fields {
            match *f {
                Field::Literal(ref s) => out.push_str(s),
                Field::Year(2) => out.push_str(&format!("{:02}", t.year.rem_euclid(100))),
                Field::Year(n) => out.push_str(&format!("{:0n$}", t.year)),
                Field::Month(3) => out.push_str(&MONTHS[t.month as usize - 1][..3]),
                Field::Month(4) => out.push_str(MONTHS[t.month as usize - 1]),
                Field::Month(n) => out.push_str(&format!("{:0n$}", t.month)),
                Field::Day(n) => out.push_str(&format!("{:0n$}", t.day)),
                Field::DayOfYear(n) => out.push_str(&format!("{:0n$}", t.day_of_year)),
                Field::Hour(n) => out.push_str(&format!("{:0n$}", t.hour)),
                Field::Minute(n) => out.push_str(&format!("{:0n$}", t.minute)),
                Field::Second(n) => out.push_str(&format!("{:0n$}", t.second)),
                Field::Fraction(n) => {
                    let ms = format!("{:03}", t.millis);
                    out.push_str(&ms[..n]);
                }
                Field::Weekday(4) => out.push_str(WEEKDAYS[t.weekday]),
                Field::Weekday(_) => out.push_str(&WEEKDAYS[t.weekday][..3]),
            }
        }
        out
    }
}

impl TimestampPattern {
    /// Reads `text` written in this pattern back into epoch milliseconds
    /// (UTC), or `None` when it does not match: numbers take one digit or
    /// more (a number right before another takes exactly its width), names
    /// match in full.
    /// Weekdays are checked for shape only; a missing date part is 1970-01-01.
    pub fn read(&self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        let mut at = 0;
        let (mut year, mut month, mut day, mut doy) = (1970i64, 1u32, 1u32, None);
        let (mut hour, mut minute, mut second, mut millis) = (0u32, 0u32, 0u32, 0u32);
        let number = |at: &mut usize, min: usize, max: usize| -> Option<i64> {
            let start = *at;
            while *at < b.len() && *at - start < max && b[*at].is_ascii_digit() {
                *at += 1;
            }
            (*at - start >= min).then(|| text[start..*at].parse().ok())?
        };
        let name = |at: &mut usize, names: &[&str], short: bool| -> Option<usize> {
            names.iter().position(|n| {
                let n = if short { &n[..3] } else { n };
                let ok = text[*at..].len() >= n.len()
                    && text[*at..*at + n.len()].eq_ignore_ascii_case(n);
                if ok {
                    *at += n.len();
                }
                ok
            })
        };
        for (i, f) in self.fields.iter().enumerate() {
            // A number followed straight by another takes its width only
            // ("yyyyMMdd"), as Java's adjacent value parsing does.
            let adjacent = !matches!(
                self.fields.get(i + 1),
                None | Some(Field::Literal(_)) | Some(Field::Weekday(_))
            );
            let wide = |n: usize, max: usize| if adjacent { n.max(1) } else { max };
            // Otherwise Joda's leniency: any digits from one (Hive's
            // TimestampFormats are Joda patterns).
            let least = |n: usize| if adjacent { n } else { 1 };
            match *f {
                Field::Literal(ref s) => {
                    if !text[at..].starts_with(s.as_str()) {
                        return None;
                    }
                    at += s.len();
                }
                Field::Year(2) => year = 2000 + number(&mut at, 2, 2)?,
                Field::Year(n) => year = number(&mut at, least(n.min(4)), wide(n, 9))?,
                Field::Month(3) => month = name(&mut at, &MONTHS, true)? as u32 + 1,
                Field::Month(4) => month = name(&mut at, &MONTHS, false)? as u32 + 1,
                Field::Month(n) => month = number(&mut at, least(n), wide(n, 2))? as u32,
                Field::Day(n) => day = number(&mut at, least(n), wide(n, 2))? as u32,
                Field::DayOfYear(n) => doy = Some(number(&mut at, least(n), wide(n, 3))?),
                Field::Hour(n) => hour = number(&mut at, least(n), wide(n, 2))? as u32,
                Field::Minute(n) => minute = number(&mut at, least(n), wide(n, 2))? as u32,
                Field::Second(n) => second = number(&mut at, least(n), wide(n, 2))? as u32,
                Field::Fraction(n) => {
                    let start = at;
                    let f = number(&mut at, n, n)?;
                    millis = (f * 10i64.pow(3 - (at - start) as u32)) as u32;
                }
                Field::Weekday(n) => {
                    name(&mut at, &WEEKDAYS, n < 4)?;
                }
            }
        }
        let valid = at == b.len()
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60;
        if !valid {
            return None;
        }
        let days = match doy {
            Some(d) if (1..=366).contains(&d) => days_from_civil(year, 1, 1) + d - 1,
            Some(_) => return None,
            None => days_from_civil(year, month, day),
        };
        Some(
            days * 86_400_000
                + i64::from(hour) * 3_600_000
                + i64::from(minute) * 60_000
                + i64::from(second) * 1000
                + i64::from(millis),
        )
    }
}

/// An instant broken down in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub day_of_year: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
    /// 0 = Thursday (the epoch's weekday), as indexes into `WEEKDAYS`.
    weekday: usize,
}

impl Civil {
    pub fn at(epoch_ms: u64) -> Civil {
        let secs = epoch_ms / 1000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        let jan1 = days_from_civil(year, 1, 1);
        Civil {
            year,
            month,
            day,
            day_of_year: (days - jan1 + 1) as u32,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            millis: (epoch_ms % 1000) as u32,
            weekday: days.rem_euclid(7) as usize,
        }
    }

    /// `yyyy-MM-dd-HH-mm-ss`, as in object names.
    pub fn dashed(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}-{:02}-{:02}-{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2018-08-27 10:30:00 UTC, the instant of AWS's prefix examples.
    const AUG_27: u64 = 1_535_365_800_000;

    #[test]
    fn patterns_read_back_what_they_write() {
        for pattern in [
            "yyyy-MM-dd HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm:ss.SSS",
            "dd/MMM/yyyy:HH:mm:ss",
            "EEEE, d MMMM yyyy HH:mm",
            "yyyyDDD HHmmss",
            "yyyyMMddHHmmss",
        ] {
            let p = TimestampPattern::parse(pattern).unwrap();
            let text = p.format(AUG_27 + 123);
            let back = p.read(&text).unwrap_or_else(|| panic!("{pattern}: {text}"));
            let kept = if pattern.contains('S') { 123 } else { 0 };
            assert_eq!(back, (AUG_27 + kept) as i64, "{pattern}");
        }
        let p = TimestampPattern::parse("yyyy-MM-dd HH:mm:ss").unwrap();
        assert_eq!(p.read("2018-8-27 10:30:00"), Some(AUG_27 as i64));
        assert_eq!(p.read("2018-08-27 10:30"), None);
        assert_eq!(p.read("2018-13-27 10:30:00"), None);
        assert_eq!(p.read("2018-08-27 10:30:00 extra"), None);
    }

    #[test]
    fn aws_prefix_examples() {
        let p = |s: &str| TimestampPattern::parse(s).unwrap().format(AUG_27);
        assert_eq!(p("yyyy/MM/dd/HH/"), "2018/08/27/10/");
        assert_eq!(p("yyyy"), "2018");
        assert_eq!(p("'year='yyyy'/month='MM"), "year=2018/month=08");
        assert_eq!(p("yy-M-d H:mm:ss.SSS"), "18-8-27 10:30:00.000");
        assert_eq!(p("EEE EEEE MMM MMMM DDD"), "Mon Monday Aug August 239");
        assert_eq!(p("'it''s' HH"), "it's 10");
    }

    #[test]
    fn unknown_letters_and_open_quotes_are_refused() {
        let e = TimestampPattern::parse("yyyy/QQ").unwrap_err();
        assert!(e.contains("'QQ'"), "{e}");
        assert!(TimestampPattern::parse("'open").is_err());
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-1000i64, 0, 59, 365, 10_957, 17_770, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // 2016-12-31 is day 366 of a leap year.
        let c = Civil::at(days_from_civil(2016, 12, 31) as u64 * 86_400_000);
        assert_eq!(c.day_of_year, 366);
        assert_eq!(Civil::at(AUG_27).dashed(), "2018-08-27-10-30-00");
    }
}
