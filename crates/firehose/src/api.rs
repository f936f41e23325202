//! The Firehose API: one service, one dispatch, as `Firehose_20150804.<Op>`.
//!
//! Like the Kinesis service, it takes an operation name and a JSON 1.1
//! body and answers with AWS's response or error, with time passed in as
//! virtual epoch milliseconds. `tick(now)` moves data: it seals buffers
//! whose hints are reached and delivers objects to the buckets.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shardlab_engine::api::request::{is_name, parse_json, tag_page, Body, Validation};
use shardlab_engine::{ApiError, TokenBucket};

use crate::bucket::Bucket;
use crate::config::S3Destination;
use crate::convert::SchemaSource;
use crate::delivery::{DeliveryPath, Target, Trigger};
use crate::glue::Catalog;
use crate::opensearch::Domain;
use crate::redshift::Cluster;

/// The operations this service answers.
pub const OPERATIONS: &[&str] = &[
    "CreateDeliveryStream",
    "DeleteDeliveryStream",
    "DescribeDeliveryStream",
    "ListDeliveryStreams",
    "ListTagsForDeliveryStream",
    "PutRecord",
    "PutRecordBatch",
    "StartDeliveryStreamEncryption",
    "StopDeliveryStreamEncryption",
    "TagDeliveryStream",
    "UntagDeliveryStream",
    "UpdateDestination",
];

/// A record's data: at most 1,000 KiB before base64.
pub const MAX_RECORD_BYTES: usize = 1_024_000;
/// PutRecordBatch: at most 500 records and 4 MiB.
pub const MAX_BATCH_RECORDS: usize = 500;
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
/// `DeliveryStreamType`'s values (Shardlab runs the first two).
const STREAM_TYPES: &[&str] = &[
    "DirectPut",
    "KinesisStreamAsSource",
    "MSKAsSource",
    "DatabaseAsSource",
];
const DESTINATION_ID: &str = "destinationId-000000000001";
const MAX_TAGS: usize = 50;

/// How the service is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirehoseConfig {
    pub region: String,
    pub account_id: String,
    /// Seeds object names' random parts.
    pub seed: u64,
    /// The Direct PUT quota per delivery stream. AWS's defaults in
    /// us-east-1, us-west-2 and eu-west-1: 500,000 records/s, 2,000
    /// requests/s, 5 MiB/s.
    pub records_per_second: u64,
    pub requests_per_second: u64,
    pub bytes_per_second: u64,
}

impl Default for FirehoseConfig {
    fn default() -> Self {
        FirehoseConfig {
            region: "us-east-1".into(),
            account_id: shardlab_engine::ACCOUNT_ID.into(),
            seed: 0,
            records_per_second: 500_000,
            requests_per_second: 2_000,
            bytes_per_second: 5 * 1024 * 1024,
        }
    }
}

/// Something deliveries go to, which can be made unavailable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name")]
pub enum Sink {
    Bucket(String),
    Domain(String),
    Cluster(String),
}

impl std::fmt::Display for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Bucket(name) => write!(f, "bucket {name}"),
            Sink::Domain(name) => write!(f, "OpenSearch domain {name}"),
            Sink::Cluster(name) => write!(f, "Redshift cluster {name}"),
        }
    }
}

/// Where a delivery stream's records come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    DirectPut,
    /// Read from a Kinesis data stream; PutRecord is refused.
    Kinesis {
        stream_arn: String,
        role_arn: String,
        start_ms: u64,
    },
}

#[derive(Clone, Debug)]
struct Quota {
    records: TokenBucket,
    requests: TokenBucket,
    bytes: TokenBucket,
}

/// A delivery stream.
#[derive(Clone, Debug)]
pub struct DeliveryStream {
    pub name: String,
    pub arn: String,
    pub source: Source,
    pub destination: S3Destination,
    pub version: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub tags: BTreeMap<String, String>,
    /// Start/StopDeliveryStreamEncryption's state: recorded and described,
    /// nothing more (the bucket is in memory).
    pub encryption: Option<String>,
    pub path: DeliveryPath,
    quota: Quota,
    next_record: u64,
    /// An OpenSearch or HTTP endpoint destination's configuration as
    /// given (updates apply to it).
    pub config_json: Option<Value>,
    /// DeleteDeliveryStream was called: the stream takes nothing more,
    /// delivers (and retries) what it holds, and goes when that is done.
    pub deleting: bool,
}

/// The Firehose service: delivery streams and the buckets they write to.
#[derive(Clone, Debug)]
pub struct Firehose {
    config: FirehoseConfig,
    streams: BTreeMap<String, DeliveryStream>,
    buckets: BTreeMap<String, Bucket>,
    domains: BTreeMap<String, Domain>,
    /// Redshift clusters delivery streams COPY into, by identifier.
    pub(crate) clusters: BTreeMap<String, Cluster>,
    /// Statements run through the Redshift Data API, by id (the newest).
    statements: BTreeMap<String, Statement>,
    statements_run: u64,
    /// The account's AWS Glue Data Catalog: the tables format conversion
    /// reads its schemas from.
    glue: Catalog,
    now_ms: u64,
}

/// Where format conversion reads its tables: the account's catalog.
fn schemas<'a>(glue: &'a Catalog, config: &'a FirehoseConfig) -> SchemaSource<'a> {
    SchemaSource {
        catalog: glue,
        region: &config.region,
        account: &config.account_id,
    }
}

fn epoch_seconds(ms: u64) -> Value {
    json!(ms as f64 / 1000.0)
}

impl Firehose {
    pub fn new(config: FirehoseConfig) -> Self {
        Firehose {
            glue: Catalog::new(&config.account_id),
            config,
            streams: BTreeMap::new(),
            buckets: BTreeMap::new(),
            domains: BTreeMap::new(),
            clusters: BTreeMap::new(),
            statements: BTreeMap::new(),
            statements_run: 0,
            now_ms: 0,
        }
    }

