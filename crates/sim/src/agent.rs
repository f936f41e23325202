//! The agent: a file's lines streamed in as records, as the Amazon Kinesis
//! Agent tails a log file and sends each line.
//!
//! A learner drops a file (a log, CSV or JSON lines) and the producer sends
//! its lines in order at the scenario's rate, with its partition keys, one
//! record each, from the first line again once the last was sent (or only
//! once, without `repeat`). Like the Kinesis Agent's `dataProcessingOptions`,
//! lines may be converted first: `CsvToJson` makes each row after the
//! header a JSON object of the header's names (`CSVTOJSON`), the log
//! formats make each line a JSON object of its fields (`LOGTOJSON` with
//! that `logFormat`), and `Lines` sends them as they are (`SINGLELINE`
//! with blank lines skipped). The lines are part of the scenario, so a run
//! is as reproducible and shareable as any other.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most lines and bytes a scenario's file may carry.
pub const MAX_LINES: usize = 20_000;
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// How the agent turns lines into records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentFormat {
    /// Each non-blank line is a record, as it is.
    #[default]
    Lines,
    /// The first line names the columns; each later row becomes a JSON
    /// object of them (values as text, as the agent's CSVTOJSON does).
    CsvToJson,
    /// LOGTOJSON with `"logFormat": "COMMONAPACHELOG"`: `host ident
    /// authuser [datetime] "request" response bytes`.
    CommonApacheLog,
    /// `COMBINEDAPACHELOG`: the common format, then `"referer" "agent"`.
    CombinedApacheLog,
    /// `APACHEERRORLOG`: `[timestamp] [module:severity] [pid N:tid N]
    /// [client host] message`.
    ApacheErrorLog,
    /// `SYSLOG` (RFC 3164): `timestamp hostname program[processid]:
    /// message`.
    Syslog,
}

/// The Apache common log format's pattern (the combined format's start).
macro_rules! common_log {
    () => {
        r#"^(\S+) ([a-zA-Z0-9._-]+) ([a-zA-Z0-9._-]+) \[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]?\d+)\] "([^"]+)" ([+-]?\d+|-) ([+-]?\d+|-)"#
    };
}

impl AgentFormat {
    /// The agent's `logFormat` for a LOGTOJSON format.
    pub fn log_format(self) -> Option<&'static str> {
        Some(match self {
            AgentFormat::CommonApacheLog => "COMMONAPACHELOG",
            AgentFormat::CombinedApacheLog => "COMBINEDAPACHELOG",
            AgentFormat::ApacheErrorLog => "APACHEERRORLOG",
            AgentFormat::Syslog => "SYSLOG",
            AgentFormat::Lines | AgentFormat::CsvToJson => return None,
        })
    }

    /// A LOGTOJSON format's field names, in order, and the pattern a
    /// line must match (from its start; the Apache access formats allow
    /// text after it).
    fn log_fields(self) -> Option<(&'static [&'static str], &'static str)> {
        Some(match self {
            AgentFormat::CommonApacheLog => (
                &[
                    "host", "ident", "authuser", "datetime", "request", "response", "bytes",
                ],
                common_log!(),
            ),
            AgentFormat::CombinedApacheLog => (
                &[
                    "host", "ident", "authuser", "datetime", "request", "response", "bytes",
                    "referer", "agent",
                ],
                concat!(common_log!(), r#" "([^"]+)" "([^"]+)""#),
            ),
            AgentFormat::ApacheErrorLog => (
                &[
                    "timestamp",
                    "module",
                    "severity",
                    "processid",
                    "threadid",
                    "client",
                    "message",
                ],
                r"^\[(\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\] \[(?:(\w+):)?(\w+)\] \[pid (\d+)(?::tid (\d+))?\] \[client ([^\]]+)\] (.*)$",
            ),
            AgentFormat::Syslog => (
                &["timestamp", "hostname", "program", "processid", "message"],
                r"^(\w{3} +\d{1,2} \d{2}:\d{2}:\d{2}) (?:<\d+.\d+> )?([a-zA-Z0-9._-]+) ([\w._/%-]+)(?:\[(\d+)\])?: (.*)$",
            ),
            AgentFormat::Lines | AgentFormat::CsvToJson => return None,
        })
    }
}

