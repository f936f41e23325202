//! One delivery stream's data path: records in, the buffer, objects out.
//!
//! A record is accepted, run through the processors, and appended to the
//! destination buffer. The buffer is sealed into an object when the first
//! of its two hints is reached — the bytes it holds reach `SizeInMBs`, or
//! `IntervalInSeconds` have passed since its oldest record arrived — and the
//! object joins a queue of deliveries, tried in order. While the bucket is
//! unavailable deliveries are retried with backoff, for up to 24 hours as
//! AWS retries S3; past that the records are lost and counted as such.
//!
//! Every accepted record is, at every instant, in exactly one of: the
//! buffer, an undelivered object, a delivered object, the error output, or
//! the expired count. `Accounting::balanced` states it; tests check it.

use std::collections::{BTreeMap, VecDeque};

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::bucket::{Bucket, S3Object};
use crate::compression::Compression;
use crate::opensearch::Domain;
use crate::redshift::Cluster;
use base64::Engine as _;

use crate::config::{finish, split, S3Destination};
use crate::convert::FORMAT_CONVERSION_FAILED;
use crate::http::{
    judge, HttpOutcome, HttpRequest, Judgement, HTTP_ENDPOINT_FAILED, MAX_RECORDS_PER_REQUEST,
};
use crate::prefix::{object_name, KeyContext};
use crate::transform::{Invocation, TransformStage, Verdict};

/// S3 deliveries are retried for 24 hours, then the data is lost.
pub const S3_RETRY_MS: u64 = 24 * 3_600_000;
/// Backoff between delivery attempts: 1 s doubling to at most 2 min.
const FIRST_BACKOFF_MS: u64 = 1_000;
const MAX_BACKOFF_MS: u64 = 120_000;
/// Recent flushes kept for the UI's timeline.
const RECENT_FLUSHES: usize = 64;
/// A Parquet object's rows kept for the bucket browser: at most this many,
/// in at most this many bytes.
const ROWS_SHOWN: usize = 50;
const ROWS_SHOWN_BYTES: usize = 4096;

/// The delivery stream a data path belongs to: its name, its destination
/// and its version (which object names carry).
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub stream: &'a str,
    pub arn: &'a str,
    pub created_ms: u64,
    pub dest: &'a S3Destination,
    pub version: u64,
}

/// Why a buffer was sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    /// The buffered bytes reached `SizeInMBs`.
    Size,
    /// `IntervalInSeconds` passed since the oldest record arrived.
    Interval,
    /// The destination configuration changed (UpdateDestination).
    Update,
    /// The delivery stream is being deleted.
    Delete,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Size => "size",
            Trigger::Interval => "interval",
            Trigger::Update => "update",
            Trigger::Delete => "delete",
        }
    }
}

const PROCESSING_FAILED: &str = "processing-failed";
/// The error output type of documents OpenSearch refused or never got.
const OPENSEARCH_FAILED: &str = "AmazonOpenSearchService-failed";
/// The error output type of records past the active-partition limit.
const ACTIVE_PARTITIONS_EXCEEDED: &str = "activePartitionExceeded";

/// A record on its way to the error output.
#[derive(Clone, Debug)]
struct Failure {
    raw: Vec<u8>,
    arrival_ms: u64,
    code: &'static str,
    message: String,
    attempts: u32,
    /// For an OpenSearch document: its id and index.
    document: Option<(String, String)>,
}

/// A record waiting in a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Buffered {
    data: Vec<u8>,
    arrival_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Buffer {
    records: Vec<Buffered>,
    bytes: u64,
    /// When the oldest record entered the buffer: the interval hint and
    /// DataFreshness count from here. (For Direct PUT that is its arrival;
    /// a Kinesis source's records arrived in the stream earlier.)
    opened_ms: u64,
}

impl Buffer {
    pub fn records(&self) -> usize {
        self.records.len()
    }
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// When the oldest record entered the buffer (None when empty).
    pub fn opened_ms(&self) -> Option<u64> {
        (!self.records.is_empty()).then_some(self.opened_ms)
    }
}

/// An object sealed from a buffer (or a batch of failed records), waiting
/// for its PUT to succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    key: String,
    body: Vec<u8>,
    raw_bytes: u64,
    records: u64,
    oldest_arrival_ms: u64,
    /// When its oldest record entered Firehose.
    entered_ms: u64,
    sealed_ms: u64,
    trigger: Trigger,
    attempts: u32,
    next_attempt_ms: u64,
    /// Set for error-output objects.
    error_type: Option<&'static str>,
    compression: Compression,
    /// An OpenSearch destination's documents (then `body` is unused).
    documents: Option<Vec<Doc>>,
    /// A copy of delivered records (S3BackupMode AllDocuments): written,
    /// but not counted again.
    backup: bool,
    /// The bucket it goes to, fixed when it was sealed (an update that
    /// names another bucket does not move what was sealed before).
    bucket: String,
    /// Under dynamic partitioning, the partition it holds: still active
    /// until delivered.
    partition: Option<PartitionKeys>,
    /// A Parquet object's first rows, for the bucket browser.
    rows: Option<crate::bucket::RowsShown>,
    /// An HTTP endpoint's request (then `body` is unused).
    http: Option<HttpBatch>,
    /// When its first attempt failed: an OpenSearch domain's or an HTTP
    /// endpoint's RetryOptions count from there.
    first_failure_ms: Option<u64>,
}

/// A batch of records on its way to an HTTP endpoint: one request, sent
/// again (with the same request id and body) until it is delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HttpBatch {
    request_id: String,
    request: HttpRequest,
    /// The records as they go (after processing), for the error output.
    records: Vec<Buffered>,
    /// The id of the attempt the host is sending, if one is out.
    in_flight: Option<u64>,
}

/// An object in the intermediate bucket waiting for its COPY into Redshift.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CopyJob {
    bucket: String,
    key: String,
    records: u64,
    /// The manifest's key, once written.
    manifest: Option<String>,
    first_attempt_ms: Option<u64>,
    next_attempt_ms: u64,
    attempts: u32,
}

/// A COPY into Redshift that ran, for the panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRun {
    pub command: String,
    pub at_ms: u64,
    /// Rows loaded, or Firehose's error code and message.
    pub rows: Option<u64>,
    pub error: Option<(String, String)>,
    /// What became of the objects when it failed.
    pub then: String,
}

/// Firehose retries a failed COPY every 5 minutes.
const COPY_RETRY_MS: u64 = 5 * 60_000;

/// The last failed attempt to reach an HTTP endpoint, for the panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpError {
    pub code: String,
    pub message: String,
    pub at_ms: u64,
    /// What was done with the batch: retried, sent to the error output,
    /// or (413) rejected.
    pub then: String,
}

impl Pending {
    /// A delivery sealed at `now_ms` and not tried yet: an empty object
    /// until the caller fills in what it carries.
    fn sealed(
        key: String,
        records: u64,
        oldest_arrival_ms: u64,
        entered_ms: u64,
        now_ms: u64,
        trigger: Trigger,
    ) -> Pending {
        Pending {
            key,
            body: Vec::new(),
            raw_bytes: 0,
            records,
            oldest_arrival_ms,
            entered_ms,
            sealed_ms: now_ms,
            trigger,
            attempts: 0,
            next_attempt_ms: now_ms,
            error_type: None,
            compression: Compression::Uncompressed,
            documents: None,
            backup: false,
            bucket: String::new(),
            partition: None,
            rows: None,
            http: None,
            first_failure_ms: None,
        }
    }
}

