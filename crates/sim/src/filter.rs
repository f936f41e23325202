//! Lambda event filtering (`FilterCriteria`) for a Kinesis event source
//! mapping: EventBridge-style patterns on a record's JSON `data`.
//!
//! A mapping's `{"Filters": [{"Pattern": "<JSON>"}]}` holds up to five
//! patterns; a record goes to the function when any of them matches it.
//! In a pattern every field must match (AND), and a field's array of
//! rules matches when any rule does (OR): a value (`"purchase"`, `5`,
//! `null`, `""`), `{"prefix": ...}`, `{"suffix": ...}`,
//! `{"equals-ignore-case": ...}`, `{"anything-but": ...}`,
//! `{"numeric": [">", 0, "<=", 5]}`, `{"exists": true|false}`; `"$or"`
//! takes a list of patterns. A record that matches no pattern is dropped
//! before any batch: the function never sees it, and the mapping moves on.

use serde_json::{Map, Value};

/// AWS's default quota of filters per event source mapping.
pub const MAX_FILTERS: usize = 5;
/// The longest pattern AWS takes.
pub const MAX_PATTERN_CHARS: usize = 4096;

/// A mapping's filters, read from `{"Filters": [{"Pattern": "..."}]}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filters {
    patterns: Vec<Map<String, Value>>,
}

fn invalid(m: impl Into<String>) -> String {
    format!(
        "InvalidParameterValueException: Invalid filter pattern definition. {}",
        m.into()
    )
}

impl Filters {
    /// Reads and checks `FilterCriteria`; the error reads as Lambda's.
    pub fn parse(criteria: &Value) -> Result<Filters, String> {
        let Some(list) = criteria.get("Filters").and_then(Value::as_array) else {
            return Err(invalid(
                "FilterCriteria is {\"Filters\": [{\"Pattern\": \"<JSON pattern>\"}]}",
            ));
        };
        if list.len() > MAX_FILTERS {
            return Err(invalid(format!(
                "{} filters; an event source mapping takes at most {MAX_FILTERS}",
                list.len()
            )));
        }
        let mut patterns = Vec::new();
        for (i, f) in list.iter().enumerate() {
            let Some(text) = f.get("Pattern").and_then(Value::as_str) else {
                return Err(invalid(format!("Filters[{i}] needs a Pattern string")));
            };
            if text.chars().count() > MAX_PATTERN_CHARS {
                return Err(invalid(format!(
                    "Filters[{i}].Pattern is longer than {MAX_PATTERN_CHARS} characters"
                )));
            }
            let pattern = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(invalid(format!(
                        "Filters[{i}].Pattern is not a JSON object: {text}"
                    )))
                }
            };
            for key in pattern.keys() {
                if key != "data" {
                    return Err(invalid(format!(
                        "Filters[{i}].Pattern filters on {key}: Kinesis event source mappings \
                         filter only on the data key ({{\"data\": {{...}}}})"
                    )));
                }
            }
            check_pattern(&pattern).map_err(|m| invalid(format!("Filters[{i}].Pattern: {m}")))?;
            patterns.push(pattern);
        }
        Ok(Filters { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a record with these `data` bytes goes to the function:
    /// without filters, always; with them, when its data is JSON and
    /// some pattern matches `{"data": <its JSON>}`.
    pub fn passes(&self, data: &[u8]) -> bool {
        if self.patterns.is_empty() {
            return true;
        }
        let Ok(json) = serde_json::from_slice::<Value>(data) else {
            return false;
        };
        let mut event = Map::new();
        event.insert("data".into(), json);
        self.patterns.iter().any(|p| matches_object(p, &event))
    }
}

fn check_pattern(p: &Map<String, Value>) -> Result<(), String> {
    for (key, v) in p {
        match (key.as_str(), v) {
            ("$or", Value::Array(alternatives)) if alternatives.len() >= 2 => {
                for a in alternatives {
                    match a {
                        Value::Object(m) => check_pattern(m)?,
                        _ => return Err("$or takes a list of patterns".into()),
                    }
                }
            }
            ("$or", _) => return Err("$or takes a list of at least two patterns".into()),
            (_, Value::Object(m)) => check_pattern(m)?,
            (_, Value::Array(rules)) if !rules.is_empty() => {
                for r in rules {
                    check_rule(r).map_err(|m| format!("{key}: {m}"))?;
                }
            }
            (_, Value::Array(_)) => return Err(format!("{key} has an empty list of rules")),
            (_, other) => {
                return Err(format!(
                    "{key} must be a list of rules or a nested pattern, not {other}"
                ))
            }
        }
    }
    Ok(())
}

fn check_rule(r: &Value) -> Result<(), String> {
    let Value::Object(m) = r else {
        return Ok(()); // a value to equal
    };
    let [(op, arg)] = m.iter().collect::<Vec<_>>()[..] else {
        return Err(format!("a rule has one operator: {r}"));
    };
    let string_or_case =
        |a: &Value| a.is_string() || a.get("equals-ignore-case").is_some_and(Value::is_string);
    let ok = match op.as_str() {
        "prefix" | "suffix" => string_or_case(arg),
        "equals-ignore-case" => arg.is_string(),
        "exists" => arg.is_boolean(),
        "anything-but" => match arg {
            Value::Array(vs) => vs.iter().all(|v| v.is_string() || v.is_number()),
            Value::Object(o) => {
                o.len() == 1
                    && o.iter()
                        .all(|(k, v)| matches!(k.as_str(), "prefix" | "suffix") && v.is_string())
            }
            v => v.is_string() || v.is_number(),
        },
        "numeric" => numeric_rule(arg).is_some(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{op} does not take {arg} (or is not a filter operator)"
        ))
    }
}