/// The file the agent streams.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// The file's name, as dropped (shown, not used).
    pub name: String,
    pub lines: Vec<String>,
    #[serde(default)]
    pub format: AgentFormat,
    /// Start again from the first record after the last (on by default);
    /// off, the producer stops after the file.
    #[serde(default = "yes")]
    pub repeat: bool,
    /// The agent's `customFieldNames`: with `CsvToJson`, the columns' names
    /// (every line is then a row; without them the first line names the
    /// columns); with a log format, its fields' names in order, or the
    /// names of `match_pattern`'s groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_field_names: Option<Vec<String>>,
    /// The agent's `matchPattern`: a regular expression whose groups are a
    /// log line's fields, in place of the format's own pattern (a line it
    /// does not match is skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_pattern: Option<String>,
    /// CSVTOJSON's `delimiter` (a comma by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
}

fn yes() -> bool {
    true
}

impl AgentFile {
    /// A file's lines (`\n` or `\r\n`), sent over and over, without
    /// options; not yet checked.
    fn unchecked(name: &str, text: &str, format: AgentFormat) -> Self {
        AgentFile {
            name: name.to_string(),
            lines: text.lines().map(str::to_string).collect(),
            format,
            repeat: true,
            custom_field_names: None,
            match_pattern: None,
            delimiter: None,
        }
    }

    /// A file's text as the agent reads it: its lines (`\n` or `\r\n`).
    pub fn from_text(name: &str, text: &str, format: AgentFormat) -> Result<Self, String> {
        if text.len() > MAX_BYTES {
            return Err(format!(
                "{name} is {} bytes; the playground's agent takes files up to {} MiB",
                text.len(),
                MAX_BYTES / (1024 * 1024)
            ));
        }
        let file = AgentFile::unchecked(name, text, format);
        file.validate()?;
        Ok(file)
    }