    pub fn streams(&self) -> impl Iterator<Item = &DeliveryStream> {
        self.streams.values()
    }

    pub fn stream(&self, name: &str) -> Option<&DeliveryStream> {
        self.streams.get(name)
    }

    pub fn buckets(&self) -> &BTreeMap<String, Bucket> {
        &self.buckets
    }

    pub fn bucket(&self, name: &str) -> Option<&Bucket> {
        self.buckets.get(name)
    }

    /// An AWS Glue operation (`AWSGlue.<Operation>`) on the catalog.
    pub fn glue_call(
        &mut self,
        operation: &str,
        request: &Value,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let now = self.advance(now_ms);
        self.glue.call(operation, request, now)
    }

    /// A Redshift Data API operation (`RedshiftData.<Operation>`):
    /// ExecuteStatement runs a `SELECT` or DDL (`CREATE TABLE`, `DROP
    /// TABLE`, `TRUNCATE`) on a cluster at once; DescribeStatement says how
    /// it went (FINISHED, or FAILED with Redshift's error);
    /// GetStatementResult gives a query's rows as the Data API's fields.
    pub fn redshift_data_call(
        &mut self,
        operation: &str,
        request: &Value,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let now = self.advance(now_ms);
        let body = Body::new(request)?;
        match operation {
            "ExecuteStatement" => {
                let sql = body.str("Sql")?;
                let database = body.str("Database")?;
                let cluster = body.str("ClusterIdentifier")?;
                let workgroup = body.str("WorkgroupName")?;
                let user = body.str("DbUser")?;
                let mut v = Validation::new();
                v.required(&sql, "sql");
                v.required(&database, "database");
                v.finish()?;
                let target = cluster.or(workgroup).ok_or_else(|| {
                    ApiError::validation(
                        "Either ClusterIdentifier or WorkgroupName must be specified.",
                    )
                })?;
                let (result, error) = match self.redshift_execute(target, sql.unwrap_or_default()) {
                    Ok(r) => (r, None),
                    Err(e) => (None, Some(e)),
                };
                self.statements_run += 1;
                let id = format!(
                    "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                    shardlab_engine::fnv::fnv1a64(target.as_bytes()) as u32,
                    (self.statements_run >> 32) as u16,
                    (self.statements_run >> 20) as u16 & 0xfff,
                    (self.statements_run >> 8) as u16 & 0xfff,
                    self.statements_run
                );
                if self.statements.len() >= MAX_STATEMENTS {
                    let oldest = self
                        .statements
                        .iter()
                        .min_by_key(|(_, s)| s.n)
                        .map(|(k, _)| k.clone());
                    if let Some(k) = oldest {
                        self.statements.remove(&k);
                    }
                }
                self.statements.insert(
                    id.clone(),
                    Statement {
                        n: self.statements_run,
                        sql: sql.unwrap_or_default().to_string(),
                        cluster: cluster.map(str::to_string),
                        workgroup: workgroup.map(str::to_string),
                        database: database.unwrap_or_default().to_string(),
                        at_ms: now,
                        error,
                        result,
                    },
                );
                let mut out =
                    json!({"Id": id, "Database": database, "CreatedAt": epoch_seconds(now)});
                if let Some(c) = cluster {
                    out["ClusterIdentifier"] = json!(c);
                }
                if let Some(w) = workgroup {
                    out["WorkgroupName"] = json!(w);
                }
                if let Some(u) = user {
                    out["DbUser"] = json!(u);
                }
                Ok(out)
            }
            "DescribeStatement" => {
                let (id, st) = self.statement(&body)?;
                let mut out = json!({
                    "Id": id,
                    "Status": if st.error.is_some() { "FAILED" } else { "FINISHED" },
                    "QueryString": st.sql,
                    "Database": st.database,
                    "CreatedAt": epoch_seconds(st.at_ms),
                    "UpdatedAt": epoch_seconds(st.at_ms),
                    "Duration": 0,
                    "HasResultSet": st.result.is_some(),
                    "ResultRows": st.result.as_ref().map_or(0, |r| r.rows.len()),
                    "ResultSize": st.result.as_ref().map_or(0, result_size),
                });
                if let Some(e) = &st.error {
                    out["Error"] = json!(e);
                }
                if let Some(c) = &st.cluster {
                    out["ClusterIdentifier"] = json!(c);
                }
                if let Some(w) = &st.workgroup {
                    out["WorkgroupName"] = json!(w);
                }
                Ok(out)
            }
            "GetStatementResult" => {
                let token = body.str("NextToken")?;
                let (_, st) = self.statement(&body)?;
                let result = st.result.as_ref().ok_or_else(|| {
                    ApiError::not_found(
                        "Query does not have result. Please check query status with \
                         DescribeStatement.",
                    )
                })?;
                let start = match token {
                    None => 0,
                    Some(t) => t
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n <= result.rows.len())
                        .ok_or_else(|| ApiError::validation("The NextToken is not valid."))?,
                };
                let columns: Vec<Value> = result
                    .columns
                    .iter()
                    .map(|(name, ty)| {
                        json!({
                            "name": name, "label": name, "typeName": ty,
                            "nullable": 1, "isCaseSensitive": ty == "varchar" || ty == "bpchar",
                            "isSigned": matches!(ty.as_str(), "int2" | "int4" | "int8" | "float4" | "float8" | "numeric"),
                            "isCurrency": false, "precision": 0, "scale": 0, "length": 0,
                            "schemaName": "", "tableName": "",
                        })
                    })
                    .collect();
                // Pages of rows up to about 64 KB of fields.
                let mut records = Vec::new();
                let mut size = 0;
                let mut next = start;
                while next < result.rows.len() && (records.is_empty() || size < RESULT_PAGE_BYTES) {
                    let row = &result.rows[next];
                    let fields: Vec<Value> = row.iter().map(data_api_field).collect();
                    size += row.iter().map(|c| c.text().len() + 8).sum::<usize>();
                    records.push(Value::Array(fields));
                    next += 1;
                }
                let mut out = json!({
                    "Records": records,
                    "ColumnMetadata": columns,
                    "TotalNumRows": result.rows.len(),
                });
                if next < result.rows.len() {
                    out["NextToken"] = json!(next.to_string());
                }
                Ok(out)
            }
            other => Err(ApiError::UnknownOperation(format!(
                "Shardlab's Redshift Data API has ExecuteStatement (SELECT, CREATE TABLE, DROP \
                 TABLE, TRUNCATE), DescribeStatement and GetStatementResult, not {other}."
            ))),
        }
    }

    /// The Data API statement a request's `Id` names.
    fn statement<'a>(&'a self, body: &Body<'a>) -> Result<(&'a str, &'a Statement), ApiError> {
        let id = body.str("Id")?;
        let mut v = Validation::new();
        v.required(&id, "id");
        v.finish()?;
        let id = id.unwrap_or_default();
        let st = self
            .statements
            .get(id)
            .ok_or_else(|| ApiError::not_found("Query does not exist."))?;
        Ok((id, st))
    }

    /// A Redshift cluster by identifier.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.get(name)
    }

    /// Runs a statement on a cluster, making the cluster if it is new: a
    /// `SELECT` gives its rows, DDL (`CREATE TABLE`, `DROP TABLE`,
    /// `TRUNCATE`) none.
    pub fn redshift_execute(
        &mut self,
        cluster: &str,
        sql: &str,
    ) -> Result<Option<crate::redshift::ResultSet>, String> {
        let now = self.now_ms;
        self.clusters
            .entry(cluster.to_string())
            .or_default()
            .run(sql, now)
    }

    pub fn domain(&self, name: &str) -> Option<&Domain> {
        self.domains.get(name)
    }

    /// The outage switch of a bucket or a domain: while it is on,
    /// deliveries to it fail and are retried. False when there is none by
    /// that name.
    pub fn set_unavailable(&mut self, sink: &Sink, unavailable: bool) -> bool {
        let flag = match sink {
            Sink::Bucket(name) => self.buckets.get_mut(name).map(|b| &mut b.unavailable),
            Sink::Domain(name) => self.domains.get_mut(name).map(|d| &mut d.unavailable),
            Sink::Cluster(name) => self.clusters.get_mut(name).map(|c| &mut c.unavailable),
        };
        match flag {
            Some(f) => {
                *f = unavailable;
                true
            }
            None => false,
        }
    }

    fn advance(&mut self, now_ms: u64) -> u64 {
        self.now_ms = self.now_ms.max(now_ms);
        self.now_ms
    }

    /// Moves data at `now_ms`: seals buffers whose interval has passed and
    /// tries the deliveries that are due.
    pub fn tick(&mut self, now_ms: u64) {
        let now = self.advance(now_ms);
        for s in self.streams.values_mut() {
            if s.deleting {
                // Its transform's buffer goes at once.
                s.seal(Trigger::Delete, now);
            }
            s.deliver_due(
                &mut self.buckets,
                &mut self.domains,
                &mut self.clusters,
                now,
            );
        }
        self.reap();
    }

    /// Records read from a Kinesis source, as (data, approximate arrival).
    pub fn ingest_from_source(
        &mut self,
        name: &str,
        records: impl IntoIterator<Item = (Vec<u8>, u64)>,
        now_ms: u64,
    ) -> Result<(), ApiError> {
        let now = self.advance(now_ms);
        let s = self.live(name)?;
        for (data, arrival) in records {
            s.accept(data, arrival.min(now), now);
        }
        Ok(())
    }

    /// Lambda invocations the delivery streams have issued, for the caller
    /// to run: (delivery stream, invocation).
    pub fn take_invocations(&mut self) -> Vec<(String, crate::transform::Invocation)> {
        let mut out = Vec::new();
        for s in self.streams.values_mut() {
            let name = s.name.clone();
            out.extend(
                s.path
                    .take_invocations()
                    .into_iter()
                    .map(|i| (name.clone(), i)),
            );
        }
        out
    }

    /// An invocation's outcome: the function's response bytes, or why the
    /// invocation failed (an error, a timeout). Unknown streams or
    /// invocations (the stream was deleted meanwhile) are ignored.
    pub fn complete_invocation(
        &mut self,
        name: &str,
        id: u64,
        outcome: Result<Vec<u8>, String>,
        now_ms: u64,
    ) -> bool {
        let now = self.advance(now_ms);
        match self.streams.get_mut(name) {
            Some(s) => {
                let (path, to) = s.parts();
                path.complete_invocation(to, id, outcome, now)
            }
            None => false,
        }
    }

    /// HTTP requests the delivery streams have issued, for the caller to
    /// send: (delivery stream, request).
    pub fn take_http_requests(&mut self) -> Vec<(String, crate::http::HttpRequest)> {
        let mut out = Vec::new();
        for s in self.streams.values_mut() {
            for r in s.path.take_http_requests() {
                out.push((s.name.clone(), r));
            }
        }
        out
    }

    /// An HTTP request's outcome. Unknown streams or requests (the stream
    /// was deleted meanwhile) are ignored.
    pub fn complete_http(
        &mut self,
        name: &str,
        id: u64,
        outcome: &crate::http::HttpOutcome,
        now_ms: u64,
    ) -> bool {
        let now = self.advance(now_ms);
        match self.streams.get_mut(name) {
            Some(s) => {
                let (path, to) = s.parts();
                path.complete_http(to, id, outcome, now)
            }
            None => false,
        }
    }

    /// Delivery streams that read a Kinesis stream: (name, stream ARN).
    pub fn kinesis_sources(&self) -> Vec<(String, String)> {
        self.streams
            .values()
            .filter(|s| !s.deleting)
            .filter_map(|s| match &s.source {
                Source::Kinesis { stream_arn, .. } => Some((s.name.clone(), stream_arn.clone())),
                Source::DirectPut => None,
            })
            .collect()
    }

    /// Puts records straight in, as PutRecordBatch does but without JSON:
    /// the record ids, or `None` for records the quota refused.
    pub fn put_typed(
        &mut self,
        name: &str,
        records: Vec<Vec<u8>>,
        now_ms: u64,
    ) -> Result<Vec<Option<String>>, ApiError> {
        let now = self.advance(now_ms);
        let s = self.direct_put(name)?;
        s.put(records, now)
    }

    pub fn call(
        &mut self,
        operation: &str,
        request: &Value,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let now = self.advance(now_ms);
        let body = Body::new(request)?;
        match operation {
            "CreateDeliveryStream" => self.create(&body, now),
            "DeleteDeliveryStream" => self.delete(&body, now),
            "DescribeDeliveryStream" => self.describe(&body),
            "ListDeliveryStreams" => self.list(&body),
            "PutRecord" => self.put_record(&body, now),
            "PutRecordBatch" => self.put_record_batch(&body, now),
            "UpdateDestination" => self.update_destination(&body, now),
            "TagDeliveryStream" => self.tag(&body),
            "UntagDeliveryStream" => self.untag(&body),
            "ListTagsForDeliveryStream" => self.list_tags(&body),
            "StartDeliveryStreamEncryption" => self.encryption(&body, true, now),
            "StopDeliveryStreamEncryption" => self.encryption(&body, false, now),
            other => Err(ApiError::UnknownOperation(format!(
                "Firehose has no operation {other}"
            ))),
        }
    }

    /// A request body in, a response body out (empty JSON objects as
    /// `{}`), as the endpoint serves them.
    pub fn serve_bytes(
        &mut self,
        operation: &str,
        body: &[u8],
        now_ms: u64,
    ) -> Result<Vec<u8>, ApiError> {
        let request = parse_json(body)?;
        let out = self.call(operation, &request, now_ms)?;
        Ok(out.to_string().into_bytes())
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::not_found(format!(
            "Firehose {name} under account {} not found.",
            self.config.account_id
        ))
    }

    fn stream_name<'a>(body: &Body<'a>) -> Result<&'a str, ApiError> {
        let name = body.str("DeliveryStreamName")?;
        let mut v = Validation::new();
        v.required(&name, "deliveryStreamName");
        name_rules(&mut v, name, "deliveryStreamName");
        v.finish()?;
        Ok(name.unwrap_or_default())
    }

    fn live(&mut self, name: &str) -> Result<&mut DeliveryStream, ApiError> {
        match self.streams.get(name) {
            None => return Err(self.not_found(name)),
            Some(s) if s.deleting => {
                return Err(ApiError::in_use(format!(
                    "Firehose {name} under account {} is being deleted (DELETING): it \
                     delivers what it holds, then it is gone.",
                    self.config.account_id
                )))
            }
            Some(_) => {}
        }
        Ok(self.streams.get_mut(name).expect("checked above"))
    }

    /// Removes the streams being deleted that hold nothing more.
    fn reap(&mut self) {
        self.streams
            .retain(|_, s| !(s.deleting && s.path.drained()));
    }

    fn direct_put(&mut self, name: &str) -> Result<&mut DeliveryStream, ApiError> {
        let s = self.live(name)?;
        if !matches!(s.source, Source::DirectPut) {
            return Err(ApiError::invalid_argument(
                "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
            ));
        }
        Ok(s)
    }

    fn create(&mut self, body: &Body, now: u64) -> Result<Value, ApiError> {
        let name = body.str("DeliveryStreamName")?;
        let kind = body.str("DeliveryStreamType")?;
        let mut v = Validation::new();
        v.required(&name, "deliveryStreamName");
        name_rules(&mut v, name, "deliveryStreamName");
        v.one_of(kind, "deliveryStreamType", STREAM_TYPES);
        let tags = read_tags(body, &mut v)?;
        v.finish()?;
        let name = name.unwrap_or_default().to_string();
        if self.streams.contains_key(&name) {
            return Err(ApiError::in_use(format!(
                "Firehose {name} under account {} already exists.",
                self.config.account_id
            )));
        }
        for other in [
            "ElasticsearchDestinationConfiguration",
            "AmazonOpenSearchServerlessDestinationConfiguration",
            "SplunkDestinationConfiguration",
            "SnowflakeDestinationConfiguration",
            "IcebergDestinationConfiguration",
        ] {
            if body.object(other)?.is_some() {
                return Err(ApiError::invalid_argument(format!(
                    "{other} is not supported by Shardlab yet; deliver to S3 with \
                     ExtendedS3DestinationConfiguration, to OpenSearch with \
                     AmazonopensearchserviceDestinationConfiguration, or to an HTTP endpoint \
                     with HttpEndpointDestinationConfiguration."
                )));
            }
        }
        // One destination: AWS refuses a request that names two.
        let given: Vec<&str> = [
            "ExtendedS3DestinationConfiguration",
            "S3DestinationConfiguration",
            "AmazonopensearchserviceDestinationConfiguration",
            "HttpEndpointDestinationConfiguration",
            "RedshiftDestinationConfiguration",
        ]
        .into_iter()
        .filter(|k| body.raw(k).is_some())
        .collect();
        if given.len() > 1 {
            return Err(ApiError::invalid_argument(format!(
                "Only one destination configuration can be given; this request has {}.",
                given.join(" and ")
            )));
        }
        let extended = body.object("ExtendedS3DestinationConfiguration")?;
        let plain = body.object("S3DestinationConfiguration")?;
        let opensearch = body.object("AmazonopensearchserviceDestinationConfiguration")?;
        let http = body.object("HttpEndpointDestinationConfiguration")?;
        let redshift = body.object("RedshiftDestinationConfiguration")?;
        let config_json = body
            .raw("HttpEndpointDestinationConfiguration")
            .or(body.raw("AmazonopensearchserviceDestinationConfiguration"))
            .or(body.raw("RedshiftDestinationConfiguration"))
            .cloned();
        let destination = match (&extended, &plain) {
            _ if redshift.is_some() => S3Destination::read_redshift(
                redshift.as_ref().expect("checked"),
                "redshiftDestinationConfiguration",
            )?,
            _ if http.is_some() => S3Destination::read_http(
                http.as_ref().expect("checked"),
                "httpEndpointDestinationConfiguration",
            )?,
            _ if opensearch.is_some() => S3Destination::read_opensearch(
                opensearch.as_ref().expect("checked"),
                "amazonopensearchserviceDestinationConfiguration",
            )?,
            (Some(e), _) => S3Destination::read(
                e,
                "extendedS3DestinationConfiguration",
                None,
                Some(&schemas(&self.glue, &self.config)),
            )?,
            (None, Some(p)) => S3Destination::read(p, "s3DestinationConfiguration", None, None)?,
            (None, None) => {
                return Err(ApiError::invalid_argument(
                    "A destination configuration is required: \
                     ExtendedS3DestinationConfiguration, S3DestinationConfiguration, \
                     AmazonopensearchserviceDestinationConfiguration or \
                     HttpEndpointDestinationConfiguration.",
                ))
            }
        };
        let source = match kind.unwrap_or("DirectPut") {
            "DirectPut" => {
                if body.object("KinesisStreamSourceConfiguration")?.is_some() {
                    return Err(ApiError::invalid_argument(
                        "KinesisStreamSourceConfiguration is only allowed when \
                         DeliveryStreamType is KinesisStreamAsSource.",
                    ));
                }
                Source::DirectPut
            }
            "KinesisStreamAsSource" => {
                let src = body
                    .object("KinesisStreamSourceConfiguration")?
                    .ok_or_else(|| {
                        ApiError::invalid_argument(
                            "KinesisStreamSourceConfiguration is required when DeliveryStreamType \
                         is KinesisStreamAsSource.",
                        )
                    })?;
                let arn = src.str("KinesisStreamARN")?;
                let role = src.str("RoleARN")?;
                let mut v = Validation::new();
                v.required(&arn, "kinesisStreamSourceConfiguration.kinesisStreamARN");
                v.required(&role, "kinesisStreamSourceConfiguration.roleARN");
                if let Some(a) = arn {
                    v.pattern(
                        Some(a),
                        "kinesisStreamSourceConfiguration.kinesisStreamARN",
                        a.starts_with("arn:") && a.contains(":kinesis:") && a.contains(":stream/"),
                        "arn:.*:kinesis:[a-zA-Z0-9\\-]+:\\d{12}:stream/[a-zA-Z0-9_.-]+",
                    );
                }
                v.finish()?;
                Source::Kinesis {
                    stream_arn: arn.unwrap_or_default().to_string(),
                    role_arn: role.unwrap_or_default().to_string(),
                    start_ms: now,
                }
            }
            other => {
                return Err(ApiError::invalid_argument(format!(
                    "DeliveryStreamType {other} is not supported by Shardlab: use DirectPut or \
                     KinesisStreamAsSource."
                )))
            }
        };
        let arn = format!(
            "arn:aws:firehose:{}:{}:deliverystream/{name}",
            self.config.region, self.config.account_id
        );
        // A bucket (and a domain) exists as soon as a delivery stream
        // names it.
        self.buckets.entry(destination.bucket.clone()).or_default();
        if let Some(os) = &destination.opensearch {
            self.domains.entry(os.domain.clone()).or_default();
        }
        if let Some(r) = &destination.redshift {
            self.clusters.entry(r.cluster.clone()).or_default();
        }
        let rng = {
            use rand_core::SeedableRng;
            let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(self.config.seed);
            r.set_stream(shardlab_engine::fnv::fnv1a64(
                format!("firehose/{name}").as_bytes(),
            ));
            r
        };
        let quota = Quota {
            records: TokenBucket::per_second(self.config.records_per_second, now),
            requests: TokenBucket::per_second(self.config.requests_per_second, now),
            bytes: TokenBucket::per_second(self.config.bytes_per_second, now),
        };
        self.streams.insert(
            name.clone(),
            DeliveryStream {
                name,
                arn: arn.clone(),
                source,
                destination,
                version: 1,
                created_ms: now,
                updated_ms: now,
                tags: tags.into_iter().collect(),
                encryption: None,
                path: DeliveryPath::new(rng),
                quota,
                next_record: 0,
                deleting: false,
                config_json,
            },
        );
        Ok(json!({ "DeliveryStreamARN": arn }))
    }

    fn delete(&mut self, body: &Body, now: u64) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        body.bool("AllowForceDelete")?;
        if !self.streams.contains_key(name) {
            return Err(self.not_found(name));
        }
        let s = self.streams.get_mut(name).expect("checked above");
        // What is buffered is delivered before the stream goes, so that
        // nothing acknowledged is dropped by a delete: the stream stays
        // (DELETING) while its deliveries, transforms and requests finish.
        if !s.deleting {
            s.deleting = true;
            s.seal(Trigger::Delete, now);
        }
        s.deliver_due(
            &mut self.buckets,
            &mut self.domains,
            &mut self.clusters,
            now,
        );
        self.reap();
        Ok(json!({}))
    }

    fn describe(&self, body: &Body) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        body.int("Limit")?;
        body.str("ExclusiveStartDestinationId")?;
        let s = self.streams.get(name).ok_or_else(|| self.not_found(name))?;
        let mut destination = serde_json::Map::new();
        destination.insert("DestinationId".into(), json!(DESTINATION_ID));
        for (key, value) in s.destination.describe_members() {
            destination.insert(key.into(), value);
        }
        let mut d = json!({
            "DeliveryStreamName": s.name,
            "DeliveryStreamARN": s.arn,
            "DeliveryStreamStatus": if s.deleting { "DELETING" } else { "ACTIVE" },
            "DeliveryStreamType": match s.source {
                Source::DirectPut => "DirectPut",
                Source::Kinesis { .. } => "KinesisStreamAsSource",
            },
            "VersionId": s.version.to_string(),
            "CreateTimestamp": epoch_seconds(s.created_ms),
            "LastUpdateTimestamp": epoch_seconds(s.updated_ms),
            "DeliveryStreamEncryptionConfiguration": match &s.encryption {
                Some(key_type) => json!({"KeyType": key_type, "Status": "ENABLED"}),
                None => json!({"Status": "DISABLED"}),
            },
            "Destinations": [destination],
            "HasMoreDestinations": false,
        });
        if let Source::Kinesis {
            stream_arn,
            role_arn,
            start_ms,
        } = &s.source
        {
            d["Source"] = json!({"KinesisStreamSourceDescription": {
                "KinesisStreamARN": stream_arn,
                "RoleARN": role_arn,
                "DeliveryStartTimestamp": epoch_seconds(*start_ms),
            }});
        }
        Ok(json!({ "DeliveryStreamDescription": d }))
    }

    fn list(&self, body: &Body) -> Result<Value, ApiError> {
        let limit = body.int("Limit")?;
        let kind = body.str("DeliveryStreamType")?;
        let start = body.str("ExclusiveStartDeliveryStreamName")?;
        let mut v = Validation::new();
        v.range(limit, "limit", 1, 10_000);
        v.one_of(kind, "deliveryStreamType", STREAM_TYPES);
        name_rules(&mut v, start, "exclusiveStartDeliveryStreamName");
        v.finish()?;
        let limit = limit.unwrap_or(10) as usize;
        let matching: Vec<&String> = self
            .streams
            .iter()
            .filter(|(n, _)| start.is_none_or(|st| n.as_str() > st))
            .filter(|(_, s)| match kind {
                None => true,
                Some("DirectPut") => matches!(s.source, Source::DirectPut),
                Some("KinesisStreamAsSource") => matches!(s.source, Source::Kinesis { .. }),
                Some(_) => false,
            })
            .map(|(n, _)| n)
            .collect();
        Ok(json!({
            "DeliveryStreamNames": matching.iter().take(limit).collect::<Vec<_>>(),
            "HasMoreDeliveryStreams": matching.len() > limit,
        }))
    }

    fn read_record(
        record: &Body,
        path: &str,
        v: &mut Validation,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let data = record.str("Data")?;
        v.required(&data, &format!("{path}.data"));
        let Some(d) = data else { return Ok(None) };
        let bytes = BASE64
            .decode(d)
            .map_err(|_| ApiError::Serialization(format!("{path}.Data is not valid base64")))?;
        if bytes.len() > MAX_RECORD_BYTES {
            v.fail(
                Some(&format!(
                    "java.nio.HeapByteBuffer[pos=0 lim={0} cap={0}]",
                    bytes.len()
                )),
                &format!("{path}.data"),
                &format!("have length less than or equal to {MAX_RECORD_BYTES}"),
            );
        }
        Ok(Some(bytes))
    }

    fn put_record(&mut self, body: &Body, now: u64) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        let record = body.object("Record")?;
        let mut v = Validation::new();
        v.required(&record, "record");
        let data = match &record {
            Some(r) => Self::read_record(r, "record", &mut v)?,
            None => None,
        };
        v.finish()?;
        let s = self.direct_put(name)?;
        let encrypted = s.encryption.is_some();
        match s.put(vec![data.unwrap_or_default()], now)?.pop().flatten() {
            Some(id) => Ok(json!({"RecordId": id, "Encrypted": encrypted})),
            None => Err(ApiError::ServiceUnavailable("Slow down.".into())),
        }
    }

    fn put_record_batch(&mut self, body: &Body, now: u64) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        let records = body.array("Records")?;
        let mut v = Validation::new();
        v.required(&records, "records");
        let mut datas = Vec::new();
        if let Some(list) = records {
            v.items(
                list.len(),
                "records",
                1,
                MAX_BATCH_RECORDS,
                Some("[com.amazonaws.firehose.v20150804.Record]"),
            );
            for (i, r) in list.iter().enumerate() {
                let rb = Body::new(r)?;
                datas.push(
                    Self::read_record(&rb, &format!("records.{}.member", i + 1), &mut v)?
                        .unwrap_or_default(),
                );
            }
        }
        v.finish()?;
        let total: usize = datas.iter().map(Vec::len).sum();
        if total > MAX_BATCH_BYTES {
            return Err(ApiError::invalid_argument(format!(
                "Records size exceeds 4 MB limit: the batch holds {total} bytes of data."
            )));
        }
        let s = self.direct_put(name)?;
        let encrypted = s.encryption.is_some();
        let results = s.put(datas, now)?;
        let failed = results.iter().filter(|r| r.is_none()).count();
        let responses: Vec<Value> = results
            .into_iter()
            .map(|r| match r {
                Some(id) => json!({"RecordId": id}),
                None => json!({
                    "ErrorCode": "ServiceUnavailableException",
                    "ErrorMessage": "Slow down.",
                }),
            })
            .collect();
        Ok(json!({
            "FailedPutCount": failed,
            "Encrypted": encrypted,
            "RequestResponses": responses,
        }))
    }

    fn update_destination(&mut self, body: &Body, now: u64) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        let version = body.str("CurrentDeliveryStreamVersionId")?;
        let dest_id = body.str("DestinationId")?;
        let mut v = Validation::new();
        v.required(&version, "currentDeliveryStreamVersionId");
        v.required(&dest_id, "destinationId");
        v.finish()?;
        self.live(name)?;
        let schemas = schemas(&self.glue, &self.config);
        let s = self.streams.get_mut(name).expect("checked above");
        if dest_id != Some(DESTINATION_ID) {
            return Err(ApiError::invalid_argument(format!(
                "Destination {} not found; this delivery stream has {DESTINATION_ID}.",
                dest_id.unwrap_or_default()
            )));
        }
        if version != Some(s.version.to_string().as_str()) {
            return Err(ApiError::ConcurrentModification(format!(
                "Delivery stream {name} version {} is not the current version {}; \
                 describe it again and retry.",
                version.unwrap_or_default(),
                s.version
            )));
        }
        // An OpenSearch or HTTP endpoint destination: the update's members
        // replace the configuration's (S3Update's, its S3Configuration's),
        // and the whole is read again with the same checks as at creation.
        let kind = match (&s.destination.opensearch, &s.destination.http) {
            (Some(_), _) => Some((
                "AmazonopensearchserviceDestinationUpdate",
                "amazonopensearchserviceDestinationUpdate",
            )),
            (None, Some(_)) => Some((
                "HttpEndpointDestinationUpdate",
                "httpEndpointDestinationUpdate",
            )),
            (None, None) if s.destination.redshift.is_some() => {
                Some(("RedshiftDestinationUpdate", "redshiftDestinationUpdate"))
            }
            (None, None) => None,
        };
        let other_update = [
            "AmazonopensearchserviceDestinationUpdate",
            "HttpEndpointDestinationUpdate",
            "RedshiftDestinationUpdate",
            "ExtendedS3DestinationUpdate",
            "S3DestinationUpdate",
        ]
        .into_iter()
        .find(|k| {
            let own = match kind {
                Some((own, _)) => own == *k,
                None => k.contains("S3Destination"),
            };
            body.raw(k).is_some() && !own
        });
        if let Some(other) = other_update {
            return Err(ApiError::invalid_argument(format!(
                "{other} does not fit this delivery stream's destination; Shardlab does not \
                 switch a delivery stream between destination types (AWS does not switch \
                 between OpenSearch and others): delete the delivery stream and create it again."
            )));
        }
        if let Some((member, path)) = kind {
            let update = body.raw(member).ok_or_else(|| {
                ApiError::invalid_argument(format!(
                    "UpdateDestination needs {member} for this delivery stream's destination."
                ))
            })?;
            let merged = merge_update(s.config_json.as_ref(), update);
            let read = Body::new(&merged)?;
            let destination = if member.starts_with("Amazonopensearch") {
                S3Destination::read_opensearch(&read, path)?
            } else if member.starts_with("Redshift") {
                S3Destination::read_redshift(&read, path)?
            } else {
                S3Destination::read_http(&read, path)?
            };
            s.seal(Trigger::Update, now);
            let (bucket, domain, cluster) = (
                destination.bucket.clone(),
                destination.opensearch.as_ref().map(|o| o.domain.clone()),
                destination.redshift.as_ref().map(|r| r.cluster.clone()),
            );
            s.destination = destination;
            s.config_json = Some(merged);
            s.version += 1;
            s.updated_ms = now;
            self.buckets.entry(bucket).or_default();
            if let Some(d) = domain {
                self.domains.entry(d).or_default();
            }
            if let Some(c) = cluster {
                self.clusters.entry(c).or_default();
            }
            return Ok(json!({}));
        }
        let update =
            match (
                body.object("ExtendedS3DestinationUpdate")?,
                body.object("S3DestinationUpdate")?,
            ) {
                (Some(e), _) => S3Destination::read(
                    &e,
                    "extendedS3DestinationUpdate",
                    Some(&s.destination),
                    Some(&schemas),
                )?,
                (None, Some(p)) => S3Destination::read(
                    &p,
                    "s3DestinationUpdate",
                    Some(&s.destination),
                    Some(&schemas),
                )?,
                (None, None) => return Err(ApiError::invalid_argument(
                    "UpdateDestination needs ExtendedS3DestinationUpdate or S3DestinationUpdate \
                     for an S3 destination.",
                )),
            };
        // What is buffered goes out under the configuration it came in with.
        s.seal(Trigger::Update, now);
        let new_bucket = update.bucket.clone();
        s.destination = update;
        s.version += 1;
        s.updated_ms = now;
        self.buckets.entry(new_bucket).or_default();
        Ok(json!({}))
    }

    fn tag(&mut self, body: &Body) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        let mut v = Validation::new();
        let tags = read_tags(body, &mut v)?;
        if body.array("Tags")?.is_none() {
            v.required::<()>(&None, "tags");
        }
        v.finish()?;
        let s = self.live(name)?;
        let new_keys = tags.iter().filter(|(k, _)| !s.tags.contains_key(k)).count();
        if s.tags.len() + new_keys > MAX_TAGS {
            return Err(ApiError::limit_exceeded(format!(
                "A delivery stream can have at most {MAX_TAGS} tags."
            )));
        }
        s.tags.extend(tags);
        Ok(json!({}))
    }

    fn untag(&mut self, body: &Body) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        let keys = body.array("TagKeys")?;
        let mut v = Validation::new();
        v.required(&keys, "tagKeys");
        v.finish()?;
        let s = self.live(name)?;
        for k in keys.into_iter().flatten() {
            if let Some(k) = k.as_str() {
                s.tags.remove(k);
            }
        }
        Ok(json!({}))
    }

    fn list_tags(&mut self, body: &Body) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        let start = body.str("ExclusiveStartTagKey")?;
        let limit = body.int("Limit")?;
        let mut v = Validation::new();
        v.range(limit, "limit", 1, 50);
        v.length(start, "exclusiveStartTagKey", 1, 128);
        v.finish()?;
        let s = self.live(name)?;
        Ok(tag_page(&s.tags, start, limit.unwrap_or(50) as usize))
    }

    fn encryption(&mut self, body: &Body, start: bool, now: u64) -> Result<Value, ApiError> {
        let name = Self::stream_name(body)?;
        let key_type = body
            .object("DeliveryStreamEncryptionConfigurationInput")?
            .map(|c| c.str("KeyType"))
            .transpose()?
            .flatten();
        let mut v = Validation::new();
        v.one_of(
            key_type,
            "deliveryStreamEncryptionConfigurationInput.keyType",
            &["AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK"],
        );
        v.finish()?;
        let s = self.live(name)?;
        s.encryption = start.then(|| key_type.unwrap_or("AWS_OWNED_CMK").to_string());
        s.updated_ms = now;
        Ok(json!({}))
    }
}

