//! The coordinator: one stream, its producer, and the tick protocol.
//!
//! The stream is a real Kinesis stream of the engine's API, whose shard data
//! planes live in shard hosts. A tick is two halves so that hosts may be
//! asynchronous (Web Workers): `begin_tick` advances the clock, runs the
//! producer for the interval, plans the interval's PutRecords calls and
//! returns one batch of shard operations per host; the host delivers them
//! and collects every reply (a barrier); `finish_tick` puts each result back
//! where it belongs, finishes the calls and folds them into the metrics and
//! the run digest in request order, so the outcome never depends on which
//! host answered first.

use serde::{Deserialize, Serialize};
use shardlab_engine::api::{Planned, PutRecordsResult, ShardInfo, Subscription};
use shardlab_engine::protocol::{ShardBatch, ShardBatchReply};
use shardlab_engine::store::{ShardKey, ShardOp, ShardOpResult};
use shardlab_engine::{stream_arn, Kinesis, KinesisConfig, SequenceNumber};
use std::collections::VecDeque;

use crate::aggregation::{pack, Aggregation, Outgoing};
use crate::clock::SCENARIO_EPOCH_MS;
use crate::consumer::{
    Consumer, ConsumerSpec, ConsumerView, Due, Read, ReaderId, Replay, StartAt, MAX_POLL_MS,
    MIN_POLL_MS,
};
use crate::firehose_source::{
    create_request, deaggregate_source, source_consumer, take_source_records, views,
    DeliveryStreamView, MAX_DELIVERY_STREAMS,
};
use crate::lambda::{FunctionCode, JsInvocation, LambdaFunction};
use crate::output_stream::{OutputStreamState, OutputStreamView};
use crate::producer::{KeyStrategy, ProducedRecord, Producer, RateShape, MAX_RATE_PER_SEC};
use crate::queues::{Messaging, MessagingView, Queues};
use crate::retry::{Retries, RetryQueue};
use crate::rng::{fnv1a64_extend, FNV_OFFSET};
use crate::sql::{SqlRunner, SqlStart, SqlView, DISCOVERY_SAMPLES};
use crate::template::RecordTemplate;
use crate::SimError;
use shardlab_engine::fnv::{fold64, fold_bytes};
use shardlab_engine::made::fingerprint;
use shardlab_firehose::http::{HttpOutcome, HttpRequest};
use shardlab_firehose::{Firehose, FirehoseConfig, Sink};

/// Open shards the playground allows (at creation and after resharding).
pub const MAX_SHARDS: u32 = 32;
/// At most this many shard hosts (Web Workers); beyond it shards are dealt
/// out round-robin, several per worker (16 shards: 2 per worker on 8).
pub const MAX_HOSTS: u32 = 8;
/// The region simulated resources live in.
pub const REGION: &str = "us-east-1";

/// Operations the in-page console may not call: the playground creates,
/// reshards and deletes its stream itself (its shard hosts and views
/// follow those controls).
pub const MANAGED_OPERATIONS: &[&str] = &[
    "CreateStream",
    "DeleteStream",
    "SplitShard",
    "MergeShards",
    "UpdateShardCount",
    "UpdateStreamMode",
    "IncreaseStreamRetentionPeriod",
    "DecreaseStreamRetentionPeriod",
    "RegisterStreamConsumer",
    "DeregisterStreamConsumer",
    "SubscribeToShard",
];

/// The entries of a PutRecord (the request or response itself) or a
/// PutRecords (its `Records`); none for other operations.
fn put_entries<'a>(operation: &str, v: &'a serde_json::Value) -> Vec<&'a serde_json::Value> {
    match operation {
        "PutRecord" => vec![v],
        "PutRecords" => v["Records"]
            .as_array()
            .map(|r| r.iter().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The answer to an external API call: the HTTP status and body the
/// endpoint would send (AWS's error body on failure).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReply {
    pub id: u64,
    pub status: u16,
    pub body: String,
}

impl ApiReply {
    fn ok(id: u64, body: Vec<u8>) -> Self {
        ApiReply {
            id,
            status: 200,
            body: String::from_utf8(body).unwrap_or_default(),
        }
    }

    fn error(id: u64, e: &shardlab_engine::ApiError) -> Self {
        ApiReply {
            id,
            status: e.http_status(),
            body: String::from_utf8(e.body()).unwrap_or_default(),
        }
    }
}

/// The inputs of a run: with the same scenario, every run is identical.
/// (`Default` is for `..Default::default()` in code: a default scenario has
/// no shards and is refused.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub stream_name: String,
    pub shard_count: u32,
    pub seed: u64,
    pub rate_per_sec: u64,
    /// Consumer applications reading the stream (none by default).
    #[serde(default)]
    pub consumers: Vec<ConsumerSpec>,
    /// How the producer picks partition keys (random UUIDs by default).
    #[serde(default)]
    pub keys: KeyStrategy,
    /// How the producer's rate varies (constant by default).
    #[serde(default)]
    pub rate_shape: RateShape,
    /// The producer's records, in the Kinesis Data Generator's template
    /// syntax (see `template`); clickstream events without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_template: Option<String>,
    /// The clickstream events padded to this many bytes each (a `pad`
    /// field of `x`s), to see the 1 MiB/s limit bind before 1,000
    /// records/s does; without a template or an agent's file only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_size_bytes: Option<u32>,
    /// KPL-style aggregation of the producer's records (off by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Aggregation>,
    /// Firehose delivery streams reading the stream, each written as the
    /// CreateDeliveryStream request that makes it (DeliveryStreamName and
    /// an ExtendedS3DestinationConfiguration); the scenario fills in the
    /// source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivery_streams: Vec<serde_json::Value>,
    /// AWS Glue tables that delivery streams' format conversion reads
    /// (`DataFormatConversionConfiguration.SchemaConfiguration`), each
    /// written as the Glue CreateTable request that makes it
    /// (`{"DatabaseName": ..., "TableInput": {"Name": ..., "StorageDescriptor":
    /// {"Columns": [{"Name": ..., "Type": ...}]}}}`); their databases are
    /// created with them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub glue_tables: Vec<serde_json::Value>,
    /// Statements run on the Redshift clusters that delivery streams COPY
    /// into, before they start (the tables COPY loads), each written as
    /// the Redshift Data API's ExecuteStatement request:
    /// `{"ClusterIdentifier": "lab", "Database": "dev", "Sql": "CREATE
    /// TABLE clicks (...)"}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redshift_statements: Vec<serde_json::Value>,
    /// Where a SQL application started on the stream writes its
    /// in-application streams, as KDA's application `Outputs`:
    /// `{"Name": "DESTINATION_SQL_STREAM", "KinesisFirehoseOutput":
    /// {"ResourceARN": "arn:aws:firehose:...:deliverystream/NAME"},
    /// "DestinationSchema": {"RecordFormatType": "JSON"}}`. The delivery
    /// stream is one of `delivery_streams`, with Direct PUT; the producer
    /// does not write to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sql_outputs: Vec<crate::sql::SqlOutput>,
    /// Functions the delivery streams' Lambda processors name by ARN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lambda_functions: Vec<LambdaFunction>,
    /// How the producer retries throttled records (with backoff and
    /// jitter); without it they are dropped, as a producer that ignores
    /// `FailedRecordCount` would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<Retries>,
    /// SQS queues and an SNS topic next to the stream, fed by the same
    /// producer (to compare them with Kinesis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging: Option<Messaging>,
    /// A file whose lines the producer sends as records, as the Kinesis
    /// Agent does (instead of a record template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<crate::agent::AgentFile>,
    /// More data streams, which a SQL application writes to
    /// (`KinesisStreamsOutput`); nothing else writes to them. Their shards
    /// live on the same hosts as the stream's and count against the same
    /// account limit of shards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_streams: Vec<OutputStream>,
    /// More producers writing to the stream besides the scenario's own
    /// (`producer-0`, which the fields above describe), each with its own
    /// rate, partition keys, rate shape and records; each makes PutRecords
    /// calls of its own, after `producer-0`'s in a tick, without
    /// aggregation or retries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub producers: Vec<ProducerSpec>,
}

/// One more producer of a scenario (see `Scenario::producers`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    /// Its name, which also seeds its records (`[a-zA-Z0-9_.-]`, 1 to 64
    /// characters, not `producer-0`).
    pub name: String,
    pub rate_per_sec: u64,
    #[serde(default)]
    pub keys: KeyStrategy,
    #[serde(default)]
    pub rate_shape: RateShape,
    /// Its records, in the Kinesis Data Generator's template syntax;
    /// clickstream events without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_template: Option<String>,
    /// Its clickstream events padded to this many bytes (as the
    /// scenario's `record_size_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_size_bytes: Option<u32>,
}

/// Checks a producer's record size: in range, and for clickstream events.
fn check_record_size(size: Option<u32>, own_records: bool) -> Result<(), String> {
    let Some(size) = size else {
        return Ok(());
    };
    let range = crate::producer::RECORD_SIZES;
    if !range.contains(&size) {
        return Err(format!(
            "record_size_bytes runs from {} to {} (a Kinesis record's 1 MiB less the longest \
             partition key), not {size}",
            range.start(),
            range.end()
        ));
    }
    if own_records {
        return Err(
            "record_size_bytes pads the built-in clickstream events; a record template or an \
             agent's file makes records of its own size: leave out one or the other"
                .into(),
        );
    }
    Ok(())
}

/// At most this many producers per scenario, `producer-0` included.
pub const MAX_PRODUCERS: usize = 8;

impl ProducerSpec {
    fn validate(&self, i: usize) -> Result<(), String> {
        let at = format!("producers[{i}]");
        let n = &self.name;
        if !is_name(n, 64) {
            return Err(format!(
                "{at}: the name '{n}' must be 1 to 64 letters, digits, '_', '.' or '-'"
            ));
        }
        if n == "producer-0" {
            return Err(format!(
                "{at}: producer-0 is the scenario's own producer; give this one another name"
            ));
        }
        self.keys
            .validate()
            .map_err(|e| format!("{at} ({n}): {e}"))?;
        self.rate_shape
            .validate()
            .map_err(|e| format!("{at} ({n}): {e}"))?;
        check_record_size(self.record_size_bytes, self.record_template.is_some())
            .map_err(|e| format!("{at} ({n}): {e}"))
    }

    fn template(&self) -> Result<Option<RecordTemplate>, crate::template::TemplateError> {
        self.record_template
            .as_deref()
            .map(RecordTemplate::compile)
            .transpose()
    }

    /// Its producer, starting at the scenario's start.
    fn producer(&self, seed: u64) -> Result<Producer, SimError> {
        Ok(make_producer(
            seed,
            &self.name,
            self.rate_per_sec,
            (&self.keys, &self.rate_shape),
            self.record_size_bytes,
            self.template()
                .map_err(|e| SimError::Scenario(e.to_string()))?,
        ))
    }
}

/// A producer as a scenario describes one (its keys and rate shape, its
/// records' size or template), starting at the scenario's start: the
/// scenario's own, one of its `producers`, or a preview's.
fn make_producer(
    seed: u64,
    name: &str,
    rate_per_sec: u64,
    (keys, shape): (&KeyStrategy, &RateShape),
    record_size: Option<u32>,
    template: Option<RecordTemplate>,
) -> Producer {
    let mut p = Producer::with_keys(seed, name, rate_per_sec, SCENARIO_EPOCH_MS, keys);
    p.set_shape(shape.clone());
    p.set_record_size(record_size);
    p.set_template(template);
    p
}

/// What a snapshot shows of one producer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerView {
    pub name: String,
    pub rate_per_sec: u64,
    pub produced: u64,
}

/// A data stream a SQL application writes to: its name and shard count,
/// as CreateStream takes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputStream {
    pub name: String,
    pub shard_count: u32,
}

/// At most this many output streams per scenario (one per SQL output).
pub const MAX_OUTPUT_STREAMS: usize = crate::sql::MAX_OUTPUTS;

/// Whether `name` is 1 to `max` of `[a-zA-Z0-9_.-]` (AWS's stream names,
/// and the playground's producer names).
fn is_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// CreateStream's check of a stream name.
fn check_stream_name(name: &str) -> Result<(), SimError> {
    if !is_name(name, 128) {
        return Err(SimError::Api(shardlab_engine::ApiError::validation(
            format!(
                "1 validation error detected: Value '{name}' at 'streamName' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ \
                 and have length between 1 and 128"
            ),
        )));
    }
    Ok(())
}

/// CreateStream's check of a shard count, within the playground's limit.
fn check_shard_count(count: u32) -> Result<(), SimError> {
    if count == 0 || count > MAX_SHARDS {
        return Err(SimError::Api(shardlab_engine::ApiError::validation(
            format!(
                "1 validation error detected: Value '{count}' at 'shardCount' failed to satisfy \
                 constraint: Member must have value between 1 and {MAX_SHARDS} in this playground"
            ),
        )));
    }
    Ok(())
}

/// At most this many Lambda functions per scenario.
pub const MAX_LAMBDA_FUNCTIONS: usize = 8;

/// At most this many consumer applications per stream in the playground.
pub const MAX_CONSUMERS: usize = 8;

impl Scenario {
    /// Checks the scenario with the rules and messages of CreateStream,
    /// and its delivery streams as CreateDeliveryStream does.
    pub fn validate(&self) -> Result<(), SimError> {
        self.validate_stream()?;
        self.template()
            .map_err(|e| SimError::Scenario(e.to_string()))?;
        for (i, p) in self.producers.iter().enumerate() {
            p.template()
                .map_err(|e| SimError::Scenario(format!("producers[{i}] ({}): {e}", p.name)))?;
        }
        // Each must be a request Firehose accepts, as it would be on AWS.
        self.firehose()?;
        Ok(())
    }