    /// The options' checks, as the agent makes them when it reads its
    /// configuration.
    fn check_options(&self) -> Result<(), String> {
        let n = &self.name;
        let log = self.format.log_format();
        let csv = self.format == AgentFormat::CsvToJson;
        if !csv && self.delimiter.is_some() {
            return Err(format!(
                "{n}: a delimiter is for CSV to JSON (CSVTOJSON) only"
            ));
        }
        if let Some(d) = &self.delimiter {
            if d.len() != 1 || !d.is_ascii() || d == "\"" || d == "\n" || d == "\r" {
                return Err(format!(
                    "{n}: the playground's CSVTOJSON takes a delimiter of one character, such as \
                     \",\", \";\", \"|\" or a tab, other than a quote or a line break; not {d:?}"
                ));
            }
        }
        if let Some(names) = &self.custom_field_names {
            if log.is_none() && !csv {
                return Err(format!(
                    "{n}: customFieldNames are for CSV to JSON (CSVTOJSON) or a log format \
                     (LOGTOJSON)"
                ));
            }
            if names.is_empty() || names.iter().any(|f| f.trim().is_empty()) {
                return Err(format!(
                    "{n}: customFieldNames must list at least one name, none of them empty"
                ));
            }
        }
        if let Some(pattern) = &self.match_pattern {
            let Some(f) = log else {
                return Err(format!(
                    "{n}: a matchPattern is for a log format (LOGTOJSON) only"
                ));
            };
            let re = regex_lite::Regex::new(pattern)
                .map_err(|e| format!("{n}: the matchPattern is not a regular expression: {e}"))?;
            let groups = re.captures_len() - 1;
            match &self.custom_field_names {
                None => {
                    return Err(format!(
                        "{n}: a matchPattern needs customFieldNames, one per group of the \
                         pattern ({groups}), as the agent does"
                    ))
                }
                Some(names) if names.len() != groups => {
                    return Err(format!(
                        "{n}: customFieldNames has {} names and the matchPattern {groups} \
                         groups; {f} with a matchPattern needs one name per group",
                        names.len()
                    ))
                }
                Some(_) => {}
            }
        } else if let (Some(names), Some((fields, _))) =
            (&self.custom_field_names, self.format.log_fields())
        {
            if names.len() != fields.len() {
                return Err(format!(
                    "{n}: customFieldNames has {} names; {} has {} fields ({}), and without a \
                     matchPattern the names replace them in order",
                    names.len(),
                    log.unwrap_or_default(),
                    fields.len(),
                    fields.join(", ")
                ));
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), String> {
        let n = &self.name;
        self.check_options()?;
        if self.lines.len() > MAX_LINES {
            return Err(format!(
                "{n} has {} lines; the playground's agent takes at most {MAX_LINES}",
                self.lines.len()
            ));
        }
        let bytes: usize = self.lines.iter().map(|l| l.len() + 1).sum();
        if bytes > MAX_BYTES {
            return Err(format!(
                "{n} is {bytes} bytes; the playground's agent takes files up to {} MiB",
                MAX_BYTES / (1024 * 1024)
            ));
        }
        if self.records()?.is_empty() {
            return Err(match self.format.log_format() {
                Some(f) => format!(
                    "{n} has no records to send: no line is in the {f} format (the agent skips \
                     lines that are not)"
                ),
                None => format!("{n} has no records to send: every line is blank"),
            });
        }
        Ok(())
    }

    /// The records the file makes, in order, or why a line cannot be one.
    pub fn records(&self) -> Result<Vec<Vec<u8>>, String> {
        match self.format {
            AgentFormat::Lines => Ok(self
                .lines
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.as_bytes().to_vec())
                .collect()),
            AgentFormat::CsvToJson => self.csv_to_json(),
            other => {
                let (fields, pattern) = other.log_fields().expect("a log format");
                let names: Vec<&str> = match &self.custom_field_names {
                    Some(names) => names.iter().map(String::as_str).collect(),
                    None => fields.to_vec(),
                };
                let pattern = self.match_pattern.as_deref().unwrap_or(pattern);
                let re = regex_lite::Regex::new(pattern).map_err(|e| {
                    format!(
                        "{}: the matchPattern is not a regular expression: {e}",
                        self.name
                    )
                })?;
                // The Apache formats write a missing value as "-": null.
                let dash_is_null = other != AgentFormat::Syslog;
                Ok(self
                    .lines
                    .iter()
                    .filter_map(|line| {
                        // A line that does not match is skipped, as the
                        // agent skips it.
                        let c = re.captures(line)?;
                        let values: Vec<String> = names
                            .iter()
                            .enumerate()
                            .map(|(i, name)| {
                                let v = match c.get(i + 1).map(|m| m.as_str()) {
                                    None => Value::Null,
                                    Some("-") if dash_is_null => Value::Null,
                                    Some(s) => Value::String(s.to_string()),
                                };
                                format!("{}:{v}", Value::from(*name))
                            })
                            .collect();
                        Some(format!("{{{}}}", values.join(",")).into_bytes())
                    })
                    .collect())
            }
        }
    }

    fn csv_to_json(&self) -> Result<Vec<Vec<u8>>, String> {
        let text = self.lines.join("\n");
        let delimiter = self
            .delimiter
            .as_deref()
            .and_then(|d| d.bytes().next())
            .unwrap_or(b',');
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .delimiter(delimiter)
            .has_headers(self.custom_field_names.is_none())
            .from_reader(text.as_bytes());
        let headers: Vec<String> = match &self.custom_field_names {
            Some(names) => names.iter().map(|h| h.trim().to_string()).collect(),
            None => reader
                .headers()
                .map_err(|e| format!("{}: the header line: {e}", self.name))?
                .iter()
                .map(|h| h.trim().to_string())
                .collect(),
        };
        if headers.iter().all(String::is_empty) {
            return Err(format!(
                "{}: the first line must name the columns (CSV to JSON)",
                self.name
            ));
        }
        let mut out = Vec::new();
        // Rows are counted from the file's first line.
        let first_row = if self.custom_field_names.is_some() {
            1
        } else {
            2
        };
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| format!("{}: row {}: {e}", self.name, i + first_row))?;
            if row.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            // In the columns' order (a JSON map would sort them).
            let fields: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(k, field)| {
                    let name = headers
                        .get(k)
                        .filter(|h| !h.is_empty())
                        .cloned()
                        .unwrap_or_else(|| format!("column{}", k + 1));
                    format!(
                        "{}:{}",
                        Value::String(name),
                        Value::String(field.to_string())
                    )
                })
                .collect();
            out.push(format!("{{{}}}", fields.join(",")).into_bytes());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LOGTOJSON as the agent's documentation shows it: values as strings,
    /// "-" as null in the Apache formats, fields in order, lines that are
    /// not in the format skipped.
    #[test]
    fn log_lines_become_json_as_logtojson_makes_them() {
        let one = |format: AgentFormat, line: &str| -> Vec<String> {
            let text = format!("{line}\nnot a log line\n");
            AgentFile::from_text("app.log", &text, format)
                .unwrap()
                .records()
                .unwrap()
                .into_iter()
                .map(|r| String::from_utf8(r).unwrap())
                .collect()
        };
        assert_eq!(
            one(
                AgentFormat::CommonApacheLog,
                r#"64.242.88.10 - - [07/Mar/2004:16:10:02 -0800] "GET /mailman/listinfo/hsdivision HTTP/1.1" 200 6291"#
            ),
            [
                r#"{"host":"64.242.88.10","ident":null,"authuser":null,"datetime":"07/Mar/2004:16:10:02 -0800","request":"GET /mailman/listinfo/hsdivision HTTP/1.1","response":"200","bytes":"6291"}"#
            ]
        );
        assert_eq!(
            one(
                AgentFormat::CombinedApacheLog,
                r#"10.0.0.7 - frank [10/Oct/2026:13:55:36 +0000] "GET /cart HTTP/1.1" 200 2326 "-" "Mozilla/5.0""#
            ),
            [
                r#"{"host":"10.0.0.7","ident":null,"authuser":"frank","datetime":"10/Oct/2026:13:55:36 +0000","request":"GET /cart HTTP/1.1","response":"200","bytes":"2326","referer":null,"agent":"Mozilla/5.0"}"#
            ]
        );
        assert_eq!(
            one(
                AgentFormat::ApacheErrorLog,
                "[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] File does not exist: /favicon.ico"
            ),
            [r#"{"timestamp":"Fri Sep 09 10:42:29.902022 2011","module":"core","severity":"error","processid":"35708","threadid":"4328636416","client":"72.15.99.187","message":"File does not exist: /favicon.ico"}"#]
        );
        assert_eq!(
            one(
                AgentFormat::Syslog,
                "Mar 12 12:01:02 server4 snort: Ports to be scanned"
            ),
            [
                r#"{"timestamp":"Mar 12 12:01:02","hostname":"server4","program":"snort","processid":null,"message":"Ports to be scanned"}"#
            ]
        );
        assert_eq!(
            one(
                AgentFormat::Syslog,
                "Mar  2 09:00:00 web1 sshd[4242]: - accepted"
            ),
            [
                r#"{"timestamp":"Mar  2 09:00:00","hostname":"web1","program":"sshd","processid":"4242","message":"- accepted"}"#
            ]
        );
        let e = AgentFile::from_text("x.log", "nothing\n", AgentFormat::Syslog).unwrap_err();
        assert!(e.contains("no line is in the SYSLOG format"), "{e}");
    }

    #[test]
    fn lines_and_csv_rows_become_records() {
        let logs = AgentFile::from_text(
            "app.log",
            "GET / 200\r\n\r\nPOST /cart 201\n",
            AgentFormat::Lines,
        )
        .unwrap();
        assert_eq!(
            logs.records().unwrap(),
            [b"GET / 200".to_vec(), b"POST /cart 201".to_vec()]
        );
        let csv = AgentFile::from_text(
            "orders.csv",
            "order_id,customer,amount\n1,\"Lovelace, Ada\",12.50\n2,Turing\n\n",
            AgentFormat::CsvToJson,
        )
        .unwrap();
        let records: Vec<String> = csv
            .records()
            .unwrap()
            .into_iter()
            .map(|r| String::from_utf8(r).unwrap())
            .collect();
        assert_eq!(
            records,
            [
                r#"{"order_id":"1","customer":"Lovelace, Ada","amount":"12.50"}"#,
                r#"{"order_id":"2","customer":"Turing"}"#
            ]
        );
    }

    #[test]
    fn the_producer_sends_the_lines_in_order_over_and_over_or_once() {
        use crate::producer::Producer;
        let file = AgentFile::from_text("a.log", "one\ntwo\nthree\n", AgentFormat::Lines).unwrap();
        let data = |p: &mut Producer, until: u64| -> Vec<String> {
            p.produce_until(until)
                .into_iter()
                .map(|r| String::from_utf8(r.data).unwrap())
                .collect()
        };
        let mut p = Producer::new(1, "producer-0", 10, 0);
        p.set_lines(Some((file.records().unwrap(), true)));
        assert_eq!(
            data(&mut p, 799),
            ["one", "two", "three", "one", "two", "three", "one", "two"]
        );
        let mut once = Producer::new(1, "producer-0", 10, 0);
        once.set_lines(Some((file.records().unwrap(), false)));
        assert_eq!(data(&mut once, 799), ["one", "two", "three"]);
        assert!(data(&mut once, 5_000).is_empty());
    }

    #[test]
    fn bad_files_are_refused_saying_why() {
        let e = AgentFile::from_text("empty.txt", "\n  \n", AgentFormat::Lines).unwrap_err();
        assert!(e.contains("every line is blank"), "{e}");
        let big = "x\n".repeat(MAX_LINES + 1);
        let e = AgentFile::from_text("big.log", &big, AgentFormat::Lines).unwrap_err();
        assert!(e.contains("at most 20000"), "{e}");
        let e = AgentFile::from_text("blank.csv", ",\n1,2\n", AgentFormat::CsvToJson).unwrap_err();
        assert!(e.contains("must name the columns"), "{e}");
    }
}

#[cfg(test)]
mod option_tests {
    use super::*;

