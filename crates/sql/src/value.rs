//! SQL values and types, coercion between them, and their text forms.
//!
//! Integers are `i64` whatever their declared width (a value is range-checked
//! when it is stored into a narrower column); REAL and DOUBLE are `f64`
//! (REAL rounded through `f32` on store); DECIMAL is an exact scaled
//! integer, so `4.00 + 2.00` is `6.00`, not a binary fraction. Times are UTC
//! epoch milliseconds, the precision KDA and Flink's `TIMESTAMP(3)` keep.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use shardlab_engine::time::civil_from_days;

/// A declared column type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlType {
    Boolean,
    TinyInt,
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    Decimal { precision: u8, scale: u8 },
    Char(u32),
    Varchar(Option<u32>),
    Date,
    Time,
    Timestamp,
    Varbinary(Option<u32>),
    Interval,
}

impl SqlType {
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::TinyInt
                | SqlType::SmallInt
                | SqlType::Integer
                | SqlType::BigInt
                | SqlType::Real
                | SqlType::Double
                | SqlType::Decimal { .. }
        )
    }

    pub fn name(&self) -> String {
        match self {
            SqlType::Boolean => "BOOLEAN".into(),
            SqlType::TinyInt => "TINYINT".into(),
            SqlType::SmallInt => "SMALLINT".into(),
            SqlType::Integer => "INTEGER".into(),
            SqlType::BigInt => "BIGINT".into(),
            SqlType::Real => "REAL".into(),
            SqlType::Double => "DOUBLE".into(),
            SqlType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
            SqlType::Char(n) => format!("CHAR({n})"),
            SqlType::Varchar(Some(n)) => format!("VARCHAR({n})"),
            SqlType::Varchar(None) => "VARCHAR".into(),
            SqlType::Date => "DATE".into(),
            SqlType::Time => "TIME".into(),
            SqlType::Timestamp => "TIMESTAMP".into(),
            SqlType::Varbinary(Some(n)) => format!("VARBINARY({n})"),
            SqlType::Varbinary(None) => "VARBINARY".into(),
            SqlType::Interval => "INTERVAL".into(),
        }
    }

    fn int_range(&self) -> Option<(i64, i64)> {
        match self {
            SqlType::TinyInt => Some((i8::MIN as i64, i8::MAX as i64)),
            SqlType::SmallInt => Some((i16::MIN as i64, i16::MAX as i64)),
            SqlType::Integer => Some((i32::MIN as i64, i32::MAX as i64)),
            SqlType::BigInt => Some((i64::MIN, i64::MAX)),
            _ => None,
        }
    }
}

/// One SQL value.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `unscaled / 10^scale`.
    Decimal(i128, u8),
    Str(std::rc::Rc<str>),
    /// Epoch milliseconds, UTC.
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i64),
    /// Milliseconds since midnight.
    Time(i64),
    /// Milliseconds (day-time intervals only, as KDA has).
    Interval(i64),
    Binary(Vec<u8>),
    /// A row value (what the log parsers return), fields by name.
    Row(Vec<(String, Value)>),
}