/// A record on its way to an OpenSearch index.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Doc {
    index: String,
    id: Option<String>,
    raw: Vec<u8>,
    arrival_ms: u64,
}

/// One flush, as the delivery timeline shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flush {
    pub trigger: Trigger,
    pub key: String,
    pub records: u64,
    /// Bytes before compression.
    pub raw_bytes: u64,
    /// Bytes written.
    pub object_bytes: u64,
    pub sealed_ms: u64,
    pub delivered_ms: u64,
    pub attempts: u32,
    /// Delivery time minus the oldest record's arrival.
    pub delay_ms: u64,
}

/// Cumulative counters, under their CloudWatch names where AWS has one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounting {
    /// IncomingRecords / IncomingBytes / IncomingPutRequests: accepted.
    pub incoming_records: u64,
    pub incoming_bytes: u64,
    pub incoming_put_requests: u64,
    /// ThrottledRecords: refused by the Direct PUT quota (never accepted).
    pub throttled_records: u64,
    /// Incoming records the processors passed, and those they failed (sent
    /// to the error output as `processing-failed`).
    pub processing_ok: u64,
    pub processing_failed: u64,
    /// Records after processing (de-aggregation makes one incoming record
    /// several).
    pub processed_records: u64,
    /// Of those, with a Lambda transform: in its buffer or an invocation;
    /// returned `Ok`, `Dropped`, or failed (`ProcessingFailed`, or the
    /// invocation failed after its retries). Without one, every processed
    /// record counts as transformed.
    pub transforming: u64,
    pub transformed_records: u64,
    pub dropped_records: u64,
    pub transform_failed: u64,
    /// Transformed records that dynamic partitioning could not place (no
    /// key, or past the active-partition limit): to the error output.
    pub partition_failed: u64,
    /// Records an OpenSearch domain refused (not a JSON object), or that
    /// waited past the retry duration: to the backup bucket's error output.
    #[serde(default)]
    pub delivery_failed: u64,
    /// Records format conversion could not read (not JSON, or not fitting
    /// the table): to the error output as `format-conversion-failed`.
    #[serde(default)]
    pub conversion_failed: u64,
    /// SucceedConversion.Records / .Bytes and FailedConversion.Bytes.
    #[serde(default)]
    pub converted_records: u64,
    #[serde(default)]
    pub converted_bytes: u64,
    #[serde(default)]
    pub conversion_failed_bytes: u64,
    /// Records an HTTP endpoint refused with 413: final, and (as AWS
    /// does) not written to the error output.
    #[serde(default)]
    pub rejected_records: u64,
    /// Requests an HTTP endpoint accepted (200, conforming).
    #[serde(default)]
    pub http_requests_delivered: u64,
    /// Redshift: records of objects COPY loaded (DeliveryToRedshift.Records
    /// counts `copied_rows`), of objects skipped after the retry duration,
    /// and of objects waiting for their COPY.
    #[serde(default)]
    pub copied_records: u64,
    #[serde(default)]
    pub copied_rows: u64,
    #[serde(default)]
    pub copy_skipped_records: u64,
    #[serde(default)]
    pub copy_waiting_records: u64,
    #[serde(default)]
    pub copy_attempts: u64,
    #[serde(default)]
    pub copy_successes: u64,
    /// Processed records in the buffer or in undelivered objects.
    pub buffered_records: u64,
    /// DeliveryToS3.Records / .Bytes (object bytes) / .ObjectCount.
    pub delivered_records: u64,
    pub delivered_bytes: u64,
    pub delivered_objects: u64,
    /// Processed records lost after 24 hours of failed S3 deliveries.
    pub expired_records: u64,
    /// Failed records: written under the error prefix, waiting, or lost
    /// after 24 hours of failed deliveries.
    pub error_delivered: u64,
    pub error_pending: u64,
    pub error_expired: u64,
    /// PUT attempts and successes: DeliveryToS3.Success is their ratio.
    pub delivery_attempts: u64,
    pub delivery_successes: u64,
}

impl Accounting {
    /// Nothing is lost silently: every incoming record passed processing
    /// or failed it; every processed record is in the transform, came out
    /// of it, was dropped by it or failed in it; every transformed record is
    /// buffered, delivered or expired; every failed one is in the error
    /// output, waiting, or expired.
    pub fn balanced(&self) -> bool {
        self.incoming_records == self.processing_ok + self.processing_failed
            && self.processed_records
                == self.transforming
                    + self.transformed_records
                    + self.dropped_records
                    + self.transform_failed
            && self.transformed_records
                == self.buffered_records
                    + self.delivered_records
                    + self.expired_records
                    + self.partition_failed
                    + self.delivery_failed
                    + self.conversion_failed
                    + self.rejected_records
            && self.processing_failed
                + self.transform_failed
                + self.partition_failed
                + self.delivery_failed
                + self.conversion_failed
                == self.error_delivered + self.error_pending + self.error_expired
    }
}

/// A partition's keys under dynamic partitioning: from the query and
/// from the Lambda's `metadata.partitionKeys` (none without it).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartitionKeys {
    pub query: BTreeMap<String, String>,
    pub lambda: BTreeMap<String, String>,
}

/// One minute of CloudWatch metrics (AWS publishes Firehose's at
/// 1-minute granularity), under their names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteMetrics {
    /// Start of the minute, epoch ms.
    pub minute_ms: u64,
    pub incoming_records: u64,
    pub incoming_bytes: u64,
    pub incoming_put_requests: u64,
    pub throttled_records: u64,
    /// DeliveryToS3.Records (documents, for OpenSearch) and .Bytes.
    pub delivery_records: u64,
    pub delivery_bytes: u64,
    /// DeliveryToS3.Success: successful deliveries / attempts, in
    /// thousandths (1000 = all succeeded; None without attempts).
    pub delivery_success_permille: Option<u64>,
    /// DeliveryToS3.DataFreshness, the minute's maximum, in ms.
    pub data_freshness_ms: u64,
    /// SucceedProcessing.Records (a Lambda transform's Ok records).
    pub succeed_processing_records: u64,
    /// SucceedConversion.Records / .Bytes, FailedConversion.Records /
    /// .Bytes (format conversion).
    #[serde(default)]
    pub succeed_conversion_records: u64,
    #[serde(default)]
    pub succeed_conversion_bytes: u64,
    #[serde(default)]
    pub failed_conversion_records: u64,
    #[serde(default)]
    pub failed_conversion_bytes: u64,
}

/// How many minutes of metrics a delivery stream keeps.
const METRIC_MINUTES: usize = 60;

