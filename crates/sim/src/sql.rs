//! A SQL application reading the stream, as Kinesis Data Analytics reads
//! its source: its own consumer (`sql/<name>`) at TRIM_HORIZON or NOW,
//! records mapped by a schema discovered from the stream's records, ROWTIME
//! = the virtual time a record is read, and a rowtime bound at the end of
//! every tick so windows close on time.
//!
//! What the UI sees is bounded: the newest rows of each stream, counts, and
//! the last minute of input per second, whatever the volume.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use shardlab_sql::app::{discover_schema, AppConfig, StreamKind, ERROR_STREAM};
use shardlab_sql::{Application, OutputRow, Record};

use crate::consumer::StartAt;

/// The input stream's name, as the KDA console names it.
pub const SOURCE_STREAM: &str = "SOURCE_SQL_STREAM_001";
/// Rows of each stream the view keeps.
pub const VIEW_ROWS: usize = 50;
/// Seconds of input history the view keeps.
pub const INPUT_SECONDS: usize = 60;
/// How many records the schema is discovered from.
pub const DISCOVERY_SAMPLES: usize = 100;
/// KDA polls its source about once a second per shard.
pub const SQL_POLL_MS: u64 = 1000;

/// Where a new application starts reading (KDA's InputStartingPosition).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SqlStart {
    /// Records arriving from now on.
    #[default]
    Now,
    /// Everything the stream still retains.
    TrimHorizon,
}

impl SqlStart {
    pub fn start_at(self) -> StartAt {
        match self {
            SqlStart::Now => StartAt::Latest,
            SqlStart::TrimHorizon => StartAt::TrimHorizon,
        }
    }
}

/// Reference data for the application, as KDA loads an S3 object into an
/// in-application table: a name and CSV text with a header row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceData {
    pub name: String,
    pub csv: String,
}

/// The most CSV text a playground reference table takes.
pub const MAX_REFERENCE_BYTES: usize = 64 * 1024;

impl ReferenceData {
    /// The table: columns named by the header, typed BIGINT or DOUBLE when
    /// every value is such a number, VARCHAR otherwise. Values keep their
    /// spaces, as KDA's CSV mapping does; empty lines are skipped.
    pub fn table(&self) -> Result<shardlab_sql::app::ReferenceTable, String> {
        use shardlab_sql::value::{SqlType, Value};
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 32 {
            return Err("A reference table needs a name of 1 to 32 characters.".into());
        }
        if self.csv.len() > MAX_REFERENCE_BYTES {
            return Err(format!(
                "The reference data is {} bytes; the playground takes up to {MAX_REFERENCE_BYTES}.",
                self.csv.len()
            ));
        }
        let mut lines = self.csv.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .ok_or("The reference data needs a header row naming its columns.")?
            .split(',')
            .map(|c| c.trim().to_string())
            .collect();
        if header.iter().any(String::is_empty) {
            return Err("Every column of the reference data's header needs a name.".into());
        }
        let mut rows: Vec<Vec<String>> = Vec::new();
        for (i, l) in lines.enumerate() {
            let cells: Vec<String> = l.split(',').map(str::to_string).collect();
            if cells.len() != header.len() {
                return Err(format!(
                    "Row {} of the reference data has {} values; the header names {} columns.",
                    i + 2,
                    cells.len(),
                    header.len()
                ));
            }
            rows.push(cells);
        }
        let types: Vec<SqlType> = (0..header.len())
            .map(|c| {
                let all = |f: fn(&str) -> bool| rows.iter().all(|r| f(r[c].trim()));
                if !rows.is_empty() && all(|v| v.parse::<i64>().is_ok()) {
                    SqlType::BigInt
                } else if !rows.is_empty() && all(|v| v.parse::<f64>().is_ok()) {
                    SqlType::Double
                } else {
                    SqlType::Varchar(None)
                }
            })
            .collect();
        let rows = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&types)
                    .map(|(v, t)| Value::Str(v.into()).coerce(t).unwrap_or(Value::Null))
                    .collect()
            })
            .collect();
        Ok(shardlab_sql::app::ReferenceTable {
            name: name.to_string(),
            columns: header.into_iter().zip(types).collect(),
            rows,
        })
    }
}

/// An application output, in the shape of KDA's `Outputs`: an
/// in-application stream (by its exact name) written as JSON or CSV
/// records to a Kinesis data stream, a Firehose delivery stream or a
/// Lambda function. KDA
/// writes JSON records concatenated, with no delimiter (`{"a":1}{"a":2}`):
/// an AppendDelimiterToRecord processor in the delivery stream makes lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlOutput {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(
        rename = "KinesisFirehoseOutput",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub firehose: Option<OutputResource>,
    #[serde(
        rename = "LambdaOutput",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub lambda: Option<OutputResource>,
    /// A data stream: one of the scenario's `output_streams`.
    #[serde(
        rename = "KinesisStreamsOutput",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kinesis: Option<OutputResource>,
    #[serde(rename = "DestinationSchema")]
    pub schema: DestinationSchema,
}

