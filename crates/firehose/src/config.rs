//! A delivery stream's S3 destination as the API describes it: reading
//! `ExtendedS3DestinationConfiguration` / `S3DestinationConfiguration`
//! (and their `...Update` forms), checking AWS's ranges, and writing the
//! `...Description` back.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};
use shardlab_engine::api::request::{Body, Validation};
use shardlab_engine::ApiError;

use crate::bucket::bucket_name;
use crate::compression::{Compression, FORMATS};
use crate::convert::{Conversion, ConversionConfig, SchemaSource};
use crate::http::{is_allowed_url, HttpTarget};
use crate::jq::Query;
use crate::opensearch::{domain_name, OpenSearchTarget, Rotation, ROTATIONS};
use crate::prefix::{KeyRules, MAX_PREFIX_CHARS};

/// A Redshift destination (`RedshiftDestinationConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedshiftTarget {
    /// The destination's role, which COPY's CREDENTIALS name.
    pub role_arn: String,
    pub jdbc_url: String,
    /// The cluster identifier (the JDBC host's first label) and database.
    pub cluster: String,
    pub database: String,
    pub table: String,
    pub columns: Option<String>,
    pub options: String,
    pub username: String,
    pub retry_seconds: u32,
}

const JDBC_PATTERN: &str = "jdbc:(redshift|postgresql)://((?!-)[A-Za-z0-9-]{1,63}(?<!-)\\.)+redshift(-serverless)?\\.([a-zA-Z0-9\\.]+):\\d{1,5}/[a-zA-Z0-9_$]+";

/// The cluster identifier and database of a Redshift JDBC URL, as AWS's
/// pattern reads it (`jdbc:redshift://lab.abc123.us-east-1.redshift.amazonaws.com:5439/dev`).
pub fn jdbc_cluster(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("jdbc:redshift://")
        .or_else(|| url.strip_prefix("jdbc:postgresql://"))?;
    let (host_port, database) = rest.split_once('/')?;
    let (host, port) = host_port.rsplit_once(':')?;
    let labels: Vec<&str> = host.split('.').collect();
    let r = labels
        .iter()
        .position(|l| *l == "redshift" || *l == "redshift-serverless")?;
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let ok = r >= 1
        && labels[..r].iter().all(label_ok)
        && r + 1 < labels.len()
        && labels[r + 1..]
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric()))
        && (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && !database.is_empty()
        && database
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
    ok.then_some((labels[0], database))
}

/// S3's buffering hints: 1–128 MiB (5) and 0–900 s (300).
pub const DEFAULT_SIZE_MB: u32 = 5;
pub const DEFAULT_INTERVAL_S: u32 = 300;
pub const MAX_SIZE_MB: i64 = 128;
pub const MAX_INTERVAL_S: i64 = 900;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferingHints {
    pub size_mb: u32,
    pub interval_s: u32,
}

impl Default for BufferingHints {
    fn default() -> Self {
        BufferingHints {
            size_mb: DEFAULT_SIZE_MB,
            interval_s: DEFAULT_INTERVAL_S,
        }
    }
}

impl BufferingHints {
    pub fn size_bytes(&self) -> u64 {
        u64::from(self.size_mb) * 1024 * 1024
    }
    pub fn interval_ms(&self) -> u64 {
        u64::from(self.interval_s) * 1000
    }
}

/// `BufferingHints` as a request gives them, checked against a
/// destination's ranges (size 1–`max_mb` MiB, interval 0–900 s).
struct HintsInput {
    given: bool,
    size: Option<i64>,
    interval: Option<i64>,
}

impl HintsInput {
    fn read(body: &Body, path: &str, max_mb: i64, v: &mut Validation) -> Result<Self, ApiError> {
        let hints = body.object("BufferingHints")?;
        let (size, interval) = match &hints {
            Some(h) => (h.int("SizeInMBs")?, h.int("IntervalInSeconds")?),
            None => (None, None),
        };
        v.range(size, &format!("{path}.bufferingHints.sizeInMBs"), 1, max_mb);
        v.range(
            interval,
            &format!("{path}.bufferingHints.intervalInSeconds"),
            0,
            MAX_INTERVAL_S,
        );
        Ok(HintsInput {
            given: hints.is_some(),
            size,
            interval,
        })
    }

    /// The hints, or `otherwise` when none are given; one without the
    /// other is refused, as AWS refuses it.
    fn resolve(self, otherwise: BufferingHints) -> Result<BufferingHints, ApiError> {
        match (self.size, self.interval) {
            (Some(s), Some(i)) => Ok(BufferingHints {
                size_mb: s as u32,
                interval_s: i as u32,
            }),
            (None, None) => Ok(otherwise),
            _ if self.given => Err(ApiError::invalid_argument(
                "BufferingHints: SizeInMBs and IntervalInSeconds are optional, but if you \
                 specify one of them you must also specify the other.",
            )),
            _ => Ok(otherwise),
        }
    }
}

/// A processor of the ProcessingConfiguration that Shardlab runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Processor {
    /// Splits a record holding several JSON objects, or records joined by
    /// a delimiter, into one record each.
    RecordDeAggregation { sub_record: SubRecord },
    /// Ends every record with a newline, so objects hold one per line.
    AppendDelimiterToRecord,
    /// The Lambda record-transformation contract.
    Lambda(LambdaConfig),
    /// Dynamic partitioning's keys, by a jq query on each record.
    MetadataExtraction(Query),
}