#[derive(Clone, Debug)]
pub struct DeliveryPath {
    /// One buffer per active partition (a single one without dynamic
    /// partitioning); each seals on its own hints.
    buffers: BTreeMap<PartitionKeys, Buffer>,
    /// Failed records waiting to be written to the error output.
    failed: Vec<(&'static str, Failure)>,
    /// Documents sent to OpenSearch so far (their default ids count them).
    next_doc: u64,
    /// Finished minutes of metrics, oldest first; the current one's start,
    /// its accounting at the start, and its largest DataFreshness.
    pub minutes: VecDeque<MinuteMetrics>,
    minute_start: Option<(u64, Accounting)>,
    minute_freshness_ms: u64,
    pub transform: TransformStage,
    pending: VecDeque<Pending>,
    /// Document batches for an OpenSearch domain: a queue of their own, so
    /// an outage of the domain or of the backup bucket holds up only its
    /// own deliveries.
    indexing: VecDeque<Pending>,
    /// Objects in the intermediate bucket waiting for their COPY.
    copies: VecDeque<CopyJob>,
    /// The last COPY that ran.
    pub last_copy: Option<CopyRun>,
    /// HTTP requests for the host to send, and the last attempt id.
    http_outbox: Vec<HttpRequest>,
    next_http_id: u64,
    /// The last failed attempt to reach an HTTP endpoint.
    pub last_http_error: Option<HttpError>,
    pub accounting: Accounting,
    pub recent: VecDeque<Flush>,
    rng: ChaCha8Rng,
}

impl DeliveryPath {
    pub fn new(rng: ChaCha8Rng) -> Self {
        DeliveryPath {
            buffers: BTreeMap::new(),
            failed: Vec::new(),
            next_doc: 0,
            minutes: VecDeque::new(),
            minute_start: None,
            minute_freshness_ms: 0,
            transform: TransformStage::default(),
            pending: VecDeque::new(),
            indexing: VecDeque::new(),
            copies: VecDeque::new(),
            last_copy: None,
            http_outbox: Vec::new(),
            next_http_id: 0,
            last_http_error: None,
            accounting: Accounting::default(),
            recent: VecDeque::new(),
            rng,
        }
    }

    /// Nothing left to deliver: no record buffered, in the transform, in
    /// an undelivered object or request, or waiting for the error output.
    pub fn drained(&self) -> bool {
        self.buffers.is_empty()
            && self.failed.is_empty()
            && self.pending.is_empty()
            && self.indexing.is_empty()
            && self.copies.is_empty()
            && self.accounting.transforming == 0
    }

    /// Records in the buffers.
    pub fn buffered_records(&self) -> usize {
        self.buffers.values().map(Buffer::records).sum()
    }

    pub fn buffered_bytes(&self) -> u64 {
        self.buffers.values().map(Buffer::bytes).sum()
    }

    /// Active partitions: with records in a buffer or in an object not yet
    /// delivered, as AWS counts them (1 or 0 without dynamic partitioning).
    pub fn active_partitions(&self) -> usize {
        self.active().len()
    }

    fn active(&self) -> std::collections::BTreeSet<&PartitionKeys> {
        self.buffers
            .keys()
            .chain(self.pending.iter().filter_map(|p| p.partition.as_ref()))
            .collect()
    }

    /// The fullest buffer's bytes, which the size hint is measured on.
    pub fn fullest_buffer_bytes(&self) -> u64 {
        self.buffers.values().map(Buffer::bytes).max().unwrap_or(0)
    }

    /// Undelivered objects (sealed, waiting for a successful PUT).
    pub fn pending_objects(&self) -> usize {
        self.pending.len() + self.indexing.len()
    }

    /// DataFreshness: how long the oldest undelivered record has been in
    /// Firehose.
    pub fn data_freshness_ms(&self, now_ms: u64) -> u64 {
        self.pending
            .iter()
            .chain(&self.indexing)
            .map(|p| p.entered_ms)
            .chain(self.buffers.values().filter_map(Buffer::opened_ms))
            .chain(self.transform.oldest_entered_ms())
            .min()
            .map_or(0, |t| now_ms.saturating_sub(t))
    }

    /// Ms until the interval hint seals the next buffer (None when all
    /// are empty).
    pub fn interval_left_ms(&self, dest: &S3Destination, now_ms: u64) -> Option<u64> {
        self.buffers
            .values()
            .filter_map(Buffer::opened_ms)
            .min()
            .map(|t| (t + dest.hints.interval_ms()).saturating_sub(now_ms))
    }

    /// Accepts one record: processing, the transform if there is one,
    /// then the buffer. A record that fails processing goes to the error
    /// output.
    pub fn accept(&mut self, to: Target, data: Vec<u8>, arrival_ms: u64, now_ms: u64) {
        self.close_minute(now_ms);
        self.accounting.incoming_records += 1;
        self.accounting.incoming_bytes += data.len() as u64;
        let processors = to.dest.active_processors();
        let records = match split(processors, data) {
            Ok(records) => records,
            Err((message, raw)) => {
                self.accounting.processing_failed += 1;
                return self.fail_records(
                    to,
                    PROCESSING_FAILED,
                    vec![Failure {
                        raw,
                        arrival_ms,
                        code: "Processor.InvalidInput",
                        message,
                        attempts: 1,
                        document: None,
                    }],
                    now_ms,
                );
            }
        };
        self.accounting.processing_ok += 1;
        for r in records {
            self.accounting.processed_records += 1;
            match to.dest.lambda() {
                Some(cfg) => {
                    self.accounting.transforming += 1;
                    let rng = &mut self.rng;
                    self.transform
                        .stage(cfg, to.arn, &mut || uuid(rng), r, arrival_ms, now_ms);
                }
                None => {
                    self.accounting.transformed_records += 1;
                    self.buffer_record(to, r, arrival_ms, now_ms, BTreeMap::new());
                }
            }
        }
    }

    /// A record on its way to a buffer: its partition found (dynamic
    /// partitioning), its delimiter added, and into that partition's
    /// buffer, which seals if it reached its size.
    fn buffer_record(
        &mut self,
        to: Target,
        data: Vec<u8>,
        arrival_ms: u64,
        now_ms: u64,
        lambda_keys: BTreeMap<String, String>,
    ) {
        let partition = match self.partition_of(to, &data, lambda_keys) {
            Ok(p) => p,
            Err((error_type, message)) => {
                self.accounting.partition_failed += 1;
                return self.fail_records(
                    to,
                    error_type,
                    vec![Failure {
                        raw: data,
                        arrival_ms,
                        code: if error_type == ACTIVE_PARTITIONS_EXCEEDED {
                            "DynamicPartitioning.ActivePartitionsLimitExceeded"
                        } else {
                            "DynamicPartitioning.MetadataExtractionFailed"
                        },
                        message,
                        attempts: 1,
                        document: None,
                    }],
                    now_ms,
                );
            }
        };
        let data = finish(to.dest.active_processors(), data);
        self.accounting.buffered_records += 1;
        // Look up before inserting: the keys are cloned only for a new
        // partition.
        if !self.buffers.contains_key(&partition) {
            self.buffers.insert(partition.clone(), Buffer::default());
        }
        let Some(buffer) = self.buffers.get_mut(&partition) else {
            return;
        };
        if buffer.records.is_empty() {
            buffer.opened_ms = now_ms;
        }
        buffer.bytes += data.len() as u64;
        buffer.records.push(Buffered { data, arrival_ms });
        if buffer.bytes >= to.dest.hints.size_bytes() {
            self.seal_partition(to, &partition, Trigger::Size, now_ms);
        }
    }

