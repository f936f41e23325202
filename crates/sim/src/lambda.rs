//! Lambda functions a scenario's delivery streams transform records with.
//!
//! Firehose hands out invocations in AWS's event format and takes the
//! function's response back (see `shardlab_firehose::transform`). Here are
//! the functions: built-ins that run anywhere (pick fields of a JSON
//! record, keep records whose field has a value) and JavaScript that the
//! browser runs in a worker of its own, with a time limit. A JavaScript
//! invocation issued in one tick is answered before the next tick finishes
//! and applied there, at that tick's virtual time, whichever host runs the
//! shards and however fast, so a run stays reproducible.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A function a scenario declares; processors name it by ARN
/// (`arn:aws:lambda:us-east-1:123456789012:function:<name>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaFunction {
    pub name: String,
    pub code: FunctionCode,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionCode {
    /// Keeps only these fields of a JSON object record (`Ok`); a record
    /// that is not a JSON object is `ProcessingFailed`.
    SelectFields(Vec<String>),
    /// Keeps records whose `field` equals `equals` (`Ok`, unchanged) and
    /// drops the others (`Dropped`); not a JSON object: `ProcessingFailed`.
    KeepIf { field: String, equals: Value },
    /// Fails on records whose `field` equals `equals` (and on records that
    /// are not JSON objects): a bad record to watch retries, bisection
    /// and discards with. For an event source mapping it throws, or with
    /// `report_item_failures` returns them as `batchItemFailures`; as a
    /// Firehose transform it marks them `ProcessingFailed`.
    FailIf {
        field: String,
        equals: Value,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        report_item_failures: bool,
    },
    /// A handler in JavaScript, as written for AWS Lambda's Node.js
    /// runtime (`exports.handler = async (event) => ...`); runs in the
    /// browser only.
    Javascript(String),
}

/// The longest JavaScript source a scenario may carry.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;

impl LambdaFunction {
    pub fn validate(&self) -> Result<(), String> {
        let n = &self.name;
        if n.is_empty()
            || n.len() > 64
            || !n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(format!(
                "the Lambda function name '{n}' must be 1–64 of a–z A–Z 0–9 - _"
            ));
        }
        match &self.code {
            FunctionCode::SelectFields(f) if f.is_empty() => Err(format!(
                "function {n}: select_fields needs at least one field"
            )),
            FunctionCode::Javascript(src) if src.trim().is_empty() => {
                Err(format!("function {n}: the JavaScript source is empty"))
            }
            FunctionCode::Javascript(src) if src.len() > MAX_SOURCE_BYTES => Err(format!(
                "function {n}: the JavaScript source is {} bytes; at most {MAX_SOURCE_BYTES}",
                src.len()
            )),
            _ => Ok(()),
        }
    }

    /// A built-in's response to an invocation payload; `None` for
    /// JavaScript, which the host runs.
    pub fn run_builtin(&self, payload: &[u8]) -> Option<Result<Vec<u8>, String>> {
        let decide = |data: &[u8]| -> (&'static str, Vec<u8>) {
            let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(data) else {
                return ("ProcessingFailed", data.to_vec());
            };
            match &self.code {
                FunctionCode::SelectFields(fields) => {
                    // In the order the function lists them (a JSON map
                    // would sort them).
                    let picked: Vec<String> = fields
                        .iter()
                        .filter_map(|f| {
                            obj.get(f)
                                .map(|v| format!("{}:{v}", Value::from(f.as_str())))
                        })
                        .collect();
                    ("Ok", format!("{{{}}}", picked.join(",")).into_bytes())
                }
                FunctionCode::KeepIf { field, equals } => {
                    if obj.get(field) == Some(equals) {
                        ("Ok", data.to_vec())
                    } else {
                        ("Dropped", data.to_vec())
                    }
                }
                FunctionCode::FailIf { field, equals, .. } => {
                    if obj.get(field) == Some(equals) {
                        ("ProcessingFailed", data.to_vec())
                    } else {
                        ("Ok", data.to_vec())
                    }
                }
                FunctionCode::Javascript(_) => ("ProcessingFailed", data.to_vec()),
            }
        };
        if matches!(self.code, FunctionCode::Javascript(_)) {
            return None;
        }
        Some((|| {
            let event: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
            let records = event["records"].as_array().ok_or("no records")?;
            let out: Vec<Value> = records
                .iter()
                .map(|r| {
                    let data = r["data"]
                        .as_str()
                        .and_then(|d| BASE64.decode(d).ok())
                        .unwrap_or_default();
                    let (result, data) = decide(&data);
                    json!({"recordId": r["recordId"], "result": result, "data": BASE64.encode(data)})
                })
                .collect();
            Ok(json!({ "records": out }).to_string().into_bytes())
        })())
    }
}