/// Dynamic partitioning, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicPartitioning {
    /// RetryOptions.DurationInSeconds (0–7,200, default 300), as given.
    pub retry_seconds: u32,
    /// Active partitions allowed (AWS's default quota: 500).
    pub active_partition_limit: usize,
}

/// AWS's default quota of active partitions per delivery stream.
pub const ACTIVE_PARTITION_LIMIT: usize = 500;

/// A Lambda processor's parameters, with AWS's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LambdaConfig {
    pub arn: String,
    /// The function's name (the ARN's `function:` part, qualifier dropped).
    pub function: String,
    /// NumberOfRetries: 0–300, default 3.
    pub retries: u32,
    /// BufferSizeInMBs: 0.2–3 MB, default 1 (the transform's own buffer).
    pub buffer_bytes: u64,
    /// BufferIntervalInSeconds: 60–900, default 60.
    pub buffer_interval_ms: u64,
}

/// The function name in `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
pub fn lambda_function_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:aws:lambda:")?;
    let (_, after) = rest.split_once(":function:")?;
    let name = after.split(':').next()?;
    (!name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)))
    .then_some(name)
}

fn read_lambda(param: &dyn Fn(&str) -> Option<String>) -> Result<LambdaConfig, ApiError> {
    let bad = |m: String| ApiError::invalid_argument(m);
    let arn = param("LambdaArn").ok_or_else(|| {
        bad("The Lambda processor needs a LambdaArn parameter, e.g. \
             arn:aws:lambda:us-east-1:123456789012:function:my-transform."
            .into())
    })?;
    let function = lambda_function_name(&arn)
        .ok_or_else(|| bad(format!("LambdaArn '{arn}' is not a Lambda function ARN.")))?
        .to_string();
    let retries = match param("NumberOfRetries") {
        None => 3,
        Some(v) => v.parse::<u32>().ok().filter(|n| *n <= 300).ok_or_else(|| {
            bad(format!(
                "NumberOfRetries '{v}' must be a whole number from 0 to 300."
            ))
        })?,
    };
    let buffer_bytes = match param("BufferSizeInMBs") {
        None => 1_000_000,
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|mb| (0.2..=3.0).contains(mb))
            .map(|mb| (mb * 1_000_000.0) as u64)
            .ok_or_else(|| bad(format!("BufferSizeInMBs '{v}' must be from 0.2 to 3.")))?,
    };
    let buffer_interval_ms = match param("BufferIntervalInSeconds") {
        None => 60_000,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|s| (60..=900).contains(s))
            .map(|s| s * 1000)
            .ok_or_else(|| {
                bad(format!(
                    "BufferIntervalInSeconds '{v}' must be from 60 to 900."
                ))
            })?,
    };
    Ok(LambdaConfig {
        arn,
        function,
        retries,
        buffer_bytes,
        buffer_interval_ms,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubRecord {
    Json,
    Delimited(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Destination {
    pub role_arn: String,
    pub bucket_arn: String,
    pub bucket: String,
    pub keys: KeyRules,
    pub error_output_prefix: Option<String>,
    pub hints: BufferingHints,
    pub compression: Compression,
    pub processing_enabled: bool,
    /// As given, for DescribeDeliveryStream to echo.
    pub processing_json: Option<Value>,
    pub processors: Vec<Processor>,
    pub file_extension: Option<String>,
    pub dynamic_partitioning: Option<DynamicPartitioning>,
    /// Set when the destination is an OpenSearch domain; the bucket and
    /// prefixes above are then its backup (`S3Configuration`).
    pub opensearch: Option<OpenSearchTarget>,
    /// Set when the destination is a Redshift cluster; the bucket and
    /// prefix above are then the intermediate S3 location COPY reads.
    pub redshift: Option<RedshiftTarget>,
    /// Set when the destination is an HTTP endpoint; the bucket and
    /// prefixes above are then its backup (`S3Configuration`).
    pub http: Option<HttpTarget>,
    /// `DataFormatConversionConfiguration` (extended S3 only): kept when
    /// disabled, active when enabled.
    pub conversion: Option<ConversionConfig>,
}

const PROCESSOR_TYPES: &[&str] = &[
    "RecordDeAggregation",
    "Decompression",
    "CloudWatchLogProcessing",
    "Lambda",
    "MetadataExtraction",
    "AppendDelimiterToRecord",
];

fn is_file_extension(s: &str) -> bool {
    s.is_empty()
        || (s.starts_with('.')
            && s.len() > 1
            && s[1..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"!-_.*'()".contains(&b)))
}

impl S3Destination {
    /// Reads a destination configuration (`update` = None) or applies an
    /// update to `update`'s copy. `path` is the member's lowerCamelCase
    /// name, for ValidationException.
    pub fn read(
        body: &Body,
        path: &str,
        update: Option<&S3Destination>,
        schemas: Option<&SchemaSource>,
    ) -> Result<S3Destination, ApiError> {
        let mut v = Validation::new();
        let p = |m: &str| format!("{path}.{m}");
        let role = body.str("RoleARN")?;
        let bucket_arn = body.str("BucketARN")?;
        let prefix = body.str("Prefix")?;
        let error_prefix = body.str("ErrorOutputPrefix")?;
        let compression = body.str("CompressionFormat")?;
        let extension = body.str("FileExtension")?;
        if update.is_none() {
            v.required(&role, &p("roleARN"));
            v.required(&bucket_arn, &p("bucketARN"));
        }
        v.length(role, &p("roleARN"), 1, 512);
        v.length(bucket_arn, &p("bucketARN"), 1, 2048);
        if let Some(b) = bucket_arn {
            v.pattern(
                Some(b),
                &p("bucketARN"),
                bucket_name(b).is_some(),
                "arn:.*:s3:::[\\w\\.\\-]{1,255}",
            );
        }
        v.length(prefix, &p("prefix"), 0, MAX_PREFIX_CHARS);
        v.length(error_prefix, &p("errorOutputPrefix"), 0, MAX_PREFIX_CHARS);
        v.one_of(compression, &p("compressionFormat"), FORMATS);
        v.length(extension, &p("fileExtension"), 0, 128);
        if let Some(e) = extension {
            v.pattern(
                Some(e),
                &p("fileExtension"),
                is_file_extension(e),
                "^$|\\.[0-9a-z!\\-_.*'()]+",
            );
        }
        let hints = HintsInput::read(body, path, MAX_SIZE_MB, &mut v)?;
        v.finish()?;
        // Format conversion: as given, or as it was before an update (the
        // merged configuration is checked again).
        let extended_only = || {
            ApiError::invalid_argument(
                "DataFormatConversionConfiguration is only available on the extended S3 \
                 destination (ExtendedS3DestinationConfiguration or ExtendedS3DestinationUpdate).",
            )
        };
        // The legacy S3 shapes have no such member.
        if path.starts_with("s3Destination")
            && body.raw("DataFormatConversionConfiguration").is_some()
        {
            return Err(extended_only());
        }
        // An update keeps the configuration's members it does not name
        // (Enabled, the SerDes, SchemaConfiguration: each replaced whole).
        let before = update.and_then(|u| u.conversion.as_ref().map(|c| c.echo.clone()));
        let conversion_raw = match (before, body.raw("DataFormatConversionConfiguration")) {
            (Some(Value::Object(mut old)), Some(Value::Object(given))) => {
                old.extend(given.clone());
                Some(Value::Object(old))
            }
            (before, given) => given.cloned().or(before),
        };
        let converting = conversion_raw
            .as_ref()
            .is_some_and(|c| c.get("Enabled") != Some(&Value::Bool(false)));
        let default_hints = match update {
            Some(b) => b.hints,
            None if converting => BufferingHints {
                size_mb: crate::convert::DEFAULT_SIZE_MB,
                interval_s: DEFAULT_INTERVAL_S,
            },
            None => BufferingHints::default(),
        };
        let hints = hints.resolve(default_hints)?;
        let dynamic_partitioning = match body.object("DynamicPartitioningConfiguration")? {
            Some(dp) => {
                let enabled = dp.bool("Enabled")?.unwrap_or(false);
                let retry = match dp.object("RetryOptions")? {
                    Some(r) => r.int("DurationInSeconds")?,
                    None => None,
                };
                let mut v = Validation::new();
                v.range(
                    retry,
                    &p("dynamicPartitioningConfiguration.retryOptions.durationInSeconds"),
                    0,
                    7200,
                );
                v.finish()?;
                enabled.then(|| DynamicPartitioning {
                    retry_seconds: retry.unwrap_or(300) as u32,
                    active_partition_limit: ACTIVE_PARTITION_LIMIT,
                })
            }
            None => update.and_then(|u| u.dynamic_partitioning.clone()),
        };
        if let Some(u) = update {
            if u.dynamic_partitioning.is_some() != dynamic_partitioning.is_some() {
                return Err(ApiError::invalid_argument(
                    "Dynamic partitioning can be enabled only when the delivery stream is \
                     created, and never disabled.",
                ));
            }
        }
        if let Some(mode) = body.str("S3BackupMode")? {
            if mode != "Disabled" {
                return Err(unsupported("S3BackupMode Enabled"));
            }
        }
        if let Some(tz) = body.str("CustomTimeZone")? {
            if tz != "UTC" {
                return Err(ApiError::invalid_argument(format!(
                    "CustomTimeZone '{tz}' is not supported by Shardlab: object keys use UTC."
                )));
            }
        }
        let processing = body.object("ProcessingConfiguration")?;
        let (processing_enabled, processors, processing_json) = match processing {
            Some(pc) => {
                let enabled = pc.bool("Enabled")?.unwrap_or(false);
                let processors = read_processors(&pc, &p("processingConfiguration"))?;
                let echoed = json!({
                    "Enabled": enabled,
                    "Processors": pc.array("Processors")?.cloned().unwrap_or_default(),
                });
                (enabled, processors, Some(echoed))
            }
            None => match update {
                Some(u) => (
                    u.processing_enabled,
                    u.processors.clone(),
                    u.processing_json.clone(),
                ),
                None => (false, Vec::new(), None),
            },
        };

        let base = update;
        let pick = |given: Option<&str>, old: Option<&str>| given.or(old).map(str::to_string);
        let bucket_arn = pick(bucket_arn, base.map(|b| b.bucket_arn.as_str())).unwrap_or_default();
        let prefix = pick(prefix, base.map(|b| b.keys.raw_prefix()));
        let error_prefix = match error_prefix {
            Some(e) => Some(e.to_string()),
            None => base.and_then(|b| b.error_output_prefix.clone()),
        }
        .filter(|e| !e.is_empty());
        let keys = KeyRules::new(
            prefix.as_deref(),
            error_prefix.as_deref(),
            dynamic_partitioning.is_some(),
        )?;
        if dynamic_partitioning.is_some() {
            let given: Vec<&str> = processors
                .iter()
                .filter_map(|p| match p {
                    Processor::MetadataExtraction(q) => Some(q),
                    _ => None,
                })
                .flat_map(|q| q.keys())
                .collect();
            if let Some(missing) = keys.query_keys_used().find(|k| !given.contains(k)) {
                return Err(ApiError::invalid_argument(format!(
                    "The Prefix uses !{{partitionKeyFromQuery:{missing}}}, but no \
                     MetadataExtraction processor's query extracts the key {missing}."
                )));
            }
            if keys.lambda_keys_used().next().is_some()
                && !processors.iter().any(|p| matches!(p, Processor::Lambda(_)))
            {
                return Err(ApiError::invalid_argument(
                    "The Prefix uses partitionKeyFromLambda, which needs a Lambda processor \
                     that returns metadata.partitionKeys.",
                ));
            }
        } else if processors
            .iter()
            .any(|p| matches!(p, Processor::MetadataExtraction(_)))
        {
            return Err(ApiError::invalid_argument(
                "The MetadataExtraction processor is for dynamic partitioning, which is not \
                 enabled.",
            ));
        }
        if dynamic_partitioning.is_some() && hints.interval_s == 0 {
            return Err(ApiError::invalid_argument(
                "Zero buffering (IntervalInSeconds 0) is not available with dynamic \
                 partitioning.",
            ));
        }
        let compression = compression
            .and_then(Compression::parse)
            .or(base.map(|b| b.compression))
            .unwrap_or(Compression::Uncompressed);
        let conversion = match (conversion_raw, schemas) {
            (None, _) => None,
            (Some(_), None) => return Err(extended_only()),
            (Some(raw), Some(schemas)) => Some(ConversionConfig::read(
                &raw,
                &p("dataFormatConversionConfiguration"),
                compression.as_str(),
                hints.size_mb,
                schemas,
            )?),
        };
        Ok(S3Destination {
            role_arn: pick(role, base.map(|b| b.role_arn.as_str())).unwrap_or_default(),
            bucket: bucket_name(&bucket_arn).unwrap_or_default().to_string(),
            bucket_arn,
            keys,
            error_output_prefix: error_prefix,
            hints,
            compression,
            processing_enabled,
            processing_json,
            processors,
            file_extension: pick(extension, base.and_then(|b| b.file_extension.as_deref())),
            dynamic_partitioning,
            opensearch: None,
            http: None,
            redshift: None,
            conversion,
        })
    }

    /// Reads an `AmazonopensearchserviceDestinationConfiguration`: the
    /// domain and index, its buffering hints (1–100 MiB, 0–900 s), retry
    /// duration and processors; `S3Configuration` is the backup bucket.
    pub fn read_opensearch(body: &Body, path: &str) -> Result<S3Destination, ApiError> {
        let mut v = Validation::new();
        let p = |m: &str| format!("{path}.{m}");
        let role = body.str("RoleARN")?;
        let domain_arn = body.str("DomainARN")?;
        let index = body.str("IndexName")?;
        let rotation = body.str("IndexRotationPeriod")?;
        let backup_mode = body.str("S3BackupMode")?;
        let s3 = body.object("S3Configuration")?;
        v.required(&role, &p("roleARN"));
        v.required(&index, &p("indexName"));
        v.required(&s3, &p("s3Configuration"));
        v.length(index, &p("indexName"), 1, 80);
        v.one_of(rotation, &p("indexRotationPeriod"), ROTATIONS);
        v.one_of(
            backup_mode,
            &p("s3BackupMode"),
            &["FailedDocumentsOnly", "AllDocuments"],
        );
        let hints = HintsInput::read(body, path, 100, &mut v)?;
        let retry = read_retry(body, path, &mut v)?;
        let id_format = match body.object("DocumentIdOptions")? {
            Some(d) => d.str("DefaultDocumentIdFormat")?,
            None => None,
        };
        v.one_of(
            id_format,
            &p("documentIdOptions.defaultDocumentIdFormat"),
            &["FIREHOSE_DEFAULT", "NO_DOCUMENT_ID"],
        );
        v.finish()?;
        if body.str("ClusterEndpoint")?.is_some() {
            return Err(unsupported(
                "ClusterEndpoint (name the domain with DomainARN)",
            ));
        }
        let domain_arn = domain_arn.ok_or_else(|| {
            ApiError::invalid_argument("Either DomainARN or ClusterEndpoint must be specified.")
        })?;
        let domain = domain_name(domain_arn).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "DomainARN '{domain_arn}' is not an OpenSearch domain ARN \
                 (arn:aws:es:<region>:<account>:domain/<name>, 3–28 of a–z 0–9 -)."
            ))
        })?;
        let hints = hints.resolve(BufferingHints::default())?;
        let mut dest = Self::read_backup(body, s3.expect("required above"), path, Some(hints))?;
        dest.opensearch = Some(OpenSearchTarget {
            domain_arn: domain_arn.to_string(),
            domain: domain.to_string(),
            index_name: index.unwrap_or_default().to_string(),
            rotation: rotation
                .and_then(Rotation::parse)
                .unwrap_or(Rotation::OneDay),
            firehose_ids: id_format != Some("NO_DOCUMENT_ID"),
            backup_all: backup_mode == Some("AllDocuments"),
            retry_seconds: retry.unwrap_or(300) as u32,
        });
        Ok(dest)
    }

    /// A destination's backup bucket (`S3Configuration`) with the
    /// destination's own hints and `ProcessingConfiguration`.
    fn read_backup(
        body: &Body,
        s3: Body,
        path: &str,
        hints: Option<BufferingHints>,
    ) -> Result<S3Destination, ApiError> {
        let p = |m: &str| format!("{path}.{m}");
        let mut dest = S3Destination::read(&s3, &p("s3Configuration"), None, None)?;
        if !dest.processors.is_empty() || dest.processing_enabled {
            return Err(ApiError::invalid_argument(
                "ProcessingConfiguration belongs to the destination, not to its \
                 S3Configuration.",
            ));
        }
        if let Some(hints) = hints {
            dest.hints = hints;
        }
        if let Some(pc) = body.object("ProcessingConfiguration")? {
            dest.processing_enabled = pc.bool("Enabled")?.unwrap_or(false);
            dest.processors = read_processors(&pc, &p("processingConfiguration"))?;
            if dest
                .processors
                .iter()
                .any(|x| matches!(x, Processor::MetadataExtraction(_)))
            {
                return Err(ApiError::invalid_argument(
                    "Dynamic partitioning (MetadataExtraction) is for S3 destinations only.",
                ));
            }
            dest.processing_json = Some(json!({
                "Enabled": dest.processing_enabled,
                "Processors": pc.array("Processors")?.cloned().unwrap_or_default(),
            }));
        }
        Ok(dest)
    }

    /// Reads a `RedshiftDestinationConfiguration`: the cluster's JDBC URL,
    /// the COPY command's table, columns and options, the user, the retry
    /// duration; `S3Configuration` is the intermediate bucket (with its
    /// buffering hints and compression).
    pub fn read_redshift(body: &Body, path: &str) -> Result<S3Destination, ApiError> {
        let mut v = Validation::new();
        let p = |m: &str| format!("{path}.{m}");
        let role = body.str("RoleARN")?;
        let url = body.str("ClusterJDBCURL")?;
        let copy = body.object("CopyCommand")?;
        let (table, columns, options) = match &copy {
            Some(c) => (
                c.str("DataTableName")?,
                c.str("DataTableColumns")?,
                c.str("CopyOptions")?,
            ),
            None => (None, None, None),
        };
        let user = body.str("Username")?;
        let password = body.str("Password")?;
        let backup_mode = body.str("S3BackupMode")?;
        let s3 = body.object("S3Configuration")?;
        v.required(&role, &p("roleARN"));
        v.length(role, &p("roleARN"), 1, 512);
        v.required(&url, &p("clusterJDBCURL"));
        v.length(url, &p("clusterJDBCURL"), 1, 512);
        v.pattern(
            url,
            &p("clusterJDBCURL"),
            url.is_some_and(|u| jdbc_cluster(u).is_some()),
            JDBC_PATTERN,
        );
        v.required(&copy, &p("copyCommand"));
        if copy.is_some() {
            v.required(&table, &p("copyCommand.dataTableName"));
        }
        v.length(table, &p("copyCommand.dataTableName"), 1, 512);
        v.length(columns, &p("copyCommand.dataTableColumns"), 0, 204_800);
        v.length(options, &p("copyCommand.copyOptions"), 0, 204_800);
        v.length(user, &p("username"), 1, 512);
        v.length(password, &p("password"), 6, 512);
        v.required(&s3, &p("s3Configuration"));
        v.one_of(backup_mode, &p("s3BackupMode"), &["Disabled", "Enabled"]);
        let retry = read_retry(body, path, &mut v)?;
        v.finish()?;
        if body.object("SecretsManagerConfiguration")?.is_some() {
            return Err(unsupported(
                "SecretsManagerConfiguration (give Username and Password)",
            ));
        }
        if user.is_none() || password.is_none() {
            return Err(ApiError::invalid_argument(
                "Username and Password are required for a Redshift destination (or \
                 SecretsManagerConfiguration, which Shardlab does not support).",
            ));
        }
        if backup_mode == Some("Enabled") {
            return Err(unsupported("S3BackupMode Enabled (source record backup)"));
        }
        let s3 = s3.expect("required above");
        if s3.str("Prefix")?.is_some_and(|p| p.contains("!{")) {
            return Err(ApiError::invalid_argument(
                "A Redshift destination's S3Configuration Prefix cannot contain expressions \
                 (!{...}).",
            ));
        }
        if s3.str("ErrorOutputPrefix")?.is_some() {
            return Err(ApiError::invalid_argument(
                "A Redshift destination's S3Configuration cannot have an ErrorOutputPrefix.",
            ));
        }
        let dest = Self::read_backup(body, s3, path, None)?;
        if matches!(
            dest.compression,
            Compression::Snappy | Compression::Zip | Compression::HadoopSnappy
        ) {
            return Err(ApiError::invalid_argument(format!(
                "CompressionFormat {} is not supported for a Redshift destination: COPY cannot \
                 read it. Use UNCOMPRESSED or GZIP (with GZIP in CopyOptions).",
                dest.compression.as_str()
            )));
        }
        let (cluster, database) = jdbc_cluster(url.unwrap_or_default()).expect("checked");
        let mut dest = dest;
        dest.redshift = Some(RedshiftTarget {
            role_arn: role.unwrap_or_default().to_string(),
            jdbc_url: url.unwrap_or_default().to_string(),
            cluster: cluster.to_string(),
            database: database.to_string(),
            table: table.unwrap_or_default().to_string(),
            columns: columns.map(str::to_string),
            options: options.unwrap_or_default().to_string(),
            username: user.unwrap_or_default().to_string(),
            retry_seconds: retry.unwrap_or(3600) as u32,
        });
        Ok(dest)
    }

    /// Reads an `HttpEndpointDestinationConfiguration`: the endpoint, its
    /// request settings, buffering hints (1–64 MiB, 0–900 s), retry
    /// duration and processors; `S3Configuration` is the backup bucket.
    pub fn read_http(body: &Body, path: &str) -> Result<S3Destination, ApiError> {
        let mut v = Validation::new();
        let p = |m: &str| format!("{path}.{m}");
        let endpoint = body.object("EndpointConfiguration")?;
        let (url, name, key) = match &endpoint {
            Some(e) => (e.str("Url")?, e.str("Name")?, e.str("AccessKey")?),
            None => (None, None, None),
        };
        let role = body.str("RoleARN")?;
        let backup_mode = body.str("S3BackupMode")?;
        let s3 = body.object("S3Configuration")?;
        v.required(&endpoint, &p("endpointConfiguration"));
        if endpoint.is_some() {
            v.required(&url, &p("endpointConfiguration.url"));
        }
        v.length(url, &p("endpointConfiguration.url"), 1, 1000);
        v.pattern(
            url,
            &p("endpointConfiguration.url"),
            url.is_some_and(is_allowed_url),
            "https://.*",
        );
        v.length(name, &p("endpointConfiguration.name"), 1, 256);
        v.length(key, &p("endpointConfiguration.accessKey"), 0, 4096);
        v.required(&s3, &p("s3Configuration"));
        v.length(role, &p("roleARN"), 1, 512);
        v.one_of(
            backup_mode,
            &p("s3BackupMode"),
            &["FailedDataOnly", "AllData"],
        );
        let hints = HintsInput::read(body, path, 64, &mut v)?;
        let retry = read_retry(body, path, &mut v)?;
        let request = body.object("RequestConfiguration")?;
        let (encoding, attributes) = match &request {
            Some(r) => (r.str("ContentEncoding")?, r.array("CommonAttributes")?),
            None => (None, None),
        };
        v.one_of(
            encoding,
            &p("requestConfiguration.contentEncoding"),
            &["NONE", "GZIP"],
        );
        let mut common = Vec::new();
        if let Some(list) = attributes {
            v.items(
                list.len(),
                &p("requestConfiguration.commonAttributes"),
                0,
                50,
                None,
            );
            for (i, a) in list.iter().enumerate() {
                let a = Body::new(a)?;
                let (k, val) = (a.str("AttributeName")?, a.str("AttributeValue")?);
                let at = |m: &str| {
                    p(&format!(
                        "requestConfiguration.commonAttributes.{}.member.{m}",
                        i + 1
                    ))
                };
                v.required(&k, &at("attributeName"));
                v.required(&val, &at("attributeValue"));
                v.length(k, &at("attributeName"), 1, 256);
                v.length(val, &at("attributeValue"), 0, 1024);
                if let (Some(k), Some(val)) = (k, val) {
                    common.push((k.to_string(), val.to_string()));
                }
            }
        }
        v.finish()?;
        if body.object("SecretsManagerConfiguration")?.is_some() {
            return Err(unsupported(
                "SecretsManagerConfiguration (give the key as EndpointConfiguration.AccessKey)",
            ));
        }
        let hints = hints.resolve(BufferingHints::default())?;
        let mut dest = Self::read_backup(body, s3.expect("required above"), path, Some(hints))?;
        dest.http = Some(HttpTarget {
            url: url.unwrap_or_default().to_string(),
            name: name.map(str::to_string),
            access_key: key.map(str::to_string),
            gzip: encoding == Some("GZIP"),
            common_attributes: common,
            retry_seconds: retry.unwrap_or(300) as u32,
            backup_all: backup_mode == Some("AllData"),
            role_arn: role.map(str::to_string),
        });
        Ok(dest)
    }

    /// The extension of delivered objects: `FileExtension`, else
    /// `.parquet` when converting, else the compression's.
    pub fn extension(&self) -> &str {
        match (&self.file_extension, self.active_conversion()) {
            (Some(e), _) => e,
            (None, Some(c)) => c.extension(),
            (None, None) => self.compression.extension(),
        }
    }

    /// The record format conversion, when it is enabled.
    pub fn active_conversion(&self) -> Option<&Conversion> {
        self.conversion.as_ref().and_then(|c| c.active.as_ref())
    }

    /// The processors that run: none unless processing is enabled.
    pub fn active_processors(&self) -> &[Processor] {
        if self.processing_enabled {
            &self.processors
        } else {
            &[]
        }
    }

    /// Dynamic partitioning's query, if one is configured.
    pub fn metadata_query(&self) -> Option<&Query> {
        self.active_processors().iter().find_map(|p| match p {
            Processor::MetadataExtraction(q) => Some(q),
            _ => None,
        })
    }

    /// The Lambda transform, if one runs.
    pub fn lambda(&self) -> Option<&LambdaConfig> {
        self.active_processors().iter().find_map(|p| match p {
            Processor::Lambda(l) => Some(l),
            _ => None,
        })
    }

    /// `ExtendedS3DestinationDescription` (and, trimmed, the legacy
    /// `S3DestinationDescription` AWS returns beside it).
    /// The members of the `Destinations` entry DescribeDeliveryStream
    /// returns for this destination.
    pub fn describe_members(&self) -> Vec<(&'static str, Value)> {
        let (extended, plain) = self.describe();
        if let Some(r) = &self.redshift {
            let mut copy = json!({"DataTableName": r.table, "CopyOptions": r.options});
            if let Some(c) = &r.columns {
                copy["DataTableColumns"] = json!(c);
            }
            let mut d = json!({
                "RoleARN": r.role_arn,
                "ClusterJDBCURL": r.jdbc_url,
                "CopyCommand": copy,
                "Username": r.username,
                "RetryOptions": {"DurationInSeconds": r.retry_seconds},
                "S3DestinationDescription": plain,
                "S3BackupMode": "Disabled",
                "CloudWatchLoggingOptions": {"Enabled": false},
            });
            if let Some(p) = &self.processing_json {
                d["ProcessingConfiguration"] = p.clone();
            }
            return vec![("RedshiftDestinationDescription", d)];
        }
        if let Some(h) = &self.http {
            let mut endpoint = json!({"Url": h.url});
            if let Some(n) = &h.name {
                endpoint["Name"] = json!(n);
            }
            let mut d = json!({
                "EndpointConfiguration": endpoint,
                "BufferingHints": {
                    "SizeInMBs": self.hints.size_mb,
                    "IntervalInSeconds": self.hints.interval_s,
                },
                "CloudWatchLoggingOptions": {"Enabled": false},
                "RequestConfiguration": {
                    "ContentEncoding": if h.gzip { "GZIP" } else { "NONE" },
                    "CommonAttributes": h.common_attributes.iter()
                        .map(|(k, v)| json!({"AttributeName": k, "AttributeValue": v}))
                        .collect::<Vec<_>>(),
                },
                "RetryOptions": {"DurationInSeconds": h.retry_seconds},
                "S3BackupMode": if h.backup_all { "AllData" } else { "FailedDataOnly" },
                "S3DestinationDescription": plain,
            });
            if let Some(r) = &h.role_arn {
                d["RoleARN"] = json!(r);
            }
            if let Some(p) = &self.processing_json {
                d["ProcessingConfiguration"] = p.clone();
            }
            return vec![("HttpEndpointDestinationDescription", d)];
        }
        match &self.opensearch {
            None => vec![
                ("S3DestinationDescription", plain),
                ("ExtendedS3DestinationDescription", extended),
            ],
            Some(os) => {
                let mut d = json!({
                    "RoleARN": self.role_arn,
                    "DomainARN": os.domain_arn,
                    "IndexName": os.index_name,
                    "IndexRotationPeriod": os.rotation.as_str(),
                    "BufferingHints": {
                        "SizeInMBs": self.hints.size_mb,
                        "IntervalInSeconds": self.hints.interval_s,
                    },
                    "RetryOptions": {"DurationInSeconds": os.retry_seconds},
                    "S3BackupMode": if os.backup_all { "AllDocuments" } else { "FailedDocumentsOnly" },
                    "S3DestinationDescription": plain,
                    "CloudWatchLoggingOptions": {"Enabled": false},
                    "DocumentIdOptions": {"DefaultDocumentIdFormat":
                        if os.firehose_ids { "FIREHOSE_DEFAULT" } else { "NO_DOCUMENT_ID" }},
                });
                if let Some(p) = &self.processing_json {
                    d["ProcessingConfiguration"] = p.clone();
                }
                vec![("AmazonopensearchserviceDestinationDescription", d)]
            }
        }
    }

    fn describe(&self) -> (Value, Value) {
        let plain = json!({
            "RoleARN": self.role_arn,
            "BucketARN": self.bucket_arn,
            "Prefix": self.keys.raw_prefix(),
            "ErrorOutputPrefix": self.error_output_prefix,
            "BufferingHints": {
                "SizeInMBs": self.hints.size_mb,
                "IntervalInSeconds": self.hints.interval_s,
            },
            "CompressionFormat": self.compression.as_str(),
            "EncryptionConfiguration": {"NoEncryptionConfig": "NoEncryption"},
            "CloudWatchLoggingOptions": {"Enabled": false},
        });
        let mut extended = plain.clone();
        if let Value::Object(m) = &mut extended {
            m.insert("S3BackupMode".into(), json!("Disabled"));
            if let Some(p) = &self.processing_json {
                m.insert("ProcessingConfiguration".into(), p.clone());
            }
            if let Some(e) = &self.file_extension {
                m.insert("FileExtension".into(), json!(e));
            }
            if let Some(c) = &self.conversion {
                m.insert("DataFormatConversionConfiguration".into(), c.echo.clone());
            }
            m.insert("CustomTimeZone".into(), json!("UTC"));
            if let Some(dp) = &self.dynamic_partitioning {
                m.insert(
                    "DynamicPartitioningConfiguration".into(),
                    json!({"Enabled": true, "RetryOptions": {"DurationInSeconds": dp.retry_seconds}}),
                );
            }
        }
        (extended, plain)
    }
}