    /// The checks of `validate` without Firehose's: for the UI thread,
    /// which then need not carry the Firehose model (the simulation worker
    /// checks the rest when it creates the stream).
    pub fn validate_stream(&self) -> Result<(), SimError> {
        check_stream_name(&self.stream_name)?;
        check_shard_count(self.shard_count)?;
        if self.output_streams.len() > MAX_OUTPUT_STREAMS {
            return Err(SimError::Scenario(format!(
                "{} output streams; the playground runs at most {MAX_OUTPUT_STREAMS} (one per SQL \
                 output)",
                self.output_streams.len()
            )));
        }
        for (i, o) in self.output_streams.iter().enumerate() {
            let at = |e: SimError| SimError::Scenario(format!("output_streams[{i}]: {e}"));
            check_stream_name(&o.name).map_err(at)?;
            check_shard_count(o.shard_count).map_err(at)?;
            let taken = std::iter::once(&self.stream_name)
                .chain(self.output_streams[..i].iter().map(|p| &p.name));
            for other in taken {
                if *other == o.name {
                    return Err(SimError::Scenario(format!(
                        "output_streams[{i}]: ResourceInUseException: Stream {} under account {} \
                         already exists.",
                        o.name,
                        shardlab_engine::ACCOUNT_ID
                    )));
                }
            }
        }
        let total: u32 = self.shard_count
            + self
                .output_streams
                .iter()
                .map(|o| o.shard_count)
                .sum::<u32>();
        if total > MAX_SHARDS {
            return Err(SimError::Scenario(format!(
                "LimitExceededException: the stream and its output streams have {total} shards \
                 in all, over this playground account's shard limit of {MAX_SHARDS}"
            )));
        }
        if self.rate_per_sec > MAX_RATE_PER_SEC {
            return Err(SimError::Scenario(format!(
                "producer rate {} records/s is above the playground's maximum of {MAX_RATE_PER_SEC}",
                self.rate_per_sec
            )));
        }
        self.keys.validate().map_err(SimError::Scenario)?;
        check_record_size(
            self.record_size_bytes,
            self.record_template.is_some() || self.agent.is_some(),
        )
        .map_err(SimError::Scenario)?;
        if self.producers.len() + 1 > MAX_PRODUCERS {
            return Err(SimError::Scenario(format!(
                "{} producers; the playground runs at most {MAX_PRODUCERS} on a stream",
                self.producers.len() + 1
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        let mut total = self.rate_per_sec;
        for (i, p) in self.producers.iter().enumerate() {
            p.validate(i).map_err(SimError::Scenario)?;
            if !names.insert(p.name.as_str()) {
                return Err(SimError::Scenario(format!(
                    "producers[{i}]: there is already a producer named {}",
                    p.name
                )));
            }
            total = total.saturating_add(p.rate_per_sec);
        }
        if total > MAX_RATE_PER_SEC {
            return Err(SimError::Scenario(format!(
                "the producers' rates add up to {total} records/s, above the playground's \
                 maximum of {MAX_RATE_PER_SEC}"
            )));
        }
        if let Some(a) = &self.aggregation {
            a.validate().map_err(SimError::Scenario)?;
            if self.retries.is_some() {
                return Err(SimError::Scenario(
                    "with aggregation the producer is the KPL, which sends throttled records \
                     again itself until their RecordTtl (or fails them at once with \
                     FailIfThrottled): leave out retries"
                        .into(),
                ));
            }
        }
        if let Some(r) = &self.retries {
            r.validate().map_err(SimError::Scenario)?;
        }
        if let Some(m) = &self.messaging {
            m.validate().map_err(SimError::Scenario)?;
        }
        if let Some(a) = &self.agent {
            a.validate().map_err(SimError::Scenario)?;
            if self.record_template.is_some() {
                return Err(SimError::Scenario(
                    "the producer sends either the agent's file or records from a template, \
                     not both: leave out record_template or agent"
                        .into(),
                ));
            }
        }
        self.rate_shape.validate().map_err(SimError::Scenario)?;
        if self.consumers.len() > MAX_CONSUMERS {
            return Err(SimError::Scenario(format!(
                "{} consumer applications; the playground runs at most {MAX_CONSUMERS}",
                self.consumers.len()
            )));
        }
        if self.delivery_streams.len() > MAX_DELIVERY_STREAMS {
            return Err(SimError::Scenario(format!(
                "{} delivery streams; the playground runs at most {MAX_DELIVERY_STREAMS}",
                self.delivery_streams.len()
            )));
        }
        if self.lambda_functions.len() > MAX_LAMBDA_FUNCTIONS {
            return Err(SimError::Scenario(format!(
                "{} Lambda functions; the playground runs at most {MAX_LAMBDA_FUNCTIONS}",
                self.lambda_functions.len()
            )));
        }
        for (i, f) in self.lambda_functions.iter().enumerate() {
            f.validate().map_err(SimError::Scenario)?;
            if self.lambda_functions[..i].iter().any(|o| o.name == f.name) {
                return Err(SimError::Scenario(format!(
                    "two Lambda functions are named {}",
                    f.name
                )));
            }
        }
        for (i, c) in self.consumers.iter().enumerate() {
            if c.name.is_empty() || self.consumers[..i].iter().any(|o| o.name == c.name) {
                return Err(SimError::Scenario(format!(
                    "consumer {} needs a name of its own",
                    i + 1
                )));
            }
            if let Some(k) = &c.kcl {
                k.validate(&c.name).map_err(SimError::Scenario)?;
            }
            if let Some(l) = &c.lambda {
                l.validate(&c.name).map_err(SimError::Scenario)?;
                if c.kcl.is_some() {
                    return Err(SimError::Scenario(format!(
                        "consumer {} is both a KCL application and a Lambda event source \
                         mapping; it can be one of them",
                        c.name
                    )));
                }
                if !self.lambda_functions.iter().any(|f| f.name == l.function) {
                    return Err(SimError::Scenario(format!(
                        "event source mapping {}: there is no Lambda function named '{}' in \
                         lambda_functions",
                        c.name, l.function
                    )));
                }
                if c.poll_ms != crate::esm::POLL_MS {
                    return Err(SimError::Scenario(format!(
                        "event source mapping {}: Lambda polls each shard once a second; leave \
                         poll_ms out (it is {})",
                        c.name, c.poll_ms
                    )));
                }
                if let Some(q) = &l.on_failure {
                    if q.ends_with(".fifo") {
                        return Err(SimError::Scenario(format!(
                            "event source mapping {}: its on_failure queue {q} is a FIFO queue; \
                             an on-failure destination is a standard queue or an SNS topic",
                            c.name
                        )));
                    }
                    let queue = self
                        .messaging
                        .as_ref()
                        .and_then(|m| m.queues.iter().find(|x| &x.name == q));
                    if let Some(queue) = queue {
                        if queue.source != crate::queues::QueueSource::Destination {
                            return Err(SimError::Scenario(format!(
                                "event source mapping {}: its on_failure queue {q} must have \
                                 \"source\": \"Destination\" (it would also get the producer's \
                                 records)",
                                c.name
                            )));
                        }
                    }
                }
            }
            if !(MIN_POLL_MS..=MAX_POLL_MS).contains(&c.poll_ms) {
                return Err(SimError::Scenario(format!(
                    "consumer {} polls every {} ms; the shortest interval is {MIN_POLL_MS} ms \
                     and the longest {MAX_POLL_MS} ms (an hour)",
                    c.name, c.poll_ms
                )));
            }
        }
        Ok(())
    }
}

impl Scenario {
    /// The producer's record template, compiled (checked here rather than
    /// in `validate_stream`, so the UI thread need not carry the fake data).
    fn template(&self) -> Result<Option<RecordTemplate>, crate::template::TemplateError> {
        self.record_template
            .as_deref()
            .map(RecordTemplate::compile)
            .transpose()
    }

    /// The scenario's Firehose with its delivery streams created.
    fn firehose(&self) -> Result<Firehose, SimError> {
        let mut firehose = Firehose::new(FirehoseConfig {
            region: REGION.into(),
            seed: self.seed,
            ..FirehoseConfig::default()
        });
        for (i, table) in self.glue_tables.iter().enumerate() {
            let named = |e: shardlab_engine::ApiError| {
                SimError::Scenario(format!("glue_tables[{i}]: {}: {}", e.name(), e.message()))
            };
            let database = table
                .get("DatabaseName")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            let exists = database.as_str().is_some_and(|d| {
                firehose
                    .glue_call(
                        "GetDatabase",
                        &serde_json::json!({"Name": d}),
                        SCENARIO_EPOCH_MS,
                    )
                    .is_ok()
            });
            if !exists {
                firehose
                    .glue_call(
                        "CreateDatabase",
                        &serde_json::json!({"DatabaseInput": {"Name": database}}),
                        SCENARIO_EPOCH_MS,
                    )
                    .map_err(named)?;
            }
            firehose
                .glue_call("CreateTable", table, SCENARIO_EPOCH_MS)
                .map_err(named)?;
        }
        for (i, st) in self.redshift_statements.iter().enumerate() {
            let field = |name: &str| {
                st.get(name).and_then(|v| v.as_str()).ok_or_else(|| {
                    SimError::Scenario(format!(
                        "redshift_statements[{i}]: {name} is required (an ExecuteStatement \
                         request: ClusterIdentifier, Database, Sql)"
                    ))
                })
            };
            let (cluster, sql) = (field("ClusterIdentifier")?, field("Sql")?);
            field("Database")?;
            firehose
                .redshift_execute(cluster, sql)
                .map_err(|e| SimError::Scenario(format!("redshift_statements[{i}]: {e}")))?;
        }
        let arn = stream_arn(REGION, &self.stream_name);
        for spec in &self.delivery_streams {
            firehose.call(
                "CreateDeliveryStream",
                &create_request(spec, &arn)?,
                SCENARIO_EPOCH_MS,
            )?;
        }
        if self.sql_outputs.len() > crate::sql::MAX_OUTPUTS {
            return Err(SimError::Scenario(format!(
                "{} SQL outputs; an application has at most {}",
                self.sql_outputs.len(),
                crate::sql::MAX_OUTPUTS
            )));
        }
        for (i, o) in self.sql_outputs.iter().enumerate() {
            o.check()
                .map_err(|e| SimError::Scenario(format!("sql_outputs[{i}]: {e}")))?;
            if let Some(stream) = o.data_stream() {
                if !self.output_streams.iter().any(|s| s.name == stream) {
                    return Err(SimError::Scenario(format!(
                        "sql_outputs[{i}]: KinesisStreamsOutput.ResourceARN names the stream \
                         {stream}, which is not one of the scenario's output_streams{}",
                        if stream == self.stream_name {
                            " (the application cannot write to the stream it reads)"
                        } else {
                            ""
                        }
                    )));
                }
                continue;
            }
            if let Some(function) = o.function() {
                if !self.lambda_functions.iter().any(|f| f.name == function) {
                    return Err(SimError::Scenario(format!(
                        "sql_outputs[{i}]: LambdaOutput.ResourceARN names the function \
                         {function}, which is not one of the scenario's lambda_functions"
                    )));
                }
                continue;
            }
            let direct = o
                .delivery_stream()
                .and_then(|name| firehose.stream(name))
                .is_some_and(|s| matches!(s.source, shardlab_firehose::Source::DirectPut));
            if !direct {
                return Err(SimError::Scenario(format!(
                    "sql_outputs[{i}]: KinesisFirehoseOutput.ResourceARN {} must name one of \
                     the scenario's delivery streams with \"DeliveryStreamType\": \"DirectPut\" \
                     (arn:aws:firehose:{REGION}:{}:deliverystream/NAME): the application writes \
                     to it with PutRecordBatch",
                    o.firehose.as_ref().map_or("", |f| f.resource_arn.as_str()),
                    shardlab_engine::ACCOUNT_ID
                )));
            }
        }
        Ok(firehose)
    }
}

/// How many records `TestTemplate` shows.
pub const SAMPLE_RECORDS: usize = 5;

impl Scenario {
    /// The first records its producer makes, exactly as a run makes them
    /// (same keys, same data, the same virtual times); at least one record
    /// per second when the rate is 0; the agent's file's when it has one.
    pub fn first_records(
        &self,
        n: usize,
    ) -> Result<Vec<ProducedRecord>, crate::template::TemplateError> {
        let mut producer = make_producer(
            self.seed,
            "producer-0",
            self.rate_per_sec.max(1),
            (&self.keys, &self.rate_shape),
            self.record_size_bytes,
            self.template()?,
        );
        if let Some(records) = self.agent.as_ref().and_then(|a| a.records().ok()) {
            let repeat = self.agent.as_ref().is_none_or(|a| a.repeat);
            producer.set_lines(Some((records, repeat)));
        }
        let mut out = Vec::with_capacity(n);
        let mut until = SCENARIO_EPOCH_MS;
        // A shape may leave long stretches empty (a weekly curve's quiet
        // hours); look a week ahead at most.
        while out.len() < n && until < SCENARIO_EPOCH_MS + 7 * 86_400_000 {
            out.extend(producer.produce_until(until));
            until += 1000;
        }
        out.truncate(n);
        Ok(out)
    }
}

/// What the UI shows about one shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardView {
    pub shard_id: String,
    /// The shard host (worker) that keeps it.
    pub host: u32,
    /// False once a split or merge has closed it (it stays readable until
    /// its records expire).
    pub open: bool,
    pub parent_shard_id: Option<String>,
    pub adjacent_parent_shard_id: Option<String>,
    pub starting_hash_key: String,
    pub ending_hash_key: String,
    pub records_accepted: u64,
    pub bytes_accepted: u64,
    pub records_throttled: u64,
    /// Records accepted during the last second of virtual time.
    pub records_last_second: u64,
    /// Records throttled during the last second of virtual time.
    #[serde(default)]
    pub records_throttled_last_second: u64,
    pub latest_sequence_number: Option<String>,
    /// Records the shard still keeps (not yet past retention), counted by
    /// the shard once a virtual second.
    #[serde(default)]
    pub records_retained: u64,
    /// When its oldest retained record arrived (the trim horizon).
    #[serde(default)]
    pub oldest_arrival_ms: Option<u64>,
}

/// A compact picture of the whole run, sent to the UI at display rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub stream_name: String,
    pub stream_arn: String,
    pub seed: u64,
    pub now_ms: u64,
    pub elapsed_ms: u64,
    pub rate_per_sec: u64,
    /// The stream's retention period (24 h unless changed).
    #[serde(default = "default_retention_hours")]
    pub retention_hours: u32,
    pub records_produced: u64,
    /// Kinesis records the producer put: fewer than `records_produced`
    /// when it aggregates.
    #[serde(default)]
    pub kinesis_records_put: u64,
    /// Throttled records the producer sent again, gave up on, and has
    /// waiting for a retry now (all 0 without retries).
    #[serde(default)]
    pub records_retried: u64,
    #[serde(default)]
    pub records_failed: u64,
    #[serde(default)]
    pub records_awaiting_retry: u64,
    /// Kinesis records the KPL's `RateLimit` holds back now (with
    /// aggregation; they count in `kinesis_records_put` when made).
    #[serde(default)]
    pub records_held: u64,
    /// Each producer (`producer-0` first); `records_produced` is their sum.
    #[serde(default)]
    pub producers: Vec<ProducerView>,
    /// The scenario's SQS queues and SNS topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging: Option<MessagingView>,
    pub shards: Vec<ShardView>,
    /// The consumer applications' progress (delivery streams' readers
    /// last, as `firehose/<name>`).
    pub consumers: Vec<ConsumerView>,
    /// The consumer applications (not Firehose's or SQL's readers) over
    /// the last virtual second.
    #[serde(default)]
    pub consumers_last_second: ReadsLastSecond,
    /// Firehose delivery streams reading the stream.
    #[serde(default)]
    pub delivery_streams: Vec<DeliveryStreamView>,
    /// The SQL application reading the stream, when one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<Box<SqlView>>,
    /// CloudWatch-like metrics, one datapoint a second, for the last
    /// minute.
    #[serde(default)]
    pub metrics: Box<crate::metrics::MetricsView>,
    /// Records offered in the last whole second, by where their hash keys
    /// fall: 256 equal parts of the hash-key space, in order.
    #[serde(default)]
    pub key_histogram: Vec<u64>,
    /// The data streams a SQL application writes to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_streams: Vec<OutputStreamView>,
    /// FNV-1a over every record and its outcome, in request order, and
    /// every consumer delivery.
    pub digest: String,
}

impl Snapshot {
    /// Records the shards have accepted, all shards.
    pub fn records_accepted(&self) -> u64 {
        self.shards.iter().map(|s| s.records_accepted).sum()
    }
}

/// What the consumer applications met during the last virtual second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadsLastSecond {
    /// GetShardIterator and GetRecords calls refused by the read limits.
    pub throttled: u64,
    /// Records delivered after one that arrived later (another shard's).
    pub out_of_order: u64,
}

fn default_retention_hours() -> u32 {
    (shardlab_engine::DEFAULT_RETENTION_MS / 3_600_000) as u32
}

/// Per-shard counters the coordinator keeps from the calls' results.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ShardCounters {
    records_accepted: u64,
    bytes_accepted: u64,
    records_throttled: u64,
    latest_sequence_number: Option<SequenceNumber>,
    /// From the last census: records retained and the oldest's arrival.
    records_retained: u64,
    oldest_arrival_ms: Option<u64>,
}