/// Why a value could not be converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoercionError(pub String);

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "BOOLEAN",
            Value::Int(_) => "BIGINT",
            Value::Float(_) => "DOUBLE",
            Value::Decimal(..) => "DECIMAL",
            Value::Str(_) => "VARCHAR",
            Value::Timestamp(_) => "TIMESTAMP",
            Value::Date(_) => "DATE",
            Value::Time(_) => "TIME",
            Value::Interval(_) => "INTERVAL",
            Value::Binary(_) => "VARBINARY",
            Value::Row(_) => "ROW",
        }
    }

    /// As a double, for arithmetic that leaves exact types.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(u, s) => Some(*u as f64 / 10f64.powi(*s as i32)),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.is_finite() => Some(f.trunc() as i64),
            Value::Decimal(u, s) => i64::try_from(*u / 10i128.pow(*s as u32)).ok(),
            _ => None,
        }
    }

    /// The ordering SQL comparisons use; `None` when either side is NULL
    /// or the types do not compare.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Decimal(a, sa), Decimal(b, sb)) => {
                let (a, b) = align(*a, *sa, *b, *sb);
                Some(a.cmp(&b))
            }
            (Int(a), Decimal(b, sb)) => {
                let (a, b) = align(*a as i128, 0, *b, *sb);
                Some(a.cmp(&b))
            }
            (Decimal(a, sa), Int(b)) => {
                let (a, b) = align(*a, *sa, *b as i128, 0);
                Some(a.cmp(&b))
            }
            (Int(_) | Float(_) | Decimal(..), Int(_) | Float(_) | Decimal(..)) => {
                self.as_f64()?.partial_cmp(&other.as_f64()?)
            }
            (Str(a), Str(b)) => Some(a.cmp(b)),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Timestamp(a), Timestamp(b))
            | (Date(a), Date(b))
            | (Time(a), Time(b))
            | (Interval(a), Interval(b)) => Some(a.cmp(b)),
            (Timestamp(a), Date(b)) => Some(a.cmp(&(b * 86_400_000))),
            (Date(a), Timestamp(b)) => Some((a * 86_400_000).cmp(b)),
            (Binary(a), Binary(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Converts to a declared column type, as storing into a stream does:
    /// integers range-checked, REAL rounded to single precision, strings
    /// truncated to their length (KDA truncates silently), DECIMAL rounded
    /// to its scale.
    pub fn coerce(self, ty: &SqlType) -> Result<Value, CoercionError> {
        use Value::*;
        if self.is_null() {
            return Ok(Null);
        }
        let err = |v: &Value| {
            CoercionError(format!(
                "cannot convert {} value {} to {}",
                v.type_name(),
                v.to_text(),
                ty.name()
            ))
        };
        Ok(match ty {
            SqlType::Boolean => match &self {
                Bool(b) => Bool(*b),
                Int(i) => Bool(*i != 0),
                Float(f) => Bool(*f != 0.0),
                Decimal(u, _) => Bool(*u != 0),
                Str(s) => Bool(s.trim().eq_ignore_ascii_case("true")),
                _ => return Err(err(&self)),
            },
            SqlType::TinyInt | SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => {
                let (lo, hi) = ty.int_range().unwrap_or((i64::MIN, i64::MAX));
                let i = match &self {
                    Int(i) => *i,
                    Bool(b) => *b as i64,
                    Float(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.2e18 => *f as i64,
                    Decimal(u, s) if u % 10i128.pow(*s as u32) == 0 => {
                        i64::try_from(u / 10i128.pow(*s as u32)).map_err(|_| err(&self))?
                    }
                    Str(s) => s.trim().parse::<i64>().map_err(|_| err(&self))?,
                    _ => return Err(err(&self)),
                };
                if i < lo || i > hi {
                    return Err(CoercionError(format!(
                        "{i} is out of range for {}",
                        ty.name()
                    )));
                }
                Int(i)
            }
            SqlType::Real | SqlType::Double => {
                let f = match &self {
                    Bool(b) => *b as i64 as f64,
                    Str(s) => s.trim().parse::<f64>().map_err(|_| err(&self))?,
                    v => v.as_f64().ok_or_else(|| err(v))?,
                };
                Float(if *ty == SqlType::Real {
                    f as f32 as f64
                } else {
                    f
                })
            }
            SqlType::Decimal { precision, scale } => {
                let d = match &self {
                    Str(s) => parse_decimal(s.trim()).ok_or_else(|| err(&self))?,
                    Int(i) => (*i as i128, 0),
                    Decimal(u, s) => (*u, *s),
                    Float(f) => parse_decimal(&format!("{f}")).ok_or_else(|| err(&self))?,
                    Bool(b) => (*b as i128, 0),
                    _ => return Err(err(&self)),
                };
                let u = rescale(d.0, d.1, *scale);
                if *precision > 0 && u.unsigned_abs() >= 10u128.pow(*precision as u32) {
                    return Err(CoercionError(format!(
                        "{} does not fit {}",
                        self.to_text(),
                        ty.name()
                    )));
                }
                Decimal(u, *scale)
            }
            SqlType::Char(n) => Str((truncate(self.to_text(), Some(*n))).into()),
            SqlType::Varchar(n) => Str((truncate(self.to_text(), *n)).into()),
            SqlType::Timestamp => match &self {
                Timestamp(t) => Timestamp(*t),
                Date(d) => Timestamp(d * 86_400_000),
                Str(s) => Timestamp(parse_timestamp(s).ok_or_else(|| err(&self))?),
                _ => return Err(err(&self)),
            },
            SqlType::Date => match &self {
                Date(d) => Date(*d),
                Timestamp(t) => Date(t.div_euclid(86_400_000)),
                Str(s) => Date(
                    parse_timestamp(s)
                        .ok_or_else(|| err(&self))?
                        .div_euclid(86_400_000),
                ),
                _ => return Err(err(&self)),
            },
            SqlType::Time => match &self {
                Time(t) => Time(*t),
                Timestamp(t) => Time(t.rem_euclid(86_400_000)),
                Str(s) => Time(parse_time(s.trim()).ok_or_else(|| err(&self))?),
                _ => return Err(err(&self)),
            },
            SqlType::Interval => match &self {
                Interval(i) => Interval(*i),
                _ => return Err(err(&self)),
            },
            SqlType::Varbinary(_) => match &self {
                Binary(b) => Binary(b.clone()),
                Str(s) => Binary(s.as_bytes().to_vec()),
                _ => return Err(err(&self)),
            },
        })
    }

    /// The value's text, as CAST to VARCHAR and string concatenation see it.
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Decimal(u, s) => format_decimal(*u, *s),
            Value::Str(s) => s.to_string(),
            Value::Timestamp(t) => format_timestamp(*t),
            Value::Date(d) => {
                let (y, m, d) = civil_from_days(*d);
                format!("{y:04}-{m:02}-{d:02}")
            }
            Value::Time(t) => format_time(*t),
            Value::Interval(ms) => format_interval(*ms),
            Value::Binary(b) => b.iter().fold(String::new(), |mut s, x| {
                let _ = write!(s, "{x:02X}");
                s
            }),
            Value::Row(fields) => {
                let inner: Vec<String> = fields.iter().map(|(_, v)| v.to_text()).collect();
                format!("ROW({})", inner.join(", "))
            }
        }
    }

    /// The value as JSON, as an output destination writes it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            // Exact decimals print as JSON numbers with their scale kept.
            Value::Decimal(u, s) => serde_json::from_str(&format_decimal(*u, *s))
                .unwrap_or_else(|_| serde_json::Value::String(format_decimal(*u, *s))),
            Value::Row(fields) => serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            other => serde_json::Value::String(other.to_text()),
        }
    }
}