/// `RetryOptions.DurationInSeconds` of an OpenSearch, HTTP endpoint or
/// Redshift destination: 0–7,200 s.
fn read_retry(body: &Body, path: &str, v: &mut Validation) -> Result<Option<i64>, ApiError> {
    let retry = match body.object("RetryOptions")? {
        Some(r) => r.int("DurationInSeconds")?,
        None => None,
    };
    v.range(
        retry,
        &format!("{path}.retryOptions.durationInSeconds"),
        0,
        7200,
    );
    Ok(retry)
}

fn unsupported(what: &str) -> ApiError {
    ApiError::invalid_argument(format!(
        "{what} is not supported by Shardlab yet; the S3 destination supports buffering \
         hints, prefixes, compression, dynamic partitioning and the RecordDeAggregation, \
         Lambda, MetadataExtraction and AppendDelimiterToRecord processors."
    ))
}

fn read_processors(pc: &Body, path: &str) -> Result<Vec<Processor>, ApiError> {
    let mut out = Vec::new();
    let list = pc.array("Processors")?.cloned().unwrap_or_default();
    let mut v = Validation::new();
    let mut parsed = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let body = Body::new(item)?;
        let kind = body.str("Type")?.map(str::to_string);
        let at = format!("{path}.processors.{}.type", i + 1);
        v.required(&kind, &at);
        v.one_of(kind.as_deref(), &at, PROCESSOR_TYPES);
        let mut params = Vec::new();
        for p in body.array("Parameters")?.cloned().unwrap_or_default() {
            let pb = Body::new(&p)?;
            let name = pb.str("ParameterName")?.unwrap_or("").to_string();
            let value = pb.str("ParameterValue")?.unwrap_or("").to_string();
            params.push((name, value));
        }
        parsed.push((kind, params));
    }
    v.finish()?;
    for (kind, params) in parsed {
        let param = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        match kind.as_deref() {
            Some("AppendDelimiterToRecord") => out.push(Processor::AppendDelimiterToRecord),
            Some("RecordDeAggregation") => {
                let sub = match param("SubRecordType") {
                    Some("JSON") | None => SubRecord::Json,
                    Some("DELIMITED") => {
                        let d = param("Delimiter").ok_or_else(|| {
                            ApiError::invalid_argument(
                                "RecordDeAggregation with SubRecordType DELIMITED needs a \
                                 Delimiter parameter (base64, e.g. IyMjIw== for ####).",
                            )
                        })?;
                        let bytes = BASE64.decode(d).ok().filter(|b| !b.is_empty());
                        SubRecord::Delimited(bytes.ok_or_else(|| {
                            ApiError::invalid_argument(format!(
                                "The RecordDeAggregation Delimiter '{d}' is not non-empty base64."
                            ))
                        })?)
                    }
                    Some(other) => {
                        return Err(ApiError::invalid_argument(format!(
                            "SubRecordType '{other}' is not one of JSON, DELIMITED."
                        )))
                    }
                };
                out.push(Processor::RecordDeAggregation { sub_record: sub });
            }
            Some("MetadataExtraction") => {
                let engine = param("JsonParsingEngine").unwrap_or("JQ-1.6");
                if engine != "JQ-1.6" {
                    return Err(ApiError::invalid_argument(format!(
                        "JsonParsingEngine '{engine}' is not supported; use JQ-1.6."
                    )));
                }
                let query = param("MetadataExtractionQuery").ok_or_else(|| {
                    ApiError::invalid_argument(
                        "The MetadataExtraction processor needs a MetadataExtractionQuery \
                         parameter, e.g. {customer_id: .customer_id}.",
                    )
                })?;
                out.push(Processor::MetadataExtraction(
                    Query::parse(query).map_err(ApiError::invalid_argument)?,
                ));
            }
            Some("Lambda") => {
                let owned = |n: &str| param(n).map(str::to_string);
                if out.iter().any(|p| matches!(p, Processor::Lambda(_))) {
                    return Err(ApiError::invalid_argument(
                        "A delivery stream has at most one Lambda processor.",
                    ));
                }
                out.push(Processor::Lambda(read_lambda(&owned)?));
            }
            Some(other) => return Err(unsupported(&format!("The {other} processor"))),
            None => {}
        }
    }
    Ok(out)
}