    /// The partition a record belongs to, or the error type and why not.
    fn partition_of(
        &self,
        to: Target,
        data: &[u8],
        lambda: BTreeMap<String, String>,
    ) -> Result<PartitionKeys, (&'static str, String)> {
        let Some(dp) = &to.dest.dynamic_partitioning else {
            return Ok(PartitionKeys::default());
        };
        // A partition is what the prefix makes of the keys: keys it does
        // not use do not split records further.
        let query = match to.dest.metadata_query() {
            Some(q) => q
                .extract(data)
                .map_err(|e| (PROCESSING_FAILED, e))?
                .into_iter()
                .filter(|(k, _)| to.dest.keys.query_keys_used().any(|u| u == k))
                .collect(),
            None => BTreeMap::new(),
        };
        let lambda: BTreeMap<String, String> = lambda
            .into_iter()
            .filter(|(k, _)| to.dest.keys.lambda_keys_used().any(|u| u == k))
            .collect();
        for key in to.dest.keys.lambda_keys_used() {
            if !lambda.contains_key(key) {
                return Err((
                    PROCESSING_FAILED,
                    format!("the Lambda function returned no partition key {key}"),
                ));
            }
        }
        let keys = PartitionKeys { query, lambda };
        // The common case, a partition with a buffer, needs no count.
        if self.buffers.contains_key(&keys) {
            return Ok(keys);
        }
        let active = self.active();
        if !active.contains(&keys) && active.len() >= dp.active_partition_limit {
            return Err((
                ACTIVE_PARTITIONS_EXCEEDED,
                format!(
                    "the delivery stream already has {} active partitions, its limit",
                    dp.active_partition_limit
                ),
            ));
        }
        Ok(keys)
    }

    /// The transform's invocations issued since the last call.
    pub fn take_invocations(&mut self) -> Vec<Invocation> {
        self.transform.take()
    }

    /// The HTTP requests issued since the last call, for the host to send.
    pub fn take_http_requests(&mut self) -> Vec<HttpRequest> {
        std::mem::take(&mut self.http_outbox)
    }

    /// Whether a request is out, waiting for its outcome.
    pub fn http_in_flight(&self) -> bool {
        self.indexing
            .front()
            .and_then(|p| p.http.as_ref())
            .is_some_and(|b| b.in_flight.is_some())
    }

    /// An HTTP request's outcome: the batch is delivered, retried after a
    /// backoff, sent to the error output once `RetryOptions` has run out,
    /// or (413) rejected. False when the request is unknown.
    pub fn complete_http(
        &mut self,
        to: Target,
        id: u64,
        outcome: &HttpOutcome,
        now_ms: u64,
    ) -> bool {
        self.close_minute(now_ms);
        let retry_ms = to
            .dest
            .http
            .as_ref()
            .map_or(0, |h| u64::from(h.retry_seconds) * 1000);
        let Some(head) = self.indexing.front_mut() else {
            return false;
        };
        let Some(batch) = head.http.as_mut() else {
            return false;
        };
        if batch.in_flight != Some(id) {
            return false;
        }
        batch.in_flight = None;
        let judgement = judge(outcome, &batch.request_id);
        let n = head.records;
        match judgement {
            Judgement::Delivered => {
                let done = self.indexing.pop_front().expect("head exists");
                let a = &mut self.accounting;
                a.delivery_successes += 1;
                a.buffered_records -= n;
                a.delivered_records += n;
                a.delivered_bytes += done
                    .http
                    .as_ref()
                    .map_or(0, |b| b.request.body.len() as u64);
                a.http_requests_delivered += 1;
                self.record_flush(&done, now_ms);
            }
            Judgement::Rejected { message } => {
                self.indexing.pop_front();
                self.accounting.buffered_records -= n;
                self.accounting.rejected_records += n;
                self.last_http_error = Some(HttpError {
                    code: "HttpEndpoint.DestinationException".into(),
                    message,
                    at_ms: now_ms,
                    then: format!(
                        "413 is final: {n} records rejected, not retried and not written to \
                         the error output"
                    ),
                });
            }
            Judgement::Retry {
                code,
                message,
                endpoint_message,
            } => {
                // RetryOptions counts from the first failed attempt.
                let first_failure = *head.first_failure_ms.get_or_insert(now_ms);
                if now_ms.saturating_sub(first_failure) < retry_ms {
                    let unit = f64::from(self.rng.next_u32()) / 4_294_967_296.0;
                    let wait = crate::http::backoff_ms(head.attempts, unit);
                    head.next_attempt_ms = now_ms + wait;
                    self.last_http_error = Some(HttpError {
                        code,
                        message,
                        at_ms: now_ms,
                        then: format!(
                            "attempt {} failed; trying again in {wait} ms",
                            head.attempts
                        ),
                    });
                    return true;
                }
                let done = self.indexing.pop_front().expect("head exists");
                let attempts = done.attempts;
                let error_message = endpoint_message.unwrap_or_else(|| message.clone());
                let failures: Vec<Failure> = done
                    .http
                    .map(|b| b.records)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| Failure {
                        raw: r.data,
                        arrival_ms: r.arrival_ms,
                        code: crate::http::code_name(&code),
                        message: error_message.clone(),
                        attempts,
                        document: None,
                    })
                    .collect();
                self.accounting.buffered_records -= n;
                self.accounting.delivery_failed += n;
                self.last_http_error = Some(HttpError {
                    code,
                    message,
                    at_ms: now_ms,
                    then: format!(
                        "retry duration over after {attempts} attempts: {n} records to the \
                         error output ({HTTP_ENDPOINT_FAILED}/)"
                    ),
                });
                self.fail_records(to, HTTP_ENDPOINT_FAILED, failures, now_ms);
            }
        }
        true
    }

    /// An invocation's outcome (the response bytes, or why it failed):
    /// its records go on to the buffer, are dropped, or go to the error
    /// output. False when the invocation is unknown.
    pub fn complete_invocation(
        &mut self,
        to: Target,
        id: u64,
        outcome: Result<Vec<u8>, String>,
        now_ms: u64,
    ) -> bool {
        let Some(verdicts) = self.transform.complete(id, outcome) else {
            return false;
        };
        let mut failures = Vec::new();
        for v in verdicts {
            self.accounting.transforming -= 1;
            match v {
                Verdict::Ok {
                    data,
                    arrival_ms,
                    partition_keys,
                } => {
                    self.accounting.transformed_records += 1;
                    self.buffer_record(to, data, arrival_ms, now_ms, partition_keys);
                }
                Verdict::Dropped => self.accounting.dropped_records += 1,
                Verdict::Failed {
                    raw,
                    arrival_ms,
                    code,
                    message,
                    attempts,
                } => {
                    self.accounting.transform_failed += 1;
                    failures.push(Failure {
                        raw,
                        arrival_ms,
                        code,
                        message,
                        attempts,
                        document: None,
                    });
                }
            }
        }
        if !failures.is_empty() {
            self.fail_records(to, PROCESSING_FAILED, failures, now_ms);
        }
        true
    }