/// PutRecords takes at most 500 entries...
const PUT_RECORDS_MAX: usize = 500;
/// ...and the producer sends at most 5 MiB in one (the KPL's
/// CollectionMaxSize; the API itself now takes 10 MiB).
const PUT_RECORDS_MAX_BYTES: usize = 5_242_880;

/// A KCL worker's index from its name (`worker-2`, or `2`).
fn kcl_worker(name: &str) -> Result<u32, SimError> {
    crate::kcl::worker_index(name).ok_or_else(|| {
        SimError::Scenario(format!(
            "'{name}' is not a worker's name: workers are worker-1, worker-2 ..."
        ))
    })
}

/// What a planned call is, for finishing it.
enum CallKind {
    /// PutRecords: the fingerprint and size of each entry, and when the
    /// producer retries, each record with its sends so far.
    Put {
        /// None: the shard host made the record and folds it.
        prints: Vec<(Option<u64>, u64)>,
        sent: Vec<(Outgoing, u32)>,
    },
    /// A control-plane call (CreateStream, SplitShard, MergeShards).
    Control(&'static str),
    /// A call from outside the simulation (the in-page SDK console),
    /// answered to `id` once its shard operations are done.
    External {
        id: u64,
        operation: String,
        /// For PutRecord(s): each entry's shard as routed now and its size
        /// (partition key and data), to count on the shard rows.
        puts: Vec<(Option<u32>, u64)>,
    },
    /// A consumer's GetShardIterator or GetRecords on a shard.
    Consume {
        consumer: usize,
        reader: ReaderId,
        read: Read,
        /// `sql_epoch` when planned: should a SQL application be restarted
        /// while its reader's calls are out, the new reader (at the same
        /// index) must not get its predecessor's reads.
        epoch: u64,
        /// The consumer's generation when planned: a replay since makes
        /// the call's outcome stale.
        generation: u64,
    },
    /// A census of what the shards retain, by shard index.
    Census(Vec<u32>),
    /// A SQL application's PutRecords to one of the output streams: the
    /// application (`sql_epoch` when planned), its output, the stream (its
    /// index in `outputs`) and the records, to send again what is refused.
    OutputPut {
        epoch: u64,
        output: usize,
        stream: usize,
        entries: Vec<(String, Vec<u8>)>,
    },
    /// An enhanced fan-out consumer's SubscribeToShard or next event.
    FanOut {
        consumer: usize,
        reader: ReaderId,
        generation: u64,
        call: FanOutCall,
    },
}

/// The subscription a fan-out call is about: the one being opened, or the
/// open one whose next event is read (it travels with the call).
enum FanOutCall {
    Subscribe(Box<Subscription>),
    Event(Box<Subscription>),
}

/// A tick in flight: its planned calls and where each shard operation went.
struct InFlight {
    /// The virtual time the tick ends at.
    now_ms: u64,
    calls: Vec<(Planned, CallKind)>,
    /// Per host: (call index or None for side effects, op index) of each op sent.
    routes: Vec<Vec<(Option<usize>, usize)>>,
    /// Per call: how many operations it has.
    op_counts: Vec<usize>,
}

pub struct Simulation {
    scenario: Scenario,
    kinesis: Kinesis,
    /// Every shard not yet expired, by shard index (refreshed after calls).
    shards: Vec<ShardInfo>,
    /// Control-plane calls planned between ticks, sent with the next tick.
    queued: Vec<(Planned, CallKind)>,
    /// Answers to external calls, to be taken by the host.
    api_replies: Vec<ApiReply>,
    consumers: Vec<Consumer>,
    now_ms: u64,
    producer: Producer,
    /// The scenario's `producers`, in order.
    more_producers: Vec<Producer>,
    hosts: u32,
    counters: Vec<ShardCounters>,
    /// Ticks sent and not yet finished, oldest first (at most two: a host
    /// may plan the next tick while the shards run this one).
    in_flight: VecDeque<InFlight>,
    /// (virtual time, accepted and throttled per shard) over the last
    /// second.
    history: VecDeque<(u64, Vec<(u64, u64)>)>,
    /// (virtual time, consumer applications' throttled calls and records
    /// delivered out of arrival order) over the last second.
    read_history: VecDeque<(u64, u64, u64)>,
    digest: u64,
    firehose: Firehose,
    /// Consumers from this index on are delivery streams' readers, in the
    /// order of `scenario.delivery_streams`.
    first_reader: usize,
    /// The delivery streams those readers feed, in consumer order.
    readers: Vec<String>,
    /// Delivery streams the producer writes to directly (Direct PUT).
    direct_puts: Vec<String>,
    /// Per bucket, the PUTs already folded into the digest.
    folded_puts: std::collections::BTreeMap<String, u64>,
    /// JavaScript invocations issued and not yet taken by the host.
    js_outbox: Vec<JsInvocation>,
    /// JavaScript invocations issued in the last tick, in issue order: the
    /// next tick applies their outcomes.
    js_outstanding: Vec<(String, u64)>,
    js_outcomes: std::collections::BTreeMap<(String, u64), Result<Vec<u8>, String>>,
    /// HTTP requests to endpoints, as JavaScript invocations: issued in a
    /// tick, sent by the host, their outcomes applied by the next tick.
    http_outbox: Vec<HttpCall>,
    http_outstanding: Vec<(String, u64)>,
    http_outcomes: std::collections::BTreeMap<(String, u64), HttpOutcome>,
    /// The SQL application and the index of its reader among `consumers`
    /// (always the last one).
    sql: Option<(SqlRunner, usize)>,
    /// Counts SQL applications started and stopped (see `CallKind::Consume`).
    sql_epoch: u64,
    /// The newest records produced, for discovering a SQL input schema.
    recent: VecDeque<ProducedRecord>,
    /// Kinesis records put (with aggregation, fewer than user records).
    kinesis_records_put: u64,
    retention_hours: u32,
    /// Throttled records waiting to be sent again (see `retry`).
    retry_queue: RetryQueue,
    /// The KPL's rate limiter and its throttled records to send again
    /// (with `aggregation`).
    kpl: crate::aggregation::Limiter,
    retry_rng: rand_chacha::ChaCha8Rng,
    /// The scenario's SQS queues and SNS topic.
    queues: Option<Queues>,
    /// The last minute of CloudWatch-like metrics.
    metrics: crate::metrics::Metrics,
    /// Records offered by where their hash keys fall (see
    /// `Kinesis::take_key_histogram`): the second being planned, and the
    /// last whole second.
    keys_now: Vec<u64>,
    keys_last_second: Vec<u64>,
    /// The data streams a SQL application writes to.
    outputs: Vec<OutputStreamState>,
    /// The partition keys of the application's records.
    output_rng: rand_chacha::ChaCha8Rng,
}

/// The caller of an event source mapping's JavaScript invocation is this
/// followed by the mapping's name (a delivery stream's name has no `/`).
const ESM_CALLER: &str = "esm/";

/// The caller of a SQL application's Lambda output: this followed by the
/// output's index.
const KDA_CALLER: &str = "kda/";

/// Invokes `function` for `caller`'s invocation `id`: a built-in answers at
/// once (`builtin`); JavaScript is queued for the host with the `event`
/// text (`js`: the outbox and the invocations awaiting an outcome), and
/// then there is no outcome yet. `arn` names a missing function in its
/// error.
#[allow(clippy::too_many_arguments)]
fn invoke(
    functions: &[LambdaFunction],
    js: (&mut Vec<JsInvocation>, &mut Vec<(String, u64)>),
    (caller, id): (&str, u64),
    arn: &str,
    function: &str,
    event: impl FnOnce() -> String,
    builtin: impl FnOnce(&LambdaFunction) -> Option<Result<Vec<u8>, String>>,
) -> Option<Result<Vec<u8>, String>> {
    let Some(f) = functions.iter().find(|f| f.name == function) else {
        return Some(Err(format!(
            "ResourceNotFoundException: Function not found: {arn}"
        )));
    };
    if let Some(outcome) = builtin(f) {
        return Some(outcome);
    }
    let source = match &f.code {
        FunctionCode::Javascript(src) => src.clone(),
        _ => String::new(),
    };
    js.0.push(JsInvocation {
        caller: caller.to_string(),
        id,
        function: function.to_string(),
        source,
        event: event(),
    });
    js.1.push((caller.to_string(), id));
    None
}

/// A request a delivery stream sends to its HTTP endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCall {
    pub stream: String,
    pub request: HttpRequest,
}

/// What a request gets when its host sends none.
pub const NO_HTTP: &str = "this host does not send HTTP requests";

/// What a JavaScript invocation gets when its host cannot run JavaScript.
pub const NO_JAVASCRIPT: &str =
    "JavaScript functions run in the browser; this host has no JavaScript runtime";

impl Simulation {
    pub fn new(scenario: Scenario) -> Result<Self, SimError> {
        let hosts = scenario.shard_count.min(MAX_HOSTS);
        Simulation::with_hosts(scenario, hosts)
    }

    /// A simulation whose shards are spread over `hosts` hosts (1 or more;
    /// benchmarks compare host counts).
    pub fn with_hosts(scenario: Scenario, hosts: u32) -> Result<Self, SimError> {
        scenario.validate()?;
        if hosts == 0 {
            return Err(SimError::Scenario(
                "a stream needs at least one shard host".into(),
            ));
        }
        let n = scenario.shard_count as usize;
        let mut kinesis = Kinesis::new(KinesisConfig {
            region: REGION.into(),
            shard_limit: MAX_SHARDS,
            ..KinesisConfig::default()
        });
        // Creating the stream only plans its shards' Open operations; they
        // go to the hosts with `open_requests`.
        let planned = kinesis.plan(
            "CreateStream",
            &serde_json::json!({
                "StreamName": scenario.stream_name,
                "ShardCount": scenario.shard_count,
            }),
            SCENARIO_EPOCH_MS,
        )?;
        let shards = kinesis
            .shard_infos(&scenario.stream_name)
            .unwrap_or_default();
        let open: Vec<u32> = shards.iter().map(|s| s.key.shard_index).collect();
        let mut consumers: Vec<Consumer> = scenario
            .consumers
            .iter()
            .map(|spec| {
                Consumer::new(
                    spec.clone(),
                    open.iter().copied(),
                    SCENARIO_EPOCH_MS,
                    scenario.seed,
                )
            })
            .collect();
        let firehose = scenario.firehose()?;
        let first_reader = consumers.len();
        let readers: Vec<String> = firehose
            .kinesis_sources()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        for name in &readers {
            consumers.push(source_consumer(
                name,
                open.iter().copied(),
                StartAt::TrimHorizon,
                SCENARIO_EPOCH_MS,
            ));
        }
        // The SQL application's delivery streams get its rows, not the
        // producer's records.
        let sql_targets: Vec<&str> = scenario
            .sql_outputs
            .iter()
            .filter_map(|o| o.delivery_stream())
            .collect();
        let direct_puts: Vec<String> = firehose
            .streams()
            .filter(|s| matches!(s.source, shardlab_firehose::Source::DirectPut))
            .filter(|s| !sql_targets.contains(&s.name.as_str()))
            .map(|s| s.name.clone())
            .collect();
        let scenario_seed = scenario.seed;
        // Clickstream events go to the shard hosts as recipes, unless the
        // producer needs their bytes itself: to aggregate them, or to send
        // them to delivery streams or queues too (the other producers never
        // do).
        let made = scenario.aggregation.is_none()
            && direct_puts.is_empty()
            && scenario.messaging.is_none();
        let mut sim = Simulation {
            shards,
            queued: Vec::new(),
            api_replies: Vec::new(),
            consumers,
            now_ms: SCENARIO_EPOCH_MS,
            producer: make_producer(
                scenario.seed,
                "producer-0",
                scenario.rate_per_sec,
                (&scenario.keys, &scenario.rate_shape),
                scenario.record_size_bytes,
                scenario
                    .template()
                    .map_err(|e| SimError::Scenario(e.to_string()))?,
            ),
            more_producers: scenario
                .producers
                .iter()
                .map(|p| p.producer(scenario.seed))
                .collect::<Result<_, _>>()?,
            hosts,
            counters: vec![ShardCounters::default(); n],
            in_flight: VecDeque::new(),
            history: VecDeque::new(),
            read_history: VecDeque::new(),
            digest: FNV_OFFSET,
            kinesis,
            scenario,
            firehose,
            first_reader,
            readers,
            direct_puts,
            folded_puts: Default::default(),
            js_outbox: Vec::new(),
            js_outstanding: Vec::new(),
            js_outcomes: Default::default(),
            http_outbox: Vec::new(),
            http_outstanding: Vec::new(),
            http_outcomes: Default::default(),
            sql: None,
            sql_epoch: 0,
            recent: VecDeque::new(),
            kinesis_records_put: 0,
            retention_hours: default_retention_hours(),
            retry_queue: RetryQueue::default(),
            kpl: Default::default(),
            retry_rng: crate::rng::substream(scenario_seed, "producer-0/retries"),
            queues: None,
            metrics: Default::default(),
            keys_now: vec![0; shardlab_engine::api::KEY_BUCKETS],
            keys_last_second: vec![0; shardlab_engine::api::KEY_BUCKETS],
            outputs: Vec::new(),
            output_rng: crate::rng::substream(scenario_seed, "sql/output-streams"),
        };
        sim.producer.set_made(made);
        for p in &mut sim.more_producers {
            p.set_made(true);
        }
        sim.queues = sim.scenario.messaging.as_ref().map(|m| {
            Queues::new(
                m,
                SCENARIO_EPOCH_MS,
                crate::rng::substream(scenario_seed, "queues"),
            )
        });
        if let Some(a) = &sim.scenario.agent {
            let records = a.records().map_err(SimError::Scenario)?;
            sim.producer.set_lines(Some((records, a.repeat)));
        }
        sim.queued
            .push((planned, CallKind::Control("CreateStream")));
        // The output streams, created like the stream (their shards open
        // with the same batches).
        for (i, o) in sim.scenario.output_streams.iter().enumerate() {
            let planned = sim
                .kinesis
                .plan(
                    "CreateStream",
                    &serde_json::json!({"StreamName": o.name, "ShardCount": o.shard_count}),
                    SCENARIO_EPOCH_MS,
                )
                .map_err(|e| SimError::Scenario(format!("output_streams[{i}]: {e}")))?;
            let shards = sim.kinesis.shard_infos(&o.name).unwrap_or_default();
            sim.outputs.push(OutputStreamState::new(
                &o.name,
                shards.iter().map(|s| s.key.shard_index),
            ));
            sim.queued
                .push((planned, CallKind::Control("CreateStream")));
        }
        let stream_arn = shardlab_engine::stream_arn(REGION, &sim.scenario.stream_name);
        for c in 0..sim.first_reader {
            sim.consumers[c].start_mapping(&stream_arn);
            if sim.consumers[c].spec().fan_out {
                let arn = sim.register_consumer(c)?;
                sim.consumers[c].set_fan_out(Some(arn));
            }
        }
        Ok(sim)
    }

