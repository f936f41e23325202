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
    /// `h`/`hh`: the hour on a 12-hour clock (1–12).
    Hour12(usize),
    /// `a`: AM or PM.
    AmPm,
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
                ('h', 1..=2) => Field::Hour12(n),
                ('a', 1) => Field::AmPm,
                ('m', 1..=2) => Field::Minute(n),
                ('s', 1..=2) => Field::Second(n),
                ('S', 1..=3) => Field::Fraction(n),
                ('E', 1..=4) => Field::Weekday(n),
                _ => {
                    return Err(format!(
                        "the timestamp pattern '{pattern}' uses '{}', which Shardlab does not \
                         support (supported: y, u, M, d, D, H, h, a, m, s, S, E and quoted text)",
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
        self.format_signed(epoch_ms as i64)
    }

    /// The pattern applied to an instant before or after 1970, in UTC.
    pub fn format_signed(&self, epoch_ms: i64) -> String {
        let t = Civil::at_signed(epoch_ms);
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
                Field::Hour12(n) => out.push_str(&format!("{:0n$}", (t.hour + 11) % 12 + 1)),
                Field::AmPm => out.push_str(if t.hour < 12 { "AM" } else { "PM" }),
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
    /// (UTC), the whole of it, as Joda-Time does (Hive's
    /// `TimestampFormats`): numbers take one digit or more (a number right
    /// before another takes exactly its width), names match in full or
    /// short. A missing date part is 1970-01-01; `None` when it does not
    /// match or a value is out of its range.
    pub fn read(&self, text: &str) -> Option<i64> {
        self.scan(text, false)
            .and_then(|(ms, used)| (used == text.len()).then_some(ms))
    }

    /// Reads the start of `text` as Java's `SimpleDateFormat.parse` does
    /// (KDA's CHAR_TO_TIMESTAMP): spaces before a field are skipped, and
    /// what follows the pattern is ignored (`'yyyy-MM-dd'` on
    /// `'2009-09-16 03:15:24'` is midnight of the 16th).
    pub fn read_start(&self, text: &str) -> Option<i64> {
        self.scan(text, true).map(|(ms, _)| ms)
    }

    /// As [`read_start`](Self::read_start), with the bytes of `text` the
    /// pattern used.
    pub fn read_prefix(&self, text: &str) -> Option<(i64, usize)> {
        self.scan(text, true)
    }

    /// The instant and the bytes of `text` used.
    fn scan(&self, text: &str, skip_spaces: bool) -> Option<(i64, usize)> {
        let b = text.as_bytes();
        let mut at = 0;
        let (mut year, mut month, mut day, mut doy) = (1970i64, 1u32, 1u32, None);
        let (mut hour, mut minute, mut second, mut millis) = (0u32, 0u32, 0u32, 0u32);
        let (mut hour12, mut pm) = (None, false);
        let number = |at: &mut usize, min: usize, max: usize| -> Option<i64> {
            let start = *at;
            while *at < b.len() && *at - start < max && b[*at].is_ascii_digit() {
                *at += 1;
            }
            (*at - start >= min).then(|| text[start..*at].parse().ok())?
        };
        // A name in full, else its first three letters (either is read,
        // whatever the pattern's width).
        let name = |at: &mut usize, names: &[&str]| -> Option<usize> {
            for short in [false, true] {
                let found = names.iter().position(|n| {
                    let n = if short { &n[..3] } else { n };
                    text.get(*at..*at + n.len())
                        .is_some_and(|t| t.eq_ignore_ascii_case(n))
                });
                if let Some(i) = found {
                    let n = if short { 3 } else { names[i].len() };
                    *at += n;
                    return Some(i);
                }
            }
            None
        };
        for (i, f) in self.fields.iter().enumerate() {
            // A number followed straight by another takes its width only
            // ("yyyyMMdd"), as Java's adjacent value parsing does; any
            // other takes every digit there is.
            // (Month names are text, not numbers.) Joda reads at most a
            // field's usual digits (2, or 3 for the day of the year).
            let adjacent = !matches!(
                self.fields.get(i + 1),
                None | Some(Field::Literal(_))
                    | Some(Field::Weekday(_))
                    | Some(Field::AmPm)
                    | Some(Field::Month(3 | 4))
            );
            let joda_max = match f {
                Field::Year(_) => 9,
                Field::DayOfYear(_) | Field::Fraction(_) => 3,
                _ => 2,
            };
            let wide = |n: usize| match (adjacent, skip_spaces) {
                (true, _) => n.max(1),
                (false, true) => 9,
                (false, false) => joda_max.max(n),
            };
            let least = |n: usize| if adjacent { n } else { 1 };
            if skip_spaces && !matches!(f, Field::Literal(_)) {
                while at < b.len() && (b[at] == b' ' || b[at] == b'\t') {
                    at += 1;
                }
            }
            match *f {
                Field::Literal(ref s) => {
                    if !text[at..].starts_with(s.as_str()) {
                        return None;
                    }
                    at += s.len();
                }
                Field::Year(2) => {
                    // Two digits are a year near now (Java: 80 years back
                    // to 20 ahead; Joda: 50 either way), taking 2026 as
                    // now so that runs repeat; SimpleDateFormat reads more
                    // digits as written.
                    let start = at;
                    let y = number(&mut at, 2, if skip_spaces { wide(2) } else { 2 })?;
                    year = match (at - start, skip_spaces) {
                        (2, true) if y <= 45 => 2000 + y,
                        (2, true) => 1900 + y,
                        (2, false) if y <= 75 => 2000 + y,
                        (2, false) => 1900 + y,
                        _ => y,
                    };
                }
                Field::Year(n) => year = number(&mut at, least(n.min(4)), wide(n))?,
                Field::Month(3 | 4) => month = name(&mut at, &MONTHS)? as u32 + 1,
                Field::Month(n) => month = number(&mut at, least(n), wide(n))? as u32,
                Field::Day(n) => day = number(&mut at, least(n), wide(n))? as u32,
                Field::DayOfYear(n) => doy = Some(number(&mut at, least(n), wide(n))?),
                Field::Hour(n) => hour = number(&mut at, least(n), wide(n))? as u32,
                Field::Hour12(n) => hour12 = Some(number(&mut at, least(n), wide(n))? as u32),
                Field::AmPm => {
                    pm = match text.get(at..at + 2).map(str::to_ascii_uppercase).as_deref() {
                        Some("AM") => false,
                        Some("PM") => true,
                        _ => return None,
                    };
                    at += 2;
                }
                Field::Minute(n) => minute = number(&mut at, least(n), wide(n))? as u32,
                Field::Second(n) => second = number(&mut at, least(n), wide(n))? as u32,
                // SimpleDateFormat's S is a count of milliseconds ("5" is
                // 5 ms); Joda's is a fraction of the second ("5" is 500 ms).
                Field::Fraction(n) if skip_spaces => {
                    millis = u32::try_from(number(&mut at, least(n), wide(n))?)
                        .ok()
                        .filter(|m| *m < 1000)?;
                }
                Field::Fraction(n) => {
                    let start = at;
                    let f = number(&mut at, n, n)?;
                    millis = (f * 10i64.pow(3 - (at - start) as u32)) as u32;
                }
                Field::Weekday(_) => {
                    name(&mut at, &WEEKDAYS)?;
                }
            }
        }
        if let Some(h) = hour12 {
            // 12 is the hour after midnight or noon, as on a 12-hour clock.
            if !(1..=12).contains(&h) {
                return None;
            }
            hour = h % 12 + if pm { 12 } else { 0 };
        }
        let valid = (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60
            && (-9999..=9999).contains(&year);
        if !valid {
            return None;
        }
        let days = match doy {
            Some(d) if (1..=337 + i64::from(days_in_month(year, 2))).contains(&d) => {
                days_from_civil(year, 1, 1) + d - 1
            }
            Some(_) => return None,
            None => days_from_civil(year, month, day),
        };
        let ms = days * 86_400_000
            + i64::from(hour) * 3_600_000
            + i64::from(minute) * 60_000
            + i64::from(second) * 1000
            + i64::from(millis);
        Some((ms, at))
    }
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
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
        Civil::at_signed(epoch_ms as i64)
    }

    /// An instant before or after 1970.
    pub fn at_signed(epoch_ms: i64) -> Civil {
        let secs = epoch_ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u64;
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
            millis: epoch_ms.rem_euclid(1000) as u32,
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

    /// The table "Template Strings to Create Specific Output Timestamps" of
    /// the KDA SQL reference (CHAR_TO_TIMESTAMP), read as
    /// SimpleDateFormat reads.
    #[test]
    fn kda_char_to_timestamp_templates() {
        let at = |pattern: &str, text: &str| {
            TimestampPattern::parse(pattern)
                .unwrap()
                .read_start(text)
                .map(|ms| {
                    let c = Civil::at_signed(ms);
                    format!(
                        "{} {:02}:{:02}:{:02}",
                        &c.dashed()[..10],
                        c.hour,
                        c.minute,
                        c.second
                    )
                })
        };
        let cases = [
            (
                "yyyy-MM-dd hh:mm:ss",
                "2009-09-16 03:15:24",
                Some("2009-09-16 03:15:24"),
            ),
            // mm is minutes: the second number of the input.
            (
                "yyyy-mm",
                "2011-02-08 07:23:19",
                Some("2011-01-01 00:02:00"),
            ),
            ("MMM dd, yyyy", "March 7, 2010", Some("2010-03-07 00:00:00")),
            ("MMM dd,", "March 7, 2010", Some("1970-03-07 00:00:00")),
            ("MMM dd,y", "March 7, 2010", Some("2010-03-07 00:00:00")),
            ("M-d", "2-8", Some("1970-02-08 00:00:00")),
            ("M-d", "2-8-2011", Some("1970-02-08 00:00:00")),
            // 2011 is not a month.
            ("M-d", "2011-2-8", None),
            (
                "MM-dd-yyyy",
                "06-23-2011 10:11:12",
                Some("2011-06-23 00:00:00"),
            ),
            // Without its comma the input does not match.
            ("MMM dd, yyyy", "March 7 2010", None),
            ("hh:mm a", "12:05 AM", Some("1970-01-01 00:05:00")),
            ("hh:mm a", "01:05 PM", Some("1970-01-01 13:05:00")),
            ("HH:mm", "13:05", Some("1970-01-01 13:05:00")),
            ("yyyy-MM-dd", "2011-02-30", None),
            // Two-digit years near 2026, more digits as written.
            ("dd/MM/yy", "07/03/10", Some("2010-03-07 00:00:00")),
            ("dd/MM/yy", "07/03/99", Some("1999-03-07 00:00:00")),
            ("dd/MM/yy", "07/03/2010", Some("2010-03-07 00:00:00")),
            ("MMM dd,y", "March 7, 10", Some("0010-03-07 00:00:00")),
            // A month name is text: the day before it takes its digits.
            ("dMMMyyyy", "17Mar2010", Some("2010-03-17 00:00:00")),
            ("yyyy-MM-dd", "1969-07-20", Some("1969-07-20 00:00:00")),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(at(pattern, text).as_deref(), want, "{pattern} on {text}");
        }
        // Names are matched without slicing inside a character.
        assert_eq!(at("MMM", "Mé"), None);
        assert_eq!(
            TimestampPattern::parse("hh a")
                .unwrap()
                .format(13 * 3_600_000),
            "01 PM"
        );
    }

    #[test]
    fn milliseconds_as_simpledateformat_and_joda_read_them() {
        let p = TimestampPattern::parse("ss.SSS").unwrap();
        // SimpleDateFormat: a count of milliseconds; Joda: a fraction.
        assert_eq!(p.read_start("12.5"), Some(12_005));
        assert_eq!(p.read("12.500"), Some(12_500));
        let p = TimestampPattern::parse("ss.S").unwrap();
        assert_eq!(p.read_start("12.345"), Some(12_345));
        assert_eq!(p.read("12.3"), Some(12_300));
        // Joda takes at most two digits for a month.
        assert_eq!(
            TimestampPattern::parse("yyyy-MM-dd")
                .unwrap()
                .read("2018-001-05"),
            None
        );
        assert_eq!(
            TimestampPattern::parse("yyyy-MM-dd")
                .unwrap()
                .format_signed(-14_256_000_000),
            "1969-07-20"
        );
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