    /// Sends failed records to the error output: they wait with the other
    /// failures of this tick and go out together, one object per error
    /// type.
    fn fail_records(
        &mut self,
        _to: Target,
        error_type: &'static str,
        failures: Vec<Failure>,
        _now_ms: u64,
    ) {
        self.accounting.error_pending += failures.len() as u64;
        self.failed
            .extend(failures.into_iter().map(|f| (error_type, f)));
    }

    /// Turns the failures waiting into error-output objects.
    fn flush_failures(&mut self, to: Target, now_ms: u64) {
        let mut by_type: BTreeMap<&'static str, Vec<Failure>> = BTreeMap::new();
        for (t, f) in std::mem::take(&mut self.failed) {
            by_type.entry(t).or_default().push(f);
        }
        for (error_type, failures) in by_type {
            self.write_failures(to, error_type, failures, now_ms);
        }
    }

    /// One error-output object: JSON lines in AWS's envelope.
    fn write_failures(
        &mut self,
        to: Target,
        error_type: &'static str,
        failures: Vec<Failure>,
        now_ms: u64,
    ) {
        let lambda_arn = to.dest.lambda().map(|l| l.arn.clone());
        let catalog_table = (error_type == FORMAT_CONVERSION_FAILED)
            .then(|| to.dest.active_conversion().map(|c| c.catalog_table()))
            .flatten();
        let mut body = Vec::new();
        for f in &failures {
            if let Some(table) = &catalog_table {
                // The conversion's own document: lastErrorCode and the table.
                let error = serde_json::json!({
                    "attemptsMade": f.attempts,
                    "arrivalTimestamp": f.arrival_ms,
                    "lastErrorCode": f.code,
                    "lastErrorMessage": f.message,
                    "attemptEndingTimestamp": now_ms,
                    "rawData": base64::engine::general_purpose::STANDARD.encode(&f.raw),
                    "dataCatalogTable": table,
                });
                body.extend_from_slice(error.to_string().as_bytes());
                body.push(b'\n');
                continue;
            }
            let mut error = serde_json::json!({
                "attemptsMade": f.attempts,
                "arrivalTimestamp": f.arrival_ms,
                "errorCode": f.code,
                "errorMessage": f.message,
                "attemptEndingTimestamp": now_ms,
                "rawData": base64::engine::general_purpose::STANDARD.encode(&f.raw),
            });
            if let Some(arn) = &lambda_arn {
                error["lambdaArn"] = serde_json::json!(arn);
            }
            if let Some((id, index)) = &f.document {
                error["esDocumentId"] = serde_json::json!(id);
                error["esIndexName"] = serde_json::json!(index);
                error["esTypeName"] = serde_json::json!("");
            }
            body.extend_from_slice(error.to_string().as_bytes());
            body.push(b'\n');
        }
        let oldest = failures
            .iter()
            .map(|f| f.arrival_ms)
            .min()
            .unwrap_or(now_ms);
        let rng = &mut self.rng;
        let prefix = to
            .dest
            .keys
            .error_prefix(error_type, oldest, &mut || random_string(rng));
        let uuid = uuid(&mut self.rng);
        let key = format!(
            "{prefix}{}",
            object_name(to.stream, to.version, oldest, &uuid, "")
        );
        let records = failures.len() as u64;
        self.pending.push_back(Pending {
            raw_bytes: body.len() as u64,
            body,
            error_type: Some(error_type),
            bucket: to.dest.bucket.clone(),
            ..Pending::sealed(key, records, oldest, now_ms, now_ms, Trigger::Size)
        });
    }

    /// Seals every buffer (an update or a delete); what waits for the
    /// transform goes to it now, under the configuration it came in with.
    pub fn seal(&mut self, to: Target, trigger: Trigger, now_ms: u64) {
        if let Some(cfg) = to.dest.lambda() {
            let rng = &mut self.rng;
            self.transform.flush(cfg, to.arn, &mut || uuid(rng));
        }
        let partitions: Vec<PartitionKeys> = self.buffers.keys().cloned().collect();
        for p in partitions {
            self.seal_partition(to, &p, trigger, now_ms);
        }
        // With what sealing failed (format conversion): nothing waits
        // behind a delete.
        self.flush_failures(to, now_ms);
    }