impl DeliveryStream {
    /// The data path, and what it delivers for (borrowed side by side).
    fn parts(&mut self) -> (&mut DeliveryPath, Target<'_>) {
        let to = Target {
            stream: &self.name,
            arn: &self.arn,
            created_ms: self.created_ms,
            dest: &self.destination,
            version: self.version,
        };
        (&mut self.path, to)
    }

    /// Seals the buffer if a hint says so and makes the deliveries due.
    fn deliver_due(
        &mut self,
        buckets: &mut BTreeMap<String, Bucket>,
        domains: &mut BTreeMap<String, Domain>,
        clusters: &mut BTreeMap<String, Cluster>,
        now: u64,
    ) {
        let domain = self
            .destination
            .opensearch
            .as_ref()
            .map(|os| domains.entry(os.domain.clone()).or_default());
        let cluster = self
            .destination
            .redshift
            .as_ref()
            .map(|r| clusters.entry(r.cluster.clone()).or_default());
        let (path, to) = self.parts();
        path.tick(to, buckets, domain, cluster, now);
    }

    fn seal(&mut self, trigger: Trigger, now: u64) {
        let (path, to) = self.parts();
        path.seal(to, trigger, now);
    }

    fn accept(&mut self, data: Vec<u8>, arrival_ms: u64, now: u64) {
        let (path, to) = self.parts();
        path.accept(to, data, arrival_ms, now);
    }