    /// Starts a SQL application on the stream (replacing a running one),
    /// reading with its own consumer from `start`. Its input schema is
    /// discovered from the newest records produced, as the console's
    /// DiscoverInputSchema samples the stream.
    pub fn start_sql(
        &mut self,
        code: &str,
        start: SqlStart,
        reference: Option<&crate::sql::ReferenceData>,
    ) -> Result<(), shardlab_sql::SqlError> {
        if self.scenario.aggregation.is_some() {
            return Err(shardlab_sql::SqlError {
                line: 0,
                column: 0,
                token: None,
                message: "The producer aggregates its records (KPL), and the playground's SQL \
                          applications read Kinesis records as they are: AWS documents that \
                          Firehose and the KCL de-aggregate, not that SQL applications do. \
                          Create the stream without aggregation to query it."
                    .into(),
            });
        }
        if self.recent.is_empty() {
            return Err(shardlab_sql::SqlError {
                line: 0,
                column: 0,
                token: None,
                message: "The stream has no records to discover the input schema from yet: run the producer for a moment first.".into(),
            });
        }
        let samples: Vec<Vec<u8>> = self.recent.iter().map(|r| r.bytes().into_owned()).collect();
        let tables = match reference.filter(|r| !r.csv.trim().is_empty()) {
            Some(r) => vec![r.table().map_err(|message| shardlab_sql::SqlError {
                line: 0,
                column: 0,
                token: None,
                message: format!("Reference data: {message}"),
            })?],
            None => Vec::new(),
        };
        let mut runner = SqlRunner::new(code, &samples, self.now_ms as i64, tables)?;
        runner
            .set_outputs(&self.scenario.sql_outputs)
            .map_err(|message| shardlab_sql::SqlError {
                line: 0,
                column: 0,
                token: None,
                message,
            })?;
        self.stop_sql();
        // NOW reads the open shards; TRIM_HORIZON starts at the oldest
        // retained shards of every lineage and follows their children.
        let shards: Vec<u32> = match start {
            SqlStart::Now => self
                .shards
                .iter()
                .filter(|s| s.closed_ms.is_none())
                .map(|s| s.key.shard_index)
                .collect(),
            SqlStart::TrimHorizon => self.lineage_roots(),
        };
        self.consumers.push(Consumer::new(
            ConsumerSpec {
                name: "sql/SOURCE_SQL_STREAM_001".into(),
                poll_ms: crate::sql::SQL_POLL_MS,
                start: start.start_at(),
                // Throttled by other consumers sharing the 5 reads/s, it
                // tries again at the next tick rather than a second later.
                retry_throttled_ms: Some(100),
                kcl: None,
                fan_out: false,
                lambda: None,
            },
            shards,
            self.now_ms,
            0,
        ));
        self.sql = Some((runner, self.consumers.len() - 1));
        Ok(())
    }

    /// `code` as Flink SQL: the source table reads this stream with the
    /// columns discovered from its newest records.
    pub fn translate_sql(
        &self,
        code: &str,
        start: SqlStart,
    ) -> Result<shardlab_sql::flink::FlinkTranslation, shardlab_sql::SqlError> {
        let samples: Vec<Vec<u8>> = self.recent.iter().map(|r| r.bytes().into_owned()).collect();
        let columns = crate::sql::discovered_columns(&samples);
        let source = shardlab_sql::flink::FlinkSource {
            kinesis_stream: self.scenario.stream_name.clone(),
            initial_position: match start {
                SqlStart::Now => "LATEST",
                SqlStart::TrimHorizon => "TRIM_HORIZON",
            }
            .into(),
            columns,
            outputs: self
                .scenario
                .sql_outputs
                .iter()
                .map(|o| shardlab_sql::flink::FlinkOutput {
                    stream: o.name.clone(),
                    delivery_stream: o.delivery_stream().map(str::to_string),
                    data_stream: o.data_stream().map(str::to_string),
                    function: o.function().map(str::to_string),
                    format: match o.schema.format {
                        crate::sql::RecordFormat::JSON => "json",
                        crate::sql::RecordFormat::CSV => "csv",
                    }
                    .into(),
                })
                .collect(),
        };
        shardlab_sql::flink::translate(code, &source)
    }

    /// A Kinesis API call from outside the simulation (the in-page SDK
    /// console), as the endpoint takes it: the operation and the JSON
    /// request body. Calls that touch no shard are answered now; the
    /// others go out with the next tick and are answered when it finishes
    /// (see [`Simulation::take_api_replies`]). They share the shards'
    /// limits with the producer and the consumers, as on AWS.
    pub fn api_call(&mut self, id: u64, operation: &str, body: &[u8]) -> Option<ApiReply> {
        if MANAGED_OPERATIONS.contains(&operation) {
            return Some(ApiReply::error(
                id,
                &shardlab_engine::ApiError::invalid_argument(format!(
                    "{operation} is not open to the in-page console: the playground manages the \
                     stream's shards and life cycle; use its controls (Create stream, Split, \
                     Merge, Retention) for that"
                )),
            ));
        }
        let request = match shardlab_engine::api::request::parse_json(body) {
            Ok(r) => r,
            Err(e) => return Some(ApiReply::error(id, &e)),
        };
        let puts = self.routed_puts(operation, &request);
        let planned = match self.kinesis.plan(operation, &request, self.now_ms) {
            Ok(p) => p,
            Err(e) => return Some(ApiReply::error(id, &e)),
        };
        if planned.ops.is_empty() {
            return Some(match self.kinesis.finish_output(planned, Vec::new()) {
                Ok(output) => ApiReply::ok(id, output.to_bytes()),
                Err(e) => ApiReply::error(id, &e),
            });
        }
        self.queued.push((
            planned,
            CallKind::External {
                id,
                operation: operation.to_string(),
                puts,
            },
        ));
        None
    }

    /// A PutRecord(s) request's entries: the shard each is routed to among
    /// the open shards now, and its size. None for a request to another
    /// stream (an output stream), which the shard rows do not show.
    fn routed_puts(&self, operation: &str, request: &serde_json::Value) -> Vec<(Option<u32>, u64)> {
        use shardlab_engine::{route, HashKey};
        let named = match request["StreamARN"].as_str() {
            Some(arn) => arn == stream_arn(REGION, &self.scenario.stream_name),
            None => request["StreamName"].as_str() == Some(&self.scenario.stream_name),
        };
        if !named {
            return Vec::new();
        }
        let entries = put_entries(operation, request);
        let open: Vec<&ShardInfo> = self
            .shards
            .iter()
            .filter(|s| s.closed_ms.is_none())
            .collect();
        let ranges: Vec<_> = open.iter().map(|s| s.range).collect();
        entries
            .into_iter()
            .map(|e| {
                let key = e["PartitionKey"].as_str().unwrap_or("");
                let hash = match e["ExplicitHashKey"].as_str() {
                    Some(h) => HashKey::parse_explicit(h).ok(),
                    None => Some(HashKey::from_partition_key(key)),
                };
                let shard = hash
                    .and_then(|h| route(&ranges, h))
                    .map(|i| open[i].key.shard_index);
                // Base64: 3 bytes per 4 characters, less the padding.
                let data = e["Data"].as_str().unwrap_or("");
                let padding = data.bytes().rev().take_while(|b| *b == b'=').count();
                let bytes = (data.len() / 4 * 3).saturating_sub(padding);
                (shard, (key.len() + bytes) as u64)
            })
            .collect()
    }

    /// Counts routed puts on their shards: accepted where `accepted(i)`,
    /// throttled otherwise.
    fn count_puts(&mut self, puts: &[(Option<u32>, u64)], accepted: impl Fn(usize) -> bool) {
        for (i, (shard, size)) in puts.iter().enumerate() {
            let Some(c) = shard.and_then(|s| self.counters.get_mut(s as usize)) else {
                continue;
            };
            if accepted(i) {
                c.records_accepted += 1;
                c.bytes_accepted += size;
            } else {
                c.records_throttled += 1;
            }
        }
    }

    /// Whether external calls wait for a tick (a paused host runs an empty
    /// one to answer them).
    pub fn api_calls_waiting(&self) -> bool {
        self.queued
            .iter()
            .chain(self.in_flight.iter().flat_map(|f| f.calls.iter()))
            .any(|(_, kind)| matches!(kind, CallKind::External { .. }))
    }

    /// Every external call still waiting, answered with an error: the
    /// host is dropping the stream (a tick failed), and the code that made
    /// them must not wait for ever.
    pub fn abandon_api_calls(&mut self) -> Vec<ApiReply> {
        let e = shardlab_engine::ApiError::InternalFailure(
            "The playground's stream stopped before this call was answered.".into(),
        );
        let mut replies = std::mem::take(&mut self.api_replies);
        for (_, kind) in self
            .queued
            .iter()
            .chain(self.in_flight.iter().flat_map(|f| f.calls.iter()))
        {
            if let CallKind::External { id, .. } = kind {
                replies.push(ApiReply::error(*id, &e));
            }
        }
        self.queued
            .retain(|(_, kind)| !matches!(kind, CallKind::External { .. }));
        replies
    }

    /// The answers to external calls finished since the last take.
    pub fn take_api_replies(&mut self) -> Vec<ApiReply> {
        std::mem::take(&mut self.api_replies)
    }

    /// Counts records a console's PutRecord or PutRecords put, on their
    /// shards' rows, as the producer's are: accepted ones with their
    /// sequence numbers, throttled ones too.
    fn count_external(&mut self, operation: &str, body: &[u8], puts: &[(Option<u32>, u64)]) {
        if puts.is_empty() {
            // Not a put to the stream.
            return;
        }
        let Ok(response) = serde_json::from_slice::<serde_json::Value>(body) else {
            return;
        };
        let results = put_entries(operation, &response);
        self.count_puts(puts, |i| {
            results.get(i).is_some_and(|r| r["ErrorCode"].is_null())
        });
        for r in results {
            let shard = r["ShardId"]
                .as_str()
                .and_then(crate::consumer::shard_index)
                .map(|i| i as usize);
            let sequence = r["SequenceNumber"].as_str().and_then(SequenceNumber::parse);
            if let (Some(c), Some(seq)) = (shard.and_then(|i| self.counters.get_mut(i)), sequence) {
                c.latest_sequence_number = Some(seq);
            }
        }
    }

    /// The running SQL application, if any (for graders, which read its
    /// captured rows).
    pub fn sql_runner(&self) -> Option<&SqlRunner> {
        self.sql.as_ref().map(|(r, _)| r)
    }

    pub fn sql_runner_mut(&mut self) -> Option<&mut SqlRunner> {
        self.sql.as_mut().map(|(r, _)| r)
    }

    /// Stops the SQL application and its reader.
    pub fn stop_sql(&mut self) {
        self.sql_epoch += 1;
        if let Some((_, reader)) = self.sql.take() {
            if reader + 1 == self.consumers.len() {
                self.consumers.pop();
            }
        }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Shards not yet expired, open and closed.
    pub fn shard_count(&self) -> u32 {
        self.shards.len() as u32
    }

    pub fn shard_infos(&self) -> &[ShardInfo] {
        &self.shards
    }

    /// Plans a control-plane call now; its shard operations go out with
    /// the next tick.
    fn queue_control(
        &mut self,
        operation: &'static str,
        request: serde_json::Value,
    ) -> Result<(), SimError> {
        let planned = self.kinesis.plan(operation, &request, self.now_ms)?;
        self.queued.push((planned, CallKind::Control(operation)));
        self.refresh_shards();
        Ok(())
    }

    /// A SQL application's PutRecords to an output stream finished: the
    /// accepted records are counted on their shards (and folded into the
    /// digest); the refused ones go back to the application's output, to
    /// be sent again in their order.
    fn finish_output_put(
        &mut self,
        planned: Planned,
        results: Vec<ShardOpResult>,
        (epoch, output, stream): (u64, usize, usize),
        entries: Vec<(String, Vec<u8>)>,
    ) -> Result<(), SimError> {
        let out = self.kinesis.finish_put_records(planned, results)?;
        let mut accepted = Vec::with_capacity(entries.len());
        for (r, (key, data)) in out.records.iter().zip(&entries) {
            // Folded as the producer's records are (see `fold_bytes`).
            self.digest = fold_bytes(self.digest, b"output");
            match r {
                PutRecordsResult::Accepted {
                    shard_index,
                    sequence_number,
                } => {
                    self.digest = fold64(self.digest, u64::from(*shard_index));
                    self.digest = fold64(self.digest, sequence_number.sequence_index);
                    self.digest = fold_bytes(self.digest, data);
                    if let Some(s) = self.outputs.get_mut(stream) {
                        s.accepted(*shard_index, sequence_number, key, data);
                    }
                    accepted.push(true);
                }
                PutRecordsResult::Throttled { shard_index } => {
                    self.digest = fold64(self.digest, u64::from(*shard_index));
                    if let Some(s) = self.outputs.get_mut(stream) {
                        s.throttled(*shard_index);
                    }
                    accepted.push(false);
                }
            }
        }
        // A restarted application does not get its predecessor's records.
        if epoch == self.sql_epoch {
            if let Some((runner, _)) = self.sql.as_mut() {
                let records = entries.into_iter().map(|(_, data)| data).collect();
                runner.stream_output_done(output, records, &accepted);
            }
        }
        Ok(())
    }

    fn refresh_shards(&mut self) {
        self.shards = self
            .kinesis
            .shard_infos(&self.scenario.stream_name)
            .unwrap_or_default();
        let n = self
            .shards
            .last()
            .map_or(0, |s| s.key.shard_index as usize + 1);
        if self.counters.len() < n {
            self.counters.resize(n, ShardCounters::default());
        }
    }

    /// SplitShard at the middle of the shard's hash-key range: the shard
    /// closes and two children take its halves (on the hosts their shard
    /// indexes map to).
    pub fn split_shard(&mut self, shard_id: &str) -> Result<(), SimError> {
        // An unknown shard gets the engine's ResourceNotFoundException; the
        // key is never used then.
        let middle = self
            .shards
            .iter()
            .find(|s| s.shard_id == shard_id)
            .map_or(1, |s| {
                let (lo, hi) = (s.range.starting_hash_key.0, s.range.ending_hash_key.0);
                lo + (hi - lo) / 2 + 1
            });
        self.queue_control(
            "SplitShard",
            serde_json::json!({
                "StreamName": self.scenario.stream_name,
                "ShardToSplit": shard_id,
                "NewStartingHashKey": middle.to_string(),
            }),
        )
    }

    /// MergeShards of two adjacent open shards (AWS's argument order).
    pub fn merge_shards(
        &mut self,
        shard_id: &str,
        adjacent_shard_id: &str,
    ) -> Result<(), SimError> {
        self.queue_control(
            "MergeShards",
            serde_json::json!({
                "StreamName": self.scenario.stream_name,
                "ShardToMerge": shard_id,
                "AdjacentShardToMerge": adjacent_shard_id,
            }),
        )
    }

    /// Increase- or DecreaseStreamRetentionPeriod, whichever the change
    /// is (AWS's errors for out-of-range hours).
    pub fn set_retention(&mut self, hours: u32) -> Result<(), SimError> {
        let operation = if hours >= self.retention_hours {
            "IncreaseStreamRetentionPeriod"
        } else {
            "DecreaseStreamRetentionPeriod"
        };
        self.queue_control(
            operation,
            serde_json::json!({
                "StreamName": self.scenario.stream_name,
                "RetentionPeriodHours": hours,
            }),
        )?;
        self.retention_hours = hours;
        Ok(())
    }

    /// The consumer application named `name` (not a delivery stream's or
    /// the SQL application's reader).
    fn consumer_mut(&mut self, name: &str) -> Result<&mut Consumer, SimError> {
        let i = self.consumer_index(name)?;
        Ok(&mut self.consumers[i])
    }

    fn consumer_index(&self, name: &str) -> Result<usize, SimError> {
        let own = &self.consumers[..self.first_reader];
        own.iter()
            .position(|c| c.spec().name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = own.iter().map(|c| c.spec().name.as_str()).collect();
                SimError::Scenario(if known.is_empty() {
                    format!("no consumer application named '{name}': this stream has none")
                } else {
                    format!(
                        "no consumer application named '{name}'; the stream's are: {}",
                        known.join(", ")
                    )
                })
            })
    }