    /// Seals one partition's buffer into an object queued for delivery.
    fn seal_partition(
        &mut self,
        to: Target,
        partition: &PartitionKeys,
        trigger: Trigger,
        now_ms: u64,
    ) {
        let (stream, dest, version) = (to.stream, to.dest, to.version);
        let Some(buffer) = self.buffers.remove(partition) else {
            return;
        };
        if buffer.records.is_empty() {
            return;
        }
        let Buffer {
            records,
            bytes: raw_bytes,
            opened_ms: entered,
        } = buffer;
        let oldest = records[0].arrival_ms;
        if let Some(http) = &dest.http {
            // One request per 10,000 records, each with its own id.
            for chunk in records.chunks(MAX_RECORDS_PER_REQUEST) {
                let request_id = uuid(&mut self.rng);
                let request = http.request(
                    0,
                    &request_id,
                    to.arn,
                    now_ms,
                    chunk.iter().map(|r| r.data.as_slice()),
                );
                let raw: u64 = chunk.iter().map(|r| r.data.len() as u64).sum();
                let key = format!("{} ({} records)", request_id, chunk.len());
                self.indexing.push_back(Pending {
                    raw_bytes: raw,
                    bucket: dest.bucket.clone(),
                    http: Some(HttpBatch {
                        request_id,
                        request,
                        records: chunk.to_vec(),
                        in_flight: None,
                    }),
                    ..Pending::sealed(
                        key,
                        chunk.len() as u64,
                        chunk[0].arrival_ms,
                        entered,
                        now_ms,
                        trigger,
                    )
                });
            }
            if !http.backup_all {
                return;
            }
        }
        if let Some(os) = &dest.opensearch {
            // The stream's name and creation time: a stream deleted and
            // made again does not reuse (and overwrite) earlier ids.
            let stream_hash = shardlab_engine::fnv::fnv1a64_extend(
                shardlab_engine::fnv::fnv1a64(stream.as_bytes()),
                &to.created_ms.to_le_bytes(),
            );
            let docs: Vec<Doc> = records
                .iter()
                .map(|r| {
                    self.next_doc += 1;
                    Doc {
                        index: os.rotation.index(&os.index_name, r.arrival_ms),
                        // FIREHOSE_DEFAULT: stable per record, so a retry
                        // replaces rather than duplicates.
                        id: os
                            .firehose_ids
                            .then(|| format!("{stream_hash:016x}-{:010}", self.next_doc)),
                        raw: r.data.clone(),
                        arrival_ms: r.arrival_ms,
                    }
                })
                .collect();
            let mut indices: Vec<&str> = docs.iter().map(|d| d.index.as_str()).collect();
            indices.dedup();
            let key = indices.join(", ");
            self.indexing.push_back(Pending {
                raw_bytes,
                documents: Some(docs),
                bucket: dest.bucket.clone(),
                ..Pending::sealed(key, records.len() as u64, oldest, entered, now_ms, trigger)
            });
            if !os.backup_all {
                return;
            }
        }
        // Format conversion: the records that fit the table become one
        // Parquet file; the others go to the error output.
        let (records, raw_bytes, converted) = match dest.active_conversion() {
            None => (records, raw_bytes, None),
            Some(conversion) => {
                let mut rows = conversion.rows();
                let mut kept = Vec::with_capacity(records.len());
                let mut failures = Vec::new();
                for r in records {
                    match rows.add(&r.data) {
                        Ok(_) => kept.push(r),
                        Err(e) => failures.push(Failure {
                            raw: r.data,
                            arrival_ms: r.arrival_ms,
                            code: e.code,
                            message: e.message,
                            attempts: 1,
                            document: None,
                        }),
                    }
                }
                let shown = crate::bucket::RowsShown {
                    text: rows.json_lines(ROWS_SHOWN, ROWS_SHOWN_BYTES),
                    total: rows.rows as u64,
                };
                let file = match rows.write() {
                    Ok(file) => Some((file, shown)),
                    // Writing rows that were read cannot fail in practice;
                    // if it ever did, the records go to the error output
                    // rather than being lost.
                    Err(message) => {
                        failures.extend(kept.drain(..).map(|r| Failure {
                            raw: r.data,
                            arrival_ms: r.arrival_ms,
                            code: "DataFormatConversion.InternalError",
                            message: message.clone(),
                            attempts: 1,
                            document: None,
                        }));
                        None
                    }
                };
                let failed_bytes: u64 = failures.iter().map(|f| f.raw.len() as u64).sum();
                let kept_bytes: u64 = kept.iter().map(|r| r.data.len() as u64).sum();
                let a = &mut self.accounting;
                a.buffered_records -= failures.len() as u64;
                a.conversion_failed += failures.len() as u64;
                a.conversion_failed_bytes += failed_bytes;
                a.converted_records += kept.len() as u64;
                a.converted_bytes += kept_bytes;
                if !failures.is_empty() {
                    // Out with the tick's other failures.
                    self.fail_records(to, FORMAT_CONVERSION_FAILED, failures, now_ms);
                }
                if kept.is_empty() {
                    return;
                }
                (kept, kept_bytes, file)
            }
        };
        let oldest = records[0].arrival_ms;
        let ctx = KeyContext {
            oldest_arrival_ms: oldest,
            query_keys: &partition.query,
            lambda_keys: &partition.lambda,
        };
        let rng = &mut self.rng;
        let prefix = dest
            .keys
            .object_prefix(&ctx, &mut || random_string(rng))
            .unwrap_or_default();
        let uuid = uuid(&mut self.rng);
        let name = object_name(stream, version.max(1), oldest, &uuid, dest.extension());
        let entry = object_name(stream, version.max(1), oldest, &uuid, "");
        let (body, rows) = match converted {
            Some((file, shown)) => (file, Some(shown)),
            None => {
                let mut raw = Vec::with_capacity(raw_bytes as usize);
                for r in &records {
                    raw.extend_from_slice(&r.data);
                }
                let body = dest
                    .compression
                    .compress(&raw, &entry)
                    // Compression of bytes in memory cannot fail in
                    // practice; if it ever did, deliver them as they are
                    // rather than lose them.
                    .unwrap_or(raw);
                (body, None)
            }
        };
        self.pending.push_back(Pending {
            body,
            rows,
            raw_bytes,
            compression: dest.compression,
            bucket: dest.bucket.clone(),
            partition: dest
                .dynamic_partitioning
                .as_ref()
                .map(|_| partition.clone()),
            // With OpenSearch or an HTTP endpoint, an S3 object is the
            // AllDocuments / AllData backup.
            backup: dest.opensearch.is_some() || dest.http.is_some(),
            ..Pending::sealed(
                format!("{prefix}{name}"),
                records.len() as u64,
                oldest,
                entered,
                now_ms,
                trigger,
            )
        });
    }