    /// Admits records against the Direct PUT quota and accepts them: a
    /// record id per record, `None` where the quota refused it.
    fn put(&mut self, records: Vec<Vec<u8>>, now: u64) -> Result<Vec<Option<String>>, ApiError> {
        self.path.close_minute(now);
        // Past the requests-per-second quota the whole call is refused.
        if !self.quota.requests.has(1, now) {
            self.path.accounting.throttled_records += records.len() as u64;
            return Err(ApiError::ServiceUnavailable("Slow down.".into()));
        }
        self.quota.requests.take(1);
        self.path.accounting.incoming_put_requests += 1;
        let mut out = Vec::with_capacity(records.len());
        for data in records {
            let bytes = data.len() as u64;
            let q = &mut self.quota;
            if q.records.has(1, now) && q.bytes.has(bytes, now) {
                q.records.take(1);
                q.bytes.take(bytes);
                self.next_record += 1;
                out.push(Some(record_id(&self.arn, self.next_record)));
                self.accept(data, now, now);
            } else {
                self.path.accounting.throttled_records += 1;
                out.push(None);
            }
        }
        Ok(out)
    }
}

/// Statements the Redshift Data API keeps for DescribeStatement.
const MAX_STATEMENTS: usize = 1000;

/// A statement run through the Redshift Data API.
#[derive(Clone, Debug)]
struct Statement {
    n: u64,
    sql: String,
    cluster: Option<String>,
    workgroup: Option<String>,
    database: String,
    at_ms: u64,
    error: Option<String>,
    /// A query's rows, for GetStatementResult.
    result: Option<crate::redshift::ResultSet>,
}