/// A destination's `ResourceARN` (and the role KDA's first API named).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputResource {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// KDA's first API named the role it writes as here; accepted and
    /// kept (the playground has no IAM).
    #[serde(rename = "RoleARN", default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationSchema {
    #[serde(rename = "RecordFormatType")]
    pub format: RecordFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordFormat {
    JSON,
    CSV,
}

/// KDA's limit on external destinations per application.
pub const MAX_OUTPUTS: usize = 3;

impl SqlOutput {
    /// The delivery stream its ARN names, in the playground's Region and
    /// account.
    pub fn delivery_stream(&self) -> Option<&str> {
        resource_name(self.firehose.as_ref(), "firehose", "deliverystream/")
    }

    /// The Lambda function its ARN names (`...:function:NAME`, with an
    /// optional version or alias after it), in the playground's Region
    /// and account.
    pub fn function(&self) -> Option<&str> {
        resource_name(self.lambda.as_ref(), "lambda", "function:")
            .map(|n| n.split(':').next().unwrap_or(n))
            .filter(|n| !n.is_empty())
    }

    /// The data stream its ARN names (`arn:aws:kinesis:...:stream/NAME`),
    /// in the playground's Region and account.
    pub fn data_stream(&self) -> Option<&str> {
        resource_name(self.kinesis.as_ref(), "kinesis", "stream/")
    }

    /// What it writes to, as the UI and errors name it.
    pub fn destination(&self) -> &'static str {
        if self.kinesis.is_some() {
            "Kinesis Data Streams"
        } else if self.lambda.is_some() {
            "Lambda"
        } else {
            "Firehose"
        }
    }

    /// What is wrong with it, if anything: one destination, a Kinesis,
    /// Firehose or Lambda ARN of the playground's Region and account.
    pub fn check(&self) -> Result<(), String> {
        let destinations = [
            self.kinesis.is_some(),
            self.firehose.is_some(),
            self.lambda.is_some(),
        ];
        if destinations.iter().filter(|d| **d).count() != 1 {
            return Err(
                "an output has exactly one destination: KinesisStreamsOutput, \
                        KinesisFirehoseOutput or LambdaOutput"
                    .into(),
            );
        }
        match (&self.firehose, &self.lambda) {
            _ if self.kinesis.is_some() && self.data_stream().is_none() => Err(format!(
                "KinesisStreamsOutput.ResourceARN {} is not a data stream's ARN \
                 (arn:aws:kinesis:{}:{}:stream/NAME)",
                self.kinesis
                    .as_ref()
                    .map_or("", |k| k.resource_arn.as_str()),
                crate::simulation::REGION,
                shardlab_engine::ACCOUNT_ID
            )),
            (Some(f), None) if self.delivery_stream().is_none() => Err(format!(
                "KinesisFirehoseOutput.ResourceARN {} is not a delivery stream's ARN \
                 (arn:aws:firehose:{}:{}:deliverystream/NAME)",
                f.resource_arn,
                crate::simulation::REGION,
                shardlab_engine::ACCOUNT_ID
            )),
            (None, Some(l)) if self.function().is_none() => Err(format!(
                "LambdaOutput.ResourceARN {} is not a function's ARN \
                 (arn:aws:lambda:{}:{}:function:NAME)",
                l.resource_arn,
                crate::simulation::REGION,
                shardlab_engine::ACCOUNT_ID
            )),
            _ => Ok(()),
        }
    }

    /// A row as the record KDA writes.
    fn record(&self, row: &OutputRow) -> Vec<u8> {
        match self.schema.format {
            RecordFormat::JSON => {
                // In the stream's column order (a JSON map would sort them).
                let fields: Vec<String> = row
                    .values
                    .iter()
                    .map(|(name, v)| {
                        format!("{}:{}", serde_json::Value::from(name.as_str()), v.to_json())
                    })
                    .collect();
                format!("{{{}}}", fields.join(",")).into_bytes()
            }
            RecordFormat::CSV => {
                let fields: Vec<String> = row
                    .values
                    .iter()
                    .map(|(_, v)| {
                        let t = v.to_text();
                        if t.contains([',', '"', '\n', '\r']) {
                            format!("\"{}\"", t.replace('"', "\"\""))
                        } else {
                            t
                        }
                    })
                    .collect();
                format!("{}\n", fields.join(",")).into_bytes()
            }
        }
    }
}

/// The name after `arn:aws:<service>:<region>:<account>:<kind>` in a
/// destination's ARN, in the playground's Region and account.
fn resource_name<'a>(r: Option<&'a OutputResource>, service: &str, kind: &str) -> Option<&'a str> {
    let prefix = format!(
        "arn:aws:{service}:{}:{}:{kind}",
        crate::simulation::REGION,
        shardlab_engine::ACCOUNT_ID
    );
    r?.resource_arn
        .strip_prefix(prefix.as_str())
        .filter(|n| !n.is_empty())
}

