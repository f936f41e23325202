//! Record templates in the Amazon Kinesis Data Generator's syntax, so a
//! template from an AWS tutorial pastes in unchanged:
//!
//! ```text
//! {"sensorId": {{random.number(50)}},
//!  "currentTemperature": {{random.number({"min":10,"max":150})}},
//!  "status": "{{random.arrayElement(["OK","FAIL","WARN"])}}"}
//! ```
//!
//! As the KDG does, the template is trimmed and its line breaks removed
//! (a multi-line JSON template makes one-line records), `{{...}}` calls a
//! faker.js function (see [`faker::METHODS`]) with arguments written as
//! JSON, and `{{current.timestamp}}` means `{{date.now}}`. Unlike the KDG,
//! every value is drawn from the producer's seeded generator and every
//! date from the virtual clock, so the same seed makes the same records.
//!
//! A template is read once, when the scenario starts: an unknown function,
//! a bad argument or records that could outgrow a Kinesis record are
//! errors with a line and column then.

pub(crate) mod cards;
pub mod faker;
pub mod moment;

use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use faker::{Gen, Render};

/// Longest template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 65_536;
/// Most `{{...}}` calls in one template.
pub const MAX_CALLS: usize = 1_000;
/// What a record's data may hold: Kinesis takes 1 MiB of data and
/// partition key together, and keys run to 256 bytes.
pub const MAX_RECORD_BYTES: usize = 1_048_576 - 256;

/// A template that failed to read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("record template, line {line}, column {column}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

enum Part {
    Text(String),
    Call(Render),
}

/// A compiled record template.
pub struct RecordTemplate {
    parts: Vec<Part>,
    /// Most bytes a record can have.
    bound: usize,
}

impl std::fmt::Debug for RecordTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordTemplate")
            .field("parts", &self.parts.len())
            .field("bound", &self.bound)
            .finish()
    }
}

impl RecordTemplate {
    pub fn compile(source: &str) -> Result<RecordTemplate, TemplateError> {
        let at = |offset: usize, message: String| {
            let before = &source[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            TemplateError {
                line,
                column,
                message,
            }
        };
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(at(
                0,
                format!(
                    "the template is {} bytes; the playground reads templates of up to {MAX_TEMPLATE_BYTES}",
                    source.len()
                ),
            ));
        }
        let start = source.len() - source.trim_start().len();
        let end = source.trim_end().len();
        if start >= end {
            return Err(at(
                0,
                "the template is empty; write one record, e.g. {\"id\": {{random.number(100)}}}"
                    .into(),
            ));
        }
        let mut parts = Vec::new();
        let mut bound = 0usize;
        let mut text = String::new();
        let mut pos = start;
        let mut calls = 0;
        while pos < end {
            let rest = &source[pos..end];
            let Some(open) = rest.find("{{") else {
                push_text(&mut text, rest);
                break;
            };
            push_text(&mut text, &rest[..open]);
            let call_at = pos + open;
            let (render, call_bound, after) =
                read_call(source, call_at, end).map_err(|(o, m)| at(o, m))?;
            calls += 1;
            if calls > MAX_CALLS {
                return Err(at(
                    call_at,
                    format!("more than {MAX_CALLS} {{{{...}}}} calls in one template"),
                ));
            }
            if !text.is_empty() {
                bound += text.len();
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            bound = bound.saturating_add(call_bound);
            parts.push(Part::Call(render));
            pos = after;
        }
        if !text.is_empty() {
            bound += text.len();
            parts.push(Part::Text(text));
        }
        if bound > MAX_RECORD_BYTES {
            return Err(at(
                start,
                format!(
                    "records from this template can run to {bound} bytes; a Kinesis record holds \
                     at most 1 MiB of data and partition key (use fewer or shorter calls)"
                ),
            ));
        }
        Ok(RecordTemplate { parts, bound })
    }

    /// One record: `now_ms` is its arrival time on the virtual clock.
    pub fn render(&self, rng: &mut ChaCha8Rng, now_ms: u64) -> String {
        let mut out = String::with_capacity(self.bound.min(1024));
        let mut g = Gen { rng, now_ms };
        for part in &self.parts {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Call(render) => render(&mut g, &mut out),
            }
        }
        out
    }

    /// Most bytes one record can have.
    pub fn bound(&self) -> usize {
        self.bound
    }
}

/// Literal text with its line breaks removed, as the KDG removes them.
fn push_text(text: &mut String, s: &str) {
    text.extend(s.chars().filter(|c| *c != '\n' && *c != '\r'));
}

type CallError = (usize, String);

/// Reads the call `{{ns.method(args)}}` at `at`; returns it, its bound and
/// the offset after its `}}`.
fn read_call(source: &str, at: usize, end: usize) -> Result<(Render, usize, usize), CallError> {
    let body = at + 2;
    let bytes = source.as_bytes();
    let mut i = body;
    while i < end && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_') {
        i += 1;
    }
    let path = &source[body..i];
    if path.is_empty() {
        let what = if i < end && bytes[i].is_ascii_whitespace() {
            "a space after {{: the Kinesis Data Generator reads the function name right after the braces, e.g. {{name.firstName}}".to_string()
        } else {
            "{{ opens a call but no function name follows, e.g. {{name.firstName}} or {{random.number(100)}}".to_string()
        };
        return Err((at, what));
    }
    let mut args: Vec<Value> = Vec::new();
    if i < end && bytes[i] == b'(' {
        let close = matching_paren(source, i, end).ok_or_else(|| {
            (
                i,
                format!("{path}( opens an argument list that is never closed with )"),
            )
        })?;
        let inner: String = source[i + 1..close]
            .chars()
            .filter(|c| *c != '\n' && *c != '\r')
            .collect();
        let inner = inner.trim();
        if !inner.is_empty() {
            // Arguments are JSON; text that is not (faker.js passes it on
            // as it is) is one string.
            args = serde_json::from_str::<Vec<Value>>(&format!("[{inner}]"))
                .unwrap_or_else(|_| vec![Value::String(inner.to_string())]);
        }
        i = close + 1;
    }
    if !source[i..end].starts_with("}}") {
        let found: String = source[i..end].chars().take(12).collect();
        return Err((
            i,
            if found.starts_with(char::is_whitespace) {
                format!(
                    "a space before }}}}: write {{{{{path}}}}} without spaces inside the braces"
                )
            } else if found.is_empty() {
                format!("{{{{{path} is never closed with }}}}")
            } else {
                format!("expected }}}} to close {{{{{path}, found {found:?}")
            },
        ));
    }
    let (ns, method) = match path {
        // The KDG's alias, replaced before faker.js sees the template.
        "current.timestamp" => ("date", "now"),
        _ => match path.split_once('.') {
            Some((ns, method)) if !method.contains('.') && !ns.is_empty() && !method.is_empty() => {
                (ns, method)
            }
            _ => {
                return Err((
                    body,
                    format!("\"{path}\" is not a function name; they read namespace.method, e.g. name.firstName"),
                ))
            }
        },
    };
    let (render, bound) = faker::compile(ns, method, &args).map_err(|m| (body, m))?;
    Ok((render, bound, i + 2))
}

/// The `)` that closes the `(` at `open`, skipping brackets and JSON
/// strings inside.
fn matching_paren(source: &str, open: usize, end: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().take(end).skip(open) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (b == b')').then_some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