/// `[">", 0, "<=", 5]` or `["=", 100]`: comparisons that must all hold.
fn numeric_rule(arg: &Value) -> Option<Vec<(&str, f64)>> {
    let items = arg.as_array()?;
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return None;
    }
    items
        .chunks(2)
        .map(|c| {
            let op = c[0].as_str()?;
            let n = c[1].as_f64()?;
            matches!(op, "=" | "<" | "<=" | ">" | ">=").then_some((op, n))
        })
        .collect()
}

fn matches_object(p: &Map<String, Value>, event: &Map<String, Value>) -> bool {
    p.iter().all(|(key, v)| match (key.as_str(), v) {
        ("$or", Value::Array(alternatives)) => alternatives
            .iter()
            .any(|a| a.as_object().is_some_and(|m| matches_object(m, event))),
        (_, Value::Object(nested)) => match event.get(key) {
            Some(Value::Object(inner)) => matches_object(nested, inner),
            // A missing object: only rules that want it absent hold.
            _ => matches_object(nested, &Map::new()),
        },
        (_, Value::Array(rules)) => {
            let value = event.get(key);
            rules.iter().any(|r| match value {
                // Any element of an array can match.
                Some(Value::Array(items)) if !is_exists(r) => {
                    items.iter().any(|item| rule_matches(r, Some(item)))
                }
                v => rule_matches(r, v),
            })
        }
        _ => false,
    })
}

fn is_exists(r: &Value) -> bool {
    r.get("exists").is_some()
}

fn rule_matches(rule: &Value, value: Option<&Value>) -> bool {
    let text = || value.and_then(Value::as_str);
    match rule {
        Value::Object(m) => {
            let Some((op, arg)) = m.iter().next() else {
                return false;
            };
            match op.as_str() {
                // Only leaves exist: an object is not one.
                "exists" => arg.as_bool() == Some(value.is_some_and(|v| !v.is_object())),
                "prefix" | "suffix" => {
                    let Some(t) = text() else { return false };
                    let (want, fold) = match arg {
                        Value::String(s) => (s.as_str(), false),
                        other => match other.get("equals-ignore-case").and_then(Value::as_str) {
                            Some(s) => (s, true),
                            None => return false,
                        },
                    };
                    let (t, want) = if fold {
                        (t.to_lowercase(), want.to_lowercase())
                    } else {
                        (t.to_string(), want.to_string())
                    };
                    if op == "prefix" {
                        t.starts_with(&want)
                    } else {
                        t.ends_with(&want)
                    }
                }
                "equals-ignore-case" => text()
                    .zip(arg.as_str())
                    .is_some_and(|(t, w)| t.to_lowercase() == w.to_lowercase()),
                "anything-but" => {
                    let Some(v) = value else { return false };
                    match arg {
                        Value::Array(vs) => !vs.iter().any(|x| equal(x, v)),
                        Value::Object(o) => match (o.get("prefix"), o.get("suffix"), v.as_str()) {
                            (Some(Value::String(p)), _, Some(t)) => !t.starts_with(p.as_str()),
                            (_, Some(Value::String(s)), Some(t)) => !t.ends_with(s.as_str()),
                            _ => false,
                        },
                        x => !equal(x, v),
                    }
                }
                "numeric" => {
                    let Some(n) = value.and_then(Value::as_f64) else {
                        return false;
                    };
                    numeric_rule(arg).is_some_and(|cs| {
                        cs.iter().all(|(op, x)| match *op {
                            "=" => n == *x,
                            "<" => n < *x,
                            "<=" => n <= *x,
                            ">" => n > *x,
                            _ => n >= *x,
                        })
                    })
                }
                _ => false,
            }
        }
        literal => value.is_some_and(|v| equal(literal, v)),
    }
}