/// An output as the SQL panel shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlOutputView {
    pub stream: String,
    /// The delivery stream, or empty for a Lambda output.
    pub delivery_stream: String,
    /// The Lambda function, or empty for a Firehose output.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub function: String,
    /// The data stream of a Kinesis output, or empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_stream: String,
    /// Records a data stream refused (over its shards' write limits) and
    /// that were sent again.
    #[serde(default)]
    pub throttled: u64,
    /// Rows a data stream can never take: over Kinesis' 1 MiB record limit
    /// (with the partition key). They are dropped.
    #[serde(default)]
    pub too_large: u64,
    pub format: RecordFormat,
    /// Rows the destination accepted, and rows waiting for it (KDA retries
    /// until the destination takes them).
    pub sent: u64,
    pub waiting: u64,
    /// A Lambda output's invocations, the records it answered
    /// DeliveryFailed (or did not acknowledge), and its last failure.
    #[serde(default)]
    pub invocations: u64,
    #[serde(default)]
    pub delivery_failed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The most bytes a Lambda output's invocation carries: Lambda's limit on
/// a synchronous invocation's payload (6 MB); past it KDA splits the
/// records across invocations.
pub const LAMBDA_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// How often a Lambda output is invoked while rows keep coming ("about
/// once per second"; a tumbling window's rows come at once, so they go in
/// one invocation per window).
const LAMBDA_EVERY_MS: u64 = 1000;

/// A Lambda output's invocation, for the simulation to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputInvocation {
    pub output: usize,
    pub id: u64,
    pub function: String,
    pub function_arn: String,
    pub event: String,
}

/// A record a Lambda output holds: its bytes and how often its delivery
/// failed (the event's `retryHint`).
struct LambdaRecord {
    data: Vec<u8>,
    retry_hint: u64,
}

#[derive(Default)]
struct LambdaState {
    queue: VecDeque<LambdaRecord>,
    /// The invocation out: its id and its records, by record id.
    in_flight: Option<(u64, Vec<(String, LambdaRecord)>)>,
    next_at_ms: u64,
    invocations: u64,
    delivery_failed: u64,
    last_error: Option<String>,
}

struct OutputState {
    output: SqlOutput,
    delivery_stream: String,
    /// A Kinesis output's data stream, or empty.
    data_stream: String,
    waiting: VecDeque<Vec<u8>>,
    sent: u64,
    lambda: Option<LambdaState>,
    /// Records a Kinesis output has out in PutRecords calls (one batch at
    /// a time, so its records reach the stream in order).
    in_flight: usize,
    throttled: u64,
    too_large: u64,
}

/// A Kinesis output's PutRecords call: at most 500 records and 5 MiB
/// (data and partition keys, which are 36-character UUIDs).
pub const STREAM_OUTPUT_RECORDS: usize = 500;
const STREAM_OUTPUT_BYTES: usize = 5 * 1024 * 1024;
const STREAM_OUTPUT_KEY_BYTES: usize = 36;
/// Kinesis' limit on a record: data and partition key.
const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// One row as the results table shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlRowView {
    /// Rows are numbered per application, so the UI can append new ones.
    pub seq: u64,
    pub rowtime_ms: i64,
    pub values: Vec<String>,
}

/// One in-application stream (or error_stream) in the view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlStreamView {
    pub name: String,
    pub columns: Vec<String>,
    /// The newest rows, oldest first.
    pub rows: Vec<SqlRowView>,
    pub total: u64,
}

/// What the SQL panel shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlView {
    pub code: String,
    pub dialect: String,
    /// The input columns and their types, as discovered.
    pub input_columns: Vec<(String, String)>,
    pub rows_in: u64,
    /// Input records per second of ROWTIME over the last minute.
    pub input_per_second: Vec<(i64, u64)>,
    pub streams: Vec<SqlStreamView>,
    /// The latest rowtime bound (the virtual time windows have closed to).
    pub bound_ms: i64,
    /// The reference table loaded, and its rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<(String, u64)>,
    /// Where in-application streams are written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<SqlOutputView>,
}

struct StreamBuffer {
    name: String,
    columns: Vec<String>,
    rows: VecDeque<SqlRowView>,
    total: u64,
}

/// A running application inside the simulation.
pub struct SqlRunner {
    code: String,
    app: Application,
    /// The streams records go to: SOURCE_SQL_STREAM_001, or a Flink
    /// application's tables.
    inputs: Vec<String>,
    input_columns: Vec<(String, String)>,
    streams: Vec<StreamBuffer>,
    input_per_second: VecDeque<(i64, u64)>,
    seq: u64,
    bound_ms: i64,
    reference: Option<(String, u64)>,
    /// Every row of one stream, kept for grading (see `capture`).
    capture: Option<Capture>,
    outputs: Vec<OutputState>,
}

/// The rows of one in-application stream, all of them (up to a limit),
/// as an exercise's grader compares them with the expected output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capture {
    pub stream: String,
    pub columns: Vec<String>,
    /// (ROWTIME, the row's values as JSON), in emission order.
    pub rows: Vec<(i64, Vec<serde_json::Value>)>,
    /// Rows beyond `CAPTURE_ROWS`, counted but not kept.
    pub dropped: u64,
}