    fn file(text: &str, format: AgentFormat) -> AgentFile {
        AgentFile::unchecked("f", text, format)
    }

    fn records(f: &AgentFile) -> Vec<String> {
        f.validate().unwrap();
        f.records()
            .unwrap()
            .into_iter()
            .map(|r| String::from_utf8(r).unwrap())
            .collect()
    }

    /// The agent's documentation's example: a matchPattern that keeps four
    /// of the common log's fields, under customFieldNames.
    #[test]
    fn a_match_pattern_names_its_groups() {
        let mut f = file(
            r#"64.242.88.10 - - [07/Mar/2004:16:10:02 -0800] "GET /mailman/listinfo/hsdivision HTTP/1.1" 200 6291"#,
            AgentFormat::CommonApacheLog,
        );
        f.match_pattern = Some(r#"^([\d.]+) - - \[([\w:/]+\s[+\-]\d{4})\] "(.+?)" (\d{3})"#.into());
        f.custom_field_names = Some(
            ["host", "timestamp", "request", "response"]
                .map(String::from)
                .to_vec(),
        );
        assert_eq!(
            records(&f),
            [
                r#"{"host":"64.242.88.10","timestamp":"07/Mar/2004:16:10:02 -0800","request":"GET /mailman/listinfo/hsdivision HTTP/1.1","response":"200"}"#
            ]
        );
        // Names without a pattern rename the format's fields, in order.
        let mut g = file(
            "Mar 12 12:01:02 server4 snort: Ports to be scanned",
            AgentFormat::Syslog,
        );
        g.custom_field_names = Some(
            ["ts", "host", "prog", "pid", "msg"]
                .map(String::from)
                .to_vec(),
        );
        assert_eq!(
            records(&g),
            [
                r#"{"ts":"Mar 12 12:01:02","host":"server4","prog":"snort","pid":null,"msg":"Ports to be scanned"}"#
            ]
        );
    }

    #[test]
    fn csv_with_custom_field_names_has_no_header_and_may_use_another_delimiter() {
        let mut f = file("1;Ada;12.50\n2;Alan\n", AgentFormat::CsvToJson);
        f.custom_field_names = Some(["id", "name", "amount"].map(String::from).to_vec());
        f.delimiter = Some(";".into());
        assert_eq!(
            records(&f),
            [
                r#"{"id":"1","name":"Ada","amount":"12.50"}"#,
                r#"{"id":"2","name":"Alan"}"#
            ]
        );
    }

    #[test]
    fn options_that_do_not_fit_are_refused_saying_why() {
        use AgentFormat::{CsvToJson, Lines, Syslog};
        // (format, delimiter, customFieldNames, matchPattern, the error).
        type Case = (
            AgentFormat,
            Option<&'static str>,
            &'static [&'static str],
            Option<&'static str>,
            &'static str,
        );
        let cases: [Case; 9] = [
            (Lines, Some(";"), &[], None, "delimiter is for CSV to JSON"),
            (
                CsvToJson,
                Some("::"),
                &[],
                None,
                "delimiter of one character",
            ),
            (Lines, None, &["a"], None, "customFieldNames are for"),
            (CsvToJson, None, &["a", ""], None, "none of them empty"),
            (
                Syslog,
                None,
                &[],
                Some("(a)"),
                "needs customFieldNames, one per group of the pattern (1)",
            ),
            (
                Syslog,
                None,
                &["x"],
                Some("(a)(b)"),
                "1 names and the matchPattern 2 groups",
            ),
            (Syslog, None, &["x"], Some("(a"), "not a regular expression"),
            (
                Syslog,
                None,
                &["x"],
                None,
                "SYSLOG has 5 fields (timestamp, hostname, program, processid, message)",
            ),
            (
                CsvToJson,
                None,
                &[],
                Some("(a)"),
                "matchPattern is for a log format",
            ),
        ];
        let cases = cases.map(|(format, delimiter, names, pattern, says)| {
            let f = AgentFile {
                delimiter: delimiter.map(String::from),
                custom_field_names: (!names.is_empty())
                    .then(|| names.iter().map(|n| n.to_string()).collect()),
                match_pattern: pattern.map(String::from),
                ..file("ab", format)
            };
            (f, says)
        });
        for (f, says) in cases {
            let e = f.validate().unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}