/// The processors that run before a Lambda transform, on one incoming
/// record: de-aggregation. The records that go on, or why it failed and
/// the record as it came (for the error output; nothing is copied for it).
pub fn split(processors: &[Processor], data: Vec<u8>) -> Result<Vec<Vec<u8>>, (String, Vec<u8>)> {
    let mut stages = processors.iter().filter_map(|p| match p {
        Processor::RecordDeAggregation { sub_record } => Some(sub_record),
        _ => None,
    });
    let Some(first) = stages.next() else {
        return Ok(vec![data]);
    };
    let mut records = Vec::new();
    if let Err(e) = split_one(first, &data, &mut records) {
        return Err((e, data));
    }
    for sub in stages {
        let mut out = Vec::new();
        for r in &records {
            if let Err(e) = split_one(sub, r, &mut out) {
                return Err((e, data));
            }
        }
        records = out;
    }
    Ok(records)
}

/// One de-aggregation of one record into `out`.
fn split_one(sub: &SubRecord, r: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), String> {
    match sub {
        SubRecord::Json => {
            let mut stream =
                serde_json::Deserializer::from_slice(r).into_iter::<serde::de::IgnoredAny>();
            let mut start = 0;
            while let Some(item) = stream.next() {
                item.map_err(|e| format!("The record is not concatenated JSON: {e}"))?;
                let end = stream.byte_offset();
                out.push(r[start..end].trim_ascii().to_vec());
                start = end;
            }
        }
        SubRecord::Delimited(d) => {
            let mut rest = r;
            while let Some(i) = find(rest, d) {
                out.push(rest[..i].to_vec());
                rest = &rest[i + d.len()..];
            }
            if !rest.is_empty() {
                out.push(rest.to_vec());
            }
        }
    }
    Ok(())
}

/// The processors that run last, on a record about to be buffered:
/// the delimiter.
pub fn finish(processors: &[Processor], mut data: Vec<u8>) -> Vec<u8> {
    if processors
        .iter()
        .any(|p| matches!(p, Processor::AppendDelimiterToRecord))
    {
        data.push(b'\n');
    }
    data
}

/// Every processor but a Lambda, on one incoming record: the records that
/// reach the buffer, or why the record failed.
pub fn process(processors: &[Processor], data: Vec<u8>) -> Result<Vec<Vec<u8>>, String> {
    Ok(split(processors, data)
        .map_err(|(message, _)| message)?
        .into_iter()
        .map(|r| finish(processors, r))
        .collect())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