    /// Moves a consumer application back to read the stream again from
    /// `from` (its oldest records, or a time), as resetting a KCL
    /// application's checkpoints does: every retained shard whose parents
    /// are gone is read again from there, parents before children.
    pub fn replay_consumer(&mut self, name: &str, from: Replay) -> Result<(), SimError> {
        if let Replay::AtTimestamp(t) = from {
            if t > self.now_ms {
                return Err(SimError::Api(shardlab_engine::ApiError::invalid_argument(
                    format!(
                        "The timestampInMillis parameter cannot be greater than the \
                         currentTimestampInMillis. timestampInMillis: {t}, \
                         currentTimestampInMillis: {}",
                        self.now_ms
                    ),
                )));
            }
        }
        self.not_a_mapping(
            name,
            "be moved back: delete it and create a new one at TRIM_HORIZON or AT_TIMESTAMP",
        )?;
        let roots = self.lineage_roots();
        let now = self.now_ms;
        self.consumer_mut(name)?.replay(from, roots, now);
        Ok(())
    }

    /// Refuses what a Lambda event source mapping cannot do (`what`).
    fn not_a_mapping(&self, name: &str, what: &str) -> Result<(), SimError> {
        let c = self.consumer_index(name)?;
        if self.consumers[c].spec().lambda.is_some() {
            return Err(SimError::Scenario(format!(
                "{name} is a Lambda event source mapping, which cannot {what}"
            )));
        }
        Ok(())
    }

    /// The retained shards whose parents are gone (expired, or never
    /// were): where reading from TRIM_HORIZON starts, children following
    /// their parents.
    fn lineage_roots(&self) -> Vec<u32> {
        let retained: std::collections::BTreeSet<&str> =
            self.shards.iter().map(|s| s.shard_id.as_str()).collect();
        self.shards
            .iter()
            .filter(|s| {
                [&s.parent_shard_id, &s.adjacent_parent_shard_id]
                    .iter()
                    .all(|p| p.as_deref().is_none_or(|p| !retained.contains(p)))
            })
            .map(|s| s.key.shard_index)
            .collect()
    }

    /// How often a consumer application polls each shard.
    pub fn set_consumer_poll(&mut self, name: &str, poll_ms: u64) -> Result<(), SimError> {
        if !(MIN_POLL_MS..=MAX_POLL_MS).contains(&poll_ms) {
            return Err(SimError::Scenario(format!(
                "poll interval {poll_ms} ms is outside {MIN_POLL_MS}..={MAX_POLL_MS} ms"
            )));
        }
        self.not_a_mapping(
            name,
            "poll at another rate: Lambda polls each shard once a second",
        )?;
        self.consumer_mut(name)?.set_poll_ms(poll_ms);
        Ok(())
    }

    /// Stops a KCL application's worker abruptly (`worker-2`), as a crash
    /// does: its leases expire and the other workers take them.
    pub fn stop_kcl_worker(&mut self, app: &str, worker: &str) -> Result<(), SimError> {
        let w = kcl_worker(worker)?;
        self.kcl_mut(app)?
            .stop_worker(w)
            .map_err(SimError::Scenario)
    }

    /// Starts a stopped worker again, or a new one when `worker` is the
    /// next name (`worker-3` for an application of two).
    pub fn start_kcl_worker(&mut self, app: &str, worker: &str) -> Result<(), SimError> {
        let w = kcl_worker(worker)?;
        let now = self.now_ms;
        self.kcl_mut(app)?
            .start_worker(w, now)
            .map_err(SimError::Scenario)
    }

    fn kcl_mut(&mut self, app: &str) -> Result<&mut crate::kcl::Kcl, SimError> {
        self.consumer_mut(app)?.kcl_mut().ok_or_else(|| {
            SimError::Scenario(format!(
                "consumer application '{app}' is not a KCL application: it has no workers"
            ))
        })
    }

    /// Registers consumer `c` for enhanced fan-out (RegisterStreamConsumer,
    /// sent with the next tick); its consumer ARN.
    fn register_consumer(&mut self, c: usize) -> Result<String, SimError> {
        let name = self.consumers[c].spec().name.clone();
        let stream = self.scenario.stream_name.clone();
        let planned = self.kinesis.plan(
            "RegisterStreamConsumer",
            &serde_json::json!({
                "StreamARN": stream_arn(REGION, &stream),
                "ConsumerName": name,
            }),
            self.now_ms,
        )?;
        self.queued
            .push((planned, CallKind::Control("RegisterStreamConsumer")));
        self.kinesis
            .consumer_arn(&stream, &name)
            .ok_or_else(|| SimError::Host(format!("consumer {name} was not registered")))
    }

    /// Moves a consumer application to enhanced fan-out (registering it)
    /// or back to shared-throughput GetRecords (deregistering it); it reads
    /// on from where it is on every shard.
    pub fn set_consumer_fan_out(&mut self, name: &str, fan_out: bool) -> Result<(), SimError> {
        self.not_a_mapping(
            name,
            "change its event source: delete it and create one on the stream consumer's ARN",
        )?;
        let c = self.consumer_index(name)?;
        if self.consumers[c].fan_out_arn().is_some() == fan_out {
            return Ok(());
        }
        if fan_out {
            let arn = self.register_consumer(c)?;
            self.consumers[c].set_fan_out(Some(arn));
        } else {
            let arn = self.consumers[c]
                .fan_out_arn()
                .unwrap_or_default()
                .to_string();
            let planned = self.kinesis.plan(
                "DeregisterStreamConsumer",
                &serde_json::json!({ "ConsumerARN": arn }),
                self.now_ms,
            )?;
            self.queued
                .push((planned, CallKind::Control("DeregisterStreamConsumer")));
            self.consumers[c].set_fan_out(None);
        }
        Ok(())
    }

