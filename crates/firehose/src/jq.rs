//! The part of jq that dynamic partitioning's `MetadataExtractionQuery`
//! uses: an object of named paths into the record, each optionally piped
//! through a filter, e.g.
//! `{customer_id: .customer_id, device: .type.device, year: .event_timestamp | strftime("%Y")}`.
//!
//! Paths are `.a.b`, `.a["b c"]`, `."b c"`; filters are `strftime("...")`
//! (%Y %m %d %H %M %S %j %y %%, on epoch seconds), `tostring`,
//! `ascii_downcase`, `ascii_upcase`. Anything else is refused when the
//! delivery stream is created, naming what is not supported.

use serde_json::Value;

use crate::timestamp::Civil;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Filter {
    Strftime(String),
    ToString,
    Downcase,
    Upcase,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Extraction {
    key: String,
    path: Vec<String>,
    filters: Vec<Filter>,
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    fields: Vec<Extraction>,
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }
    fn skip_ws(&mut self) {
        while self.rest().starts_with(|c: char| c.is_whitespace()) {
            self.pos += self.rest().chars().next().map_or(1, char::len_utf8);
        }
    }
    fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }
    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!(
            "MetadataExtractionQuery '{}': {what} at character {}",
            self.text,
            self.pos + 1
        ))
    }
    fn ident(&mut self) -> Option<String> {
        self.skip_ws();
        let n = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        if n == 0 || self.rest().starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let id = self.rest()[..n].to_string();
        self.pos += n;
        Some(id)
    }
    fn string(&mut self) -> Result<Option<String>, String> {
        self.skip_ws();
        if !self.rest().starts_with('"') {
            return Ok(None);
        }
        let mut de = serde_json::Deserializer::from_str(self.rest()).into_iter::<String>();
        match de.next() {
            Some(Ok(s)) => {
                self.pos += de.byte_offset();
                Ok(Some(s))
            }
            _ => self.fail("an unterminated string"),
        }
    }
    fn path(&mut self) -> Result<Vec<String>, String> {
        self.skip_ws();
        if !self.eat(".") {
            return self.fail("expected a path such as .field");
        }
        let mut path = Vec::new();
        loop {
            if let Some(id) = self.ident() {
                path.push(id);
            } else if let Some(s) = self.string()? {
                path.push(s);
            } else if self.eat("[") {
                match self.string()? {
                    Some(s) => path.push(s),
                    None => return self.fail("only [\"name\"] is supported inside brackets"),
                }
                if !self.eat("]") {
                    return self.fail("expected ]");
                }
            } else if path.is_empty() {
                return self.fail("expected a field name after .");
            }
            self.skip_ws();
            if self.rest().starts_with('.') || self.rest().starts_with('[') {
                self.eat(".");
                continue;
            }
            return Ok(path);
        }
    }
    fn filter(&mut self) -> Result<Filter, String> {
        match self.ident().as_deref() {
            Some("strftime") => {
                if !self.eat("(") {
                    return self.fail("expected ( after strftime");
                }
                let fmt = match self.string()? {
                    Some(f) => f,
                    None => return self.fail("strftime takes a format string"),
                };
                if !self.eat(")") {
                    return self.fail("expected )");
                }
                Ok(Filter::Strftime(fmt))
            }
            Some("tostring") => Ok(Filter::ToString),
            Some("ascii_downcase") => Ok(Filter::Downcase),
            Some("ascii_upcase") => Ok(Filter::Upcase),
            Some(other) => self.fail(&format!(
                "the filter {other} is not supported (supported: strftime, tostring, \
                 ascii_downcase, ascii_upcase)"
            )),
            None => self.fail("expected a filter after |"),
        }
    }
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, String> {
        let mut p = Parser { text, pos: 0 };
        if !p.eat("{") {
            return p.fail("expected an object such as {key: .field}");
        }
        let mut fields = Vec::new();
        loop {
            if p.eat("}") && fields.is_empty() {
                return p.fail("the object names no keys");
            }
            let key = match p.ident() {
                Some(k) => k,
                None => match p.string()? {
                    Some(k) => k,
                    None => return p.fail("expected a key name"),
                },
            };
            if !p.eat(":") {
                return p.fail("expected : after the key");
            }
            let path = p.path()?;
            let mut filters = Vec::new();
            while p.eat("|") {
                filters.push(p.filter()?);
            }
            fields.push(Extraction { key, path, filters });
            if p.eat(",") {
                continue;
            }
            if p.eat("}") {
                break;
            }
            return p.fail("expected , or }");
        }
        p.skip_ws();
        if !p.rest().is_empty() {
            return p.fail("unexpected text after the object");
        }
        if fields.len() > 50 {
            return Err("MetadataExtractionQuery extracts at most 50 keys".into());
        }
        Ok(Query { fields })
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.key.as_str())
    }

    /// The keys' values for one record, or why they cannot be had.
    pub fn extract(&self, record: &[u8]) -> Result<Vec<(String, String)>, String> {
        let doc: Value =
            serde_json::from_slice(record).map_err(|e| format!("the record is not JSON: {e}"))?;
        self.fields
            .iter()
            .map(|f| {
                let mut v = &doc;
                for step in &f.path {
                    v = v.get(step).ok_or_else(|| {
                        format!("the record has no .{} for key {}", f.path.join("."), f.key)
                    })?;
                }
                let mut value = v.clone();
                for filter in &f.filters {
                    value = apply(filter, value).map_err(|e| format!("key {}: {e}", f.key))?;
                }
                let text = match value {
                    Value::String(s) => s,
                    Value::Null => return Err(format!("key {} is null", f.key)),
                    other => other.to_string(),
                };
                Ok((f.key.clone(), text))
            })
            .collect()
    }
}

