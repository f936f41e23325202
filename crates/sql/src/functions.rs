//! Scalar functions: KDA's numeric, string, date/time and log-parsing
//! functions, and the Flink names for the same things.

use regex_lite::Regex;
use shardlab_engine::time_pattern::TimestampPattern;

use crate::expr::{Row, RowError};
use crate::value::{rescale, SqlType, Value};

/// A scalar function, resolved when the query is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Abs,
    Ceil,
    Floor,
    /// `FLOOR(t TO unit)` / `CEIL(t TO unit)` on a time or interval.
    FloorTo(TimeUnit),
    CeilTo(TimeUnit),
    Exp,
    Ln,
    Log10,
    Mod,
    Power,
    Sqrt,
    Round,
    /// `STEP(x BY n)`.
    Step,
    Upper,
    Lower,
    Initcap,
    CharLength,
    Position,
    Substring,
    /// `SUBSTRING(s FROM 'regex')`: the first match (or its first group).
    SubstringRegex,
    Trim(TrimSide),
    Overlay,
    RegexReplace,
    Coalesce,
    Nullif,
    CurrentRowTimestamp,
    Tsdiff,
    ToTimestamp,
    UnixTimestamp,
    TimestampToChar,
    DateToChar,
    TimeToChar,
    DateFormat,
    CharToTimestamp,
    CharToDate,
    CharToTime,
    Extract(TimeUnit),
    /// `(ts - ts) SECOND`: KDA's interval qualifier, whole units.
    IntervalQualifier(TimeUnit),
    W3cLogParse,
    VariableColumnLogParse,
    RegexLogParse,
    FastRegexLogParse,
    FixedColumnLogParse,
    SysLogParse,
    /// `MONOTONIC(x)`: x, declared never to change direction, so a
    /// streaming GROUP BY can close its groups on it.
    Monotonic,
    /// A Redshift string literal compared with a value whose type shows
    /// only when the query runs: the literal read as that value's type.
    AsTypeOf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

