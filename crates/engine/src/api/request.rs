//! Reading a JSON 1.1 request body, and AWS's ValidationException.
//!
//! Requests arrive as JSON objects with PascalCase members. A member of the
//! wrong JSON type is a `SerializationException`, as the service answers;
//! constraint violations (missing, too long, out of range, bad pattern) are
//! collected and reported together in AWS's format:
//! `2 validation errors detected: Value null at 'streamName' failed to
//! satisfy constraint: Member must not be null; ...`, at most 10 clauses,
//! paths in lowerCamelCase with 1-based list indexes.

use serde_json::{Map, Value};

use crate::ApiError;

/// A request body: a JSON object.
pub struct Body<'a> {
    map: &'a Map<String, Value>,
}

fn type_error(member: &str, expected: &str) -> ApiError {
    ApiError::Serialization(format!("{member} must be {expected}"))
}

impl<'a> Body<'a> {
    pub fn new(value: &'a Value) -> Result<Body<'a>, ApiError> {
        match value {
            Value::Object(map) => Ok(Body { map }),
            _ => Err(ApiError::Serialization(
                "the request body must be a JSON object".into(),
            )),
        }
    }

    fn present(&self, member: &str) -> Option<&'a Value> {
        self.map.get(member).filter(|v| !v.is_null())
    }

    /// A member's JSON as sent (absent or null: None).
    pub fn raw(&self, member: &str) -> Option<&'a Value> {
        self.present(member)
    }

    pub fn str(&self, member: &str) -> Result<Option<&'a str>, ApiError> {
        match self.present(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(type_error(member, "a string")),
        }
    }

    /// An integer member; values beyond i64 are clamped (AWS echoes
    /// oversize integers clamped to the 32-bit maximum anyway).
    pub fn int(&self, member: &str) -> Result<Option<i64>, ApiError> {
        match self.present(member) {
            None => Ok(None),
            Some(Value::Number(n)) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Ok(Some(i)),
                (None, Some(_), _) => Ok(Some(i64::MAX)),
                (None, None, Some(f)) if f.fract() == 0.0 => Ok(Some(f as i64)),
                _ => Err(type_error(member, "an integer")),
            },
            Some(_) => Err(type_error(member, "an integer")),
        }
    }

    /// A timestamp member: epoch seconds as a JSON number (fractions allowed).
    pub fn timestamp_ms(&self, member: &str) -> Result<Option<u64>, ApiError> {
        match self.present(member) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(secs) if secs.is_finite() && secs >= 0.0 => {
                    Ok(Some((secs * 1000.0).round() as u64))
                }
                _ => Err(type_error(member, "a non-negative timestamp")),
            },
            Some(_) => Err(type_error(member, "a timestamp (epoch seconds)")),
        }
    }

    pub fn bool(&self, member: &str) -> Result<Option<bool>, ApiError> {
        match self.present(member) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(type_error(member, "true or false")),
        }
    }

    pub fn object(&self, member: &str) -> Result<Option<Body<'a>>, ApiError> {
        match self.present(member) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Body::new(v).map(Some),
            Some(_) => Err(type_error(member, "an object")),
        }
    }

    pub fn array(&self, member: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.present(member) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(type_error(member, "a list")),
        }
    }

    /// A map of strings to strings (e.g. `Tags`).
    pub fn string_map(&self, member: &str) -> Result<Option<Vec<(String, String)>>, ApiError> {
        match self.present(member) {
            None => Ok(None),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(type_error(member, "a map of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(type_error(member, "a map of strings")),
        }
    }
}

/// A request body's bytes as JSON: empty means `{}`; anything else must
/// parse, or it is a `SerializationException`.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::Serialization(format!("the request body is not valid JSON: {e}")))
}

/// One page of a resource's tags, as ListTagsForStream and
/// ListTagsForDeliveryStream answer: `Tags` after `start`, `HasMoreTags`.
pub fn tag_page(
    tags: &std::collections::BTreeMap<String, String>,
    start: Option<&str>,
    limit: usize,
) -> Value {
    let after: Vec<(&String, &String)> = tags
        .iter()
        .filter(|(k, _)| start.is_none_or(|st| k.as_str() > st))
        .collect();
    serde_json::json!({
        "Tags": after
            .iter()
            .take(limit)
            .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
            .collect::<Vec<_>>(),
        "HasMoreTags": after.len() > limit,
    })
}

/// Constraint violations, collected in AWS's format.
#[derive(Default)]
pub struct Validation {
    clauses: Vec<String>,
}

pub const STREAM_NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
pub const HASH_KEY_PATTERN: &str = "0|([1-9]\\d{0,38})";
pub const SEQUENCE_NUMBER_PATTERN: &str = "0|([1-9]\\d{0,128})";

pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// `0|([1-9]\d{0,max_more})`
pub fn is_decimal(s: &str, max_more: usize) -> bool {
    !s.is_empty()
        && s.len() <= max_more + 1
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
}

fn quote(v: &str) -> String {
    format!("'{v}'")
}

impl Validation {
    pub fn new() -> Self {
        Validation::default()
    }

    pub fn fail(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        let shown = value.map_or_else(|| "null".to_string(), quote);
        self.clauses.push(format!(
            "Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}"
        ));
    }

    pub fn required<T>(&mut self, value: &Option<T>, path: &str) {
        if value.is_none() {
            self.fail(None, path, "not be null");
        }
    }

    /// Length in characters (AWS counts UTF-16 code units for strings; for
    /// the ASCII members this checks, that is the same).
    pub fn length(&mut self, value: Option<&str>, path: &str, min: usize, max: usize) {
        if let Some(v) = value {
            let n = v.chars().count();
            if n < min {
                self.fail(
                    Some(v),
                    path,
                    &format!("have length greater than or equal to {min}"),
                );
            }
            if n > max {
                self.fail(
                    Some(v),
                    path,
                    &format!("have length less than or equal to {max}"),
                );
            }
        }
    }

    pub fn pattern(&mut self, value: Option<&str>, path: &str, ok: bool, pattern: &str) {
        if let Some(v) = value {
            if !ok {
                self.fail(
                    Some(v),
                    path,
                    &format!("satisfy regular expression pattern: {pattern}"),
                );
            }
        }
    }

    /// A stream or consumer name: 1–128 of `[a-zA-Z0-9_.-]`.
    pub fn name(&mut self, value: Option<&str>, path: &str) {
        if let Some(v) = value {
            self.pattern(Some(v), path, is_name(v), STREAM_NAME_PATTERN);
            self.length(Some(v), path, 1, 128);
        }
    }

    pub fn range(&mut self, value: Option<i64>, path: &str, min: i64, max: i64) {
        if let Some(v) = value {
            // AWS echoes integers as 32-bit values, clamped.
            let shown = v
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX))
                .to_string();
            if v < min {
                self.fail(
                    Some(&shown),
                    path,
                    &format!("have value greater than or equal to {min}"),
                );
            }
            if v > max {
                self.fail(
                    Some(&shown),
                    path,
                    &format!("have value less than or equal to {max}"),
                );
            }
        }
    }

    pub fn one_of(&mut self, value: Option<&str>, path: &str, allowed: &[&str]) {
        if let Some(v) = value {
            if !allowed.contains(&v) {
                self.fail(
                    Some(v),
                    path,
                    &format!("satisfy enum value set: [{}]", allowed.join(", ")),
                );
            }
        }
    }

    /// A list's length within `min..=max`; `shown` is how AWS prints the
    /// list when it is too long (an element type name), if anything.
    pub fn items(&mut self, len: usize, path: &str, min: usize, max: usize, shown: Option<&str>) {
        if len < min {
            self.fail(
                Some("[]"),
                path,
                &format!("have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.fail(
                shown,
                path,
                &format!("have length less than or equal to {max}"),
            );
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        let n = self.clauses.len();
        if n == 0 {
            return Ok(());
        }
        let head = if n == 1 {
            "1 validation error detected: ".to_string()
        } else {
            format!("{n} validation errors detected: ")
        };
        let shown: Vec<String> = self.clauses.into_iter().take(10).collect();
        Err(ApiError::validation(format!("{head}{}", shown.join("; "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_are_reported_together_in_aws_format() {
        let mut v = Validation::new();
        v.required::<()>(&None, "shardCount");
        v.required::<()>(&None, "streamName");
        let err = v.finish().unwrap_err();
        assert_eq!(
            err.message(),
            "2 validation errors detected: Value null at 'shardCount' failed to satisfy \
             constraint: Member must not be null; Value null at 'streamName' failed to satisfy \
             constraint: Member must not be null"
        );
        let mut v = Validation::new();
        v.range(Some(100_000_000_000), "shardCount", 1, 100_000);
        assert_eq!(
            v.finish().unwrap_err().message(),
            "1 validation error detected: Value '2147483647' at 'shardCount' failed to satisfy \
             constraint: Member must have value less than or equal to 100000"
        );
    }

    #[test]
    fn decimal_patterns() {
        assert!(is_decimal("0", 38));
        assert!(is_decimal("123", 38));
        assert!(!is_decimal("0123", 38));
        assert!(!is_decimal("", 38));
        assert!(!is_decimal(&"9".repeat(40), 38));
        assert!(is_decimal(&"9".repeat(39), 38));
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        let v: Value = serde_json::json!({"StreamName": 5});
        let b = Body::new(&v).unwrap();
        assert!(matches!(
            b.str("StreamName"),
            Err(ApiError::Serialization(_))
        ));
        assert_eq!(b.str("Missing").unwrap(), None);
    }
}
