//! Responses of the record-heavy calls (GetRecords, PutRecords) as typed
//! structs, serialised straight to bytes for the endpoint and to a JSON
//! value for `Kinesis::call`: one definition of their shape, without a
//! JSON map per record on the hot path. Field names and order are AWS's
//! JSON 1.1 members, alphabetical as every other response here.

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::shard::StoredRecord;
use crate::SequenceNumber;

/// A call's response.
pub enum Output {
    Value(Value),
    Records(GetRecordsOutput),
    Puts(PutRecordsResponse),
}

impl Output {
    pub fn into_value(self) -> Value {
        match self {
            Output::Value(v) => v,
            Output::Records(r) => serde_json::to_value(r).unwrap_or(Value::Null),
            Output::Puts(p) => serde_json::to_value(p).unwrap_or(Value::Null),
        }
    }

    /// The response body; empty for calls that answer with no body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes = match self {
            Output::Value(Value::Null) => return Vec::new(),
            Output::Value(v) => serde_json::to_vec(v),
            Output::Records(r) => serde_json::to_vec(r),
            Output::Puts(p) => serde_json::to_vec(p),
        };
        // Plain data always serialises.
        bytes.unwrap_or_default()
    }
}

/// Base64 written straight into the output, without a string per record.
fn base64<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&base64::display::Base64Display::new(
        data,
        &base64::engine::general_purpose::STANDARD,
    ))
}

/// The 56-digit decimal written straight into the output.
fn decimal<S: Serializer>(seq: &SequenceNumber, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(seq)
}

/// One record as GetRecords and SubscribeToShard deliver it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordJson {
    /// Epoch seconds with millisecond precision.
    pub approximate_arrival_timestamp: f64,
    #[serde(serialize_with = "base64")]
    pub data: Vec<u8>,
    pub partition_key: String,
    #[serde(serialize_with = "decimal")]
    pub sequence_number: SequenceNumber,
}

impl From<StoredRecord> for RecordJson {
    fn from(r: StoredRecord) -> Self {
        RecordJson {
            approximate_arrival_timestamp: r.arrival_ms as f64 / 1000.0,
            data: r.data,
            partition_key: r.partition_key,
            sequence_number: r.sequence_number,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_shards: Option<Vec<Value>>,
    pub millis_behind_latest: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_shard_iterator: Option<String>,
    pub records: Vec<RecordJson>,
}

/// One entry of a PutRecords response.
#[derive(Serialize)]
#[serde(untagged)]
pub enum PutResultJson {
    #[serde(rename_all = "PascalCase")]
    Accepted {
        #[serde(serialize_with = "decimal")]
        sequence_number: SequenceNumber,
        shard_id: String,
    },
    #[serde(rename_all = "PascalCase")]
    Failed {
        error_code: &'static str,
        error_message: String,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsResponse {
    pub encryption_type: &'static str,
    pub failed_record_count: u64,
    pub records: Vec<PutResultJson>,
}