/// About how many bytes of fields a GetStatementResult page carries.
const RESULT_PAGE_BYTES: usize = 64 * 1024;

/// A result's size in bytes, as DescribeStatement's ResultSize gives it.
fn result_size(r: &crate::redshift::ResultSet) -> usize {
    r.rows
        .iter()
        .flat_map(|row| row.iter())
        .map(|c| c.text().len())
        .sum()
}

/// A cell as a Data API `Field`.
fn data_api_field(c: &crate::redshift::Cell) -> Value {
    use crate::redshift::Cell;
    match c {
        Cell::Null => json!({"isNull": true}),
        Cell::Int(i) => json!({"longValue": i}),
        Cell::Float(f) => json!({"doubleValue": f}),
        Cell::Bool(b) => json!({"booleanValue": b}),
        other => json!({"stringValue": other.text()}),
    }
}

/// A configuration with an update's members in place of its own;
/// `S3Update`'s members replace those of `S3Configuration`.
fn merge_update(base: Option<&Value>, update: &Value) -> Value {
    let mut merged = base.cloned().unwrap_or_else(|| json!({}));
    let (Value::Object(m), Value::Object(u)) = (&mut merged, update) else {
        return merged;
    };
    for (k, v) in u {
        if k == "S3Update" {
            let s3 = m.entry("S3Configuration").or_insert_with(|| json!({}));
            if let (Value::Object(s3), Value::Object(v)) = (s3, v) {
                for (k, v) in v {
                    s3.insert(k.clone(), v.clone());
                }
            }
        } else {
            m.insert(k.clone(), v.clone());
        }
    }
    merged
}

/// An opaque record id, unique per delivery stream.
fn record_id(arn: &str, n: u64) -> String {
    let h = shardlab_engine::fnv::fnv1a64(arn.as_bytes());
    format!("{h:016x}{n:032x}{:08x}", (h ^ n) as u32)
}

fn name_rules(v: &mut Validation, name: Option<&str>, path: &str) {
    if let Some(n) = name {
        v.pattern(Some(n), path, is_name(n), NAME_PATTERN);
        v.length(Some(n), path, 1, 64);
    }
}

fn read_tags(body: &Body, v: &mut Validation) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    let Some(list) = body.array("Tags")? else {
        return Ok(out);
    };
    v.items(list.len(), "tags", 1, MAX_TAGS, None);
    for (i, t) in list.iter().enumerate() {
        let tb = Body::new(t)?;
        let key = tb.str("Key")?;
        let value = tb.str("Value")?;
        let path = format!("tags.{}.member.key", i + 1);
        v.required(&key, &path);
        v.length(key, &path, 1, 128);
        v.length(value, &format!("tags.{}.member.value", i + 1), 0, 256);
        if let Some(k) = key {
            out.push((k.to_string(), value.unwrap_or("").to_string()));
        }
    }
    Ok(out)
}