/// Pattern values equal event values exactly, numbers by how they are
/// written, as Lambda compares them (300, 300.0 and 3.0e2 differ).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.to_string() == y.to_string(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filters(patterns: &[&str]) -> Filters {
        let list: Vec<Value> = patterns.iter().map(|p| json!({ "Pattern": p })).collect();
        Filters::parse(&json!({ "Filters": list })).unwrap()
    }

    fn passes(patterns: &[&str], data: Value) -> bool {
        filters(patterns).passes(data.to_string().as_bytes())
    }

    #[test]
    fn rules_match_as_lambda_documents_them() {
        let d = json!({"action": "purchase", "price": 42.5, "qty": 300, "user": {"tier": "Gold"},
                       "tags": ["new", "sale"], "note": "", "coupon": null});
        let yes = [
            r#"{"data": {"action": ["purchase"]}}"#,
            r#"{"data": {"action": ["view", "purchase"]}}"#,
            r#"{"data": {"price": [{"numeric": [">", 40, "<=", 50]}]}}"#,
            r#"{"data": {"price": [{"numeric": ["=", 42.5]}]}}"#,
            r#"{"data": {"qty": [300], "price": [42.5]}}"#,
            r#"{"data": {"user": {"tier": [{"equals-ignore-case": "gold"}]}}}"#,
            r#"{"data": {"action": [{"prefix": "pur"}], "user": {"tier": [{"suffix": "old"}]}}}"#,
            r#"{"data": {"action": [{"anything-but": ["view", "click"]}]}}"#,
            r#"{"data": {"action": [{"anything-but": {"prefix": "vi"}}]}}"#,
            r#"{"data": {"tags": ["sale"]}}"#,
            r#"{"data": {"note": [""], "coupon": [null]}}"#,
            r#"{"data": {"missing": [{"exists": false}], "action": [{"exists": true}]}}"#,
            r#"{"data": {"$or": [{"action": ["view"]}, {"price": [{"numeric": [">", 40]}]}]}}"#,
            r#"{"data": {"action": [{"prefix": {"equals-ignore-case": "PUR"}}]}}"#,
        ];
        for p in yes {
            assert!(passes(&[p], d.clone()), "{p} should match");
        }
        let no = [
            r#"{"data": {"action": ["view"]}}"#,
            r#"{"data": {"action": ["PURCHASE"]}}"#,
            r#"{"data": {"price": [{"numeric": [">", 50]}]}}"#,
            r#"{"data": {"price": ["42.5"]}}"#,
            r#"{"data": {"action": [{"anything-but": "purchase"}]}}"#,
            r#"{"data": {"missing": [{"exists": true}]}}"#,
            r#"{"data": {"missing": [{"anything-but": "x"}]}}"#,
            r#"{"data": {"coupon": [{"exists": false}]}}"#,
            r#"{"data": {"user": {"tier": ["Silver"]}}}"#,
            r#"{"data": {"qty": [300.0]}}"#,
            r#"{"data": {"user": [{"exists": true}]}}"#,
        ];
        for p in no {
            assert!(!passes(&[p], d.clone()), "{p} should not match");
        }
        // Several filters: any of them; no filters: everything.
        assert!(passes(
            &[
                r#"{"data": {"action": ["view"]}}"#,
                r#"{"data": {"action": ["purchase"]}}"#
            ],
            d.clone()
        ));
        assert!(Filters::default().passes(b"not json"));
        // Data that is not JSON matches no pattern.
        assert!(!filters(&[r#"{"data": {"missing": [{"exists": false}]}}"#]).passes(b"plain text"));
    }

    #[test]
    fn bad_criteria_are_refused_as_lambda_refuses_them() {
        let refused = |criteria: Value, says: &str| {
            let e = Filters::parse(&criteria).unwrap_err();
            assert!(e.starts_with("InvalidParameterValueException: "), "{e}");
            assert!(e.contains(says), "{e} does not say {says}");
        };
        refused(json!({"Filter": []}), "FilterCriteria is");
        let six = vec![json!({"Pattern": "{\"data\": {\"a\": [1]}}"}); 6];
        refused(json!({ "Filters": six }), "at most 5");
        refused(
            json!({"Filters": [{"Pattern": "[1]"}]}),
            "not a JSON object",
        );
        refused(
            json!({"Filters": [{"Pattern": "{\"partitionKey\": [\"k\"]}"}]}),
            "only on the data key",
        );
        refused(
            json!({"Filters": [{"Pattern": "{\"data\": {\"a\": \"x\"}}"}]}),
            "must be a list of rules",
        );
        refused(
            json!({"Filters": [{"Pattern": "{\"data\": {\"a\": [{\"wild\": \"x\"}]}}"}]}),
            "not a filter operator",
        );
        refused(
            json!({"Filters": [{"Pattern": "{\"data\": {\"a\": [{\"numeric\": [\">\"]}]}}"}]}),
            "numeric",
        );
        refused(
            json!({"Filters": [{"Pattern": "x".repeat(4097)}]}),
            "longer than 4096",
        );
    }
}
