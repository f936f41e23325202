//! A Firehose delivery stream's Kinesis source: read like any consumer.
//!
//! AWS's Firehose reads a source stream from LATEST, calling GetRecords
//! once per second per shard, and those reads count against the shard's
//! limits like anyone's. Here that is a `Consumer` polling every second from
//! LATEST (children of a split or merge from TRIM_HORIZON, after their
//! parents), whose deliveries go into the delivery stream's buffer with
//! their approximate arrival times.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shardlab_engine::api::Output;
use shardlab_engine::{ApiError, Kinesis};
use shardlab_firehose::{Accounting, Bucket, Firehose, Flush, MinuteMetrics};

use crate::consumer::{Consumer, ConsumerSpec, Due, StartAt};

/// `CompressionFormat`'s values, for forms.
pub const COMPRESSION_FORMATS: &[&str] = shardlab_firehose::compression::FORMATS;

/// Firehose polls each source shard once a second.
pub const SOURCE_POLL_MS: u64 = 1000;

/// The stream name in `arn:aws:kinesis:<region>:<account>:stream/<name>`.
pub fn stream_name_of(arn: &str) -> Option<&str> {
    arn.split_once(":stream/").map(|(_, name)| name)
}

/// The consumer name a delivery stream's reader shows under.
pub fn reader_name(delivery_stream: &str) -> String {
    format!("firehose/{delivery_stream}")
}

