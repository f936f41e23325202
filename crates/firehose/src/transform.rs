//! The Lambda record-transformation stage, sans IO.
//!
//! Records wait in the transform's own buffer (BufferSizeInMBs, default
//! 1 MB, or BufferIntervalInSeconds, default 60 s, whichever comes first),
//! then go out as one invocation in AWS's event format:
//! `{"invocationId", "deliveryStreamArn", "region", "records": [{"recordId",
//! "approximateArrivalTimestamp", "data"}]}`. The caller takes invocations,
//! runs the function however it can (a built-in, a JavaScript function in
//! a worker) and hands back the response bytes or an error. The response
//! must return every recordId exactly once with a `result` of `Ok`,
//! `Dropped` or `ProcessingFailed`; anything else is an invocation error.
//! Invocation errors are retried NumberOfRetries times, then the batch's
//! records go to the error output.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::config::LambdaConfig;

/// A record waiting for, or in, an invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staged {
    pub record_id: String,
    pub data: Vec<u8>,
    pub arrival_ms: u64,
    /// When it entered Firehose (DataFreshness counts from here).
    pub entered_ms: u64,
}

/// An invocation for the caller to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub id: u64,
    /// The function's name, from the LambdaArn.
    pub function: String,
    pub function_arn: String,
    /// The event, as JSON bytes.
    pub payload: Vec<u8>,
    pub records: usize,
}

#[derive(Clone, Debug)]
struct InFlight {
    records: Vec<Staged>,
    attempts: u32,
    payload: Vec<u8>,
    /// The processor it was sent under: its retries and function hold
    /// even if the configuration changes meanwhile.
    cfg: LambdaConfig,
}

/// What the transform decided for one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Transformed: the data goes on to the destination buffer.
    Ok {
        data: Vec<u8>,
        arrival_ms: u64,
        partition_keys: BTreeMap<String, String>,
    },
    Dropped,
    /// To the error output, `processing-failed`.
    Failed {
        raw: Vec<u8>,
        arrival_ms: u64,
        code: &'static str,
        message: String,
        attempts: u32,
    },
}

#[derive(Clone, Debug, Default)]
pub struct TransformStage {
    buffer: Vec<Staged>,
    bytes: u64,
    opened_ms: u64,
    in_flight: BTreeMap<u64, InFlight>,
    /// Invocations issued and not yet taken by the caller.
    outbox: Vec<u64>,
    /// Why the last failed invocation failed, for the learner.
    pub last_error: Option<String>,
    next_invocation: u64,
    next_record: u64,
}

impl TransformStage {
    /// When the oldest record here entered Firehose (records are staged in
    /// arrival order, so each batch's first is its oldest).
    pub fn oldest_entered_ms(&self) -> Option<u64> {
        self.buffer
            .first()
            .into_iter()
            .chain(self.in_flight.values().filter_map(|f| f.records.first()))
            .map(|r| r.entered_ms)
            .min()
    }

    /// Ms until the transform buffer's interval sends it (None when empty).
    pub fn interval_left_ms(&self, cfg: &LambdaConfig, now_ms: u64) -> Option<u64> {
        (!self.buffer.is_empty())
            .then(|| (self.opened_ms + cfg.buffer_interval_ms).saturating_sub(now_ms))
    }

    /// Adds a record; sends the buffer if it reached its size.
    pub fn stage(
        &mut self,
        cfg: &LambdaConfig,
        stream_arn: &str,
        invocation_id: &mut dyn FnMut() -> String,
        data: Vec<u8>,
        arrival_ms: u64,
        now_ms: u64,
    ) {
        if self.buffer.is_empty() {
            self.opened_ms = now_ms;
        }
        self.next_record += 1;
        // AWS's record ids are long opaque strings; these are unique per
        // delivery stream and say where the record came from.
        let record_id = format!("{:016x}{:08x}", self.next_record, arrival_ms as u32);
        self.bytes += data.len() as u64;
        self.buffer.push(Staged {
            record_id,
            data,
            arrival_ms,
            entered_ms: now_ms,
        });
        if self.bytes >= cfg.buffer_bytes {
            self.send(cfg, stream_arn, invocation_id);
        }
    }

    /// Sends the buffer if its interval has passed.
    pub fn tick(
        &mut self,
        cfg: &LambdaConfig,
        stream_arn: &str,
        invocation_id: &mut dyn FnMut() -> String,
        now_ms: u64,
    ) {
        if now_ms >= self.opened_ms + cfg.buffer_interval_ms {
            self.flush(cfg, stream_arn, invocation_id);
        }
    }

    /// Sends whatever waits, under `cfg` (the configuration is about to
    /// change, or the stream to go).
    pub fn flush(
        &mut self,
        cfg: &LambdaConfig,
        stream_arn: &str,
        invocation_id: &mut dyn FnMut() -> String,
    ) {
        if !self.buffer.is_empty() {
            self.send(cfg, stream_arn, invocation_id);
        }
    }