/// Grouping and DISTINCT treat values as equal when SQL's `=` would, and
/// NULLs as one group.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            // The common cases first: grouping compares keys of one type.
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Null, Value::Null) => true,
            (Value::Row(a), Value::Row(b)) => a == b,
            _ => self.sql_cmp(other) == Some(Ordering::Equal),
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => 0u8.hash(state),
            Value::Bool(b) => b.hash(state),
            // Numbers that compare equal must hash equally: integral values
            // hash as integers, the rest by their double's bits.
            Value::Int(_) | Value::Float(_) | Value::Decimal(..) => {
                let f = self.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 9.0e18 {
                    (f as i64).hash(state)
                } else {
                    f.to_bits().hash(state)
                }
            }
            Value::Str(s) => s.hash(state),
            Value::Timestamp(t) => t.hash(state),
            Value::Date(d) => (d * 86_400_000).hash(state),
            Value::Time(t) | Value::Interval(t) => t.hash(state),
            Value::Binary(b) => b.hash(state),
            Value::Row(fields) => fields.hash(state),
        }
    }
}

/// Total order for sorting output (NULLs first, then by SQL order, then by
/// type name so mixed types never panic).
pub fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a
            .sql_cmp(b)
            .unwrap_or_else(|| match (a.as_f64(), b.as_f64()) {
                // NaN: after every number, so the order stays total.
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => a.type_name().cmp(b.type_name()),
            }),
    }
}

fn truncate(s: String, n: Option<u32>) -> String {
    match n {
        Some(n) if s.chars().count() > n as usize => s.chars().take(n as usize).collect(),
        _ => s,
    }
}

pub(crate) fn align(a: i128, sa: u8, b: i128, sb: u8) -> (i128, i128) {
    match sa.cmp(&sb) {
        Ordering::Equal => (a, b),
        Ordering::Less => (a.saturating_mul(10i128.pow((sb - sa) as u32)), b),
        Ordering::Greater => (a, b.saturating_mul(10i128.pow((sa - sb) as u32))),
    }
}

/// Changes a decimal's scale, rounding half away from zero.
pub(crate) fn rescale(u: i128, from: u8, to: u8) -> i128 {
    match from.cmp(&to) {
        Ordering::Equal => u,
        Ordering::Less => u.saturating_mul(10i128.pow((to - from) as u32)),
        Ordering::Greater => {
            let d = 10i128.pow((from - to) as u32);
            let (q, r) = (u / d, u % d);
            if r.abs() * 2 >= d {
                q + u.signum()
            } else {
                q
            }
        }
    }
}

/// Parses `-12.340` into `(-12340, 3)`.
pub fn parse_decimal(s: &str) -> Option<(i128, u8)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 18
        || int.len() > 20
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let u: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some((if neg { -u } else { u }, frac.len() as u8))
}