impl TimeUnit {
    pub fn ms(self) -> Option<i64> {
        Some(match self {
            TimeUnit::Millisecond => 1,
            TimeUnit::Second => 1000,
            TimeUnit::Minute => 60_000,
            TimeUnit::Hour => 3_600_000,
            TimeUnit::Day => 86_400_000,
            TimeUnit::Year | TimeUnit::Month => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimSide {
    Both,
    Leading,
    Trailing,
}

impl Func {
    /// Looks a called name up, checking its number of arguments.
    pub fn lookup(name: &str, nargs: usize) -> Result<Func, String> {
        let upper = name.to_ascii_uppercase();
        let (f, arity): (Func, &[usize]) = match upper.as_str() {
            "ABS" => (Func::Abs, &[1]),
            "CEIL" | "CEILING" => (Func::Ceil, &[1]),
            "FLOOR" => (Func::Floor, &[1]),
            "EXP" => (Func::Exp, &[1]),
            "LN" => (Func::Ln, &[1]),
            "LOG10" => (Func::Log10, &[1]),
            "MOD" => (Func::Mod, &[2]),
            "POWER" => (Func::Power, &[2]),
            "SQRT" => (Func::Sqrt, &[1]),
            "ROUND" => (Func::Round, &[1, 2]),
            "STEP" => (Func::Step, &[2]),
            "UPPER" => (Func::Upper, &[1]),
            "LOWER" => (Func::Lower, &[1]),
            "INITCAP" => (Func::Initcap, &[1]),
            "CHAR_LENGTH" | "CHARACTER_LENGTH" => (Func::CharLength, &[1]),
            "REGEX_REPLACE" => (Func::RegexReplace, &[3, 4, 5]),
            "COALESCE" => (Func::Coalesce, &[1, 2, 3, 4, 5, 6, 7, 8]),
            "NULLIF" => (Func::Nullif, &[2]),
            "CURRENT_ROW_TIMESTAMP" => (Func::CurrentRowTimestamp, &[0]),
            "TSDIFF" => (Func::Tsdiff, &[2]),
            "TO_TIMESTAMP" => (Func::ToTimestamp, &[1]),
            "UNIX_TIMESTAMP" => (Func::UnixTimestamp, &[1]),
            "TIMESTAMP_TO_CHAR" => (Func::TimestampToChar, &[2]),
            "DATE_TO_CHAR" => (Func::DateToChar, &[2]),
            "TIME_TO_CHAR" => (Func::TimeToChar, &[2]),
            "DATE_FORMAT" => (Func::DateFormat, &[2]),
            "CHAR_TO_TIMESTAMP" => (Func::CharToTimestamp, &[2]),
            "CHAR_TO_DATE" => (Func::CharToDate, &[2]),
            "CHAR_TO_TIME" => (Func::CharToTime, &[2]),
            "W3C_LOG_PARSE" => (Func::W3cLogParse, &[2]),
            "VARIABLE_COLUMN_LOG_PARSE" => (Func::VariableColumnLogParse, &[2, 3, 4]),
            "REGEX_LOG_PARSE" => (Func::RegexLogParse, &[2]),
            // The page is titled ..._PARSER and calls it ..._PARSE.
            "FAST_REGEX_LOG_PARSE" | "FAST_REGEX_LOG_PARSER" => (Func::FastRegexLogParse, &[2]),
            "FIXED_COLUMN_LOG_PARSE" => (Func::FixedColumnLogParse, &[2]),
            "SYS_LOG_PARSE" => (Func::SysLogParse, &[1]),
            "MONOTONIC" => (Func::Monotonic, &[1]),
            _ => return Err(format!("Unknown function {upper}.")),
        };
        if !arity.contains(&nargs) {
            let want: Vec<String> = arity.iter().map(|a| a.to_string()).collect();
            return Err(format!(
                "{upper} takes {} argument{}, not {nargs}.",
                want.join(" or "),
                if arity == [1] { "" } else { "s" }
            ));
        }
        Ok(f)
    }
}

fn err(name: &'static str, m: impl Into<String>) -> RowError {
    RowError::new(name, m)
}

fn overflow() -> RowError {
    err("OVERFLOW", "Numeric overflow")
}

fn num(v: &Value, f: &str) -> Result<f64, RowError> {
    v.as_f64().ok_or_else(|| {
        err(
            "TYPE_ERROR",
            format!("{f} needs a number, not {}", v.type_name()),
        )
    })
}

fn int(v: &Value, f: &str) -> Result<i64, RowError> {
    v.as_i64().ok_or_else(|| {
        err(
            "TYPE_ERROR",
            format!("{f} needs an integer, not {}", v.type_name()),
        )
    })
}

fn floor_ms(t: i64, unit: TimeUnit) -> i64 {
    match unit.ms() {
        Some(u) => t.div_euclid(u) * u,
        None => {
            let days = t.div_euclid(86_400_000);
            let (y, m, _) = shardlab_engine::time::civil_from_days(days);
            let m = if unit == TimeUnit::Year { 1 } else { m };
            shardlab_engine::time_pattern::days_from_civil(y, m, 1) * 86_400_000
        }
    }
}

pub fn cast(v: Value, ty: &SqlType) -> Result<Value, RowError> {
    v.coerce(ty).map_err(|e| err("CAST_ERROR", e.0))
}

pub fn call(f: Func, args: &[Value], row: &Row) -> Result<Value, RowError> {
    use Value::*;
    // The name for messages, built only when one is needed.
    let name = || format!("{f:?}").to_ascii_uppercase();
    // NULL in, NULL out, except where a function says otherwise.
    if !matches!(f, Func::Coalesce | Func::Nullif | Func::CurrentRowTimestamp)
        && args.iter().any(Value::is_null)
    {
        return Ok(Null);
    }
    let a = |i: usize| &args[i];
    Ok(match f {
        Func::Abs => match a(0) {
            Int(i) => Int(i.checked_abs().ok_or_else(overflow)?),
            Decimal(u, s) => Decimal(u.checked_abs().ok_or_else(overflow)?, *s),
            Interval(i) => Interval(i.checked_abs().ok_or_else(overflow)?),
            v => Float(num(v, "ABS")?.abs()),
        },
        Func::Ceil | Func::Floor => match a(0) {
            Int(i) => Int(*i),
            Decimal(u, s) => {
                let p = 10i128.pow(*s as u32);
                let q = if f == Func::Floor { u.div_euclid(p) } else { -(-u).div_euclid(p) };
                Decimal(q * p, *s)
            }
            v => {
                let x = num(v, &name())?;
                Float(if f == Func::Floor { x.floor() } else { x.ceil() })
            }
        },
        Func::FloorTo(unit) | Func::CeilTo(unit) => {
            let up = matches!(f, Func::CeilTo(_));
            let round = |t: i64| {
                let fl = floor_ms(t, unit);
                if up && fl != t {
                    // The next unit boundary.
                    match unit.ms() {
                        Some(u) => fl + u,
                        None => floor_ms(fl + 32 * 86_400_000 * if unit == TimeUnit::Year { 12 } else { 1 }, unit),
                    }
                } else {
                    fl
                }
            };
            match a(0) {
                Timestamp(t) => Timestamp(round(*t)),
                // Intervals are day-time only: no months or years in them.
                Interval(_) if unit.ms().is_none() => {
                    return Err(err("TYPE_ERROR", format!("an interval cannot be rounded to {unit:?}")))
                }
                Interval(i) => Interval(round(*i)),
                Date(d) => Date(round(d * 86_400_000).div_euclid(86_400_000)),
                Time(t) => Time(round(*t)),
                v => return Err(err("TYPE_ERROR", format!("{} TO a unit needs a time, not {}", name(), v.type_name()))),
            }
        }
        Func::Exp => Float(num(a(0), "EXP")?.exp()),
        Func::Ln => {
            let x = num(a(0), "LN")?;
            if x <= 0.0 {
                return Err(err("ARGUMENT_ERROR", "LN of a value that is not positive"));
            }
            Float(x.ln())
        }
        Func::Log10 => {
            let x = num(a(0), "LOG10")?;
            if x <= 0.0 {
                return Err(err("ARGUMENT_ERROR", "LOG10 of a value that is not positive"));
            }
            Float(x.log10())
        }
        Func::Mod => {
            let (x, y) = (int(a(0), "MOD")?, int(a(1), "MOD")?);
            if y == 0 {
                return Err(err("DIVISION_BY_ZERO", "Division by zero"));
            }
            Int(x.checked_rem(y).ok_or_else(overflow)?)
        }
        Func::Power => Float(num(a(0), "POWER")?.powf(num(a(1), "POWER")?)),
        Func::Sqrt => Float(num(a(0), "SQRT")?.sqrt()),
        Func::Round => {
            let places = if args.len() > 1 { int(a(1), "ROUND")? } else { 0 };
            // Negative places round to tens, hundreds, ...
            let tens = places.clamp(-30, 0).unsigned_abs() as u8;
            match a(0) {
                Int(i) if tens == 0 => Int(*i),
                Int(i) => {
                    let r = rescale(*i as i128, tens, 0) * 10i128.pow(tens as u32);
                    Int(i64::try_from(r).map_err(|_| overflow())?)
                }
                Decimal(u, s) if tens > 0 => {
                    let r = rescale(*u, s.saturating_add(tens).min(37), 0);
                    Decimal(r.checked_mul(10i128.pow(tens as u32)).ok_or_else(overflow)?, 0)
                }
                Decimal(u, s) => {
                    let p = places.clamp(0, *s as i64) as u8;
                    Decimal(rescale(*u, *s, p), p)
                }
                v => {
                    let m = 10f64.powi(places as i32);
                    Float((num(v, "ROUND")? * m).round() / m)
                }
            }
        }
        Func::Step => match (a(0), a(1)) {
            (Timestamp(t), Interval(w)) if *w > 0 => Timestamp(t.div_euclid(*w).saturating_mul(*w).max(crate::value::MIN_TIMESTAMP)),
            (Interval(t), Interval(w)) if *w > 0 => Interval(t.div_euclid(*w).saturating_mul(*w)),
            (Int(x), Int(n)) if *n > 0 => Int(x.div_euclid(*n).checked_mul(*n).ok_or_else(|| err("OVERFLOW", "Numeric overflow"))?),
            (x, n) => {
                return Err(err(
                    "ARGUMENT_ERROR",
                    format!(
                        "STEP takes a time BY a positive interval or an integer BY a positive integer, not {} BY {}",
                        x.type_name(),
                        n.to_text()
                    ),
                ))
            }
        },
        Func::Upper => Str((a(0).to_text().to_uppercase()).into()),
        Func::Lower => Str((a(0).to_text().to_lowercase()).into()),
        Func::Initcap => {
            let mut out = String::new();
            let mut start = true;
            for c in a(0).to_text().chars() {
                if c.is_alphanumeric() {
                    if start {
                        out.extend(c.to_uppercase());
                    } else {
                        out.extend(c.to_lowercase());
                    }
                    start = false;
                } else {
                    out.push(c);
                    start = true;
                }
            }
            Str((out).into())
        }
        Func::CharLength => Int(a(0).to_text().chars().count() as i64),
        Func::Position => {
            // POSITION(needle IN haystack): 1-based, 0 when absent, 1 for ''.
            let (needle, hay) = (a(0).to_text(), a(1).to_text());
            match hay.find(&needle) {
                Some(byte) => Int(hay[..byte].chars().count() as i64 + 1),
                None => Int(0),
            }
        }
        Func::Substring => {
            let s: Vec<char> = a(0).to_text().chars().collect();
            let start = int(a(1), "SUBSTRING")?;
            let len = if args.len() > 2 { Some(int(a(2), "SUBSTRING")?) } else { None };
            if len.is_some_and(|l| l < 0) {
                return Err(err("ARGUMENT_ERROR", "SUBSTRING length is negative"));
            }
            // SQL: characters from `start` (1-based, may be < 1) for `len`.
            let end = len.map(|l| start + l).unwrap_or(i64::MAX);
            let from = start.max(1);
            let to = end.min(s.len() as i64 + 1);
            if to <= from {
                Str((String::new()).into())
            } else {
                Str(s[(from - 1) as usize..(to - 1) as usize].iter().collect::<String>().into())
            }
        }
        Func::SubstringRegex => {
            let re = Regex::new(&a(1).to_text()).map_err(|e| err("PATTERN_ERROR", e.to_string()))?;
            let s = a(0).to_text();
            match re.captures(&s) {
                Some(c) => Str((c.get(1).or_else(|| c.get(0)).map(|m| m.as_str().to_string()).unwrap_or_default()).into()),
                None => Null,
            }
        }
        Func::Trim(side) => {
            let chars: Vec<char> = if args.len() > 1 { a(1).to_text().chars().collect() } else { vec![' '] };
            let s = a(0).to_text();
            let t = match side {
                TrimSide::Both => s.trim_matches(&chars[..]),
                TrimSide::Leading => s.trim_start_matches(&chars[..]),
                TrimSide::Trailing => s.trim_end_matches(&chars[..]),
            };
            Str((t.to_string()).into())
        }
        Func::Overlay => {
            let s: Vec<char> = a(0).to_text().chars().collect();
            let with = a(1).to_text();
            let from = (int(a(2), "OVERLAY")?.max(1) - 1) as usize;
            let len = if args.len() > 3 { int(a(3), "OVERLAY")?.max(0) as usize } else { with.chars().count() };
            let head: String = s.iter().take(from.min(s.len())).collect();
            let tail: String = s.iter().skip((from + len).min(s.len())).collect();
            Str((format!("{head}{with}{tail}")).into())
        }
        Func::RegexReplace => {
            // REGEX_REPLACE(s, regex, replacement [, position [, occurrence]]):
            // occurrence 0 replaces all, n the n-th; position is 1-based.
            let s = a(0).to_text();
            let re = Regex::new(&a(1).to_text()).map_err(|e| err("PATTERN_ERROR", e.to_string()))?;
            let rep = java_replacement(&a(2).to_text());
            let pos = if args.len() > 3 { int(a(3), "REGEX_REPLACE")?.max(1) as usize } else { 1 };
            let occ = if args.len() > 4 { int(a(4), "REGEX_REPLACE")?.max(0) as usize } else { 0 };
            let split = s.char_indices().nth(pos - 1).map(|(b, _)| b).unwrap_or(s.len());
            let (head, tail) = s.split_at(split);
            let replaced = if occ == 0 {
                re.replace_all(tail, rep.as_str()).into_owned()
            } else {
                let mut n = 0;
                re.replace_all(tail, |c: &regex_lite::Captures| {
                    n += 1;
                    if n == occ {
                        let mut out = String::new();
                        c.expand(&rep, &mut out);
                        out
                    } else {
                        c[0].to_string()
                    }
                })
                .into_owned()
            };
            Str((format!("{head}{replaced}")).into())
        }
        Func::Coalesce => args.iter().find(|v| !v.is_null()).cloned().unwrap_or(Null),
        Func::Nullif => {
            if a(0).sql_cmp(a(1)) == Some(std::cmp::Ordering::Equal) {
                Null
            } else {
                a(0).clone()
            }
        }
        Func::CurrentRowTimestamp => Timestamp(row.rowtime),
        Func::Tsdiff => match (a(0), a(1)) {
            (Timestamp(x), Timestamp(y)) => Int(x - y),
            _ => return Err(err("TYPE_ERROR", "TSDIFF takes two timestamps")),
        },
        Func::ToTimestamp => {
            let ms = int(a(0), "TO_TIMESTAMP")?;
            Timestamp(crate::value::checked_timestamp(ms).ok_or_else(|| {
                err("OUT_OF_RANGE", format!("TO_TIMESTAMP({ms}) is outside the years 0001 to 9999"))
            })?)
        }
        Func::UnixTimestamp => match a(0) {
            Timestamp(t) => Int(*t),
            v => return Err(err("TYPE_ERROR", format!("UNIX_TIMESTAMP takes a timestamp, not {}", v.type_name()))),
        },
        Func::TimestampToChar | Func::DateToChar | Func::TimeToChar | Func::DateFormat => {
            // KDA: TIMESTAMP_TO_CHAR(pattern, ts) (and DATE_, TIME_);
            // Flink: DATE_FORMAT(ts, pattern).
            let (pat, t) = if f == Func::DateFormat { (a(1), a(0)) } else { (a(0), a(1)) };
            let t = match t {
                Timestamp(t) => *t,
                Date(d) => d * 86_400_000,
                // A time of day formats as that time on 1970-01-01.
                Time(ms) => *ms,
                v => return Err(err("TYPE_ERROR", format!("{} formats a timestamp, not {}", name(), v.type_name()))),
            };
            let p = TimestampPattern::parse(&pat.to_text()).map_err(|e| err("PATTERN_ERROR", e))?;
            Str(p.format_signed(t).into())
        }
        Func::CharToTimestamp | Func::CharToDate | Func::CharToTime => {
            // The pattern read as Java's SimpleDateFormat reads
            // (CHAR_TO_TIMESTAMP('yyyy-MM-dd', '2009-09-16 03:15:24') is
            // midnight of the 16th: what the pattern leaves out is 1970-01-01
            // and 00:00:00, and text after it is ignored).
            let pattern = a(0).to_text();
            let s = a(1).to_text();
            let p = TimestampPattern::parse(&pattern).map_err(|e| err("PATTERN_ERROR", e))?;
            let t = p.read_start(&s).ok_or_else(|| {
                err("CAST_ERROR", format!("'{s}' does not match the pattern '{pattern}'"))
            })?;
            match f {
                Func::CharToDate => Date(t.div_euclid(86_400_000)),
                Func::CharToTime => Time(t.rem_euclid(86_400_000)),
                _ => Timestamp(t),
            }
        }
        Func::Extract(unit) => extract(unit, a(0))?,
        Func::IntervalQualifier(unit) => match a(0) {
            Interval(i) => {
                let u = unit.ms().unwrap_or(1);
                Interval(i.div_euclid(u) * u)
            }
            v => return Err(err("TYPE_ERROR", format!("an interval qualifier needs an interval, not {}", v.type_name()))),
        },
        Func::W3cLogParse => w3c_log_parse(&a(0).to_text(), &a(1).to_text())?,
        Func::VariableColumnLogParse => {
            let cols = column_list(&a(1).to_text());
            let delim = if args.len() > 2 { a(2).to_text() } else { ",".into() };
            let s = a(0).to_text();
            let mut parts: Vec<&str> = if delim.is_empty() { vec![&s] } else { s.split(delim.as_str()).collect() };
            parts.resize(cols.len().max(parts.len()), "");
            Row(cols
                .into_iter()
                .zip(parts)
                .map(|((n, ty), p)| {
                    let v = Str((p.to_string()).into());
                    (n, ty.and_then(|t| v.clone().coerce(&t).ok()).unwrap_or(v))
                })
                .collect())
        }
        Func::Monotonic => a(0).clone(),
        Func::AsTypeOf if a(0).is_null() => Null,
        Func::AsTypeOf => {
            let text = a(0).to_text();
            let t = text.trim();
            let bad = |ty: &str| err("CAST_ERROR", format!("invalid input syntax for type {ty}: \"{text}\""));
            match a(1) {
                Timestamp(_) => Timestamp(crate::value::parse_timestamp(t).ok_or_else(|| bad("timestamp"))?),
                Date(_) => Date(crate::value::parse_timestamp(t).ok_or_else(|| bad("date"))?.div_euclid(86_400_000)),
                Int(_) | Decimal(..) | Float(_) => {
                    let (u, s) = crate::value::parse_decimal(t).ok_or_else(|| bad("numeric"))?;
                    Decimal(u, s)
                }
                Bool(_) => match t.to_ascii_lowercase().as_str() {
                    "true" | "t" | "yes" | "y" | "1" => Bool(true),
                    "false" | "f" | "no" | "n" | "0" => Bool(false),
                    _ => return Err(bad("boolean")),
                },
                _ => a(0).clone(),
            }
        }
        Func::FixedColumnLogParse => fixed_column_log_parse(&a(0).to_text(), &a(1).to_text())?,
        Func::SysLogParse => {
            // `Mon DD HH:MM:SS server message` (RFC 3164): COLUMN1 the
            // timestamp, read as Java's SimpleDateFormat reads a pattern
            // without a year (1970), COLUMN2 the rest.
            let line = a(0).to_text();
            let p = TimestampPattern::parse("MMM dd HH:mm:ss").map_err(|e| err("PATTERN_ERROR", e))?;
            match p.read_prefix(&line) {
                Some((t, used)) => Row(vec![
                    ("COLUMN1".into(), Timestamp(t)),
                    ("COLUMN2".into(), Str(line[used..].trim_start().into())),
                ]),
                None => Null,
            }
        }
        Func::FastRegexLogParse => {
            let re = crate::fast_regex::compiled(&a(1).to_text()).map_err(|e| err("PATTERN_ERROR", e))?;
            let line = a(0).to_text();
            match re.parse(&line).map_err(|e| err("PATTERN_TOO_COSTLY", e))? {
                // VARCHAR(1024) columns, as the page declares them.
                Some(columns) => Row(columns
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| (format!("COLUMN{}", i + 1), Str(c.chars().take(1024).collect::<String>().into())))
                    .collect()),
                None => Null,
            }
        }
        Func::RegexLogParse => {
            let re = Regex::new(&a(1).to_text()).map_err(|e| err("PATTERN_ERROR", e.to_string()))?;
            let s = a(0).to_text();
            match re.captures(&s) {
                Some(c) => Row((1..c.len())
                    .map(|i| (format!("COLUMN{i}"), c.get(i).map(|m| Str((m.as_str().to_string()).into())).unwrap_or(Null)))
                    .collect()),
                None => Null,
            }
        }
    })
}

/// Java's `$1` group references are also the regex crate's, but a literal
/// `$` followed by a name must be braced to mean a group.
fn java_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut n = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            out.push_str(&format!("${{{n}}}"));
        } else if c == '\\' {
            if let Some(n) = chars.next() {
                if n == '$' {
                    out.push_str("$$");
                } else {
                    out.push(n);
                }
            }
        } else if c == '$' {
            out.push_str("$$");
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits at commas outside parentheses and quotes: `'a TYPE
/// DECIMAL(5,2) START 0, b START 6'` is two column descriptions.
fn split_columns(spec: &str) -> Vec<&str> {
    let (mut depth, mut quote, mut start) = (0i32, false, 0);
    let mut out = Vec::new();
    for (i, c) in spec.char_indices() {
        match c {
            '\'' => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}

/// FIXED_COLUMN_LOG_PARSE: fields at fixed positions of a line, each
/// `<name> [TYPE <type> ['<date pattern>']] [NOT NULL] START <n> [FOR <m>]`
/// (positions from 0; without FOR to the end of the line), converted to
/// their types as CAST converts. A field that starts past the end of the
/// line is NULL; a NULL NOT NULL field is an error.
fn fixed_column_log_parse(line: &str, spec: &str) -> Result<Value, RowError> {
    let bad = |m: String| err("PARSE_ERROR", m);
    let chars: Vec<char> = line.chars().collect();
    let mut fields = Vec::new();
    for desc in split_columns(spec) {
        let desc = desc.trim();
        if desc.is_empty() {
            continue;
        }
        let upper = desc.to_ascii_uppercase();
        let start_at = upper
            .rfind(" START ")
            .ok_or_else(|| bad(format!("'{desc}' has no START position")))?;
        let (head, place) = (&desc[..start_at], &desc[start_at + 7..]);
        let mut nums = place.split_whitespace();
        let start: usize = nums
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad(format!("'{desc}': START takes a number")))?;
        let len: Option<usize> = match (nums.next(), nums.next()) {
            (None, _) => None,
            (Some(f), Some(n)) if f.eq_ignore_ascii_case("FOR") => Some(
                n.parse()
                    .map_err(|_| bad(format!("'{desc}': FOR takes a number")))?,
            ),
            _ => {
                return Err(bad(format!(
                    "'{desc}': START n is followed by FOR m or nothing"
                )))
            }
        };
        let mut head = head.trim();
        let not_null = head.to_ascii_uppercase().ends_with(" NOT NULL");
        if not_null {
            head = head[..head.len() - 9].trim_end();
        }
        let (name, rest) = match head.split_once(char::is_whitespace) {
            Some((n, r)) => (n, r.trim()),
            None => (head, ""),
        };
        let name = name.trim_matches('"').to_string();
        let (ty, pattern) = if rest.is_empty() {
            (None, None)
        } else {
            let Some(t) = rest
                .get(..5)
                .filter(|k| k.eq_ignore_ascii_case("TYPE "))
                .map(|_| rest[5..].trim())
            else {
                return Err(bad(format!("'{desc}': expected TYPE after the name")));
            };
            let (t, pattern) = match t.find('\'') {
                Some(q) => (t[..q].trim(), Some(t[q..].trim().trim_matches('\''))),
                None => (t, None),
            };
            let ty = crate::plan::type_from_text(t)
                .ok_or_else(|| bad(format!("'{desc}': {t} is not a type")))?;
            (Some(ty), pattern)
        };
        let text: Option<String> = (start < chars.len()).then(|| {
            let end = len.map_or(chars.len(), |l| start.saturating_add(l).min(chars.len()));
            chars[start..end].iter().collect()
        });
        let value = match (text, &ty) {
            (None, _) => Value::Null,
            (Some(t), None) => Value::Str(t.into()),
            (Some(t), Some(ty)) => match (pattern, ty) {
                (Some(p), SqlType::Timestamp | SqlType::Date | SqlType::Time) => {
                    let pat = TimestampPattern::parse(p).map_err(|e| err("PATTERN_ERROR", e))?;
                    let ms = pat.read_start(&t).ok_or_else(|| {
                        err(
                            "CAST_ERROR",
                            format!("'{t}' does not match the pattern '{p}'"),
                        )
                    })?;
                    Value::Timestamp(ms)
                        .coerce(ty)
                        .map_err(|c| err("CAST_ERROR", c.0))?
                }
                _ => Value::Str(t.as_str().into())
                    .coerce(ty)
                    .map_err(|c| err("CAST_ERROR", c.0))?,
            },
        };
        if not_null && value.is_null() {
            return Err(err(
                "NULL_ERROR",
                format!("field {name} is NOT NULL, and the line ends before position {start}"),
            ));
        }
        fields.push((name, value));
    }
    Ok(Value::Row(fields))
}

/// `'COL_1 TYPE VARCHAR(16), COL_2 TYPE INTEGER'` or `'A, B'`.
fn column_list(spec: &str) -> Vec<(String, Option<SqlType>)> {
    split_columns(spec)
        .into_iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(|c| {
            let mut parts = c.splitn(3, char::is_whitespace);
            let name = parts.next().unwrap_or_default().to_string();
            let ty = match (parts.next(), parts.next()) {
                (Some(t), Some(ty)) if t.eq_ignore_ascii_case("TYPE") => {
                    crate::plan::type_from_text(ty)
                }
                _ => None,
            };
            (name, ty)
        })
        .collect()
}

fn extract(unit: TimeUnit, v: &Value) -> Result<Value, RowError> {
    use Value::*;
    Ok(match v {
        Interval(ms) => {
            let a = ms.unsigned_abs() as i64;
            let sign = if *ms < 0 { -1 } else { 1 };
            match unit {
                TimeUnit::Day => Int(sign * a / 86_400_000),
                TimeUnit::Hour => Int(sign * (a / 3_600_000 % 24)),
                TimeUnit::Minute => Int(sign * (a / 60_000 % 60)),
                // SECOND is DECIMAL(5,3): seconds with milliseconds.
                TimeUnit::Second => Decimal((sign * (a % 60_000)) as i128, 3),
                TimeUnit::Millisecond => Int(sign * (a % 1000)),
                TimeUnit::Year | TimeUnit::Month => Int(0),
            }
        }
        Timestamp(_) | Date(_) | Time(_) => {
            let t = match v {
                Timestamp(t) => *t,
                Date(d) => d * 86_400_000,
                Time(t) => *t,
                _ => 0,
            };
            let days = t.div_euclid(86_400_000);
            let ms = t.rem_euclid(86_400_000);
            let (y, m, d) = shardlab_engine::time::civil_from_days(days);
            match unit {
                TimeUnit::Year => Int(y),
                TimeUnit::Month => Int(m as i64),
                TimeUnit::Day => Int(d as i64),
                TimeUnit::Hour => Int(ms / 3_600_000),
                TimeUnit::Minute => Int(ms / 60_000 % 60),
                TimeUnit::Second => Decimal((ms % 60_000) as i128, 3),
                TimeUnit::Millisecond => Int(ms % 1000),
            }
        }
        v => {
            return Err(err(
                "TYPE_ERROR",
                format!("EXTRACT needs a time or interval, not {}", v.type_name()),
            ))
        }
    })
}

/// W3C_LOG_PARSE with the `COMMON` (Apache common log) and `COMBINED`
/// formats: fields COLUMN1.. as KDA names them.
fn w3c_log_parse(line: &str, format: &str) -> Result<Value, RowError> {
    let fmt = format.trim().to_ascii_uppercase();
    let fields = match fmt.as_str() {
        "COMMON" => 7,
        "COMBINED" => 9,
        _ => {
            return Err(err(
                "ARGUMENT_ERROR",
                format!("W3C_LOG_PARSE supports the COMMON and COMBINED formats, not '{format}'"),
            ))
        }
    };
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() && out.len() < fields {
        let (tok, next) = if let Some(r) = rest.strip_prefix('[') {
            match r.find(']') {
                Some(i) => (&r[..i], &r[i + 1..]),
                None => (r, ""),
            }
        } else if let Some(r) = rest.strip_prefix('"') {
            match r.find('"') {
                Some(i) => (&r[..i], &r[i + 1..]),
                None => (r, ""),
            }
        } else {
            match rest.find(' ') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            }
        };
        out.push(tok.to_string());
        rest = next.trim_start();
    }
    if out.len() < fields {
        return Err(err(
            "PARSE_ERROR",
            format!("'{line}' is not a {fmt} log line"),
        ));
    }
    Ok(Value::Row(
        out.into_iter()
            .enumerate()
            .map(|(i, v)| (format!("COLUMN{}", i + 1), Value::Str((v).into())))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    fn row() -> Row {
        Row {
            rowtime: 0,
            values: vec![],
        }
    }

    #[test]
    fn char_to_timestamp_reads_its_pattern_as_kda_does() {
        let r = row();
        let c = |f, a: &str, b: &str| call(f, &[Value::Str(a.into()), Value::Str(b.into())], &r);
        let ts = |x: &str| Value::Timestamp(parse_timestamp(x).unwrap());
        // The KDA SQL reference's examples.
        assert_eq!(
            c(
                Func::CharToTimestamp,
                "yyyy-MM-dd hh:mm:ss",
                "2009-09-16 03:15:24"
            )
            .unwrap(),
            ts("2009-09-16 03:15:24")
        );
        assert_eq!(
            c(Func::CharToTimestamp, "yyyy-mm", "2011-02-08 07:23:19").unwrap(),
            ts("2011-01-01 00:02:00")
        );
        assert_eq!(
            c(Func::CharToTimestamp, "MMM dd, yyyy", "March 7, 2010").unwrap(),
            ts("2010-03-07 00:00:00")
        );
        assert_eq!(
            c(Func::CharToTimestamp, "MM-dd-yyyy", "06-23-2011 10:11:12").unwrap(),
            ts("2011-06-23 00:00:00")
        );
        // Not matching its pattern (before, any ISO-like text was read
        // whatever the pattern said): no result, a CAST_ERROR.
        let e = c(Func::CharToTimestamp, "dd/MM/yyyy", "2011-06-23").unwrap_err();
        assert_eq!(e.name, "CAST_ERROR");
        assert_eq!(
            e.message,
            "'2011-06-23' does not match the pattern 'dd/MM/yyyy'"
        );
        assert_eq!(
            c(Func::CharToDate, "dd/MM/yyyy", "23/06/2011").unwrap(),
            Value::Date(parse_timestamp("2011-06-23 00:00:00").unwrap() / 86_400_000)
        );
        assert_eq!(
            c(Func::CharToTime, "HH:mm:ss", "10:11:12").unwrap(),
            Value::Time((10 * 3600 + 11 * 60 + 12) * 1000)
        );
        let t = call(
            Func::TimeToChar,
            &[Value::Str("hh:mm a".into()), Value::Time(13 * 3_600_000)],
            &r,
        )
        .unwrap();
        assert_eq!(t, Value::Str("01:00 PM".into()));
    }

    #[test]
    fn kda_scalar_spot_checks() {
        let r = row();
        let c = |f, a: Vec<Value>| call(f, &a, &r).unwrap();
        assert_eq!(
            c(Func::Step, vec![Value::Int(23), Value::Int(5)]),
            Value::Int(20)
        );
        assert_eq!(
            c(Func::Step, vec![Value::Int(30), Value::Int(10)]),
            Value::Int(30)
        );
        let t = parse_timestamp("2004-09-30 13:48:23").unwrap();
        assert_eq!(
            c(
                Func::Step,
                vec![Value::Timestamp(t), Value::Interval(10_000)]
            ),
            Value::Timestamp(parse_timestamp("2004-09-30 13:48:20").unwrap())
        );
        let s = |x: &str| Value::Str(x.into());
        assert_eq!(c(Func::Position, vec![s("7"), s("1234567")]), Value::Int(7));
        assert_eq!(
            c(Func::Position, vec![s("findme"), s("1234findmeXXX")]),
            Value::Int(5)
        );
        assert_eq!(c(Func::Position, vec![s("x"), s("abc")]), Value::Int(0));
        assert_eq!(c(Func::Position, vec![s(""), s("abc")]), Value::Int(1));
        let iv = Value::Interval(((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000 + 678);
        assert_eq!(
            c(Func::Extract(TimeUnit::Second), vec![iv.clone()]).to_text(),
            "5.678"
        );
        assert_eq!(c(Func::Extract(TimeUnit::Day), vec![iv]), Value::Int(2));
        assert_eq!(
            c(
                Func::RegexReplace,
                vec![
                    s("http://www.amazon.com"),
                    s("http://"),
                    s("https://"),
                    Value::Int(1),
                    Value::Int(0)
                ]
            ),
            s("https://www.amazon.com")
        );
        assert_eq!(
            c(
                Func::Substring,
                vec![s("http://www.amazon.com"), Value::Int(12), Value::Int(6)]
            ),
            s("amazon")
        );
        assert_eq!(c(Func::Initcap, vec![s("hello wORLD")]), s("Hello World"));
        assert_eq!(
            c(
                Func::UnixTimestamp,
                vec![c(Func::ToTimestamp, vec![Value::Int(1_500_000_000_123)])]
            ),
            Value::Int(1_500_000_000_123)
        );
    }

    #[test]
    fn w3c_common_log() {
        let v = w3c_log_parse(
            "192.168.254.30 - John [24/May/2004:22:01:02 -0700] \"GET /icons/apache_pb.gif HTTP/1.1\" 304 0",
            "COMMON",
        )
        .unwrap();
        let Value::Row(f) = v else { panic!() };
        let vals: Vec<String> = f.iter().map(|(_, v)| v.to_text()).collect();
        assert_eq!(
            vals,
            [
                "192.168.254.30",
                "-",
                "John",
                "24/May/2004:22:01:02 -0700",
                "GET /icons/apache_pb.gif HTTP/1.1",
                "304",
                "0"
            ]
        );
    }
}