impl LambdaFunction {
    /// A built-in's answer to an event source mapping's Kinesis event
    /// (`{"Records": [...]}`, as JSON text): its response (empty: none) or
    /// the error it throws; `None` for JavaScript, which the host runs.
    /// Only `fail_if` fails; the others process every record.
    /// A built-in as a SQL application's Lambda output: it acknowledges
    /// each record `Ok`, except that FailIf answers `DeliveryFailed` for a
    /// matching record (or one that is not a JSON object), to watch KDA
    /// send it again with a higher retryHint.
    pub fn run_output_builtin(&self, event: &str) -> Option<Result<Vec<u8>, String>> {
        let fail = match &self.code {
            FunctionCode::Javascript(_) => return None,
            FunctionCode::FailIf { field, equals, .. } => Some((field, equals)),
            FunctionCode::SelectFields(_) | FunctionCode::KeepIf { .. } => None,
        };
        let event: Value = match serde_json::from_str(event) {
            Ok(v) => v,
            Err(e) => return Some(Err(format!("SyntaxError: {e}"))),
        };
        let records: Vec<Value> = event["records"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let failed = fail.is_some_and(|(field, equals)| {
                    let data = r["data"]
                        .as_str()
                        .and_then(|d| BASE64.decode(d).ok())
                        .unwrap_or_default();
                    match serde_json::from_slice::<Value>(&data) {
                        Ok(Value::Object(obj)) => obj.get(field) == Some(equals),
                        _ => true,
                    }
                });
                json!({
                    "recordId": r["recordId"],
                    "result": if failed { "DeliveryFailed" } else { "Ok" },
                })
            })
            .collect();
        Some(Ok(json!({ "records": records }).to_string().into_bytes()))
    }

    /// With a tumbling window (the event has `window`), a built-in also
    /// returns the state, counting the records per partition key as AWS's
    /// example handler does.
    pub fn run_stream_builtin(&self, event: &str) -> Option<Result<Vec<u8>, String>> {
        if matches!(self.code, FunctionCode::Javascript(_)) {
            return None;
        }
        let event: Value = match serde_json::from_str(event) {
            Ok(v) => v,
            Err(e) => return Some(Err(format!("SyntaxError: {e}"))),
        };
        let answer = self.stream_answer(&event);
        if event.get("window").is_none() {
            return Some(answer);
        }
        let mut state = match &event["state"] {
            Value::Object(m) => m.clone(),
            _ => Default::default(),
        };
        // Only the records before the lowest failed one: Lambda keeps those,
        // and sends the rest again.
        let failed_at: Option<String> = answer
            .as_ref()
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| {
                v["batchItemFailures"][0]["itemIdentifier"]
                    .as_str()
                    .map(str::to_string)
            });
        let kept = event["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .take_while(|r| {
                failed_at.is_none()
                    || r["kinesis"]["sequenceNumber"].as_str() != failed_at.as_deref()
            });
        for r in kept {
            let key = r["kinesis"]["partitionKey"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let n = state.get(&key).and_then(Value::as_u64).unwrap_or(0);
            state.insert(key, json!(n + 1));
        }
        Some(answer.map(|bytes| {
            let mut out = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            if out.get("batchItemFailures").is_none() {
                out["batchItemFailures"] = json!([]);
            }
            out["state"] = Value::Object(state);
            out.to_string().into_bytes()
        }))
    }

    fn stream_answer(&self, event: &Value) -> Result<Vec<u8>, String> {
        let (field, equals, report) = match &self.code {
            FunctionCode::FailIf {
                field,
                equals,
                report_item_failures,
            } => (field, equals, *report_item_failures),
            _ => return Ok(Vec::new()),
        };
        let mut failed = Vec::new();
        for r in event["Records"].as_array().into_iter().flatten() {
            let seq = r["kinesis"]["sequenceNumber"].as_str().unwrap_or("");
            let data = r["kinesis"]["data"]
                .as_str()
                .and_then(|d| BASE64.decode(d).ok())
                .unwrap_or_default();
            let why = match serde_json::from_slice::<Value>(&data) {
                Ok(Value::Object(obj)) if obj.get(field) == Some(equals) => {
                    format!("record {seq} has {field} = {equals}")
                }
                Ok(Value::Object(_)) => continue,
                _ => format!("record {seq} is not a JSON object"),
            };
            if !report {
                return Err(format!("Error: {why}"));
            }
            failed.push(json!({ "itemIdentifier": seq }));
        }
        Ok(json!({ "batchItemFailures": failed })
            .to_string()
            .into_bytes())
    }
}

/// A JavaScript invocation for the host to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsInvocation {
    /// Who invoked: a delivery stream's name, or `esm/` and an event source
    /// mapping's name.
    pub caller: String,
    pub id: u64,
    pub function: String,
    pub source: String,
    /// The event, as JSON text.
    pub event: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(records: &[&str]) -> Vec<u8> {
        json!({"records": records.iter().enumerate().map(|(i, r)| json!({
            "recordId": format!("r{i}"), "data": BASE64.encode(r)
        })).collect::<Vec<_>>()})
        .to_string()
        .into_bytes()
    }

    fn results(out: &[u8]) -> Vec<(String, String)> {
        let v: Value = serde_json::from_slice(out).unwrap();
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["result"].as_str().unwrap().to_string(),
                    String::from_utf8(BASE64.decode(r["data"].as_str().unwrap()).unwrap()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn built_ins_answer_as_a_lambda_would() {
        let pick = LambdaFunction {
            name: "pick".into(),
            code: FunctionCode::SelectFields(vec!["user".into(), "page".into()]),
        };
        let out = pick
            .run_builtin(&event(&[r#"{"user":"u1","page":"/","x":1}"#, "not json"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            results(&out),
            [
                ("Ok".into(), r#"{"user":"u1","page":"/"}"#.into()),
                ("ProcessingFailed".into(), "not json".into())
            ]
        );
        let keep = LambdaFunction {
            name: "buys".into(),
            code: FunctionCode::KeepIf {
                field: "action".into(),
                equals: json!("purchase"),
            },
        };
        let out = keep
            .run_builtin(&event(&[
                r#"{"action":"purchase"}"#,
                r#"{"action":"view"}"#,
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(results(&out)[0].0, "Ok");
        assert_eq!(results(&out)[1].0, "Dropped");
        let js = LambdaFunction {
            name: "js".into(),
            code: FunctionCode::Javascript("exports.handler = async (e) => e".into()),
        };
        assert!(js.run_builtin(&event(&["x"])).is_none());
        assert!(LambdaFunction {
            name: "bad name".into(),
            code: js.code.clone()
        }
        .validate()
        .is_err());
    }
}