pub fn format_decimal(u: i128, s: u8) -> String {
    if s == 0 {
        return u.to_string();
    }
    let p = 10i128.pow(s as u32);
    let sign = if u < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:0width$}",
        (u / p).abs(),
        (u % p).abs(),
        width = s as usize
    )
}

/// Shortest text that reads back as the same value. A value that came
/// from a REAL (exactly a single-precision number) prints as the single
/// it is, `33.11` rather than `33.11000061035156`.
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else if f.is_finite() && (f as f32) as f64 == f {
        format!("{}", f as f32)
    } else {
        format!("{f}")
    }
}

/// `2018-11-01 00:00:00.000`: the form KDA shows, with milliseconds.
pub fn format_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {}",
        format_time(ms.rem_euclid(86_400_000))
    )
}

fn format_time(ms: i64) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
}

fn format_interval(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let a = ms.unsigned_abs();
    let (d, rest) = (a / 86_400_000, a % 86_400_000);
    format!(
        "{sign}{d} {:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// The timestamps SQL can hold: years 0001 to 9999, as in Java and KDA.
pub const MIN_TIMESTAMP: i64 = -62_135_596_800_000;
pub const MAX_TIMESTAMP: i64 = 253_402_300_799_999;

/// A timestamp in range, or why not.
pub fn checked_timestamp(ms: i64) -> Option<i64> {
    (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&ms).then_some(ms)
}

/// Parses the timestamp forms records and SQL literals use:
/// `2018-11-01 01:00:00.0`, `2018-06-13T14:11:05.766191` (fractions past
/// milliseconds truncated), an optional `Z`, or a bare date.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = shardlab_engine::time_pattern::days_from_civil(y, m, d);
    let t = match time {
        Some(t) => parse_time(t)?,
        None => 0,
    };
    Some(days * 86_400_000 + t)
}

/// `HH:mm[:ss[.fff...]]` to milliseconds since midnight.
pub fn parse_time(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let mi: i64 = parts.next()?.parse().ok()?;
    let (sec, frac) = match parts.next() {
        Some(rest) => {
            let (sec, frac) = rest.split_once('.').unwrap_or((rest, ""));
            (sec.parse::<i64>().ok()?, frac)
        }
        None => (0, ""),
    };
    if h > 23 || mi > 59 || sec > 60 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    Some(((h * 60 + mi) * 60 + sec) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_kda_form() {
        let t = parse_timestamp("2018-11-01 01:00:00.0").unwrap();
        assert_eq!(format_timestamp(t), "2018-11-01 01:00:00.000");
        let t = parse_timestamp("2018-06-13T14:11:05.766191").unwrap();
        assert_eq!(format_timestamp(t), "2018-06-13 14:11:05.766");
        assert_eq!(parse_timestamp("2018-13-01"), None);
    }

    #[test]
    fn timestamp_range_is_years_1_to_9999() {
        assert_eq!(parse_timestamp("0001-01-01 00:00:00"), Some(MIN_TIMESTAMP));
        assert_eq!(
            parse_timestamp("9999-12-31 23:59:59.999"),
            Some(MAX_TIMESTAMP)
        );
        assert_eq!(parse_timestamp("10000-01-01"), None);
        assert_eq!(parse_timestamp("9223372036854775807-01-01"), None);
    }

    #[test]
    fn coercion_follows_kda_rules() {
        let v = Value::Str("Technology-and-more".into());
        assert_eq!(
            v.coerce(&SqlType::Varchar(Some(12))).unwrap().to_text(),
            "Technology-a"
        );
        assert!(Value::Float(123.4).coerce(&SqlType::Integer).is_err());
        assert!(Value::Int(300).coerce(&SqlType::TinyInt).is_err());
        let d = Value::Str("4.005".into())
            .coerce(&SqlType::Decimal {
                precision: 10,
                scale: 2,
            })
            .unwrap();
        assert_eq!(d.to_text(), "4.01");
        assert_eq!(
            Value::Str("TRUE".into()).coerce(&SqlType::Boolean).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            Value::Float(33.11)
                .coerce(&SqlType::Real)
                .unwrap()
                .to_text(),
            "33.11"
        );
    }

    #[test]
    fn equal_numbers_group_together() {
        use std::collections::hash_map::DefaultHasher;
        let h = |v: &Value| {
            let mut s = DefaultHasher::new();
            v.hash(&mut s);
            s.finish()
        };
        assert_eq!(Value::Int(2), Value::Decimal(200, 2));
        assert_eq!(h(&Value::Int(2)), h(&Value::Decimal(200, 2)));
        assert_eq!(h(&Value::Int(2)), h(&Value::Float(2.0)));
    }
}