/// The records a GetRecords outcome carries: (data, arrival ms). The data
/// is moved out, not copied: what the consumer still needs of the outcome
/// (sequence numbers, the count) stays.
pub fn take_source_records(outcome: &mut Result<Output, ApiError>) -> Vec<(Vec<u8>, u64)> {
    match outcome {
        Ok(Output::Records(out)) => out
            .records
            .iter_mut()
            .map(|r| {
                (
                    std::mem::take(&mut r.data),
                    (r.approximate_arrival_timestamp * 1000.0).round() as u64,
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Records read from a stream with each KPL aggregated record replaced by
/// its user records (same arrival time), as Firehose and the KCL unpack
/// them; a record that is not aggregated, or does not decode, stays as it
/// is.
pub fn deaggregate_source(records: Vec<(Vec<u8>, u64)>) -> Vec<(Vec<u8>, u64)> {
    let mut out = Vec::with_capacity(records.len());
    for (data, at) in records {
        match shardlab_engine::kpl::deaggregate(&data) {
            Some(Ok(users)) => out.extend(users.into_iter().map(|u| (u.data, at))),
            _ => out.push((data, at)),
        }
    }
    out
}

/// The consumer a delivery stream reads its source with. AWS starts at
/// LATEST when the delivery stream is created; a scenario creates both at
/// once, before any record, so there it starts at TRIM_HORIZON, which
/// reads the same records without racing the first tick's puts.
pub fn source_consumer(
    delivery_stream: &str,
    open_shards: impl IntoIterator<Item = u32>,
    start: StartAt,
    now_ms: u64,
) -> Consumer {
    Consumer::new(
        ConsumerSpec {
            name: reader_name(delivery_stream),
            poll_ms: SOURCE_POLL_MS,
            start,
            retry_throttled_ms: None,
            kcl: None,
            fan_out: false,
            lambda: None,
        },
        open_shards,
        now_ms,
        0,
    )
}

/// The IAM role a playground delivery stream names (nothing checks it;
/// AWS requires one).
pub fn delivery_role_arn() -> String {
    format!(
        "arn:aws:iam::{}:role/firehose-delivery",
        shardlab_engine::ACCOUNT_ID
    )
}

/// At most this many delivery streams per scenario.
pub const MAX_DELIVERY_STREAMS: usize = 4;

/// A scenario's delivery stream, as the CreateDeliveryStream request that
/// makes it: the scenario gives the name and the destination; the source is
/// its stream, unless the request says `"DeliveryStreamType": "DirectPut"`
/// (then the producer sends its records to the delivery stream directly).
pub fn create_request(spec: &Value, stream_arn: &str) -> Result<Value, ApiError> {
    let mut request = spec.clone();
    let Some(map) = request.as_object_mut() else {
        return Err(ApiError::Serialization(
            "a delivery stream is a CreateDeliveryStream request: a JSON object".into(),
        ));
    };
    if map.contains_key("KinesisStreamSourceConfiguration") {
        return Err(ApiError::invalid_argument(
            "KinesisStreamSourceConfiguration is set by the scenario: its delivery streams \
             read its stream",
        ));
    }
    match map.get("DeliveryStreamType").and_then(Value::as_str) {
        // The producer writes to it directly, as well as to the stream.
        Some("DirectPut") => return Ok(request),
        None => {}
        Some(_) => {
            return Err(ApiError::invalid_argument(
                "DeliveryStreamType is set by the scenario: its delivery streams read its \
                 stream, or take the producer's records by Direct PUT (\"DirectPut\")",
            ))
        }
    }
    map.insert("DeliveryStreamType".into(), json!("KinesisStreamAsSource"));
    map.insert(
        "KinesisStreamSourceConfiguration".into(),
        json!({
            "KinesisStreamARN": stream_arn,
            "RoleARN": format!("arn:aws:iam::{}:role/firehose-reads-kinesis", shardlab_engine::ACCOUNT_ID),
        }),
    );
    Ok(request)
}

/// An object as the bucket browser lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectView {
    pub key: String,
    pub bytes: u64,
    pub records: u64,
    pub last_modified_ms: u64,
}

/// What the UI shows about a delivery stream: its buffer against its
/// hints, what it has delivered, and its bucket's newest objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStreamView {
    pub name: String,
    pub bucket: String,
    pub compression: String,
    pub prefix: String,
    pub size_hint_bytes: u64,
    pub interval_ms: u64,
    pub buffered_records: u64,
    pub buffered_bytes: u64,
    /// The fullest partition's bytes (the size hint applies per buffer),
    /// and how many partitions have a buffer (dynamic partitioning).
    #[serde(default)]
    pub fullest_buffer_bytes: u64,
    #[serde(default)]
    pub active_partitions: u64,
    /// Until the interval hint seals the buffer (None while empty).
    pub interval_left_ms: Option<u64>,
    pub pending_objects: u64,
    /// DeliveryToS3.DataFreshness: age of the oldest undelivered record.
    pub data_freshness_ms: u64,
    /// The destination-outage switch.
    pub bucket_unavailable: bool,
    /// The Lambda transform's function, if one runs; until its buffer is
    /// sent; why its last invocation failed.
    #[serde(default)]
    pub transform_function: Option<String>,
    #[serde(default)]
    pub transform_interval_left_ms: Option<u64>,
    #[serde(default)]
    pub transform_error: Option<String>,
    pub accounting: Accounting,
    /// Whether records are converted (to Parquet): the metrics then have
    /// the conversion's.
    #[serde(default)]
    pub format_conversion: bool,
    /// The last deliveries, newest first.
    pub recent: Vec<Flush>,
    pub bucket_objects: u64,
    pub bucket_bytes: u64,
    /// The bucket's newest objects, newest first.
    pub newest_objects: Vec<ObjectView>,
    /// Set when the destination is an OpenSearch domain (the bucket is
    /// then its backup).
    #[serde(default)]
    pub opensearch: Option<OpenSearchView>,
    /// Set when the destination is a Redshift cluster (the bucket is then
    /// the intermediate one COPY reads).
    #[serde(default)]
    pub redshift: Option<RedshiftView>,
    /// Set when the destination is an HTTP endpoint (the bucket is then
    /// its backup).
    #[serde(default)]
    pub http: Option<HttpView>,
    /// The last minutes of CloudWatch metrics, newest first.
    #[serde(default)]
    pub metrics: Vec<MinuteMetrics>,
}

/// Minutes of metrics a view carries.
const METRIC_MINUTES_SHOWN: usize = 5;

/// An OpenSearch destination as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSearchView {
    pub domain: String,
    pub index_name: String,
    pub rotation: String,
    pub unavailable: bool,
    /// The domain's indices and their document counts.
    pub indices: Vec<(String, u64)>,
}

/// A Redshift destination as the UI shows it: the table COPY loads, its
/// newest rows, the last COPY and the newest load errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedshiftView {
    pub cluster: String,
    pub database: String,
    pub table: String,
    pub unavailable: bool,
    /// `name type` per column (empty when the table does not exist).
    pub columns: Vec<String>,
    pub row_count: u64,
    /// The newest rows, as text, newest last.
    pub rows: Vec<Vec<String>>,
    pub last_copy: Option<shardlab_firehose::delivery::CopyRun>,
    /// The newest rows of stl_load_errors, newest last.
    pub load_errors: Vec<shardlab_firehose::redshift::LoadError>,
}

/// Rows and load errors a Redshift view carries.
const TABLE_ROWS_SHOWN: usize = 10;
const LOAD_ERRORS_SHOWN: usize = 5;

/// An HTTP endpoint destination as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpView {
    pub url: String,
    pub name: Option<String>,
    pub gzip: bool,
    pub retry_seconds: u32,
    pub backup_all: bool,
    /// A request is out, waiting for the endpoint.
    pub in_flight: bool,
    pub last_error: Option<shardlab_firehose::delivery::HttpError>,
}