    /// UpdateFunctionCode: new code for the scenario's Lambda function
    /// `name`, which its next invocations run (Firehose processors and
    /// event source mappings alike).
    pub fn update_function_code(&mut self, name: &str, code: FunctionCode) -> Result<(), SimError> {
        let f = LambdaFunction {
            name: name.to_string(),
            code,
        };
        f.validate().map_err(SimError::Scenario)?;
        let functions = &mut self.scenario.lambda_functions;
        let Some(i) = functions.iter().position(|g| g.name == name) else {
            let known: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
            return Err(SimError::Scenario(format!(
                "ResourceNotFoundException: Function not found: {name} (the scenario's functions: {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        };
        let slot = &mut functions[i];
        *slot = f;
        Ok(())
    }

    /// UpdateEventSourceMapping: new settings for the mapping `name`,
    /// checked as CreateEventSourceMapping checks them.
    pub fn update_event_source_mapping(
        &mut self,
        name: &str,
        update: &crate::esm::EsmUpdate,
    ) -> Result<(), SimError> {
        let c = self.consumer_index(name)?;
        let current = self.consumers[c].spec().lambda.clone().ok_or_else(|| {
            SimError::Scenario(format!("{name} is not a Lambda event source mapping"))
        })?;
        let mapping = update.apply(&current);
        mapping.validate(name).map_err(SimError::Scenario)?;
        self.consumers[c].update_mapping(mapping.clone());
        if let Some(spec) = self.scenario.consumers.iter_mut().find(|s| s.name == name) {
            spec.lambda = Some(mapping);
        }
        Ok(())
    }

    /// The percentage of messages a queue's consumers fail to process
    /// (they come back after the visibility timeout).
    pub fn set_queue_failures(&mut self, queue: &str, percent: u32) -> Result<(), SimError> {
        self.queues
            .as_mut()
            .ok_or_else(|| SimError::Scenario("this stream's scenario has no queues".into()))?
            .set_fail_percent(queue, percent)
            .map_err(SimError::Scenario)
    }

    /// How many shard hosts (workers) the shards are spread over.
    pub fn host_count(&self) -> u32 {
        self.hosts
    }

    /// The host that keeps a shard (see [`placement`]).
    pub fn host_of(&self, shard_index: u32) -> u32 {
        placement(shard_index, self.hosts)
    }

    /// Each producer's name, rate and records made (`producer-0` first).
    fn producer_views(&self) -> Vec<ProducerView> {
        let first = ProducerView {
            name: "producer-0".into(),
            rate_per_sec: self.producer.rate_per_sec(),
            produced: self.producer.produced(),
        };
        std::iter::once(first)
            .chain(
                self.scenario
                    .producers
                    .iter()
                    .zip(&self.more_producers)
                    .map(|(spec, p)| ProducerView {
                        name: spec.name.clone(),
                        rate_per_sec: p.rate_per_sec(),
                        produced: p.produced(),
                    }),
            )
            .collect()
    }

    /// Whether the producer is the KPL and sends throttled records again.
    fn kpl_retries(&self) -> bool {
        self.scenario
            .aggregation
            .as_ref()
            .is_some_and(|a| !a.fail_if_throttled)
    }

    pub fn set_rate(&mut self, rate_per_sec: u64) -> Result<(), SimError> {
        self.set_producer_rate(None, rate_per_sec)
    }

    /// Changes one producer's rate from the next millisecond on:
    /// `producer-0`'s (None, or its name) or one of the scenario's
    /// `producers` by name.
    pub fn set_producer_rate(
        &mut self,
        producer: Option<&str>,
        rate_per_sec: u64,
    ) -> Result<(), SimError> {
        let index = match producer {
            None | Some("producer-0") => None,
            Some(name) => Some(
                self.scenario
                    .producers
                    .iter()
                    .position(|p| p.name == name)
                    .ok_or_else(|| {
                        SimError::Scenario(format!("there is no producer named {name}"))
                    })?,
            ),
        };
        let others: u64 = std::iter::once(self.scenario.rate_per_sec)
            .chain(self.scenario.producers.iter().map(|p| p.rate_per_sec))
            .enumerate()
            .filter(|(i, _)| index.map_or(*i != 0, |k| *i != k + 1))
            .map(|(_, r)| r)
            .sum();
        if rate_per_sec > MAX_RATE_PER_SEC {
            return Err(SimError::Scenario(format!(
                "producer rate {rate_per_sec} records/s is above the playground's maximum of {MAX_RATE_PER_SEC}"
            )));
        }
        if others + rate_per_sec > MAX_RATE_PER_SEC {
            return Err(SimError::Scenario(format!(
                "the producers' rates would add up to {} records/s, above the playground's \
                 maximum of {MAX_RATE_PER_SEC}",
                others + rate_per_sec
            )));
        }
        // Records up to now were produced at the old rate; the new one
        // applies from the next millisecond.
        match index {
            None => {
                self.producer.set_rate(rate_per_sec, self.now_ms + 1);
                self.scenario.rate_per_sec = rate_per_sec;
            }
            Some(i) => {
                self.more_producers[i].set_rate(rate_per_sec, self.now_ms + 1);
                self.scenario.producers[i].rate_per_sec = rate_per_sec;
            }
        }
        Ok(())
    }

    /// Splits `calls`' operations (and due side effects) into one batch per
    /// host, and remembers them as the newest tick in flight.
    fn dispatch(&mut self, mut calls: Vec<(Planned, CallKind)>) -> Vec<(u32, ShardBatch)> {
        let hosts = self.hosts as usize;
        let mut batches: Vec<ShardBatch> = vec![ShardBatch::default(); hosts];
        let mut routes: Vec<Vec<(Option<usize>, usize)>> = vec![Vec::new(); hosts];
        let mut send = |call: Option<usize>, i: usize, key: ShardKey, op: ShardOp| {
            let h = placement(key.shard_index, hosts as u32) as usize;
            batches[h].ops.push((key, op));
            routes[h].push((call, i));
        };
        for (i, (key, op)) in self.kinesis.take_side_ops().into_iter().enumerate() {
            send(None, i, key, op);
        }
        let mut op_counts = Vec::with_capacity(calls.len());
        for (c, (planned, _)) in calls.iter_mut().enumerate() {
            let ops = planned.take_ops();
            op_counts.push(ops.len());
            for (i, (key, op)) in ops.into_iter().enumerate() {
                send(Some(c), i, key, op);
            }
        }
        self.in_flight.push_back(InFlight {
            now_ms: self.now_ms,
            calls,
            routes,
            op_counts,
        });
        batches
            .into_iter()
            .enumerate()
            .map(|(h, b)| (h as u32, b))
            .collect()
    }

    /// The batches that open every shard (the stream's creation), one per host.
    pub fn open_requests(&mut self) -> Vec<(u32, ShardBatch)> {
        let calls = std::mem::take(&mut self.queued);
        self.dispatch(calls)
    }

    /// Whether a host may plan the next tick before the replies of the
    /// ticks in flight are in: only PutRecords (and censuses) in flight, no
    /// more than two exchanges' worth (see `host::TickPipeline`), and
    /// nothing queued. PutRecords are finished from their own results
    /// alone, so planning ahead changes nothing; a read or a control call
    /// (a split, a merge) must finish first.
    pub fn can_plan_ahead(&self) -> bool {
        // Direct PUT hands records to Firehose while planning; Firehose's
        // clock must not run ahead of the tick it is finishing.
        // Throttled records a retrying producer sends again are scheduled
        // when their call finishes, so the next tick waits for it. An event
        // source mapping reads a shard only when its batches have room,
        // which finishing a tick decides. A SQL application's rows for a
        // data stream are put with the tick after the one that made them.
        let stream_outputs = self.sql.is_some() && !self.outputs.is_empty();
        !stream_outputs
            && self.direct_puts.is_empty()
            && self.scenario.retries.is_none()
            && !self.kpl_retries()
            && self.scenario.consumers.iter().all(|c| c.lambda.is_none())
            && self.queued.is_empty()
            && self.in_flight.len() < 2 * crate::host::MAX_TICKS_PER_EXCHANGE
            && self.in_flight.iter().all(|f| {
                f.calls
                    .iter()
                    .all(|(_, kind)| matches!(kind, CallKind::Put { .. } | CallKind::Census(_)))
            })
    }

    /// Advances virtual time by `dt_ms`, produces that interval's records,
    /// plans them as PutRecords calls of up to 500 entries at the end of the
    /// interval, and returns one batch per host (every host gets one, even
    /// empty, so every tick has the same barrier).
    pub fn begin_tick(&mut self, dt_ms: u64) -> Result<Vec<(u32, ShardBatch)>, SimError> {
        let from = self.now_ms;
        self.now_ms += dt_ms;
        let records = if dt_ms == 0 {
            Vec::new()
        } else {
            self.producer
                .produce_until(self.now_ms.saturating_sub(1).max(from))
        };
        // The newest records, for a SQL application's schema discovery.
        for r in records.iter().rev().take(DISCOVERY_SAMPLES).rev() {
            if self.recent.len() == DISCOVERY_SAMPLES {
                self.recent.pop_front();
            }
            // A made record keeps its recipe: its bytes are written only
            // if discovery asks.
            self.recent.push_back(r.clone());
        }
        // The producer sends each record to the scenario's queues and topic
        // too; their consumers run.
        if let Some(q) = self.queues.as_mut() {
            let keys: Vec<_> = records.iter().map(ProducedRecord::key).collect();
            q.produce(keys.iter().map(|k| k.as_ref()), self.now_ms);
            q.tick(self.now_ms);
            for c in q.counts() {
                for n in [c.sent, c.received, c.deleted, c.out_of_order] {
                    self.digest = fnv1a64_extend(self.digest, &n.to_le_bytes());
                }
            }
        }
        // Direct PUT: the producer also sends each record to these
        // delivery streams, in PutRecordBatch calls of up to 500.
        for name in &self.direct_puts {
            for batch in records.chunks(PUT_RECORDS_MAX) {
                let data = batch.iter().map(|r| r.bytes().into_owned()).collect();
                self.firehose.put_typed(name, data, self.now_ms)?;
            }
        }
        let mut calls = std::mem::take(&mut self.queued);
        let outgoing: Vec<Outgoing> = match &self.scenario.aggregation {
            Some(a) => pack(records, &self.shards, a.max_size),
            None => records.into_iter().map(Outgoing::plain).collect(),
        };
        self.kinesis_records_put += outgoing.len() as u64;
        // Throttled records due for another send go first, then the new ones.
        let mut sends = self.retry_queue.due(self.now_ms);
        sends.extend(outgoing.into_iter().map(|o| (o, 0)));
        if let Some(kpl) = &self.scenario.aggregation {
            // The KPL: what its rate limit held back, then its throttled
            // records, then the new ones, as far as each shard's rate limit
            // lets them out now.
            let mut candidates = std::mem::take(&mut self.kpl.held);
            let retried = std::mem::take(&mut self.kpl.retry);
            self.retry_queue.retried += retried.len() as u64;
            candidates.extend(retried);
            candidates.extend(sends);
            let admitted = self.kpl.admit(kpl, candidates, &self.shards, self.now_ms);
            self.retry_queue.failed += admitted.expired;
            sends = admitted.send;
        }
        let keep = self.scenario.retries.is_some() || self.kpl_retries();
        // The other producers' records, each producer's in calls of its own
        // (without aggregation or retries).
        let mut lists = vec![(sends, keep)];
        for p in &mut self.more_producers {
            let made = if dt_ms == 0 {
                Vec::new()
            } else {
                p.produce_until(self.now_ms.saturating_sub(1).max(from))
            };
            self.kinesis_records_put += made.len() as u64;
            lists.push((
                made.into_iter().map(|r| (Outgoing::plain(r), 0)).collect(),
                false,
            ));
        }
        for (sends, keep) in lists {
            let mut records = sends.into_iter().peekable();
            while records.peek().is_some() {
                let mut entries = Vec::with_capacity(PUT_RECORDS_MAX);
                let mut prints = Vec::with_capacity(PUT_RECORDS_MAX);
                let mut sent = Vec::new();
                let mut bytes = 0;
                // Up to 500 records and 5 MiB per call (the KPL's collection
                // limits; large template records or 50 KB aggregated ones
                // reach the bytes first). A call always takes at least one.
                while let Some((next, attempts)) = records.next_if(|(o, _)| {
                    let size = o.entry.size();
                    entries.is_empty()
                        || entries.len() < PUT_RECORDS_MAX && bytes + size <= PUT_RECORDS_MAX_BYTES
                }) {
                    if keep {
                        // Kept to be sent again should it be throttled.
                        sent.push((next.clone(), attempts + 1));
                    }
                    let Outgoing {
                        entry, arrival_ms, ..
                    } = next;
                    let size = entry.size();
                    bytes += size;
                    // A made record's print comes back from the shard host
                    // that writes it.
                    let fp = entry.made.is_none().then(|| {
                        let fp = fingerprint(arrival_ms, &entry.partition_key, &entry.data);
                        match &entry.explicit_hash_key {
                            Some(ehk) => fold_bytes(fp, ehk.as_bytes()),
                            None => fp,
                        }
                    });
                    prints.push((fp, size as u64));
                    entries.push(entry);
                }
                let planned = self.kinesis.plan_put_records(
                    &self.scenario.stream_name,
                    entries,
                    self.now_ms,
                )?;
                calls.push((planned, CallKind::Put { prints, sent }));
            }
        }
        // Consumers read what is there at the end of the interval. On a
        // shard, the consumer served longest ago goes first, so consumers
        // sharing its 5 reads/s share them fairly.
        let now = self.now_ms;
        let mut due: Vec<(usize, Due)> = Vec::new();
        for (c, consumer) in self.consumers.iter_mut().enumerate() {
            consumer.advance(now);
            for d in consumer.due(&self.scenario.stream_name, now) {
                due.push((c, d));
            }
        }
        due.sort_by_key(|(c, d)| (d.reader.shard, d.served_ms, *c, d.reader.worker));
        for (
            c,
            Due {
                reader,
                read,
                request,
                ..
            },
        ) in due
        {
            self.consumers[c].polled(reader, now);
            let generation = self.consumers[c].generation();
            let fan_out = |call| CallKind::FanOut {
                consumer: c,
                reader,
                generation,
                call,
            };
            match read {
                Read::Subscribe => {
                    match self.kinesis.plan_subscribe_to_shard(&request, now) {
                        Ok((planned, sub)) => {
                            calls.push((planned, fan_out(FanOutCall::Subscribe(Box::new(sub)))))
                        }
                        Err(e) => self.consumers[c].subscribed(reader, Err(e), now),
                    }
                    continue;
                }
                Read::Event => {
                    let Some(mut sub) = self.consumers[c].take_subscription(reader) else {
                        continue;
                    };
                    match self.kinesis.plan_next_event(&mut sub, now) {
                        Ok(Some(planned)) => {
                            calls.push((planned, fan_out(FanOutCall::Event(Box::new(sub)))))
                        }
                        // Over (5 minutes) or refused: it subscribes again.
                        Ok(None) | Err(_) => {
                            self.consumers[c].finish_event(reader, None, None, now);
                        }
                    }
                    continue;
                }
                Read::Iterator | Read::Records => {}
            }
            match self.kinesis.plan(read.operation(), &request, now) {
                Ok(planned) => calls.push((
                    planned,
                    CallKind::Consume {
                        consumer: c,
                        reader,
                        read,
                        epoch: self.sql_epoch,
                        generation: self.consumers[c].generation(),
                    },
                )),
                // Refused before reaching the shard (an expired iterator, a
                // shard gone): the consumer recovers.
                Err(e) => {
                    self.consumers[c].finish(reader, read, Err(e), now);
                }
            }
        }
        // Once a virtual second, every shard counts what it retains.
        if from / 1000 != now / 1000 && !self.shards.is_empty() {
            let keys: Vec<(ShardKey, ShardOp)> = self
                .shards
                .iter()
                .map(|s| (s.key, ShardOp::Census { now_ms: now }))
                .collect();
            let indexes = self.shards.iter().map(|s| s.key.shard_index).collect();
            calls.push((Planned::raw(keys), CallKind::Census(indexes)));
        }
        self.count_keys(from / 1000 != now / 1000);
        self.kinesis.set_now(self.now_ms);
        Ok(self.dispatch(calls))
    }

    /// Adds the records planned so far to the hash-key histogram of the
    /// current second; a tick that reaches a new second completes it.
    fn count_keys(&mut self, crossed_second: bool) {
        for (n, k) in self
            .keys_now
            .iter_mut()
            .zip(self.kinesis.take_key_histogram(&self.scenario.stream_name))
        {
            *n += k;
        }
        if crossed_second {
            let zeros = vec![0; self.keys_now.len()];
            self.keys_last_second = std::mem::replace(&mut self.keys_now, zeros);
        }
    }

    /// Takes the oldest tick in flight and puts every host's results back
    /// in each call's operation order.
    fn results_per_call(
        &mut self,
        replies: Vec<ShardBatchReply>,
    ) -> Result<(InFlight, Vec<Vec<ShardOpResult>>), SimError> {
        let flight = self
            .in_flight
            .pop_front()
            .ok_or_else(|| SimError::Host("replies arrived for no tick in flight".into()))?;
        if replies.len() != flight.routes.len() {
            return Err(SimError::Host(format!(
                "expected {} replies, one per host, got {}",
                flight.routes.len(),
                replies.len()
            )));
        }
        let mut per_call: Vec<Vec<Option<ShardOpResult>>> =
            flight.op_counts.iter().map(|n| vec![None; *n]).collect();
        for (h, (reply, routes)) in replies.into_iter().zip(&flight.routes).enumerate() {
            let results = match reply {
                ShardBatchReply::Results(r) => r,
                ShardBatchReply::Failed { reason } => return Err(SimError::Host(reason)),
            };
            if results.len() != routes.len() {
                return Err(SimError::Host(format!(
                    "host {h} answered {} results for {} operations",
                    results.len(),
                    routes.len()
                )));
            }
            for (result, (call, i)) in results.into_iter().zip(routes) {
                match call {
                    Some(c) => per_call[*c][*i] = Some(result),
                    None if matches!(result, ShardOpResult::Done) => {}
                    None => {
                        return Err(SimError::Host(format!(
                            "host {h} failed a shard operation: {result:?}"
                        )))
                    }
                }
            }
        }
        let results = per_call
            .into_iter()
            .map(|results| {
                results
                    .into_iter()
                    .map(|r| r.ok_or_else(|| SimError::Host("a shard result is missing".into())))
                    .collect()
            })
            .collect::<Result<_, _>>()?;
        Ok((flight, results))
    }

    /// Checks the replies to `open_requests`: every shard opened.
    pub fn check_opened(&mut self, replies: Vec<ShardBatchReply>) -> Result<(), SimError> {
        let (flight, results) = self.results_per_call(replies)?;
        for ((planned, _), results) in flight.calls.into_iter().zip(results) {
            if let Some(bad) = results.iter().find(|r| !matches!(r, ShardOpResult::Done)) {
                return Err(SimError::Host(format!("a shard did not open: {bad:?}")));
            }
            self.kinesis.finish(planned, results)?;
        }
        Ok(())
    }

    /// Takes every host's reply to this tick's batches, in host order.
    pub fn finish_tick(&mut self, replies: Vec<ShardBatchReply>) -> Result<(), SimError> {
        let (flight, results) = self.results_per_call(replies)?;
        for ((planned, kind), results) in flight.calls.into_iter().zip(results) {
            let (prints, sent) = match kind {
                CallKind::Put { prints, sent } => (prints, sent),
                CallKind::Consume {
                    consumer,
                    reader: reader_id,
                    read,
                    epoch,
                    generation,
                } => {
                    let mut outcome = self.kinesis.finish_output(planned, results);
                    if self
                        .consumers
                        .get(consumer)
                        .is_some_and(|c| c.generation() != generation)
                    {
                        // Planned before the consumer was moved back.
                        continue;
                    }
                    let sql_reader = self.sql.as_ref().map(|(_, i)| *i);
                    let first_sql_index = self.first_reader + self.readers.len();
                    if consumer >= first_sql_index && epoch != self.sql_epoch {
                        // A read of a SQL reader that has since been stopped.
                        continue;
                    }
                    if sql_reader == Some(consumer) {
                        let records = take_source_records(&mut outcome);
                        if let Some((runner, _)) = self.sql.as_mut() {
                            runner.push(records, flight.now_ms);
                        }
                    } else if let Some(reader) = consumer.checked_sub(self.first_reader) {
                        // Firehose de-aggregates KPL records from a stream
                        // before it buffers them (AWS's developer guide).
                        let records = deaggregate_source(take_source_records(&mut outcome));
                        let name = self.readers.get(reader).cloned();
                        if let (Some(name), false) = (name, records.is_empty()) {
                            self.firehose
                                .ingest_from_source(&name, records, flight.now_ms)?;
                        }
                    }
                    if let Some(c) = self.consumers.get_mut(consumer) {
                        let seqs = c.finish(reader_id, read, outcome, flight.now_ms);
                        self.fold_deliveries(consumer, &seqs);
                    }
                    continue;
                }
                CallKind::FanOut {
                    consumer,
                    reader,
                    generation,
                    call,
                } => {
                    let now = flight.now_ms;
                    let current = self
                        .consumers
                        .get(consumer)
                        .is_some_and(|c| c.generation() == generation);
                    match call {
                        FanOutCall::Subscribe(draft) => {
                            let outcome = self
                                .kinesis
                                .finish_subscribe_to_shard(planned, *draft, results);
                            if current {
                                self.consumers[consumer].subscribed(reader, outcome, now);
                            }
                        }
                        FanOutCall::Event(mut sub) => {
                            let outcome = self
                                .kinesis
                                .finish_next_event(planned, &mut sub, results, now);
                            if current {
                                let seqs = self.consumers[consumer].finish_event(
                                    reader,
                                    Some(*sub),
                                    Some(outcome),
                                    now,
                                );
                                self.fold_deliveries(consumer, &seqs);
                            }
                        }
                    }
                    continue;
                }
                CallKind::Census(indexes) => {
                    for (i, result) in indexes.into_iter().zip(results) {
                        let c = self.counters.get_mut(i as usize);
                        match (c, result) {
                            (
                                Some(c),
                                ShardOpResult::Census {
                                    records,
                                    oldest_arrival_ms,
                                },
                            ) => {
                                c.records_retained = records;
                                c.oldest_arrival_ms = oldest_arrival_ms;
                            }
                            // A shard dropped (expired) since it was planned.
                            (_, ShardOpResult::Missing) | (None, _) => {}
                            (_, other) => {
                                return Err(SimError::Host(format!(
                                    "a shard answered a census with {other:?}"
                                )))
                            }
                        }
                    }
                    continue;
                }
                CallKind::External {
                    id,
                    operation,
                    puts,
                } => {
                    let reply = match self.kinesis.finish_output(planned, results) {
                        Ok(output) => {
                            let body = output.to_bytes();
                            self.count_external(&operation, &body, &puts);
                            ApiReply::ok(id, body)
                        }
                        Err(e) => {
                            if matches!(
                                e,
                                shardlab_engine::ApiError::ProvisionedThroughputExceeded(_)
                            ) {
                                self.count_puts(&puts, |_| false);
                            }
                            ApiReply::error(id, &e)
                        }
                    };
                    // What the console does is part of the run.
                    self.digest = fnv1a64_extend(self.digest, operation.as_bytes());
                    self.digest = fnv1a64_extend(self.digest, reply.body.as_bytes());
                    self.api_replies.push(reply);
                    continue;
                }
                CallKind::OutputPut {
                    epoch,
                    output,
                    stream,
                    entries,
                } => {
                    self.finish_output_put(planned, results, (epoch, output, stream), entries)?;
                    continue;
                }
                CallKind::Control(operation) => {
                    // A control call's response is observable: fold it in.
                    let response = self.kinesis.finish(planned, results)?;
                    self.digest = fnv1a64_extend(self.digest, operation.as_bytes());
                    self.digest = fnv1a64_extend(self.digest, response.to_string().as_bytes());
                    continue;
                }
            };
            let out = self.kinesis.finish_put_records(planned, results)?;
            if out.records.len() != prints.len() {
                return Err(SimError::Host(format!(
                    "{} results for {} records",
                    out.records.len(),
                    prints.len()
                )));
            }
            let mut sent = sent.into_iter();
            for (i, (r, (fp, size))) in out.records.iter().zip(prints).enumerate() {
                let kept = sent.next();
                let fp = match fp {
                    Some(fp) => fp,
                    None => *out.prints.get(i).ok_or_else(|| {
                        SimError::Host("a made record came back without its print".into())
                    })?,
                };
                self.digest = fold64(self.digest, fp);
                match r {
                    PutRecordsResult::Accepted {
                        shard_index,
                        sequence_number,
                    } => {
                        // The fields the 56-digit sequence number is made
                        // of; formatting it per record would cost more than
                        // routing it.
                        let seq = sequence_number;
                        self.digest = fold64(self.digest, u64::from(*shard_index));
                        self.digest = fold64(self.digest, seq.shard_created_secs);
                        self.digest = fold64(self.digest, seq.sequence_index);
                        self.digest = fold64(self.digest, seq.arrival_secs);
                        if let Some(c) = self.counters.get_mut(*shard_index as usize) {
                            c.records_accepted += 1;
                            c.bytes_accepted += size;
                            c.latest_sequence_number = Some(*seq);
                        }
                    }
                    PutRecordsResult::Throttled { shard_index } => {
                        self.digest = fnv1a64_extend(self.digest, &shard_index.to_le_bytes());
                        self.digest = fnv1a64_extend(self.digest, b"throttled");
                        if let Some(c) = self.counters.get_mut(*shard_index as usize) {
                            c.records_throttled += 1;
                        }
                        match (&self.scenario.retries, &self.scenario.aggregation, kept) {
                            (Some(policy), _, Some((record, attempts))) => {
                                self.retry_queue.throttled(
                                    policy,
                                    record,
                                    attempts,
                                    flight.now_ms,
                                    &mut self.retry_rng,
                                );
                            }
                            // The KPL sends it again with its next batch
                            // (its RecordTtl and rate limit permitting) ...
                            (None, Some(_), Some(record)) => self.kpl.retry.push(record),
                            // ... or, with FailIfThrottled, fails it.
                            (None, Some(_), None) => self.retry_queue.failed += 1,
                            _ => {}
                        }
                    }
                }
            }
        }
        // Expired closed shards leave the control plane as time passes.
        self.refresh_shards();
        let now = flight.now_ms;
        self.apply_js_outcomes(now);
        self.apply_http_outcomes(now);
        self.firehose.tick(now);
        self.run_invocations(now);
        self.issue_http_requests();
        self.run_mappings(now);
        self.fold_new_objects();
        if let Some((runner, _)) = self.sql.as_mut() {
            runner.bound(now);
            self.digest = fnv1a64_extend(self.digest, &runner.rows_out().to_le_bytes());
            // The application's outputs: PutRecordBatch calls of up to 500
            // to its delivery streams. What Firehose refuses (its quota)
            // waits and is sent again at the next tick, as KDA retries a
            // call's failed records (Firehose keeps no order anyway).
            for (output, name, records) in runner.take_output() {
                let mut accepted = Vec::with_capacity(records.len());
                for batch in records.chunks(PUT_RECORDS_MAX) {
                    match self.firehose.put_typed(&name, batch.to_vec(), now) {
                        Ok(ids) => accepted.extend(ids.iter().map(Option::is_some)),
                        Err(_) => break,
                    }
                }
                runner.output_sent(output, records, &accepted);
            }
            // Kinesis outputs: one PutRecords call per output at a time,
            // sent with the next tick.
            for (output, name, records) in runner.take_stream_output() {
                let Some(stream) = self.outputs.iter().position(|o| o.name == name) else {
                    runner.stream_output_done(output, records, &[]);
                    continue;
                };
                let entries: Vec<(String, Vec<u8>)> = records
                    .into_iter()
                    .map(|data| (crate::producer::uuid_v4(&mut self.output_rng), data))
                    .collect();
                let request = entries
                    .iter()
                    .map(|(key, data)| shardlab_engine::api::PutRecordsEntry {
                        partition_key: key.clone(),
                        data: data.clone(),
                        explicit_hash_key: None,
                        made: None,
                    })
                    .collect();
                match self.kinesis.plan_put_records(&name, request, now) {
                    Ok(planned) => self.queued.push((
                        planned,
                        CallKind::OutputPut {
                            epoch: self.sql_epoch,
                            output,
                            stream,
                            entries,
                        },
                    )),
                    Err(_) => runner.stream_output_done(
                        output,
                        entries.into_iter().map(|(_, d)| d).collect(),
                        &[],
                    ),
                }
            }
            // Lambda outputs: an invocation per output at a time, about
            // once a second (built-ins answer at once; JavaScript before
            // the next tick).
            let app_arn = format!(
                "arn:aws:kinesisanalytics:{REGION}:{}:application/{}-app",
                shardlab_engine::ACCOUNT_ID,
                self.scenario.stream_name
            );
            for call in runner.take_invocations(now, &app_arn) {
                self.digest = fnv1a64_extend(self.digest, call.event.as_bytes());
                let caller = format!("{KDA_CALLER}{}", call.output);
                let outcome = invoke(
                    &self.scenario.lambda_functions,
                    (&mut self.js_outbox, &mut self.js_outstanding),
                    (&caller, call.id),
                    &call.function_arn,
                    &call.function,
                    || call.event.clone(),
                    |f| f.run_output_builtin(&call.event),
                );
                if let Some(outcome) = outcome {
                    runner.invocation_done(call.output, call.id, outcome);
                }
            }
        }
        self.history.push_back((
            now,
            self.counters
                .iter()
                .map(|s| (s.records_accepted, s.records_throttled))
                .collect(),
        ));
        // Keep the newest entry at least a second old: the baseline for
        // records_last_second.
        while self.history.get(1).is_some_and(|(t, _)| *t + 1000 <= now) {
            self.history.pop_front();
        }
        let elapsed_s = (now - SCENARIO_EPOCH_MS) / 1000;
        if elapsed_s > self.metrics.end_s() {
            self.sample_metrics(elapsed_s, now);
        }
        let (throttled, out_of_order) = self.reads_so_far();
        self.read_history.push_back((now, throttled, out_of_order));
        while self
            .read_history
            .get(1)
            .is_some_and(|(t, ..)| *t + 1000 <= now)
        {
            self.read_history.pop_front();
        }
        Ok(())
    }

    /// Samples the counters and the readers' positions for the second
    /// ending at elapsed second `end_s` (see `metrics`).
    fn sample_metrics(&mut self, end_s: u64, now: u64) {
        let views: Vec<ConsumerView> = self.consumers.iter().map(Consumer::view).collect();
        let mut ages: std::collections::BTreeMap<&str, u64> = Default::default();
        // GetRecords.IteratorAgeMilliseconds: readers that call GetRecords
        // (enhanced fan-out reports its own MillisBehindLatest).
        for c in views.iter().filter(|c| !c.fan_out) {
            for sh in &c.shards {
                let age = ages.entry(sh.shard_id.as_str()).or_default();
                *age = (*age).max(sh.lag_ms);
            }
        }
        // The shard list may already hold what the next tick, planned
        // ahead, did (a split at `now`): what was open during the second
        // is read from the shards' times, a shard closed at `now` still
        // open and its children not yet, so the metrics do not depend on
        // planning.
        let closed_at = |id: &str| {
            self.shards
                .iter()
                .find(|s| s.shard_id == id)
                .and_then(|s| s.closed_ms)
        };
        let open_at_now = |info: &shardlab_engine::api::ShardInfo| {
            let created = info
                .parent_shard_id
                .as_deref()
                .and_then(closed_at)
                .unwrap_or(0);
            created < now && info.closed_ms.is_none_or(|c| c >= now)
        };
        let open = self.shards.iter().filter(|s| open_at_now(s)).count() as u64;
        let sample = crate::metrics::Sample {
            shards: self
                .shards
                .iter()
                .filter(|info| open_at_now(info) || info.closed_ms.is_some_and(|c| c + 1000 > now))
                .map(|info| {
                    let c = self
                        .counters
                        .get(info.key.shard_index as usize)
                        .cloned()
                        .unwrap_or_default();
                    (
                        info.key.shard_index,
                        (
                            info.shard_id.clone(),
                            [c.records_accepted, c.bytes_accepted, c.records_throttled],
                            ages.get(info.shard_id.as_str()).copied().unwrap_or(0),
                        ),
                    )
                })
                .collect(),
            consumers: views
                .iter()
                .map(|c| match &c.lambda {
                    Some(l) => (
                        c.name.clone(),
                        [l.processed, l.invoked_again, c.throttled],
                        l.iterator_age_ms,
                    ),
                    None => (
                        c.name.clone(),
                        [c.delivered, c.redelivered, c.throttled],
                        c.max_lag_ms,
                    ),
                })
                .collect(),
            limits: (open * 1000, open * 1024 * 1024),
        };
        self.metrics.record(end_s, sample);
    }

    /// Folds records delivered to consumer `consumer` into the digest.
    fn fold_deliveries(&mut self, consumer: usize, seqs: &[SequenceNumber]) {
        for seq in seqs {
            self.digest = fold64(self.digest, consumer as u64);
            self.digest = fold64(self.digest, u64::from(seq.shard_index));
            self.digest = fold64(self.digest, seq.sequence_index);
        }
    }

    /// Runs the Lambda invocations Firehose has issued: built-ins at once,
    /// JavaScript queued for the host (answered before the next tick
    /// finishes). A retried invocation is issued again and runs here too.
    fn run_invocations(&mut self, now: u64) {
        // Each round answers what the last one issued; retries are bounded
        // by NumberOfRetries (at most 300), so this ends.
        for _ in 0..1_000 {
            let calls = self.firehose.take_invocations();
            if calls.is_empty() {
                return;
            }
            for (stream, call) in calls {
                let Some(outcome) = invoke(
                    &self.scenario.lambda_functions,
                    (&mut self.js_outbox, &mut self.js_outstanding),
                    (&stream, call.id),
                    &call.function_arn,
                    &call.function,
                    || String::from_utf8_lossy(&call.payload).into_owned(),
                    |f| f.run_builtin(&call.payload),
                ) else {
                    continue;
                };
                self.firehose
                    .complete_invocation(&stream, call.id, outcome, now);
            }
        }
    }

    /// Runs the Lambda event source mappings: applies what finished,
    /// invokes what is due (built-ins at once, JavaScript by the host before
    /// the next tick finishes), and sends discarded batches' descriptions to
    /// their queue.
    fn run_mappings(&mut self, now: u64) {
        let retention_ms = u64::from(self.retention_hours) * 3_600_000;
        for c in 0..self.first_reader {
            let name = self.consumers[c].spec().name.clone();
            let Some(esm) = self.consumers[c].esm_mut() else {
                continue;
            };
            esm.advance(now, retention_ms);
            let caller = format!("{ESM_CALLER}{name}");
            for call in esm.take_invocations() {
                let arn = format!(
                    "arn:aws:lambda:{REGION}:{}:function:{}",
                    shardlab_engine::ACCOUNT_ID,
                    call.function
                );
                let Some(outcome) = invoke(
                    &self.scenario.lambda_functions,
                    (&mut self.js_outbox, &mut self.js_outstanding),
                    (&caller, call.id),
                    &arn,
                    &call.function,
                    || call.event.clone(),
                    |f| f.run_stream_builtin(&call.event),
                ) else {
                    continue;
                };
                esm.complete(call.id, outcome);
            }
            let discards = esm.take_discards();
            self.digest = fnv1a64_extend(self.digest, &esm.digest().to_le_bytes());
            let Some(destination) = esm.spec().on_failure.clone() else {
                continue;
            };
            // A queue of the scenario gets a message for each; another
            // destination only lists them. A full queue refuses it.
            let sent = match self.queues.as_mut() {
                Some(queues) if queues.has(&destination) => discards
                    .iter()
                    .filter(|d| queues.send_to(&destination, &d.shard_id, now))
                    .count(),
                _ => discards.len(),
            };
            esm.sent_to_destination(sent as u64);
        }
    }

    /// Takes the requests Firehose issued this tick for the host; their
    /// bodies are observable, so they go into the digest.
    fn issue_http_requests(&mut self) {
        self.http_outbox.clear();
        for (stream, request) in self.firehose.take_http_requests() {
            self.digest = fnv1a64_extend(self.digest, stream.as_bytes());
            self.digest = fnv1a64_extend(self.digest, &request.body);
            self.http_outstanding.push((stream.clone(), request.id));
            self.http_outbox.push(HttpCall { stream, request });
        }
    }

    /// The HTTP requests for the host to send before the next tick
    /// finishes; it answers each with `provide_http_outcome`.
    pub fn take_http_requests(&mut self) -> Vec<HttpCall> {
        std::mem::take(&mut self.http_outbox)
    }

    /// What came of a request (an answer, or why there was none).
    pub fn provide_http_outcome(&mut self, stream: &str, id: u64, outcome: HttpOutcome) {
        self.http_outcomes.insert((stream.to_string(), id), outcome);
    }

    /// Applies last tick's HTTP outcomes at this tick's time, in the order
    /// the requests were issued; one the host did not answer failed to
    /// connect. Statuses go into the digest.
    fn apply_http_outcomes(&mut self, now: u64) {
        for key in std::mem::take(&mut self.http_outstanding) {
            let outcome = self
                .http_outcomes
                .remove(&key)
                .unwrap_or_else(|| HttpOutcome::connection_failed(NO_HTTP));
            self.firehose.complete_http(&key.0, key.1, &outcome, now);
            // What Firehose made of the answer is observable (not the
            // answer's own bytes, which carry the endpoint's clock).
            if let Some(ds) = self.firehose.stream(&key.0) {
                let a = &ds.path.accounting;
                for n in [
                    a.http_requests_delivered,
                    a.delivery_failed,
                    a.rejected_records,
                ] {
                    self.digest = fnv1a64_extend(self.digest, &n.to_le_bytes());
                }
                if let Some(e) = &ds.path.last_http_error {
                    self.digest = fnv1a64_extend(self.digest, e.code.as_bytes());
                    self.digest = fnv1a64_extend(self.digest, &e.at_ms.to_le_bytes());
                }
            }
        }
        self.http_outcomes.clear();
    }

    /// The JavaScript invocations for the host to run before the next tick
    /// finishes; it answers each with `provide_js_outcome`.
    pub fn take_js_invocations(&mut self) -> Vec<JsInvocation> {
        std::mem::take(&mut self.js_outbox)
    }

    /// A JavaScript invocation's outcome: the handler's response as JSON
    /// bytes, or why it failed (an exception, the time limit).
    pub fn provide_js_outcome(&mut self, caller: &str, id: u64, outcome: Result<Vec<u8>, String>) {
        self.js_outcomes.insert((caller.to_string(), id), outcome);
    }

    /// Applies last tick's JavaScript outcomes at this tick's time, in the
    /// order the invocations were issued; one the host did not answer gets
    /// `NO_JAVASCRIPT`.
    fn apply_js_outcomes(&mut self, now: u64) {
        self.js_outbox.clear();
        for key in std::mem::take(&mut self.js_outstanding) {
            let outcome = self
                .js_outcomes
                .remove(&key)
                .unwrap_or_else(|| Err(NO_JAVASCRIPT.to_string()));
            if let Some(output) = key.0.strip_prefix(KDA_CALLER) {
                if let (Some((runner, _)), Ok(i)) = (self.sql.as_mut(), output.parse()) {
                    runner.invocation_done(i, key.1, outcome);
                }
                continue;
            }
            if let Some(mapping) = key.0.strip_prefix(ESM_CALLER) {
                let esm = self
                    .consumers
                    .iter_mut()
                    .find(|c| c.spec().name == mapping)
                    .and_then(Consumer::esm_mut);
                if let Some(esm) = esm {
                    esm.complete(key.1, outcome);
                }
                continue;
            }
            self.firehose
                .complete_invocation(&key.0, key.1, outcome, now);
        }
        self.js_outcomes.clear();
    }

    /// Objects delivered since the last tick are observable: fold their
    /// keys and bodies into the digest, in each bucket's PUT order.
    fn fold_new_objects(&mut self) {
        for (name, bucket) in self.firehose.buckets() {
            let folded = self.folded_puts.entry(name.clone()).or_default();
            for (key, o) in bucket.puts_since(*folded) {
                self.digest = fnv1a64_extend(self.digest, key.as_bytes());
                self.digest = fnv1a64_extend(self.digest, &o.body);
            }
            *folded = bucket.puts();
        }
    }

    pub fn firehose(&self) -> &Firehose {
        &self.firehose
    }

    /// Runs a statement on a Redshift cluster (see
    /// [`Firehose::redshift_execute`]): a `SELECT` gives its rows.
    pub fn redshift_run(
        &mut self,
        cluster: &str,
        sql: &str,
    ) -> Result<Option<shardlab_firehose::redshift::ResultSet>, String> {
        if self.firehose.cluster(cluster).is_none() {
            return Err(format!("There is no Redshift cluster {cluster}."));
        }
        self.firehose.redshift_execute(cluster, sql)
    }

    /// The outage switch of a bucket or an OpenSearch domain.
    pub fn set_unavailable(&mut self, sink: &Sink, unavailable: bool) -> Result<(), SimError> {
        if self.firehose.set_unavailable(sink, unavailable) {
            Ok(())
        } else {
            Err(SimError::Scenario(format!("there is no {sink}")))
        }
    }

    /// The consumer applications' throttled calls and out-of-order
    /// deliveries, all time.
    fn reads_so_far(&self) -> (u64, u64) {
        self.consumers[..self.first_reader]
            .iter()
            .map(Consumer::read_counts)
            .fold((0, 0), |(t, o), (ct, co)| (t + ct, o + co))
    }

    pub fn snapshot(&self) -> Snapshot {
        // Before the first second has passed the baseline is the start, zero.
        let second_ago = self
            .history
            .iter()
            .rev()
            .find(|(t, _)| *t + 1000 <= self.now_ms)
            .map(|(_, counts)| counts.clone());
        let shards = self
            .shards
            .iter()
            .map(|info| {
                let i = info.key.shard_index as usize;
                let stats = self.counters.get(i).cloned().unwrap_or_default();
                let (accepted_before, throttled_before) = second_ago
                    .as_ref()
                    .and_then(|c| c.get(i).copied())
                    .unwrap_or((0, 0));
                ShardView {
                    shard_id: info.shard_id.clone(),
                    host: self.host_of(info.key.shard_index),
                    open: info.closed_ms.is_none(),
                    parent_shard_id: info.parent_shard_id.clone(),
                    adjacent_parent_shard_id: info.adjacent_parent_shard_id.clone(),
                    starting_hash_key: info.range.starting_hash_key.to_string(),
                    ending_hash_key: info.range.ending_hash_key.to_string(),
                    records_accepted: stats.records_accepted,
                    bytes_accepted: stats.bytes_accepted,
                    records_throttled: stats.records_throttled,
                    records_last_second: stats.records_accepted
                        - accepted_before.min(stats.records_accepted),
                    records_throttled_last_second: stats.records_throttled
                        - throttled_before.min(stats.records_throttled),
                    latest_sequence_number: stats.latest_sequence_number.map(|s| s.to_string()),
                    records_retained: stats.records_retained,
                    oldest_arrival_ms: stats.oldest_arrival_ms,
                }
            })
            .collect();
        Snapshot {
            stream_name: self.scenario.stream_name.clone(),
            stream_arn: stream_arn(REGION, &self.scenario.stream_name),
            seed: self.scenario.seed,
            now_ms: self.now_ms,
            elapsed_ms: self.now_ms - SCENARIO_EPOCH_MS,
            rate_per_sec: self.scenario.rate_per_sec,
            retention_hours: self.retention_hours,
            records_produced: self.producer.produced()
                + self
                    .more_producers
                    .iter()
                    .map(Producer::produced)
                    .sum::<u64>(),
            producers: self.producer_views(),
            kinesis_records_put: self.kinesis_records_put,
            records_retried: self.retry_queue.retried,
            records_failed: self.retry_queue.failed,
            records_awaiting_retry: self.retry_queue.waiting() + self.kpl.retry.len() as u64,
            records_held: self.kpl.held.len() as u64,
            messaging: self.queues.as_ref().map(|q| q.view(self.now_ms)),
            shards,
            consumers: self.consumers.iter().map(Consumer::view).collect(),
            consumers_last_second: {
                let (throttled, out_of_order) = self.reads_so_far();
                let (t0, o0) = self
                    .read_history
                    .iter()
                    .rev()
                    .find(|(t, ..)| *t + 1000 <= self.now_ms)
                    .map_or((0, 0), |(_, t, o)| (*t, *o));
                ReadsLastSecond {
                    throttled: throttled - t0.min(throttled),
                    out_of_order: out_of_order - o0.min(out_of_order),
                }
            },
            delivery_streams: views(&self.firehose, self.now_ms),
            sql: self.sql.as_ref().map(|(r, _)| Box::new(r.view())),
            digest: format!("{:016x}", self.digest),
            metrics: Box::new(self.metrics.view()),
            key_histogram: self.keys_last_second.clone(),
            output_streams: self.outputs.iter().map(|o| o.view(REGION)).collect(),
        }
    }
}

/// Reads every record of every shard back from the hosts, from the oldest
/// retained, in shard order: the proof that what was acknowledged is there
/// (after a host was lost, for instance). Reads are unmetered so that the
/// check does not wait on the read limits; it pages 10,000 records at a time.
pub struct ReadBack {
    hosts: u32,
    now_ms: u64,
    shards: Vec<ReadBackShard>,
    /// Per host: the shards (positions in `shards`) read in the batch in flight.
    in_flight: Vec<Vec<usize>>,
}

/// What was read back from one shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadBackShard {
    pub shard_id: String,
    #[serde(skip)]
    key: Option<ShardKey>,
    #[serde(skip)]
    next: u64,
    #[serde(skip)]
    done: bool,
    pub records: u64,
    pub last_sequence_number: Option<String>,
    /// FNV-1a over each record's sequence number, key and data, in order.
    pub digest: String,
    #[serde(skip)]
    hash: u64,
    #[serde(skip)]
    last_index: Option<u64>,
}

impl Simulation {
    /// Starts reading every shard back (see [`ReadBack`]).
    pub fn read_back(&self) -> ReadBack {
        ReadBack {
            hosts: self.hosts,
            now_ms: self.now_ms,
            shards: self
                .shards
                .iter()
                .map(|s| ReadBackShard {
                    shard_id: s.shard_id.clone(),
                    key: Some(s.key),
                    next: 0,
                    done: false,
                    records: 0,
                    last_sequence_number: None,
                    digest: String::new(),
                    hash: FNV_OFFSET,
                    last_index: None,
                })
                .collect(),
            in_flight: Vec::new(),
        }
    }

    /// Checks a finished read-back against what the hosts acknowledged:
    /// every shard holds exactly the records accepted into it, ending with
    /// the last sequence number handed out.
    pub fn verify_read_back(&self, shards: &[ReadBackShard]) -> Result<(), SimError> {
        let same_shards = self.shards.len() == shards.len()
            && self
                .shards
                .iter()
                .zip(shards)
                .all(|(a, b)| a.shard_id == b.shard_id);
        if !same_shards {
            return Err(SimError::Host(format!(
                "the read-back covers {} shards that are not the stream's {}",
                shards.len(),
                self.shards.len()
            )));
        }
        for (info, read) in self.shards.iter().zip(shards) {
            let i = info.key.shard_index as usize;
            let acked = self.counters.get(i).cloned().unwrap_or_default();
            if read.records != acked.records_accepted
                || read.last_sequence_number != acked.latest_sequence_number.map(|s| s.to_string())
            {
                return Err(SimError::Host(format!(
                    "{} holds {} records ending at {:?}, but {} were acknowledged ending at {:?}",
                    read.shard_id,
                    read.records,
                    read.last_sequence_number,
                    acked.records_accepted,
                    acked.latest_sequence_number
                )));
            }
        }
        Ok(())
    }
}

/// The host that keeps a shard: shards are dealt out round-robin, so a
/// split's children land on other hosts than their parent when there are
/// several.
pub fn placement(shard_index: u32, hosts: u32) -> u32 {
    shard_index % hosts.max(1)
}

impl ReadBack {
    /// The next round of reads, one batch per host; None when every shard
    /// has been read to its end.
    pub fn requests(&mut self) -> Option<Vec<(u32, ShardBatch)>> {
        if self.shards.iter().all(|s| s.done) {
            return None;
        }
        let hosts = self.hosts as usize;
        let mut batches = vec![ShardBatch::default(); hosts];
        self.in_flight = vec![Vec::new(); hosts];
        for (n, s) in self.shards.iter().enumerate().filter(|(_, s)| !s.done) {
            let Some(key) = s.key else { continue };
            let h = placement(key.shard_index, hosts as u32) as usize;
            batches[h].ops.push((
                key,
                ShardOp::Read {
                    from: s.next,
                    limit: 10_000,
                    now_ms: self.now_ms,
                    enforce: false,
                },
            ));
            self.in_flight[h].push(n);
        }
        Some(
            batches
                .into_iter()
                .enumerate()
                .map(|(h, b)| (h as u32, b))
                .collect(),
        )
    }

    /// Takes the replies to `requests`, in host order.
    pub fn absorb(&mut self, replies: Vec<ShardBatchReply>) -> Result<(), SimError> {
        if replies.len() != self.in_flight.len() {
            return Err(SimError::Host("a read-back reply is missing".into()));
        }
        for (reply, shards) in replies.into_iter().zip(std::mem::take(&mut self.in_flight)) {
            let results = match reply {
                ShardBatchReply::Results(r) if r.len() == shards.len() => r,
                ShardBatchReply::Results(_) => {
                    return Err(SimError::Host(
                        "a read-back reply has the wrong length".into(),
                    ))
                }
                ShardBatchReply::Failed { reason } => return Err(SimError::Host(reason)),
            };
            for (result, n) in results.into_iter().zip(shards) {
                let s = &mut self.shards[n];
                let read = match result {
                    ShardOpResult::Read(read) => read,
                    other => {
                        return Err(SimError::Host(format!(
                            "{} could not be read back: {other:?}",
                            s.shard_id
                        )))
                    }
                };
                for r in &read.records {
                    let index = r.sequence_number.sequence_index;
                    if s.last_index.is_some_and(|last| index <= last) {
                        return Err(SimError::Host(format!(
                            "{} returned sequence index {index} after {:?}: out of order",
                            s.shard_id, s.last_index
                        )));
                    }
                    s.last_index = Some(index);
                    let seq = r.sequence_number.to_string();
                    s.hash = fnv1a64_extend(s.hash, seq.as_bytes());
                    s.hash = fnv1a64_extend(s.hash, r.partition_key.as_bytes());
                    s.hash = fnv1a64_extend(s.hash, &r.data);
                    s.last_sequence_number = Some(seq);
                }
                s.records += read.records.len() as u64;
                s.done = read.records.is_empty() || read.next_index <= s.next;
                s.next = read.next_index;
                s.digest = format!("{:016x}", s.hash);
            }
        }
        Ok(())
    }

    /// What was read, per shard (call once `requests` returns None).
    pub fn shards(&self) -> &[ReadBackShard] {
        &self.shards
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{open_shards, read_back, run_tick, InProcessHost};

    /// A run whose clickstream events go to the shard hosts as recipes is
    /// the run that sends their bytes: the same snapshot and run digest,
    /// the same records read back (whose digest covers every byte) —
    /// padded or not, retried after throttling, from two producers.
    #[test]
    fn records_made_on_the_shard_hosts_are_the_bytes_they_stand_for() {
        for size in [None, Some(600)] {
            let scenario: Scenario = serde_json::from_value(serde_json::json!({
                "stream_name": "made",
                "shard_count": 2,
                "seed": 9,
                "rate_per_sec": 2_500,
                "record_size_bytes": size,
                "retries": {},
                "producers": [{"name": "second", "rate_per_sec": 500, "record_size_bytes": size}],
            }))
            .unwrap();
            let run = |made: bool| {
                let mut sim = Simulation::new(scenario.clone()).unwrap();
                sim.producer.set_made(made);
                for p in &mut sim.more_producers {
                    p.set_made(made);
                }
                let mut host = InProcessHost::new();
                open_shards(&mut sim, &mut host).unwrap();
                for _ in 0..30 {
                    run_tick(&mut sim, &mut host, 100).unwrap();
                }
                let log: u64 = (0..2)
                    .map(|h| host.journal_stats(h).unwrap().log_bytes)
                    .sum();
                let read = read_back(&sim, &mut host).unwrap();
                (sim.snapshot(), read, log)
            };
            let (made, sent) = (run(true), run(false));
            assert_eq!(made.0, sent.0, "record size {size:?}");
            assert_eq!(made.1, sent.1, "record size {size:?}");
            let snap = &made.0;
            assert!(snap.records_retried > 0, "{}", snap.records_retried);
            assert_eq!(snap.records_produced, 9_000);
            // The recipes, not the bytes, crossed to the hosts and were
            // logged: a fraction of the bytes.
            assert!(
                made.2 * 2 < sent.2,
                "{} and {} bytes logged",
                made.2,
                sent.2
            );
        }
    }
}