    fn send(
        &mut self,
        cfg: &LambdaConfig,
        stream_arn: &str,
        invocation_id: &mut dyn FnMut() -> String,
    ) {
        let records = std::mem::take(&mut self.buffer);
        self.bytes = 0;
        let region = stream_arn.split(':').nth(3).unwrap_or("us-east-1");
        let payload = json!({
            "invocationId": invocation_id(),
            "deliveryStreamArn": stream_arn,
            "region": region,
            "records": records.iter().map(|r| json!({
                "recordId": r.record_id,
                "approximateArrivalTimestamp": r.arrival_ms,
                "data": BASE64.encode(&r.data),
            })).collect::<Vec<_>>(),
        })
        .to_string()
        .into_bytes();
        self.next_invocation += 1;
        self.in_flight.insert(
            self.next_invocation,
            InFlight {
                records,
                attempts: 1,
                payload,
                cfg: cfg.clone(),
            },
        );
        self.outbox.push(self.next_invocation);
    }

    /// The invocations issued since the last call, for the caller to run.
    pub fn take(&mut self) -> Vec<Invocation> {
        std::mem::take(&mut self.outbox)
            .into_iter()
            .filter_map(|id| {
                self.in_flight.get(&id).map(|f| Invocation {
                    id,
                    function: f.cfg.function.clone(),
                    function_arn: f.cfg.arn.clone(),
                    payload: f.payload.clone(),
                    records: f.records.len(),
                })
            })
            .collect()
    }

    /// An invocation's outcome: the verdict for each of its records, or
    /// nothing yet when it failed and is retried (it is issued again).
    /// `None` for an invocation this stage does not know.
    pub fn complete(&mut self, id: u64, outcome: Result<Vec<u8>, String>) -> Option<Vec<Verdict>> {
        let flight = self.in_flight.remove(&id)?;
        let parsed = outcome.and_then(|body| parse_response(&flight.records, &body));
        match parsed {
            Ok(verdicts) => Some(verdicts),
            Err(message) if flight.attempts <= flight.cfg.retries => {
                self.next_invocation += 1;
                self.in_flight.insert(
                    self.next_invocation,
                    InFlight {
                        attempts: flight.attempts + 1,
                        ..flight
                    },
                );
                self.outbox.push(self.next_invocation);
                self.last_error = Some(message);
                Some(Vec::new())
            }
            Err(message) => {
                self.last_error = Some(message.clone());
                Some(
                    flight
                        .records
                        .into_iter()
                        .map(|r| Verdict::Failed {
                            raw: r.data,
                            arrival_ms: r.arrival_ms,
                            code: "Lambda.FunctionError",
                            message: message.clone(),
                            attempts: flight.attempts,
                        })
                        .collect(),
                )
            }
        }
    }
}

/// Reads a transformation response against the records sent.
fn parse_response(sent: &[Staged], body: &[u8]) -> Result<Vec<Verdict>, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("The Lambda response is not valid JSON: {e}"))?;
    let records = v["records"]
        .as_array()
        .ok_or("The Lambda response has no \"records\" array.")?;
    let mut by_id: BTreeMap<&str, &Value> = BTreeMap::new();
    for r in records {
        let id = r["recordId"]
            .as_str()
            .ok_or("A record in the Lambda response has no recordId.")?;
        if by_id.insert(id, r).is_some() {
            return Err(format!("The Lambda response returns recordId {id} twice."));
        }
    }
    let expected: BTreeSet<&str> = sent.iter().map(|r| r.record_id.as_str()).collect();
    if let Some(extra) = by_id.keys().find(|k| !expected.contains(*k)) {
        return Err(format!(
            "The Lambda response returns recordId {extra}, which was not sent."
        ));
    }
    sent.iter()
        .map(|s| {
            let r = by_id.get(s.record_id.as_str()).ok_or_else(|| {
                format!(
                    "The Lambda response does not return recordId {}: every record sent must come back.",
                    s.record_id
                )
            })?;
            match r["result"].as_str() {
                Some("Ok") => {
                    let data = r["data"].as_str().ok_or_else(|| {
                        format!("Record {} is Ok but has no base64 \"data\".", s.record_id)
                    })?;
                    let data = BASE64.decode(data).map_err(|_| {
                        format!("Record {}'s \"data\" is not valid base64.", s.record_id)
                    })?;
                    let partition_keys = r["metadata"]["partitionKeys"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| {
                                    v.as_str().map(|v| (k.clone(), v.to_string()))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    Ok(Verdict::Ok {
                        data,
                        arrival_ms: s.arrival_ms,
                        partition_keys,
                    })
                }
                Some("Dropped") => Ok(Verdict::Dropped),
                Some("ProcessingFailed") => Ok(Verdict::Failed {
                    raw: s.data.clone(),
                    arrival_ms: s.arrival_ms,
                    code: "Lambda.ProcessingFailedStatus",
                    message: "The Lambda function returned ProcessingFailed for this record."
                        .into(),
                    attempts: 1,
                }),
                other => Err(format!(
                    "Record {} has result {}; it must be Ok, Dropped or ProcessingFailed.",
                    s.record_id,
                    other.map_or("missing".to_string(), |o| format!("'{o}'"))
                )),
            }
        })
        .collect()
}