    /// Seals the buffer if a hint says so, then tries due deliveries in
    /// order.
    pub fn tick(
        &mut self,
        to: Target,
        buckets: &mut BTreeMap<String, Bucket>,
        domain: Option<&mut Domain>,
        cluster: Option<&mut Cluster>,
        now_ms: u64,
    ) {
        // What happened since the last tick belongs to the minute it
        // happened in: close that minute before this tick's work.
        self.close_minute(now_ms);
        if let Some(cfg) = to.dest.lambda() {
            let rng = &mut self.rng;
            self.transform.tick(cfg, to.arn, &mut || uuid(rng), now_ms);
        }
        let due: Vec<PartitionKeys> = self
            .buffers
            .iter()
            .filter(|(_, b)| {
                b.opened_ms()
                    .is_some_and(|t| now_ms >= t + to.dest.hints.interval_ms())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for p in due {
            self.seal_partition(to, &p, Trigger::Interval, now_ms);
        }
        self.flush_failures(to, now_ms);
        self.deliver(to, buckets, domain, now_ms);
        if let Some(cluster) = cluster {
            self.run_copies(to, buckets, cluster, now_ms);
        }
        self.minute_freshness_ms = self.minute_freshness_ms.max(self.data_freshness_ms(now_ms));
    }

    fn deliver(
        &mut self,
        to: Target,
        buckets: &mut BTreeMap<String, Bucket>,
        domain: Option<&mut Domain>,
        now_ms: u64,
    ) {
        // The documents' queue goes through the same loop as the objects'
        // (swapped in for it), then the objects'.
        std::mem::swap(&mut self.pending, &mut self.indexing);
        self.deliver_queue(to, buckets, domain, now_ms);
        std::mem::swap(&mut self.pending, &mut self.indexing);
        self.deliver_queue(to, buckets, None, now_ms);
    }

    /// Delivers the head of `pending` while it can, in order.
    fn deliver_queue(
        &mut self,
        to: Target,
        buckets: &mut BTreeMap<String, Bucket>,
        mut domain: Option<&mut Domain>,
        now_ms: u64,
    ) {
        let stream = to.stream;
        while let Some(head) = self.pending.front_mut() {
            if head.next_attempt_ms > now_ms {
                return;
            }
            if let Some(batch) = head.http.as_mut() {
                // One request out at a time; the host answers it.
                if batch.in_flight.is_none() {
                    head.attempts += 1;
                    self.accounting.delivery_attempts += 1;
                    self.next_http_id += 1;
                    batch.in_flight = Some(self.next_http_id);
                    let mut request = batch.request.clone();
                    request.id = self.next_http_id;
                    self.http_outbox.push(request);
                }
                return;
            }
            head.attempts += 1;
            self.accounting.delivery_attempts += 1;
            if head.documents.is_some() {
                let retry_ms = to
                    .dest
                    .opensearch
                    .as_ref()
                    .map_or(0, |o| u64::from(o.retry_seconds) * 1000);
                let Some(domain) = domain.as_deref_mut() else {
                    return;
                };
                if domain.unavailable {
                    let first_failure = *head.first_failure_ms.get_or_insert(now_ms);
                    if now_ms.saturating_sub(first_failure) < retry_ms {
                        head.next_attempt_ms = now_ms + backoff_ms(head.attempts);
                        return;
                    }
                    // Past RetryOptions: every document to the backup
                    // bucket's error output.
                    let done = self.pending.pop_front().expect("head exists");
                    let attempts = done.attempts;
                    let failures = done
                        .documents
                        .unwrap_or_default()
                        .into_iter()
                        .map(|d| Failure {
                            raw: d.raw,
                            arrival_ms: d.arrival_ms,
                            code: "OS.ServiceUnavailable",
                            message: "The domain did not answer within the retry duration.".into(),
                            attempts,
                            document: Some((d.id.unwrap_or_default(), d.index)),
                        })
                        .collect::<Vec<_>>();
                    self.accounting.buffered_records -= failures.len() as u64;
                    self.accounting.delivery_failed += failures.len() as u64;
                    self.fail_records(to, OPENSEARCH_FAILED, failures, now_ms);
                    continue;
                }
                let mut done = self.pending.pop_front().expect("head exists");
                self.accounting.delivery_successes += 1;
                let mut failures = Vec::new();
                let mut indexed = 0u64;
                for d in done.documents.take().unwrap_or_default() {
                    match serde_json::from_slice::<serde_json::Value>(&d.raw) {
                        Ok(source @ serde_json::Value::Object(_)) => {
                            domain.index(&d.index, d.id, source, now_ms);
                            indexed += 1;
                        }
                        _ => failures.push(Failure {
                            raw: d.raw,
                            arrival_ms: d.arrival_ms,
                            code: "400",
                            message: "mapper_parsing_exception: the record is not a JSON \
                                      object, so it is not a document"
                                .into(),
                            attempts: done.attempts,
                            document: Some((d.id.unwrap_or_default(), d.index)),
                        }),
                    }
                }
                self.accounting.buffered_records -= done.records;
                self.accounting.delivered_records += indexed;
                self.accounting.delivery_failed += failures.len() as u64;
                if !failures.is_empty() {
                    self.fail_records(to, OPENSEARCH_FAILED, failures, now_ms);
                }
                self.record_flush(&done, now_ms);
                continue;
            }
            let bucket = buckets.entry(head.bucket.clone()).or_default();
            if bucket.unavailable {
                if now_ms.saturating_sub(head.sealed_ms) >= S3_RETRY_MS {
                    let lost = self.pending.pop_front().expect("head exists");
                    self.settle(&lost, false);
                    continue;
                }
                head.next_attempt_ms = now_ms + backoff_ms(head.attempts);
                return;
            }
            let done = self.pending.pop_front().expect("head exists");
            self.accounting.delivery_successes += 1;
            self.settle(&done, true);
            if !done.backup && done.error_type.is_none() {
                self.record_flush(&done, now_ms);
                if to.dest.redshift.is_some() {
                    // In the intermediate bucket: its COPY comes next.
                    self.accounting.copy_waiting_records += done.records;
                    self.copies.push_back(CopyJob {
                        bucket: done.bucket.clone(),
                        key: done.key.clone(),
                        records: done.records,
                        manifest: None,
                        first_attempt_ms: None,
                        next_attempt_ms: now_ms,
                        attempts: 0,
                    });
                }
            }
            bucket.put(
                done.key,
                S3Object {
                    body: done.body,
                    last_modified_ms: now_ms,
                    compression: done.compression,
                    records: done.records,
                    writer: stream.to_string(),
                    sequence: 0,
                    rows: done.rows,
                },
            );
        }
    }
}

impl DeliveryPath {
    /// Runs the COPYs that are due, in order, one at a time: each object
    /// gets a manifest in the intermediate bucket, then
    /// `COPY ... FROM '<manifest>' MANIFEST <CopyOptions>`. A failed COPY
    /// is tried again every 5 minutes for `RetryOptions`; then the object
    /// is skipped, listed in a manifest under `errors/` for a backfill.
    fn run_copies(
        &mut self,
        to: Target,
        buckets: &mut BTreeMap<String, Bucket>,
        cluster: &mut Cluster,
        now_ms: u64,
    ) {
        let Some(rs) = to.dest.redshift.as_ref() else {
            return;
        };
        while let Some(job) = self.copies.front_mut() {
            if job.next_attempt_ms > now_ms {
                return;
            }
            let bucket = buckets.entry(job.bucket.clone()).or_default();
            // (A Redshift destination's prefix has no expressions.)
            let prefix = to.dest.keys.raw_prefix().to_string();
            if job.manifest.is_none() {
                job.manifest = Some(manifest_key(
                    to,
                    &prefix,
                    "manifests/",
                    now_ms,
                    &mut self.rng,
                ));
            }
            let manifest = job.manifest.clone().expect("named above");
            if !bucket.unavailable && !bucket.objects.contains_key(&manifest) {
                let body = manifest_of(&job.bucket, &job.key);
                bucket.put(manifest.clone(), S3Object::text(body, to.stream, now_ms));
            }
            let command = crate::redshift::copy_command(
                &rs.table,
                rs.columns.as_deref(),
                &format!("s3://{}/{manifest}", job.bucket),
                rs.role_arn.as_str(),
                &rs.options,
            );
            // The object as stored, borrowed (COPY decompresses what it needs).
            let files: Vec<(String, &[u8])> = bucket
                .objects
                .get(&job.key)
                .map(|o| (format!("s3://{}/{}", job.bucket, job.key), &o.body[..]))
                .into_iter()
                .collect();
            let columns: Option<Vec<String>> = rs
                .columns
                .as_deref()
                .filter(|c| !c.trim().is_empty())
                .map(|c| c.split(',').map(|x| x.trim().to_string()).collect());
            job.attempts += 1;
            job.first_attempt_ms.get_or_insert(now_ms);
            self.accounting.copy_attempts += 1;
            let result = if bucket.unavailable {
                // COPY reads the manifest and the object from S3.
                Err(crate::redshift::CopyFailure {
                    code: "Redshift.DataLoadFailed",
                    message: format!(
                        "S3ServiceException: the intermediate bucket {} is unavailable (the \
                         outage switch is on), so COPY cannot read the manifest or the object.",
                        job.bucket
                    ),
                })
            } else if files.is_empty() {
                Err(crate::redshift::CopyFailure {
                    code: "Redshift.S3BucketAccessDenied",
                    message: format!("The object s3://{}/{} is not there.", job.bucket, job.key),
                })
            } else {
                cluster.copy(&rs.table, columns.as_deref(), &rs.options, &files, now_ms)
            };
            match result {
                Ok(rows) => {
                    let done = self.copies.pop_front().expect("head exists");
                    let a = &mut self.accounting;
                    a.copy_successes += 1;
                    a.copy_waiting_records -= done.records;
                    a.copied_records += done.records;
                    a.copied_rows += rows;
                    self.last_copy = Some(CopyRun {
                        command,
                        at_ms: now_ms,
                        rows: Some(rows),
                        error: None,
                        then: format!("{rows} rows loaded"),
                    });
                }
                Err(failure) => {
                    let retry_ms = u64::from(rs.retry_seconds) * 1000;
                    let first = job.first_attempt_ms.unwrap_or(now_ms);
                    if now_ms.saturating_sub(first) + COPY_RETRY_MS <= retry_ms {
                        job.next_attempt_ms = now_ms + COPY_RETRY_MS;
                        self.last_copy = Some(CopyRun {
                            command,
                            at_ms: now_ms,
                            rows: None,
                            error: Some((failure.code.into(), failure.message)),
                            then: format!(
                                "attempt {} failed; COPY runs again in 5 minutes (retry duration {} s)",
                                job.attempts, rs.retry_seconds
                            ),
                        });
                        return;
                    }
                    // Skipped: a manifest of it under errors/ for a backfill,
                    // once the bucket takes it.
                    if bucket.unavailable {
                        job.next_attempt_ms = now_ms + COPY_RETRY_MS;
                        return;
                    }
                    let done = self.copies.pop_front().expect("head exists");
                    let key = manifest_key(to, &prefix, "errors/manifests/", now_ms, &mut self.rng);
                    let body = manifest_of(&done.bucket, &done.key);
                    let bucket = buckets.entry(done.bucket.clone()).or_default();
                    bucket.put(key.clone(), S3Object::text(body, to.stream, now_ms));
                    let a = &mut self.accounting;
                    a.copy_waiting_records -= done.records;
                    a.copy_skipped_records += done.records;
                    self.last_copy = Some(CopyRun {
                        command,
                        at_ms: now_ms,
                        rows: None,
                        error: Some((failure.code.into(), failure.message)),
                        then: format!(
                            "retry duration over after {} attempts: the object was skipped and \
                             listed in s3://{}/{key} for a backfill",
                            done.attempts, done.bucket
                        ),
                    });
                }
            }
        }
    }

    /// Moves an object's records from waiting to delivered, or to lost
    /// after S3's 24 hours of retries.
    fn settle(&mut self, p: &Pending, delivered: bool) {
        let a = &mut self.accounting;
        let n = p.records;
        match (p.backup, p.error_type.is_some(), delivered) {
            // A copy: its records were counted where they went.
            (true, _, _) => {}
            (false, true, true) => {
                a.error_pending -= n;
                a.error_delivered += n;
            }
            (false, true, false) => {
                a.error_pending -= n;
                a.error_expired += n;
            }
            (false, false, true) => {
                a.buffered_records -= n;
                a.delivered_records += n;
                a.delivered_bytes += p.body.len() as u64;
                a.delivered_objects += 1;
            }
            (false, false, false) => {
                a.buffered_records -= n;
                a.expired_records += n;
            }
        }
    }

    /// Closes the minute of metrics when `now_ms` has moved past it.
    pub(crate) fn close_minute(&mut self, now_ms: u64) {
        let minute = now_ms - now_ms % 60_000;
        match &self.minute_start {
            None => self.minute_start = Some((minute, self.accounting.clone())),
            Some((start, _)) if *start == minute => {}
            Some((start, before)) => {
                let (a, b) = (&self.accounting, before);
                let attempts = a.delivery_attempts - b.delivery_attempts;
                let m = MinuteMetrics {
                    minute_ms: *start,
                    incoming_records: a.incoming_records - b.incoming_records,
                    incoming_bytes: a.incoming_bytes - b.incoming_bytes,
                    incoming_put_requests: a.incoming_put_requests - b.incoming_put_requests,
                    throttled_records: a.throttled_records - b.throttled_records,
                    delivery_records: a.delivered_records - b.delivered_records,
                    delivery_bytes: a.delivered_bytes - b.delivered_bytes,
                    delivery_success_permille: (attempts > 0)
                        .then(|| (a.delivery_successes - b.delivery_successes) * 1000 / attempts),
                    data_freshness_ms: self.minute_freshness_ms,
                    succeed_processing_records: a.transformed_records - b.transformed_records,
                    succeed_conversion_records: a.converted_records - b.converted_records,
                    succeed_conversion_bytes: a.converted_bytes - b.converted_bytes,
                    failed_conversion_records: a.conversion_failed - b.conversion_failed,
                    failed_conversion_bytes: a.conversion_failed_bytes - b.conversion_failed_bytes,
                };
                let closed = m.minute_ms;
                let freshness = m.data_freshness_ms;
                self.push_minute(m);
                // Minutes with no tick at all: nothing happened in them, as
                // CloudWatch shows it (no gaps in a chart).
                let mut gap = closed + 60_000;
                while gap < minute && minute - gap <= METRIC_MINUTES as u64 * 60_000 {
                    self.push_minute(MinuteMetrics {
                        minute_ms: gap,
                        data_freshness_ms: freshness,
                        ..MinuteMetrics::default()
                    });
                    gap += 60_000;
                }
                self.minute_start = Some((minute, self.accounting.clone()));
                self.minute_freshness_ms = 0;
            }
        }
    }

    fn push_minute(&mut self, m: MinuteMetrics) {
        if self.minutes.len() == METRIC_MINUTES {
            self.minutes.pop_front();
        }
        self.minutes.push_back(m);
    }

    /// A delivery, for the timeline.
    fn record_flush(&mut self, done: &Pending, now_ms: u64) {
        if self.recent.len() == RECENT_FLUSHES {
            self.recent.pop_front();
        }
        self.recent.push_back(Flush {
            trigger: done.trigger,
            key: done.key.clone(),
            records: done.records,
            raw_bytes: done.raw_bytes,
            // Requests as sent; documents as they are; objects as stored.
            object_bytes: if let Some(b) = &done.http {
                b.request.body.len() as u64
            } else if done.body.is_empty() {
                done.raw_bytes
            } else {
                done.body.len() as u64
            },
            sealed_ms: done.sealed_ms,
            delivered_ms: now_ms,
            attempts: done.attempts,
            delay_ms: now_ms.saturating_sub(done.oldest_arrival_ms),
        });
    }
}

/// The wait before the next attempt after `attempts` failed ones.
fn backoff_ms(attempts: u32) -> u64 {
    FIRST_BACKOFF_MS
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_BACKOFF_MS)
}

/// Where a manifest goes: `<prefix><folder>YYYY/MM/dd/HH/<object name>`.
fn manifest_key(
    to: Target,
    prefix: &str,
    folder: &str,
    now_ms: u64,
    rng: &mut ChaCha8Rng,
) -> String {
    let uuid = uuid(rng);
    format!(
        "{prefix}{folder}{}{}",
        hour_folders(now_ms),
        object_name(to.stream, to.version.max(1), now_ms, &uuid, "")
    )
}

/// A COPY manifest of one object, members in Redshift's documented order.
fn manifest_of(bucket: &str, key: &str) -> String {
    let url = serde_json::Value::String(format!("s3://{bucket}/{key}"));
    format!("{{\"entries\":[{{\"url\":{url},\"mandatory\":true}}]}}")
}

/// `YYYY/MM/dd/HH/` (UTC) of an instant.
fn hour_folders(ms: u64) -> String {
    let t = crate::timestamp::Civil::at(ms);
    format!("{:04}/{:02}/{:02}/{:02}/", t.year, t.month, t.day, t.hour)
}

/// `firehose:random-string`: 11 characters, like the first 11 of a UUID.
fn random_string(rng: &mut ChaCha8Rng) -> String {
    uuid(rng)[..11].to_string()
}

/// A version-4 UUID from the seeded generator.
fn uuid(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