fn apply(filter: &Filter, value: Value) -> Result<Value, String> {
    match filter {
        Filter::ToString => Ok(Value::String(match value {
            Value::String(s) => s,
            other => other.to_string(),
        })),
        Filter::Downcase | Filter::Upcase => match value {
            Value::String(s) => Ok(Value::String(if *filter == Filter::Downcase {
                s.to_ascii_lowercase()
            } else {
                s.to_ascii_uppercase()
            })),
            _ => Err("ascii_downcase and ascii_upcase take a string".into()),
        },
        Filter::Strftime(fmt) => {
            let secs = value
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or("strftime takes a number of seconds since the epoch")?;
            let t = Civil::at((secs * 1000.0) as u64);
            let mut out = String::new();
            let mut chars = fmt.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('Y') => out.push_str(&format!("{:04}", t.year)),
                    Some('y') => out.push_str(&format!("{:02}", t.year.rem_euclid(100))),
                    Some('m') => out.push_str(&format!("{:02}", t.month)),
                    Some('d') => out.push_str(&format!("{:02}", t.day)),
                    Some('H') => out.push_str(&format!("{:02}", t.hour)),
                    Some('M') => out.push_str(&format!("{:02}", t.minute)),
                    Some('S') => out.push_str(&format!("{:02}", t.second)),
                    Some('j') => out.push_str(&format!("{:03}", t.day_of_year)),
                    Some('%') => out.push('%'),
                    other => {
                        return Err(format!(
                            "strftime %{} is not supported (supported: %Y %y %m %d %H %M %S %j %%)",
                            other.map_or(String::new(), String::from)
                        ))
                    }
                }
            }
            Ok(Value::String(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_developer_guide_example() {
        // The record and query of AWS's dynamic-partitioning example.
        let q = Query::parse(
            r#"{customer_id:.customer_id, device:.type.device, year:.event_timestamp|strftime("%Y"),
                month:.event_timestamp|strftime("%m"), day:.event_timestamp|strftime("%d"),
                hour:.event_timestamp|strftime("%H")}"#,
        )
        .unwrap();
        let record = br#"{"type":{"device":"mobile","event":"user_clicked_submit_button"},"customer_id":"1234567890","event_timestamp":1565382027,"region":"sample_region"}"#;
        assert_eq!(
            q.extract(record).unwrap(),
            [
                ("customer_id".to_string(), "1234567890".to_string()),
                ("device".into(), "mobile".into()),
                ("year".into(), "2019".into()),
                ("month".into(), "08".into()),
                ("day".into(), "09".into()),
                ("hour".into(), "20".into()),
            ]
        );
        assert_eq!(q.keys().count(), 6);
    }

    #[test]
    fn paths_filters_and_errors() {
        let q = Query::parse(r#"{ "a b": .x["y z"] | ascii_upcase, n: .n | tostring }"#).unwrap();
        assert_eq!(
            q.extract(br#"{"x":{"y z":"hi"},"n":5}"#).unwrap(),
            [
                ("a b".to_string(), "HI".to_string()),
                ("n".into(), "5".into())
            ]
        );
        assert!(q.extract(b"not json").unwrap_err().contains("not JSON"));
        assert!(q.extract(br#"{"x":{}}"#).unwrap_err().contains("no .x.y z"));
        for bad in [
            ".a",
            "{a: b}",
            "{a: .b | length}",
            "{a: .b",
            "{}",
            r#"{a: .b | strftime(1)}"#,
        ] {
            assert!(Query::parse(bad).is_err(), "{bad}");
        }
        let e = Query::parse("{a: .b | length}").unwrap_err();
        assert!(e.contains("the filter length is not supported"), "{e}");
    }
}