const RECENT_SHOWN: usize = 8;
const OBJECTS_SHOWN: usize = 12;

/// Every delivery stream's view at `now_ms`.
pub fn views(firehose: &Firehose, now_ms: u64) -> Vec<DeliveryStreamView> {
    firehose
        .streams()
        .map(|s| {
            let bucket = firehose.bucket(&s.destination.bucket);
            let newest = bucket.map(|b| b.newest(OBJECTS_SHOWN)).unwrap_or_default();
            DeliveryStreamView {
                name: s.name.clone(),
                bucket: s.destination.bucket.clone(),
                compression: match s.destination.active_conversion() {
                    Some(c) => format!(
                        "Apache Parquet ({}) with AWS Glue table {}.{}",
                        c.parquet.compression.as_str(),
                        c.database,
                        c.table
                    ),
                    None => s.destination.compression.as_str().into(),
                },
                prefix: s.destination.keys.raw_prefix().into(),
                size_hint_bytes: s.destination.hints.size_bytes(),
                interval_ms: s.destination.hints.interval_ms(),
                buffered_records: s.path.buffered_records() as u64,
                buffered_bytes: s.path.buffered_bytes(),
                fullest_buffer_bytes: s.path.fullest_buffer_bytes(),
                active_partitions: s.path.active_partitions() as u64,
                interval_left_ms: s.path.interval_left_ms(&s.destination, now_ms),
                pending_objects: s.path.pending_objects() as u64,
                data_freshness_ms: s.path.data_freshness_ms(now_ms),
                bucket_unavailable: bucket.is_some_and(|b| b.unavailable),
                transform_function: s.destination.lambda().map(|l| l.function.clone()),
                transform_interval_left_ms: s
                    .destination
                    .lambda()
                    .and_then(|l| s.path.transform.interval_left_ms(l, now_ms)),
                transform_error: s.path.transform.last_error.clone(),
                accounting: s.path.accounting.clone(),
                format_conversion: s.destination.active_conversion().is_some(),
                recent: s
                    .path
                    .recent
                    .iter()
                    .rev()
                    .take(RECENT_SHOWN)
                    .cloned()
                    .collect(),
                bucket_objects: bucket.map_or(0, |b| b.objects.len() as u64),
                bucket_bytes: bucket.map_or(0, Bucket::bytes),
                metrics: s
                    .path
                    .minutes
                    .iter()
                    .rev()
                    .take(METRIC_MINUTES_SHOWN)
                    .cloned()
                    .collect(),
                opensearch: s.destination.opensearch.as_ref().map(|os| {
                    let domain = firehose.domain(&os.domain);
                    OpenSearchView {
                        domain: os.domain.clone(),
                        index_name: os.index_name.clone(),
                        rotation: os.rotation.as_str().into(),
                        unavailable: domain.is_some_and(|d| d.unavailable),
                        indices: domain
                            .map(|d| {
                                d.indices
                                    .iter()
                                    .map(|(name, docs)| (name.clone(), docs.len() as u64))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                }),
                redshift: s.destination.redshift.as_ref().map(|r| {
                    let cluster = firehose.cluster(&r.cluster);
                    let table = cluster.and_then(|c| {
                        c.tables
                            .get(&shardlab_firehose::redshift::table_name(&r.table))
                    });
                    RedshiftView {
                        cluster: r.cluster.clone(),
                        database: r.database.clone(),
                        table: r.table.clone(),
                        unavailable: cluster.is_some_and(|c| c.unavailable),
                        columns: table
                            .map(|t| {
                                t.columns
                                    .iter()
                                    .map(|c| format!("{} {}", c.name, c.ty.name()))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        row_count: table.map_or(0, |t| t.row_count),
                        rows: table
                            .map(|t| {
                                t.rows
                                    .iter()
                                    .rev()
                                    .take(TABLE_ROWS_SHOWN)
                                    .rev()
                                    .map(|row| row.iter().map(|c| c.text()).collect())
                                    .collect()
                            })
                            .unwrap_or_default(),
                        last_copy: s.path.last_copy.clone(),
                        load_errors: cluster
                            .map(|c| {
                                let skip = c.load_errors.len().saturating_sub(LOAD_ERRORS_SHOWN);
                                c.load_errors.iter().skip(skip).cloned().collect()
                            })
                            .unwrap_or_default(),
                    }
                }),
                http: s.destination.http.as_ref().map(|h| HttpView {
                    url: h.url.clone(),
                    name: h.name.clone(),
                    gzip: h.gzip,
                    retry_seconds: h.retry_seconds,
                    backup_all: h.backup_all,
                    in_flight: s.path.http_in_flight(),
                    last_error: s.path.last_http_error.clone(),
                }),
                newest_objects: newest
                    .into_iter()
                    .map(|(k, o)| ObjectView {
                        key: k.clone(),
                        bytes: o.body.len() as u64,
                        records: o.records,
                        last_modified_ms: o.last_modified_ms,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// An object opened in the bucket browser: its text, decompressed, up to
/// `PREVIEW_BYTES`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectPreview {
    pub bucket: String,
    pub key: String,
    pub compression: String,
    pub stored_bytes: u64,
    pub original_bytes: u64,
    pub records: u64,
    pub text: String,
    pub truncated: bool,
}

pub const PREVIEW_BYTES: usize = 4096;

pub fn preview(firehose: &Firehose, bucket: &str, key: &str) -> Result<ObjectPreview, String> {
    let b = firehose
        .bucket(bucket)
        .ok_or_else(|| format!("there is no bucket {bucket}"))?;
    let o = b
        .objects
        .get(key)
        .ok_or_else(|| format!("there is no object {key} in {bucket}"))?;
    if let Some(rows) = &o.rows {
        // Parquet: its first rows as JSON lines, in the table's column
        // order, as they were written.
        return Ok(ObjectPreview {
            bucket: bucket.into(),
            key: key.into(),
            compression: "Apache Parquet".into(),
            stored_bytes: o.body.len() as u64,
            original_bytes: o.body.len() as u64,
            records: o.records,
            text: rows.text.clone(),
            truncated: (rows.text.lines().count() as u64) < rows.total,
        });
    }
    let raw = o.compression.decompress(&o.body)?;
    Ok(ObjectPreview {
        bucket: bucket.into(),
        key: key.into(),
        compression: o.compression.as_str().into(),
        stored_bytes: o.body.len() as u64,
        original_bytes: raw.len() as u64,
        records: o.records,
        text: String::from_utf8_lossy(&raw[..raw.len().min(PREVIEW_BYTES)]).into_owned(),
        truncated: raw.len() > PREVIEW_BYTES,
    })
}

/// One delivery stream reading its source straight from an in-process
/// Kinesis service (the native endpoint; the simulation plans the same
/// calls through its shard hosts instead).
pub struct SourceReader {
    pub delivery_stream: String,
    pub stream_name: String,
    consumer: Consumer,
    start_ms: u64,
}

impl SourceReader {
    /// A reader for a delivery stream created at `start_ms`: it reads
    /// what arrived in the stream from then on, as AWS's LATEST start does
    /// at creation (reading from the trim horizon and skipping what came
    /// before, so a record put just after creation is never missed).
    pub fn new(
        delivery_stream: &str,
        stream_name: &str,
        kinesis: &Kinesis,
        start_ms: u64,
        now_ms: u64,
    ) -> Self {
        let open: Vec<u32> = kinesis
            .shard_infos(stream_name)
            .unwrap_or_default()
            .iter()
            .filter(|s| s.closed_ms.is_none())
            .map(|s| s.key.shard_index)
            .collect();
        SourceReader {
            delivery_stream: delivery_stream.to_string(),
            stream_name: stream_name.to_string(),
            consumer: source_consumer(delivery_stream, open, StartAt::TrimHorizon, now_ms),
            start_ms,
        }
    }

    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// Makes the calls due by `now_ms` and feeds what they read to the
    /// delivery stream.
    pub fn poll(&mut self, kinesis: &mut Kinesis, firehose: &mut Firehose, now_ms: u64) {
        // An iterator answer makes records due at once: loop until quiet.
        for _ in 0..4 {
            let due = self.consumer.due(&self.stream_name, now_ms);
            if due.is_empty() {
                return;
            }
            for Due {
                reader,
                read,
                request,
                ..
            } in due
            {
                self.consumer.polled(reader, now_ms);
                let op = read.operation();
                let mut outcome = kinesis.call_output(op, &request, now_ms);
                let mut records = take_source_records(&mut outcome);
                records.retain(|(_, arrival)| *arrival >= self.start_ms);
                if !records.is_empty() {
                    // The delivery stream may have been deleted meanwhile;
                    // then there is nobody to deliver to.
                    let _ = firehose.ingest_from_source(&self.delivery_stream, records, now_ms);
                }
                self.consumer.finish(reader, read, outcome, now_ms);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shardlab_engine::KinesisConfig;
    use shardlab_firehose::FirehoseConfig;

    #[test]
    fn a_delivery_stream_reads_its_source_from_latest() {
        let t0 = 1_700_000_000_000;
        let mut k = Kinesis::new(KinesisConfig::default());
        k.call(
            "CreateStream",
            &json!({"StreamName": "clicks", "ShardCount": 2}),
            t0,
        )
        .unwrap();
        let put = |k: &mut Kinesis, key: &str, data: &str, t: u64| {
            use base64::Engine as _;
            k.call(
                "PutRecord",
                &json!({"StreamName": "clicks", "PartitionKey": key,
                        "Data": base64::engine::general_purpose::STANDARD.encode(data)}),
                t,
            )
            .unwrap();
        };
        put(&mut k, "a", "before", t0);
        let mut f = Firehose::new(FirehoseConfig::default());
        f.call(
            "CreateDeliveryStream",
            &json!({
                "DeliveryStreamName": "to-s3",
                "DeliveryStreamType": "KinesisStreamAsSource",
                "KinesisStreamSourceConfiguration": {
                    "KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
                    "RoleARN": "arn:aws:iam::123456789012:role/r"},
                "ExtendedS3DestinationConfiguration": {
                    "RoleARN": "arn:aws:iam::123456789012:role/r",
                    "BucketARN": "arn:aws:s3:::lab",
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}}
            }),
            t0 + 5,
        )
        .unwrap();
        let (ds, arn) = f.kinesis_sources().remove(0);
        let mut reader = SourceReader::new(&ds, stream_name_of(&arn).unwrap(), &k, t0 + 5, t0 + 5);
        reader.poll(&mut k, &mut f, t0 + 5);
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            put(&mut k, key, &format!("r{i}"), t0 + 10 + i as u64);
        }
        for s in 1..=70 {
            reader.poll(&mut k, &mut f, t0 + s * 1000);
            f.tick(t0 + s * 1000);
        }
        let bucket = f.bucket("lab").unwrap();
        assert_eq!(bucket.objects.len(), 1);
        let body = &bucket.objects.values().next().unwrap().body;
        let text = String::from_utf8(body.clone()).unwrap();
        // LATEST: the record put before the delivery stream is not read.
        assert!(!text.contains("before"), "{text}");
        for r in ["r0", "r1", "r2", "r3"] {
            assert!(text.contains(r), "{text}");
        }
        assert_eq!(text.len(), 8);
        // It read the stream from the trim horizon and took only what
        // arrived after it was created.
        assert_eq!(reader.consumer().view().delivered, 5);
        assert_eq!(
            f.stream("to-s3").unwrap().path.accounting.incoming_records,
            4
        );
    }
}