/// The most rows a capture keeps.
pub const CAPTURE_ROWS: usize = 100_000;

/// The input schema discovered from sample records, in the records' own
/// column order (discovery sorts by name).
pub fn discover(samples: &[Vec<u8>]) -> shardlab_sql::app::SourceSchema {
    let parsed: Vec<serde_json::Value> = samples
        .iter()
        .take(DISCOVERY_SAMPLES)
        .filter_map(|d| serde_json::from_slice(d).ok())
        .collect();
    let refs: Vec<&serde_json::Value> = parsed.iter().collect();
    let mut schema = discover_schema(SOURCE_STREAM, &refs);
    if let Some(first) = samples.first() {
        let text = String::from_utf8_lossy(first);
        schema
            .columns
            .sort_by_key(|c| text.find(&format!("\"{}\"", c.name)).unwrap_or(usize::MAX));
    }
    schema
}

/// The discovered columns and their types.
pub fn discovered_columns(samples: &[Vec<u8>]) -> Vec<(String, shardlab_sql::value::SqlType)> {
    discover(samples)
        .columns
        .into_iter()
        .map(|c| (c.name, c.ty))
        .collect()
}

impl SqlRunner {
    /// Compiles `code` against a schema discovered from `samples` (records
    /// of the stream); a bad application is a `SqlError` with its position.
    pub fn new(
        code: &str,
        samples: &[Vec<u8>],
        start_ms: i64,
        tables: Vec<shardlab_sql::app::ReferenceTable>,
    ) -> Result<SqlRunner, shardlab_sql::SqlError> {
        let reference = tables
            .first()
            .map(|t| (t.name.clone(), t.rows.len() as u64));
        let schema = discover(samples);
        let input_columns = schema
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.name()))
            .collect();
        let app = Application::compile(
            code,
            &AppConfig {
                sources: vec![schema],
                tables,
                start_ms,
            },
        )?;
        let tables: Vec<String> = app
            .input_streams()
            .into_iter()
            .filter(|s| *s != SOURCE_STREAM)
            .map(str::to_string)
            .collect();
        let inputs = if app.is_flink() && !tables.is_empty() {
            tables
        } else {
            vec![SOURCE_STREAM.to_string()]
        };
        let mut streams: Vec<StreamBuffer> = app
            .streams()
            .into_iter()
            .filter(|s| s.kind != StreamKind::Source)
            .map(|s| StreamBuffer {
                name: s.name,
                columns: s.columns.into_iter().map(|(n, _)| n).collect(),
                rows: VecDeque::new(),
                total: 0,
            })
            .collect();
        streams.push(StreamBuffer {
            name: ERROR_STREAM.into(),
            columns: [
                "ERROR_TIME",
                "ERROR_LEVEL",
                "ERROR_NAME",
                "MESSAGE",
                "DATA_ROWTIME",
                "DATA_ROW",
                "PUMP_NAME",
            ]
            .map(String::from)
            .to_vec(),
            rows: VecDeque::new(),
            total: 0,
        });
        Ok(SqlRunner {
            code: code.to_string(),
            app,
            inputs,
            input_columns,
            streams,
            input_per_second: VecDeque::new(),
            seq: 0,
            bound_ms: start_ms,
            reference,
            capture: None,
            outputs: Vec::new(),
        })
    }

    /// Writes in-application streams to delivery streams from now on.
    /// Each output's stream must be one of the application's (exact name).
    pub fn set_outputs(&mut self, outputs: &[SqlOutput]) -> Result<(), String> {
        let mut states = Vec::new();
        for o in outputs {
            o.check()?;
            if !self.streams.iter().any(|s| s.name == o.name) {
                let names: Vec<&str> = self.streams.iter().map(|s| s.name.as_str()).collect();
                return Err(format!(
                    "The application's output writes the in-application stream {} to {}, \
                     but the application has no stream of that name (names are \
                     case-sensitive; it has {}).",
                    o.name,
                    o.destination(),
                    names.join(", ")
                ));
            }
            states.push(OutputState {
                output: o.clone(),
                delivery_stream: o.delivery_stream().unwrap_or_default().to_string(),
                data_stream: o.data_stream().unwrap_or_default().to_string(),
                waiting: VecDeque::new(),
                sent: 0,
                lambda: o.lambda.is_some().then(LambdaState::default),
                in_flight: 0,
                throttled: 0,
                too_large: 0,
            });
        }
        self.outputs = states;
        Ok(())
    }

    /// The records waiting for each Firehose output, taken for sending:
    /// (output, its delivery stream, records), oldest first.
    pub fn take_output(&mut self) -> Vec<(usize, String, Vec<Vec<u8>>)> {
        self.outputs
            .iter_mut()
            .enumerate()
            .filter(|(_, o)| !o.delivery_stream.is_empty() && !o.waiting.is_empty())
            .map(|(i, o)| (i, o.delivery_stream.clone(), o.waiting.drain(..).collect()))
            .collect()
    }

    /// The records waiting for each Kinesis output with no call out, taken
    /// for one PutRecords call (500 records, 5 MiB): (output, its data
    /// stream, records), oldest first. The output then waits for
    /// `stream_output_done`.
    pub fn take_stream_output(&mut self) -> Vec<(usize, String, Vec<Vec<u8>>)> {
        self.outputs
            .iter_mut()
            .enumerate()
            .filter(|(_, o)| !o.data_stream.is_empty() && o.in_flight == 0 && !o.waiting.is_empty())
            .map(|(i, o)| {
                let mut bytes = 0;
                let n = o
                    .waiting
                    .iter()
                    .take(STREAM_OUTPUT_RECORDS)
                    .take_while(|r| {
                        bytes += r.len() + STREAM_OUTPUT_KEY_BYTES;
                        bytes <= STREAM_OUTPUT_BYTES
                    })
                    .count()
                    .max(1);
                o.in_flight = n;
                (i, o.data_stream.clone(), o.waiting.drain(..n).collect())
            })
            .collect()
    }

    /// What became of a Kinesis output's records: those `accepted` are in
    /// the stream; the others (throttled, or a call refused) go back to the
    /// front of its queue in their order and are sent again, as KDA
    /// retries without end.
    pub fn stream_output_done(&mut self, output: usize, records: Vec<Vec<u8>>, accepted: &[bool]) {
        let Some(o) = self.outputs.get_mut(output) else {
            return;
        };
        o.in_flight = 0;
        let before = o.sent;
        let n = records.len() as u64;
        self.output_sent(output, records, accepted);
        if let Some(o) = self.outputs.get_mut(output) {
            o.throttled += n - (o.sent - before);
        }
    }

    /// What became of an output's records taken: those `accepted` went to
    /// Firehose; the others (refused, or not sent) go back to the front of
    /// its queue, in their order.
    pub fn output_sent(&mut self, output: usize, records: Vec<Vec<u8>>, accepted: &[bool]) {
        let Some(o) = self.outputs.get_mut(output) else {
            return;
        };
        let mut back = Vec::new();
        for (i, r) in records.into_iter().enumerate() {
            if accepted.get(i).copied().unwrap_or(false) {
                o.sent += 1;
            } else {
                back.push(r);
            }
        }
        for r in back.into_iter().rev() {
            o.waiting.push_front(r);
        }
    }

    /// The Lambda outputs' invocations due at `now_ms`: one out per output
    /// at a time, about once a second, each with the records waiting (and
    /// those to retry first, with their retryHint), up to Lambda's payload
    /// limit. `app_arn` is the application's ARN the event names.
    pub fn take_invocations(&mut self, now_ms: u64, app_arn: &str) -> Vec<OutputInvocation> {
        let mut calls = Vec::new();
        for (i, o) in self.outputs.iter_mut().enumerate() {
            let Some(l) = o.lambda.as_mut() else {
                continue;
            };
            if l.in_flight.is_some() || l.queue.is_empty() || now_ms < l.next_at_ms {
                continue;
            }
            l.invocations += 1;
            let id = l.invocations;
            let guid = |kind: u64, n: u64| {
                format!(
                    "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                    i as u64 * 0x9e37 + kind,
                    (id >> 16) & 0xffff,
                    id & 0xfff,
                    (n >> 48) & 0xfff,
                    n & 0xffff_ffff_ffff
                )
            };
            let mut records = Vec::new();
            let mut json = Vec::new();
            let mut size = 256;
            while let Some(r) = l.queue.front() {
                let encoded = {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD.encode(&r.data)
                };
                let record_id = guid(
                    1,
                    o.sent + l.delivery_failed + records.len() as u64 + (id << 20),
                );
                let item = serde_json::json!({
                    "recordId": record_id,
                    "lambdaDeliveryRecordMetadata": {"retryHint": r.retry_hint},
                    "data": encoded,
                });
                let bytes = item.to_string().len() + 1;
                if !records.is_empty() && size + bytes > LAMBDA_PAYLOAD_BYTES {
                    break;
                }
                size += bytes;
                json.push(item);
                let r = l.queue.pop_front().expect("front exists");
                records.push((record_id, r));
            }
            let event = serde_json::json!({
                "invocationId": guid(0, id),
                "applicationArn": app_arn,
                "records": json,
            })
            .to_string();
            l.in_flight = Some((id, records));
            l.next_at_ms = now_ms + LAMBDA_EVERY_MS;
            calls.push(OutputInvocation {
                output: i,
                id,
                function: o.output.function().unwrap_or_default().to_string(),
                function_arn: o
                    .output
                    .lambda
                    .as_ref()
                    .map(|l| l.resource_arn.clone())
                    .unwrap_or_default(),
                event,
            });
        }
        calls
    }

    /// What came of a Lambda output's invocation: the function's answer
    /// (`{"records": [{"recordId", "result": "Ok" | "DeliveryFailed"}]}`),
    /// or why it failed. Records answered Ok are delivered; the others
    /// (DeliveryFailed, not acknowledged, a failed invocation) go back to
    /// the front of the queue with their retryHint raised, and are sent
    /// again until the function takes them, as KDA retries without end.
    pub fn invocation_done(&mut self, output: usize, id: u64, outcome: Result<Vec<u8>, String>) {
        let Some(o) = self.outputs.get_mut(output) else {
            return;
        };
        let Some(l) = o.lambda.as_mut() else {
            return;
        };
        let Some((_, records)) = l.in_flight.take_if(|(out, _)| *out == id) else {
            return;
        };
        let results: std::collections::HashMap<String, String> = match &outcome {
            Ok(body) => serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("records").and_then(|r| r.as_array()).cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|r| {
                    Some((
                        r.get("recordId")?.as_str()?.to_string(),
                        r.get("result")?.as_str()?.to_string(),
                    ))
                })
                .collect(),
            Err(_) => Default::default(),
        };
        let mut failed = Vec::new();
        for (record_id, r) in records {
            if results.get(&record_id).map(String::as_str) == Some("Ok") {
                o.sent += 1;
            } else {
                failed.push(r);
            }
        }
        l.delivery_failed += failed.len() as u64;
        if let Err(e) = &outcome {
            l.last_error = Some(e.clone());
        } else if !failed.is_empty() {
            l.last_error = Some(format!(
                "{} records answered DeliveryFailed or not acknowledged; KDA sends them again",
                failed.len()
            ));
        }
        for mut r in failed.into_iter().rev() {
            r.retry_hint += 1;
            l.queue.push_front(r);
        }
    }

    /// Records read this tick: (data, arrival ms), read at `now_ms`.
    pub fn push(&mut self, records: Vec<(Vec<u8>, u64)>, now_ms: u64) {
        let now = now_ms as i64;
        let n = records.len() as u64;
        for (data, arrival) in records {
            let text = String::from_utf8_lossy(&data);
            // Rows enter in ROWTIME order: all of a tick's share its time.
            for input in &self.inputs {
                let _ = self
                    .app
                    .push_record(input, now, arrival as i64, Record::Text(&text));
            }
        }
        let second = now.div_euclid(1000) * 1000;
        match self.input_per_second.back_mut() {
            Some((s, c)) if *s == second => *c += n,
            _ => self.input_per_second.push_back((second, n)),
        }
        while self.input_per_second.len() > INPUT_SECONDS {
            self.input_per_second.pop_front();
        }
        self.collect();
    }

    /// The end of a tick: windows up to `now_ms` close.
    pub fn bound(&mut self, now_ms: u64) {
        self.bound_ms = now_ms as i64;
        self.app.push_bound(now_ms as i64);
        self.collect();
    }

    fn collect(&mut self) {
        for row in self.app.take_outputs() {
            self.keep(row);
        }
    }

    /// Keeps every row `stream` emits from now on; `false` when the
    /// application has no such stream.
    pub fn capture(&mut self, stream: &str) -> bool {
        let Some(buf) = self
            .streams
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(stream))
        else {
            return false;
        };
        self.capture = Some(Capture {
            stream: buf.name.clone(),
            columns: buf.columns.clone(),
            ..Capture::default()
        });
        true
    }

    /// The rows captured so far.
    pub fn captured(&self) -> Option<&Capture> {
        self.capture.as_ref()
    }

    /// The application's output streams (not error_stream), with their
    /// columns.
    pub fn output_streams(&self) -> Vec<(String, Vec<String>)> {
        self.streams
            .iter()
            .filter(|s| s.name != ERROR_STREAM)
            .map(|s| (s.name.clone(), s.columns.clone()))
            .collect()
    }

    fn keep(&mut self, row: OutputRow) {
        self.seq += 1;
        for o in self
            .outputs
            .iter_mut()
            .filter(|o| o.output.name == row.stream)
        {
            let data = o.output.record(&row);
            if !o.data_stream.is_empty() && data.len() + STREAM_OUTPUT_KEY_BYTES > MAX_RECORD_BYTES
            {
                o.too_large += 1;
                continue;
            }
            match o.lambda.as_mut() {
                Some(l) => l.queue.push_back(LambdaRecord {
                    data,
                    retry_hint: 0,
                }),
                None => o.waiting.push_back(data),
            }
        }
        if let Some(c) = self.capture.as_mut().filter(|c| c.stream == row.stream) {
            if c.rows.len() < CAPTURE_ROWS {
                c.rows.push((
                    row.rowtime,
                    row.values.iter().map(|(_, v)| v.to_json()).collect(),
                ));
            } else {
                c.dropped += 1;
            }
        }
        let Some(buf) = self.streams.iter_mut().find(|s| s.name == row.stream) else {
            return;
        };
        buf.total += 1;
        buf.rows.push_back(SqlRowView {
            seq: self.seq,
            rowtime_ms: row.rowtime,
            values: row.values.iter().map(|(_, v)| v.to_text()).collect(),
        });
        while buf.rows.len() > VIEW_ROWS {
            buf.rows.pop_front();
        }
    }

    pub fn view(&self) -> SqlView {
        SqlView {
            code: self.code.clone(),
            dialect: if self.app.is_flink() {
                "Flink SQL"
            } else {
                "Kinesis Data Analytics SQL"
            }
            .into(),
            input_columns: self.input_columns.clone(),
            rows_in: self.app.rows_in,
            input_per_second: self.input_per_second.iter().copied().collect(),
            streams: self
                .streams
                .iter()
                .map(|s| SqlStreamView {
                    name: s.name.clone(),
                    columns: s.columns.clone(),
                    rows: s.rows.iter().cloned().collect(),
                    total: s.total,
                })
                .collect(),
            bound_ms: self.bound_ms,
            reference: self.reference.clone(),
            outputs: self
                .outputs
                .iter()
                .map(|o| {
                    let l = o.lambda.as_ref();
                    SqlOutputView {
                        stream: o.output.name.clone(),
                        delivery_stream: o.delivery_stream.clone(),
                        function: o.output.function().unwrap_or_default().to_string(),
                        data_stream: o.data_stream.clone(),
                        throttled: o.throttled,
                        too_large: o.too_large,
                        format: o.output.schema.format,
                        sent: o.sent,
                        waiting: match l {
                            Some(l) => {
                                (l.queue.len() + l.in_flight.as_ref().map_or(0, |f| f.1.len()))
                                    as u64
                            }
                            None => (o.waiting.len() + o.in_flight) as u64,
                        },
                        invocations: l.map_or(0, |l| l.invocations),
                        delivery_failed: l.map_or(0, |l| l.delivery_failed),
                        last_error: l.and_then(|l| l.last_error.clone()),
                    }
                })
                .collect(),
        }
    }

    /// A fingerprint of everything the application has produced so far.
    pub fn rows_out(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "CREATE OR REPLACE STREAM \"A\" (x BIGINT);
        CREATE OR REPLACE STREAM \"B\" (x BIGINT);
        CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"A\" SELECT STREAM n FROM \"SOURCE_SQL_STREAM_001\";
        CREATE OR REPLACE PUMP \"Q\" AS INSERT INTO \"B\" SELECT STREAM n FROM \"SOURCE_SQL_STREAM_001\";";

    fn output(stream: &str, format: RecordFormat) -> SqlOutput {
        SqlOutput {
            name: stream.into(),
            firehose: Some(OutputResource {
                resource_arn: "arn:aws:firehose:us-east-1:123456789012:deliverystream/out".into(),
                role_arn: None,
            }),
            lambda: None,
            kinesis: None,
            schema: DestinationSchema { format },
        }
    }

    /// A Lambda output's event is KDA's; records answered Ok are
    /// delivered, the others (DeliveryFailed, not acknowledged, a failed
    /// invocation) come back first with a higher retryHint.
    #[test]
    fn a_lambda_output_sends_kdas_event_and_retries_what_failed() {
        let samples = vec![br#"{"n":1}"#.to_vec()];
        let mut r = SqlRunner::new(APP, &samples, 0, Vec::new()).unwrap();
        let mut o = output("A", RecordFormat::JSON);
        o.firehose = None;
        o.lambda = Some(OutputResource {
            resource_arn: "arn:aws:lambda:us-east-1:123456789012:function:sink:live".into(),
            role_arn: None,
        });
        r.set_outputs(&[o.clone()]).unwrap();
        let recs: Vec<(Vec<u8>, u64)> = (1..=3)
            .map(|n| (format!(r#"{{"n":{n}}}"#).into_bytes(), 0))
            .collect();
        r.push(recs, 1000);
        assert!(r.take_output().is_empty(), "not a Firehose output");
        let arn = "arn:aws:kinesisanalytics:us-east-1:123456789012:application/app";
        let calls = r.take_invocations(1000, arn);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].function, "sink");
        let event: serde_json::Value = serde_json::from_str(&calls[0].event).unwrap();
        assert_eq!(event["applicationArn"], arn);
        assert!(event["invocationId"].is_string());
        let records = event["records"].as_array().unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0]["lambdaDeliveryRecordMetadata"]["retryHint"], 0);
        assert_eq!(records[0]["data"], "eyJYIjoxfQ=="); // {"X":1}
                                                        // Nothing more while one is out.
        assert!(r.take_invocations(5000, arn).is_empty());
        // The first Ok, the second DeliveryFailed, the third not answered.
        let answer = serde_json::json!({"records": [
            {"recordId": records[0]["recordId"], "result": "Ok"},
            {"recordId": records[1]["recordId"], "result": "DeliveryFailed"},
        ]});
        r.invocation_done(0, calls[0].id, Ok(answer.to_string().into_bytes()));
        let v = r.view();
        assert_eq!(
            (
                v.outputs[0].sent,
                v.outputs[0].waiting,
                v.outputs[0].delivery_failed
            ),
            (1, 2, 2)
        );
        // Again a second later, in order, retryHint 1; then a failed
        // invocation fails them all.
        assert!(r.take_invocations(1500, arn).is_empty(), "once a second");
        let again = r.take_invocations(2000, arn);
        let event: serde_json::Value = serde_json::from_str(&again[0].event).unwrap();
        let datas: Vec<&str> = event["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["data"].as_str().unwrap())
            .collect();
        assert_eq!(datas, ["eyJYIjoyfQ==", "eyJYIjozfQ=="]);
        assert_eq!(
            event["records"][0]["lambdaDeliveryRecordMetadata"]["retryHint"],
            1
        );
        r.invocation_done(
            0,
            again[0].id,
            Err("Task timed out after 3.00 seconds".into()),
        );
        let v = r.view();
        assert_eq!((v.outputs[0].sent, v.outputs[0].waiting), (1, 2));
        assert_eq!(
            v.outputs[0].last_error.as_deref(),
            Some("Task timed out after 3.00 seconds")
        );
        // Two destinations are refused.
        o.kinesis = Some(OutputResource {
            resource_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/out".into(),
            role_arn: None,
        });
        assert!(r.set_outputs(&[o]).is_err());
    }

    /// Two outputs to one delivery stream keep their own rows and counts;
    /// refused rows wait, in order, and are sent later.
    #[test]
    fn outputs_are_settled_each_on_its_own() {
        let samples = vec![br#"{"n":1}"#.to_vec()];
        let mut r = SqlRunner::new(APP, &samples, 0, Vec::new()).unwrap();
        r.set_outputs(&[
            output("A", RecordFormat::JSON),
            output("B", RecordFormat::CSV),
        ])
        .unwrap();
        let recs: Vec<(Vec<u8>, u64)> = (1..=3)
            .map(|n| (format!(r#"{{"n":{n}}}"#).into_bytes(), 0))
            .collect();
        r.push(recs, 1000);
        let taken = r.take_output();
        assert_eq!(taken.len(), 2);
        let (a, _, rows_a) = taken[0].clone();
        let (b, _, rows_b) = taken[1].clone();
        assert_eq!(rows_a[0], br#"{"X":1}"#.to_vec());
        assert_eq!(rows_b[0], b"1\n".to_vec());
        // A takes the first and third; B takes nothing.
        r.output_sent(a, rows_a, &[true, false, true]);
        r.output_sent(b, rows_b, &[]);
        let v = r.view();
        assert_eq!((v.outputs[0].sent, v.outputs[0].waiting), (2, 1));
        assert_eq!((v.outputs[1].sent, v.outputs[1].waiting), (0, 3));
        let again = r.take_output();
        assert_eq!(again[0].2, vec![br#"{"X":2}"#.to_vec()]);
        assert_eq!(again[1].2.len(), 3);
        assert!(
            r.set_outputs(&[output("a", RecordFormat::JSON)]).is_err(),
            "names are exact"
        );
    }

    /// A Kinesis output sends one call at a time, of at most 500 records
    /// and 5 MiB; a row over the 1 MiB record limit is dropped and counted.
    #[test]
    fn a_kinesis_output_takes_one_call_at_a_time() {
        const WIDE: &str = "CREATE OR REPLACE STREAM \"A\" (s VARCHAR(2000000));
            CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"A\" SELECT STREAM s FROM \"SOURCE_SQL_STREAM_001\";";
        // Discovery sizes the column from the samples.
        let samples = vec![format!(r#"{{"s":"{}"}}"#, "x".repeat(1_500_000)).into_bytes()];
        let mut r = SqlRunner::new(WIDE, &samples, 0, Vec::new()).unwrap();
        let mut o = output("A", RecordFormat::CSV);
        o.firehose = None;
        o.kinesis = Some(OutputResource {
            resource_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/out".into(),
            role_arn: None,
        });
        r.set_outputs(&[o]).unwrap();
        let row = |n: usize| (format!(r#"{{"s":"{}"}}"#, "y".repeat(n)).into_bytes(), 0);
        let mut recs: Vec<(Vec<u8>, u64)> = (0..700).map(|_| row(10)).collect();
        recs.push(row(1024 * 1024));
        recs.extend((0..12).map(|_| row(1000 * 1000)));
        r.push(recs, 1000);
        assert!(r.take_output().is_empty(), "not a Firehose output");
        let first = r.take_stream_output();
        assert_eq!(first[0].1, "out");
        assert_eq!(first[0].2.len(), 500);
        assert!(r.take_stream_output().is_empty(), "one call at a time");
        // The first 100 go back (throttled), ahead of the rest.
        let accepted: Vec<bool> = (0..500).map(|i| i >= 100).collect();
        r.stream_output_done(0, first[0].2.clone(), &accepted);
        let v = r.view();
        let out = &v.outputs[0];
        assert_eq!((out.sent, out.throttled, out.too_large), (400, 100, 1));
        assert_eq!(out.waiting, 300 + 12);
        // 300 small rows and then as many 1 MB rows as fit in 5 MiB.
        let second = r.take_stream_output();
        assert_eq!(second[0].2.len(), 300 + 5);
        assert_eq!(second[0].2[0], first[0].2[0]);
    }
}
