//! Shardlab's user interface, in Yew.
//!
//! The UI thread only renders: it starts the simulation worker, sends it
//! `Command`s when the learner clicks, and draws the latest `Snapshot` the
//! worker posts. It never runs the simulation or touches record data, so
//! nothing on this thread grows with the number of records.

mod aws_view;
mod console_view;
mod exercise_view;
mod firehose_view;
mod format;
mod kcl_view;
mod lambda_view;
mod lessons_view;
mod metrics_view;
mod output_view;
mod persist;
mod presets;
mod producers_view;
mod queues_view;
mod share_view;
mod sim_worker;
mod sql_view;
mod template_view;
mod view;

use shardlab_sim::clock::SCENARIO_EPOCH_MS;
use shardlab_sim::consumer::Replay;
use shardlab_sim::control::{Command, Event, WorkerView};
use shardlab_sim::firehose_source::{ObjectPreview, ObjectView};
use shardlab_sim::lambda::{FunctionCode, LambdaFunction};
use shardlab_sim::Sink;
use shardlab_sim::{Scenario, Snapshot};
use wasm_bindgen::prelude::*;
use yew::prelude::*;

use crate::sim_worker::SimWorker;

/// One more producer, as the form edits it (see `producers_view`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProducerForm {
    pub name: String,
    pub rate_per_sec: String,
    pub keys: shardlab_sim::producer::KeyStrategy,
    /// Kept from a loaded preset (the form has no control for it here).
    pub rate_shape: shardlab_sim::producer::RateShape,
    /// Its record template (KDG syntax); empty: clickstream events.
    pub record_template: String,
    /// Kept from a loaded preset (the form has no control for it here).
    pub record_size_bytes: Option<u32>,
}

impl ProducerForm {
    fn spec(&self) -> Result<shardlab_sim::simulation::ProducerSpec, String> {
        let name = self.name.trim().to_string();
        let rate_per_sec = self.rate_per_sec.trim().parse::<u64>().map_err(|_| {
            format!(
                "The producer {name}'s rate must be a whole number of records per second, 0 to {}.",
                shardlab_sim::producer::MAX_RATE_PER_SEC
            )
        })?;
        Ok(shardlab_sim::simulation::ProducerSpec {
            name,
            rate_per_sec,
            keys: self.keys.clone(),
            rate_shape: self.rate_shape.clone(),
            record_template: Some(self.record_template.trim())
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            record_size_bytes: self.record_size_bytes,
        })
    }
}

/// The form that creates a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamForm {
    pub stream_name: String,
    pub shard_count: String,
    pub seed: String,
    pub rate_per_sec: String,
    /// Consumer applications' poll intervals in ms, comma-separated, one
    /// consumer each; empty or 0: none.
    pub consumer_polls: String,
    /// Their names, from a loaded preset (generated when they do not match).
    pub consumer_names: Vec<String>,
    /// Which of them read with enhanced fan-out, from a loaded preset (kept
    /// with the names).
    pub consumer_fan_out: Vec<bool>,
    /// Workers of a KCL application (0 or empty: none), and how often its
    /// record processors checkpoint (ms).
    pub kcl_workers: String,
    pub kcl_checkpoint_ms: String,
    /// The KCL application's name and poll interval from a loaded preset,
    /// and any further KCL applications it has (kept as they are).
    pub kcl_app: Option<shardlab_sim::consumer::ConsumerSpec>,
    pub kcl_more: Vec<shardlab_sim::consumer::ConsumerSpec>,
    /// A preset's consumers in order, by kind (so the form gives back the
    /// preset's order, which the run follows).
    pub consumer_order: Vec<ConsumerKind>,
    /// A preset's Lambda event source mappings and the functions they
    /// invoke (kept as they are; their settings change on the mapping's
    /// row once the stream runs).
    pub mappings: Vec<shardlab_sim::consumer::ConsumerSpec>,
    pub mapping_functions: Vec<LambdaFunction>,
    pub keys: shardlab_sim::producer::KeyStrategy,
    /// Kept from a loaded preset (the form has no control for it yet).
    pub rate_shape: shardlab_sim::producer::RateShape,
    /// The producer's record template (KDG syntax); empty: clickstream events.
    pub record_template: String,
    /// KPL-style aggregation (a preset's AggregationMaxSize is kept).
    pub aggregation: Option<shardlab_sim::aggregation::Aggregation>,
    /// The clickstream events' size in bytes, as typed (empty: their own).
    pub record_size: String,
    /// More producers besides the form's own (`producer-0`).
    pub producers: Vec<ProducerForm>,
    /// The KPL's RateLimit (percent) and RecordTtl (ms), as typed.
    pub kpl_rate_limit: String,
    pub kpl_record_ttl: String,
    /// Retries of throttled records (a preset's policy is kept).
    pub retries: Option<shardlab_sim::retry::Retries>,
    /// A preset's SQS queues and SNS topic (kept; the form has no
    /// controls for them).
    pub messaging: Option<shardlab_sim::queues::Messaging>,
    /// The agent's file, whose lines the producer sends (instead of the
    /// record template).
    pub agent: Option<shardlab_sim::agent::AgentFile>,
    /// A data stream the SQL application's DESTINATION_SQL_STREAM is
    /// written to (empty: none), and its shards; a preset's further output
    /// streams are kept as they are.
    pub output_stream: String,
    pub output_stream_shards: String,
    pub output_streams_more: Vec<shardlab_sim::simulation::OutputStream>,
    /// The name a preset gave the form's output stream (its outputs follow
    /// a rename).
    pub output_stream_base: Option<String>,
    pub firehose: FirehoseForm,
}

/// The form's Firehose delivery stream: the stream's records buffered and
/// delivered to an S3-like bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct FirehoseForm {
    pub enabled: bool,
    pub name: String,
    pub size_mb: String,
    pub interval_s: String,
    pub compression: String,
    pub prefix: String,
    /// An AppendDelimiterToRecord processor: one record per line.
    pub newline: bool,
    /// The producer writes to the delivery stream itself (Direct PUT)
    /// instead of the delivery stream reading the stream.
    pub direct_put: bool,
    /// The preset's CreateDeliveryStream request, which the fields above
    /// edit (so members the form has no control for are kept).
    pub base: Option<serde_json::Value>,
    /// Further delivery streams from the preset, kept as they are.
    pub more: Vec<serde_json::Value>,
    /// The Lambda transform: "none", "select-fields", "keep-if" or
    /// "javascript", and each one's settings.
    pub transform: String,
    pub select_fields: String,
    pub keep_field: String,
    pub keep_value: String,
    pub javascript: String,
    /// The preset's functions, kept for the delivery streams that use them.
    pub functions: Vec<LambdaFunction>,
    /// Record format conversion to Apache Parquet, with the AWS Glue
    /// table's columns one per line (`name type`) and the Parquet SerDe's
    /// compression.
    pub parquet: bool,
    pub columns: String,
    pub parquet_compression: String,
    /// The preset's Glue tables other than the form's, kept as they are.
    pub glue_tables: Vec<serde_json::Value>,
    /// The Glue database and table a preset's conversion names (the form
    /// keeps them); without one, `shardlab` and the delivery stream's name.
    pub glue_table: Option<(String, String)>,
    /// The preset's SQL application outputs (to its delivery streams).
    pub sql_outputs: Vec<shardlab_sim::sql::SqlOutput>,
    /// Deliver to an HTTP endpoint (the bucket is then its backup): its
    /// URL, access key, GZIP content encoding and retry duration.
    pub http: bool,
    pub http_url: String,
    pub http_access_key: String,
    pub http_gzip: bool,
    pub http_retry_s: String,
    /// A preset's HttpEndpointDestinationConfiguration, so members the form
    /// has no control for (Name, CommonAttributes, S3BackupMode) are kept.
    pub http_base: Option<serde_json::Value>,
    /// A preset's statements for its Redshift clusters, kept as they are.
    pub redshift_statements: Vec<serde_json::Value>,
}

/// The Glue database the form's tables go in.
const FORM_GLUE_DATABASE: &str = "shardlab";

/// The columns the form starts from: the built-in clickstream records'.
pub const DEFAULT_COLUMNS: &str =
    "event_id bigint\nuser_id string\npage string\naction string\nevent_time timestamp";

/// The transform the form starts a JavaScript function from: AWS's
/// blueprint shape, on the producer's click records.
pub const JAVASCRIPT_BLUEPRINT: &str = r#"// A Firehose transformation function, as on AWS Lambda (Node.js).
// Each record's data is base64. Return every recordId with a result:
// 'Ok' (with new data), 'Dropped' or 'ProcessingFailed'.
exports.handler = async (event) => ({
  records: event.records.map((record) => {
    const click = JSON.parse(Buffer.from(record.data, 'base64').toString('utf8'));
    if (click.action === 'view') {
      return { recordId: record.recordId, result: 'Dropped', data: record.data };
    }
    const slim = { user: click.user_id, action: click.action, page: click.page };
    return {
      recordId: record.recordId,
      result: 'Ok',
      data: Buffer.from(JSON.stringify(slim)).toString('base64'),
    };
  }),
});
"#;

/// The name the form gives its transform function.
const FORM_FUNCTION: &str = "transform";

impl Default for FirehoseForm {
    fn default() -> Self {
        FirehoseForm {
            enabled: false,
            name: "to-s3".into(),
            size_mb: "1".into(),
            interval_s: "60".into(),
            compression: "GZIP".into(),
            prefix: String::new(),
            newline: true,
            direct_put: false,
            base: None,
            more: Vec::new(),
            transform: "none".into(),
            select_fields: "user_id, action".into(),
            keep_field: "action".into(),
            keep_value: "purchase".into(),
            javascript: JAVASCRIPT_BLUEPRINT.into(),
            functions: Vec::new(),
            parquet: false,
            columns: DEFAULT_COLUMNS.into(),
            parquet_compression: "SNAPPY".into(),
            glue_tables: Vec::new(),
            glue_table: None,
            sql_outputs: Vec::new(),
            http: false,
            http_url: "http://localhost:9000/firehose".into(),
            http_access_key: String::new(),
            http_gzip: false,
            http_retry_s: "300".into(),
            http_base: None,
            redshift_statements: Vec::new(),
        }
    }
}

const DEFAULT_BUCKET_ARN: &str = "arn:aws:s3:::shardlab-lab";

impl FirehoseForm {
    /// The transform function the form describes, if any.
    fn function(&self) -> Option<LambdaFunction> {
        // A value that parses as JSON (a number, true) compares as that;
        // anything else as text.
        let equals = || {
            serde_json::from_str(self.keep_value.trim())
                .unwrap_or_else(|_| serde_json::json!(self.keep_value.trim()))
        };
        let code = match self.transform.as_str() {
            "select-fields" => FunctionCode::SelectFields(
                self.select_fields
                    .split(',')
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty())
                    .collect(),
            ),
            "keep-if" => FunctionCode::KeepIf {
                field: self.keep_field.trim().to_string(),
                equals: equals(),
            },
            "fail-if" => FunctionCode::FailIf {
                field: self.keep_field.trim().to_string(),
                equals: equals(),
                report_item_failures: false,
            },
            "javascript" => FunctionCode::Javascript(self.javascript.clone()),
            _ => return None,
        };
        Some(LambdaFunction {
            name: FORM_FUNCTION.into(),
            code,
        })
    }

    /// The Lambda functions the scenario needs.
    fn functions(&self) -> Vec<LambdaFunction> {
        if !self.enabled {
            return Vec::new();
        }
        let mut out: Vec<LambdaFunction> = self
            .functions
            .iter()
            .filter(|f| f.name != FORM_FUNCTION)
            .cloned()
            .collect();
        out.extend(self.function());
        out
    }

    /// The Glue table the form's conversion reads: its name (from the
    /// delivery stream's), in the form's database.
    pub fn table_name(&self) -> String {
        if let Some((_, table)) = &self.glue_table {
            return table.clone();
        }
        self.name
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    }

    /// The Glue database the form's table is in.
    pub fn database_name(&self) -> &str {
        self.glue_table
            .as_ref()
            .map_or(FORM_GLUE_DATABASE, |(d, _)| d.as_str())
    }

    /// The delivery stream name the preset gave the form's stream.
    fn base_name(&self) -> Option<&str> {
        self.base.as_ref()?["DeliveryStreamName"].as_str()
    }

    /// The preset's SQL outputs whose delivery stream the form still has
    /// with Direct PUT (renamed with it when the form's was renamed).
    fn sql_outputs(&self) -> Vec<shardlab_sim::sql::SqlOutput> {
        let requests = self.requests().unwrap_or_default();
        let direct = |name: &str| {
            requests
                .iter()
                .any(|r| r["DeliveryStreamName"] == name && r["DeliveryStreamType"] == "DirectPut")
        };
        let renamed = self.base_name().filter(|b| *b != self.name.trim());
        self.sql_outputs
            .iter()
            .filter_map(|o| {
                let mut o = o.clone();
                if o.lambda.is_some() || o.kinesis.is_some() {
                    // Lambda and Kinesis outputs need no delivery stream.
                    return Some(o);
                }
                let target = o.delivery_stream()?.to_string();
                if let (true, Some(f)) = (renamed == Some(target.as_str()), o.firehose.as_mut()) {
                    let cut = f.resource_arn.len() - target.len();
                    f.resource_arn = format!("{}{}", &f.resource_arn[..cut], self.name.trim());
                }
                direct(o.delivery_stream()?).then_some(o)
            })
            .collect()
    }

    /// The SQL application's output to the form's delivery stream.
    pub fn sql_output_mut(&mut self) -> Option<&mut shardlab_sim::sql::SqlOutput> {
        let names = [
            Some(self.name.trim().to_string()),
            self.base_name().map(str::to_string),
        ];
        self.sql_outputs
            .iter_mut()
            .find(|o| names.contains(&o.delivery_stream().map(str::to_string)))
    }

    /// Makes the form's delivery stream a SQL application's output (Direct
    /// PUT from DESTINATION_SQL_STREAM as JSON, KDA's defaults), or not.
    pub fn set_sql_output(&mut self, on: bool) {
        let name = self.name.trim().to_string();
        let base = self.base_name().map(str::to_string);
        self.sql_outputs.retain(|o| {
            let target = o.delivery_stream().map(str::to_string);
            target != Some(name.clone()) && (base.is_none() || target != base)
        });
        if on {
            self.direct_put = true;
            self.sql_outputs.push(shardlab_sim::sql::SqlOutput {
                name: "DESTINATION_SQL_STREAM".into(),
                firehose: Some(shardlab_sim::sql::OutputResource {
                    resource_arn: format!(
                        "arn:aws:firehose:{}:{}:deliverystream/{name}",
                        shardlab_sim::simulation::REGION,
                        shardlab_sim::ACCOUNT_ID
                    ),
                    role_arn: None,
                }),
                lambda: None,
                kinesis: None,
                schema: shardlab_sim::sql::DestinationSchema {
                    format: shardlab_sim::sql::RecordFormat::JSON,
                },
            });
        }
    }

    /// Whether the form's delivery stream is a SQL application's output.
    pub fn is_sql_output(&self) -> bool {
        let names = [Some(self.name.trim()), self.base_name()];
        self.sql_outputs
            .iter()
            .any(|o| o.delivery_stream().is_some() && names.contains(&o.delivery_stream()))
    }

    /// The Glue CreateTable requests the scenario needs: the form's table
    /// when it converts to Parquet, then the preset's others.
    fn glue_tables(&self) -> Result<Vec<serde_json::Value>, String> {
        use serde_json::json;
        if !self.enabled {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        if self.parquet && !self.http {
            let mut columns = Vec::new();
            for (i, line) in self.columns.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let (name, ty) = line
                    .split_once(|c: char| c.is_whitespace() || c == ':')
                    .map(|(n, t)| (n.trim(), t.trim()))
                    .filter(|(n, t)| !n.is_empty() && !t.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "Parquet columns, line {}: write a column name and a Hive type, e.g. \
                             `price double`.",
                            i + 1
                        )
                    })?;
                columns.push(json!({"Name": name, "Type": ty}));
            }
            out.push(json!({
                "DatabaseName": self.database_name(),
                "TableInput": {
                    "Name": self.table_name(),
                    "StorageDescriptor": {"Columns": columns}
                }
            }));
        }
        out.extend(self.glue_tables.iter().cloned());
        Ok(out)
    }

    /// The CreateDeliveryStream requests the form describes.
    fn requests(&self) -> Result<Vec<serde_json::Value>, String> {
        use serde_json::{json, Value};
        if !self.enabled {
            return Ok(Vec::new());
        }
        let size: u32 = self.size_mb.trim().parse().map_err(|_| {
            "The Firehose buffer size is a whole number of MiB, 1 to 128.".to_string()
        })?;
        let interval: u32 = self.interval_s.trim().parse().map_err(|_| {
            "The Firehose buffer interval is a whole number of seconds, 0 to 900.".to_string()
        })?;
        let mut request = self
            .base
            .clone()
            .unwrap_or_else(|| json!({"ExtendedS3DestinationConfiguration": {}}));
        request["DeliveryStreamName"] = json!(self.name.trim());
        match (self.direct_put, request.as_object_mut()) {
            (true, Some(m)) => {
                m.insert("DeliveryStreamType".into(), json!("DirectPut"));
            }
            (false, Some(m)) => {
                m.remove("DeliveryStreamType");
            }
            _ => {}
        }
        // The form's fields are an S3 destination's: a preset's delivery
        // stream to another destination (OpenSearch) is kept as it is.
        let other_destination = request.as_object().is_some_and(|m| {
            m.keys().any(|k| {
                k.ends_with("DestinationConfiguration") && k != "ExtendedS3DestinationConfiguration"
            })
        });
        if other_destination {
            let mut all = vec![request];
            all.extend(self.more.iter().cloned());
            return Ok(all);
        }
        let dest = &mut request["ExtendedS3DestinationConfiguration"];
        if !dest.is_object() {
            *dest = json!({});
        }
        if dest.get("RoleARN").is_none() {
            dest["RoleARN"] = json!(shardlab_sim::firehose_source::delivery_role_arn());
        }
        if dest.get("BucketARN").is_none() {
            dest["BucketARN"] = json!(DEFAULT_BUCKET_ARN);
        }
        dest["BufferingHints"] = json!({"SizeInMBs": size, "IntervalInSeconds": interval});
        dest["CompressionFormat"] = json!(self.compression);
        if self.parquet && !self.http {
            // Parquet compresses inside the file: the object itself must
            // be UNCOMPRESSED, as AWS requires.
            dest["CompressionFormat"] = json!("UNCOMPRESSED");
            // The preset's settings the form has no control for (a Hive
            // deserializer, ParquetSerDe's page size, ...) are kept.
            let role = dest["RoleARN"].clone();
            let conversion = &mut dest["DataFormatConversionConfiguration"];
            if !conversion.is_object() {
                *conversion = json!({});
            }
            conversion["Enabled"] = json!(true);
            if !conversion["SchemaConfiguration"].is_object() {
                conversion["SchemaConfiguration"] = json!({"RoleARN": role});
            }
            conversion["SchemaConfiguration"]["DatabaseName"] = json!(self.database_name());
            conversion["SchemaConfiguration"]["TableName"] = json!(self.table_name());
            if !conversion["InputFormatConfiguration"]["Deserializer"].is_object() {
                conversion["InputFormatConfiguration"] =
                    json!({"Deserializer": {"OpenXJsonSerDe": {}}});
            }
            // Each level an object (a scenario file may hold anything).
            let mut level = &mut conversion["OutputFormatConfiguration"];
            for key in ["Serializer", "ParquetSerDe"] {
                if !level.is_object() {
                    *level = json!({});
                }
                level = &mut level[key];
            }
            if !level.is_object() {
                *level = json!({});
            }
            level["Compression"] = json!(self.parquet_compression);
        } else if let Value::Object(m) = dest {
            m.remove("DataFormatConversionConfiguration");
        }
        match self.prefix.trim() {
            "" => {
                if let Value::Object(m) = dest {
                    m.remove("Prefix");
                }
            }
            p => dest["Prefix"] = json!(p),
        }
        let mut processors: Vec<Value> = dest["ProcessingConfiguration"]["Processors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        processors.retain(|p| p["Type"] != "AppendDelimiterToRecord" && p["Type"] != "Lambda");
        if self.transform != "none" {
            processors.insert(
                0,
                json!({"Type": "Lambda", "Parameters": [{
                    "ParameterName": "LambdaArn",
                    "ParameterValue": format!(
                        "arn:aws:lambda:us-east-1:123456789012:function:{FORM_FUNCTION}"
                    ),
                }]}),
            );
        }
        if self.newline {
            processors.push(json!({"Type": "AppendDelimiterToRecord"}));
        }
        dest["ProcessingConfiguration"] = json!({
            "Enabled": !processors.is_empty(),
            "Processors": processors,
        });
        if self.http {
            self.to_http(&mut request)?;
        }
        let mut all = vec![request];
        all.extend(self.more.iter().cloned());
        Ok(all)
    }

    /// Turns the S3 request the fields made into one for an HTTP endpoint:
    /// the hints and processors move to the endpoint's configuration, and
    /// the bucket, prefix and compression become its backup.
    fn to_http(&self, request: &mut serde_json::Value) -> Result<(), String> {
        use serde_json::{json, Value};
        let retry: u32 = self.http_retry_s.trim().parse().map_err(|_| {
            "The HTTP endpoint's retry duration is a whole number of seconds, 0 to 7,200."
                .to_string()
        })?;
        let Some(m) = request.as_object_mut() else {
            return Ok(());
        };
        let mut s3 = m
            .remove("ExtendedS3DestinationConfiguration")
            .unwrap_or_else(|| json!({}));
        let mut http = self.http_base.clone().unwrap_or_else(|| json!({}));
        if !http.is_object() {
            http = json!({});
        }
        for key in ["BufferingHints", "ProcessingConfiguration"] {
            if let Some(v) = s3.as_object_mut().and_then(|o| o.remove(key)) {
                http[key] = v;
            }
        }
        if let Value::Object(o) = &mut s3 {
            o.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "RoleARN" | "BucketARN" | "Prefix" | "ErrorOutputPrefix" | "CompressionFormat"
                )
            });
        }
        if !http["EndpointConfiguration"].is_object() {
            http["EndpointConfiguration"] = json!({});
        }
        http["EndpointConfiguration"]["Url"] = json!(self.http_url.trim());
        match self.http_access_key.trim() {
            "" => {
                if let Some(o) = http["EndpointConfiguration"].as_object_mut() {
                    o.remove("AccessKey");
                }
            }
            key => http["EndpointConfiguration"]["AccessKey"] = json!(key),
        }
        if !http["RequestConfiguration"].is_object() {
            http["RequestConfiguration"] = json!({});
        }
        http["RequestConfiguration"]["ContentEncoding"] =
            json!(if self.http_gzip { "GZIP" } else { "NONE" });
        http["RetryOptions"] = json!({"DurationInSeconds": retry});
        http["RoleARN"] = s3["RoleARN"].clone();
        http["S3Configuration"] = s3;
        m.insert("HttpEndpointDestinationConfiguration".into(), http);
        Ok(())
    }

    /// The form for a preset's delivery streams (the first is editable)
    /// and the functions they use.
    fn from_requests(
        requests: &[serde_json::Value],
        functions: &[LambdaFunction],
        glue_tables: &[serde_json::Value],
    ) -> Self {
        let Some(first) = requests.first() else {
            return FirehoseForm::default();
        };
        let mut form = FirehoseForm {
            functions: functions.to_vec(),
            glue_tables: glue_tables.to_vec(),
            ..FirehoseForm::default()
        };
        // An HTTP endpoint: the form edits it in the S3 shape (hints and
        // processors beside the backup bucket), and keeps the rest.
        let http_shaped;
        let first = match first.get("HttpEndpointDestinationConfiguration") {
            Some(h) if h.is_object() => {
                let mut s3 = h["S3Configuration"].clone();
                if !s3.is_object() {
                    s3 = serde_json::json!({});
                }
                for key in ["BufferingHints", "ProcessingConfiguration"] {
                    if let Some(v) = h.get(key) {
                        s3[key] = v.clone();
                    }
                }
                let mut shaped = first.clone();
                if let Some(m) = shaped.as_object_mut() {
                    m.remove("HttpEndpointDestinationConfiguration");
                    m.insert("ExtendedS3DestinationConfiguration".into(), s3);
                }
                form.http = true;
                form.http_url = h["EndpointConfiguration"]["Url"]
                    .as_str()
                    .unwrap_or_default()
                    .into();
                form.http_access_key = h["EndpointConfiguration"]["AccessKey"]
                    .as_str()
                    .unwrap_or_default()
                    .into();
                form.http_gzip = h["RequestConfiguration"]["ContentEncoding"] == "GZIP";
                form.http_retry_s = h["RetryOptions"]["DurationInSeconds"]
                    .as_u64()
                    .unwrap_or(300)
                    .to_string();
                form.http_base = Some(h.clone());
                http_shaped = shaped;
                &http_shaped
            }
            _ => first,
        };
        // Conversion: the form edits the table the first delivery stream
        // reads (it moves to the form's database and name).
        let conversion =
            &first["ExtendedS3DestinationConfiguration"]["DataFormatConversionConfiguration"];
        if conversion.is_object() && conversion["Enabled"] != false {
            let schema = &conversion["SchemaConfiguration"];
            let same = |v: &serde_json::Value, key: &str| {
                v.as_str()
                    .zip(schema[key].as_str())
                    .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            };
            form.parquet = true;
            form.glue_table = Some((
                schema["DatabaseName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                schema["TableName"].as_str().unwrap_or_default().to_string(),
            ));
            form.parquet_compression = conversion["OutputFormatConfiguration"]["Serializer"]
                ["ParquetSerDe"]["Compression"]
                .as_str()
                .unwrap_or("SNAPPY")
                .into();
            // The table's columns, when the preset has the table (without
            // it, none: creating the stream then says the table has none).
            form.columns = String::new();
            if let Some(i) = form.glue_tables.iter().position(|t| {
                same(&t["DatabaseName"], "DatabaseName")
                    && same(&t["TableInput"]["Name"], "TableName")
            }) {
                let table = form.glue_tables.remove(i);
                form.columns = table["TableInput"]["StorageDescriptor"]["Columns"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .map(|c| {
                                format!(
                                    "{} {}",
                                    c["Name"].as_str().unwrap_or(""),
                                    c["Type"].as_str().unwrap_or("")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default();
            }
        }
        let lambda_arn = first["ExtendedS3DestinationConfiguration"]["ProcessingConfiguration"]
            ["Processors"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["Type"] == "Lambda"))
            .and_then(|p| p["Parameters"].as_array())
            .and_then(|ps| ps.iter().find(|p| p["ParameterName"] == "LambdaArn"))
            .and_then(|p| p["ParameterValue"].as_str())
            .map(str::to_string);
        let used = lambda_arn
            .as_deref()
            .and_then(|arn| arn.rsplit("function:").next())
            .and_then(|name| functions.iter().find(|f| f.name == name));
        match used.map(|f| &f.code) {
            Some(FunctionCode::SelectFields(fields)) => {
                form.transform = "select-fields".into();
                form.select_fields = fields.join(", ");
            }
            Some(FunctionCode::KeepIf { field, equals }) => {
                form.transform = "keep-if".into();
                form.keep_field = field.clone();
                form.keep_value = equals
                    .as_str()
                    .map_or_else(|| equals.to_string(), str::to_string);
            }
            Some(FunctionCode::FailIf { field, equals, .. }) => {
                form.transform = "fail-if".into();
                form.keep_field = field.clone();
                form.keep_value = equals
                    .as_str()
                    .map_or_else(|| equals.to_string(), str::to_string);
            }
            Some(FunctionCode::Javascript(src)) => {
                form.transform = "javascript".into();
                form.javascript = src.clone();
            }
            None => {}
        }
        // The form's own function replaces the one the preset named.
        if let Some(f) = used {
            form.functions.retain(|g| g.name != f.name);
            form.functions.push(LambdaFunction {
                name: FORM_FUNCTION.into(),
                code: f.code.clone(),
            });
        }
        let dest = &first["ExtendedS3DestinationConfiguration"];
        let hints = &dest["BufferingHints"];
        let defaults = FirehoseForm::default();
        FirehoseForm {
            enabled: true,
            name: first["DeliveryStreamName"]
                .as_str()
                .unwrap_or("to-s3")
                .into(),
            size_mb: hints["SizeInMBs"]
                .as_u64()
                .map_or(defaults.size_mb, |v| v.to_string()),
            interval_s: hints["IntervalInSeconds"]
                .as_u64()
                .map_or(defaults.interval_s, |v| v.to_string()),
            compression: dest["CompressionFormat"]
                .as_str()
                .unwrap_or("UNCOMPRESSED")
                .into(),
            prefix: dest["Prefix"].as_str().unwrap_or("").into(),
            newline: dest["ProcessingConfiguration"]["Processors"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["Type"] == "AppendDelimiterToRecord")),
            direct_put: first["DeliveryStreamType"] == "DirectPut",
            base: Some(first.clone()),
            more: requests[1..].to_vec(),
            ..form
        }
    }
}

impl Default for StreamForm {
    fn default() -> Self {
        StreamForm {
            stream_name: "clickstream".into(),
            shard_count: "4".into(),
            seed: "42".into(),
            rate_per_sec: "2000".into(),
            consumer_polls: "200".into(),
            consumer_names: Vec::new(),
            consumer_fan_out: Vec::new(),
            kcl_workers: "0".into(),
            kcl_checkpoint_ms: shardlab_sim::kcl::DEFAULT_CHECKPOINT_MS.to_string(),
            kcl_app: None,
            kcl_more: Vec::new(),
            consumer_order: Vec::new(),
            mappings: Vec::new(),
            mapping_functions: Vec::new(),
            keys: Default::default(),
            rate_shape: Default::default(),
            record_template: String::new(),
            aggregation: None,
            record_size: String::new(),
            producers: Vec::new(),
            kpl_rate_limit: shardlab_sim::aggregation::DEFAULT_RATE_LIMIT.to_string(),
            kpl_record_ttl: shardlab_sim::aggregation::DEFAULT_RECORD_TTL_MS.to_string(),
            retries: None,
            messaging: None,
            agent: None,
            output_stream: String::new(),
            output_stream_shards: "1".into(),
            output_streams_more: Vec::new(),
            output_stream_base: None,
            firehose: FirehoseForm::default(),
        }
    }
}

impl StreamForm {
    /// The scenario the form describes, or what is wrong with it.
    pub fn scenario(&self) -> Result<Scenario, String> {
        let shard_count = self.shard_count.trim().parse::<u32>().map_err(|_| {
            format!(
                "Shards must be a whole number from 1 to {}.",
                shardlab_sim::MAX_SHARDS
            )
        })?;
        let seed = self.seed.trim().parse::<u64>().map_err(|_| {
            "The seed must be a whole number from 0 to 18446744073709551615.".to_string()
        })?;
        let rate_per_sec = parse_rate(&self.rate_per_sec)?;
        let record_size_bytes = match self.record_size.trim() {
            "" => None,
            text => Some(text.parse::<u32>().map_err(|_| {
                format!(
                    "The record size is a whole number of bytes, {} to {}, or empty for the \
                     events' own size.",
                    shardlab_sim::producer::RECORD_SIZES.start(),
                    shardlab_sim::producer::RECORD_SIZES.end()
                )
            })?),
        };
        let aggregation = match &self.aggregation {
            None => None,
            Some(a) => {
                let mut a = a.clone();
                a.rate_limit = self.kpl_rate_limit.trim().parse().map_err(|_| {
                    "The KPL's rate limit is a whole number of percent (150 by default)."
                        .to_string()
                })?;
                a.record_ttl_ms = self.kpl_record_ttl.trim().parse().map_err(|_| {
                    "The KPL's record TTL is a whole number of milliseconds (30000 by default)."
                        .to_string()
                })?;
                Some(a)
            }
        };
        let polls: Vec<&str> = self
            .consumer_polls
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "0")
            .collect();
        let consumers = polls
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let poll_ms = text.parse::<u64>().map_err(|_| {
                    format!(
                        "Consumer poll intervals are whole numbers of milliseconds, one per \
                         consumer, separated by commas (0 for no consumer); `{text}` is not."
                    )
                })?;
                let preset = self.consumer_names.len() == polls.len();
                let name = match self.consumer_names.get(i) {
                    Some(n) if preset => n.clone(),
                    _ if polls.len() == 1 => "consumer-app".to_string(),
                    _ => format!("consumer-app-{}", i + 1),
                };
                let mut spec = shardlab_sim::consumer::ConsumerSpec::polling(name, poll_ms);
                spec.fan_out = preset && self.consumer_fan_out.get(i).copied().unwrap_or(false);
                Ok(spec)
            })
            .collect::<Result<Vec<_>, String>>()?;
        let consumers = interleave(
            consumers,
            self.kcl()?,
            self.mappings.clone(),
            &self.consumer_order,
        );
        let mut lambda_functions = self.firehose.functions();
        for f in &self.mapping_functions {
            if !lambda_functions.iter().any(|g| g.name == f.name) {
                lambda_functions.push(f.clone());
            }
        }
        let scenario = Scenario {
            stream_name: self.stream_name.trim().to_string(),
            shard_count,
            seed,
            rate_per_sec,
            consumers,
            keys: self.keys.clone(),
            rate_shape: self.rate_shape.clone(),
            record_template: Some(self.record_template.trim())
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            record_size_bytes,
            // With aggregation the KPL retries (the form hides the retries
            // control then).
            retries: if aggregation.is_some() {
                None
            } else {
                self.retries.clone()
            },
            aggregation,
            messaging: self.messaging.clone(),
            agent: self.agent.clone(),
            delivery_streams: self.firehose.requests()?,
            glue_tables: self.firehose.glue_tables()?,
            redshift_statements: if self.firehose.enabled {
                self.firehose.redshift_statements.clone()
            } else {
                Vec::new()
            },
            sql_outputs: Vec::new(),
            lambda_functions,
            output_streams: self.output_streams()?,
            producers: self
                .producers
                .iter()
                .map(ProducerForm::spec)
                .collect::<Result<_, _>>()?,
        };
        let scenario = Scenario {
            sql_outputs: self.sql_outputs(&scenario.output_streams),
            ..scenario
        };
        scenario.validate_stream().map_err(|e| e.to_string())?;
        Ok(scenario)
    }
}

impl StreamForm {
    /// The output streams: the form's, then a preset's others.
    fn output_streams(&self) -> Result<Vec<shardlab_sim::simulation::OutputStream>, String> {
        let name = self.output_stream.trim();
        let mut out = Vec::new();
        if !name.is_empty() {
            let shard_count = self
                .output_stream_shards
                .trim()
                .parse::<u32>()
                .map_err(|_| {
                    format!(
                        "The output stream's shards must be a whole number from 1 to {}.",
                        shardlab_sim::MAX_SHARDS
                    )
                })?;
            out.push(shardlab_sim::simulation::OutputStream {
                name: name.to_string(),
                shard_count,
            });
        }
        out.extend(
            self.output_streams_more
                .iter()
                .filter(|o| o.name != name)
                .cloned(),
        );
        Ok(out)
    }

    /// The SQL application's outputs: the Firehose form's, a preset's
    /// Kinesis outputs to streams the form still has (renamed with the
    /// form's), and DESTINATION_SQL_STREAM as JSON to an output stream the
    /// form made (not a preset's) when nothing else writes to it.
    fn sql_outputs(
        &self,
        streams: &[shardlab_sim::simulation::OutputStream],
    ) -> Vec<shardlab_sim::sql::SqlOutput> {
        use shardlab_sim::sql::{DestinationSchema, OutputResource, RecordFormat, SqlOutput};
        let has = |name: &str| streams.iter().any(|s| s.name == name);
        let name = self.output_stream.trim();
        let base = self.output_stream_base.as_deref();
        let mut out: Vec<SqlOutput> = self
            .firehose
            .sql_outputs()
            .into_iter()
            .map(|mut o| {
                let target = o.data_stream().map(str::to_string);
                if let (Some(k), Some(base)) = (o.kinesis.as_mut(), base) {
                    if !name.is_empty() && target.as_deref() == Some(base) {
                        k.resource_arn =
                            shardlab_sim::stream_arn(shardlab_sim::simulation::REGION, name);
                    }
                }
                o
            })
            .filter(|o| o.data_stream().is_none_or(has))
            .collect();
        if !name.is_empty() && base.is_none() && !out.iter().any(|o| o.data_stream() == Some(name))
        {
            out.push(SqlOutput {
                name: "DESTINATION_SQL_STREAM".into(),
                firehose: None,
                lambda: None,
                kinesis: Some(OutputResource {
                    resource_arn: shardlab_sim::stream_arn(shardlab_sim::simulation::REGION, name),
                    role_arn: None,
                }),
                schema: DestinationSchema {
                    format: RecordFormat::JSON,
                },
            });
        }
        out
    }

    /// The form's KCL applications: the one its fields describe (when it
    /// has workers), then any others a preset had.
    fn kcl(&self) -> Result<Vec<shardlab_sim::consumer::ConsumerSpec>, String> {
        let text = self.kcl_workers.trim();
        let workers = if text.is_empty() {
            0
        } else {
            text.parse::<u32>().map_err(|_| {
                format!(
                    "KCL workers is a whole number, 1 to {} (0 for no KCL application); `{text}` is not.",
                    shardlab_sim::kcl::MAX_WORKERS
                )
            })?
        };
        let mut apps = Vec::new();
        if workers > 0 {
            let text = self.kcl_checkpoint_ms.trim();
            let checkpoint_ms = text.parse::<u64>().map_err(|_| {
                format!("The KCL checkpoint interval is a whole number of milliseconds; `{text}` is not.")
            })?;
            let mut app = self.kcl_app.clone().unwrap_or_else(|| {
                shardlab_sim::consumer::ConsumerSpec::kcl("kcl-app", 1000, workers, checkpoint_ms)
            });
            app.kcl = Some(shardlab_sim::kcl::KclSpec {
                workers,
                checkpoint_ms,
            });
            apps.push(app);
        }
        apps.extend(self.kcl_more.iter().cloned());
        Ok(apps)
    }
}

/// What a consumer of a preset was, for keeping their order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerKind {
    Polling,
    Kcl,
    Lambda,
}

impl ConsumerKind {
    fn of(c: &shardlab_sim::consumer::ConsumerSpec) -> Self {
        if c.kcl.is_some() {
            ConsumerKind::Kcl
        } else if c.lambda.is_some() {
            ConsumerKind::Lambda
        } else {
            ConsumerKind::Polling
        }
    }
}

/// The polling consumers, KCL applications and event source mappings in a
/// preset's `order` when the counts still match it; otherwise in that
/// order of kinds.
fn interleave<T>(polling: Vec<T>, kcl: Vec<T>, lambda: Vec<T>, order: &[ConsumerKind]) -> Vec<T> {
    let count = |k| order.iter().filter(|o| **o == k).count();
    if count(ConsumerKind::Polling) != polling.len()
        || count(ConsumerKind::Kcl) != kcl.len()
        || count(ConsumerKind::Lambda) != lambda.len()
    {
        return polling.into_iter().chain(kcl).chain(lambda).collect();
    }
    let (mut p, mut k, mut l) = (polling.into_iter(), kcl.into_iter(), lambda.into_iter());
    order
        .iter()
        .filter_map(|kind| match kind {
            ConsumerKind::Polling => p.next(),
            ConsumerKind::Kcl => k.next(),
            ConsumerKind::Lambda => l.next(),
        })
        .collect()
}

impl From<&Scenario> for StreamForm {
    fn from(s: &Scenario) -> Self {
        let (kcl, others): (Vec<_>, Vec<_>) = s.consumers.iter().partition(|c| c.kcl.is_some());
        let (mappings, polling): (Vec<_>, Vec<_>) =
            others.into_iter().partition(|c| c.lambda.is_some());
        let mapping_functions = s
            .lambda_functions
            .iter()
            .filter(|f| {
                mappings
                    .iter()
                    .any(|m| m.lambda.as_ref().is_some_and(|l| l.function == f.name))
            })
            .cloned()
            .collect();
        let first = kcl.first().map(|c| (*c).clone());
        let spec = first.as_ref().and_then(|c| c.kcl.clone());
        StreamForm {
            kcl_workers: spec.as_ref().map_or(0, |k| k.workers).to_string(),
            kcl_checkpoint_ms: spec
                .as_ref()
                .map_or(shardlab_sim::kcl::DEFAULT_CHECKPOINT_MS, |k| {
                    k.checkpoint_ms
                })
                .to_string(),
            kcl_app: first,
            kcl_more: kcl.iter().skip(1).map(|c| (*c).clone()).collect(),
            consumer_order: s.consumers.iter().map(ConsumerKind::of).collect(),
            mappings: mappings.into_iter().cloned().collect(),
            mapping_functions,
            stream_name: s.stream_name.clone(),
            shard_count: s.shard_count.to_string(),
            seed: s.seed.to_string(),
            rate_per_sec: s.rate_per_sec.to_string(),
            consumer_polls: polling
                .iter()
                .map(|c| c.poll_ms.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            consumer_names: polling.iter().map(|c| c.name.clone()).collect(),
            consumer_fan_out: polling.iter().map(|c| c.fan_out).collect(),
            keys: s.keys.clone(),
            rate_shape: s.rate_shape.clone(),
            record_template: s.record_template.clone().unwrap_or_default(),
            aggregation: s.aggregation.clone(),
            record_size: s
                .record_size_bytes
                .map(|b| b.to_string())
                .unwrap_or_default(),
            producers: s
                .producers
                .iter()
                .map(|p| ProducerForm {
                    name: p.name.clone(),
                    rate_per_sec: p.rate_per_sec.to_string(),
                    keys: p.keys.clone(),
                    rate_shape: p.rate_shape.clone(),
                    record_template: p.record_template.clone().unwrap_or_default(),
                    record_size_bytes: p.record_size_bytes,
                })
                .collect(),
            kpl_rate_limit: s
                .aggregation
                .as_ref()
                .map_or(shardlab_sim::aggregation::DEFAULT_RATE_LIMIT, |a| {
                    a.rate_limit
                })
                .to_string(),
            kpl_record_ttl: s
                .aggregation
                .as_ref()
                .map_or(shardlab_sim::aggregation::DEFAULT_RECORD_TTL_MS, |a| {
                    a.record_ttl_ms
                })
                .to_string(),
            retries: s.retries.clone(),
            messaging: s.messaging.clone(),
            agent: s.agent.clone(),
            output_stream: s
                .output_streams
                .first()
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            output_stream_shards: s
                .output_streams
                .first()
                .map_or(1, |o| o.shard_count)
                .to_string(),
            output_streams_more: s.output_streams.iter().skip(1).cloned().collect(),
            output_stream_base: s.output_streams.first().map(|o| o.name.clone()),
            firehose: FirehoseForm {
                sql_outputs: s.sql_outputs.clone(),
                redshift_statements: s.redshift_statements.clone(),
                ..FirehoseForm::from_requests(
                    &s.delivery_streams,
                    &s.lambda_functions,
                    &s.glue_tables,
                )
            },
        }
    }
}

fn parse_rate(text: &str) -> Result<u64, String> {
    text.trim().parse::<u64>().map_err(|_| {
        format!(
            "The producer rate must be a whole number of records per second, 0 to {}.",
            shardlab_sim::producer::MAX_RATE_PER_SEC
        )
    })
}

/// What the worker last told us about the running stream.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveStream {
    pub snapshot: Snapshot,
    pub running: bool,
    pub speed: f64,
    pub workers: Vec<WorkerView>,
    /// Virtual ms a fast-forward still has to run.
    pub fast_forward_ms: u64,
}

/// The bucket browser: one folder level of a bucket, and an open object.
#[derive(Clone, Debug, PartialEq)]
pub struct Browser {
    pub bucket: String,
    pub prefix: String,
    pub folders: Vec<String>,
    pub objects: Vec<ObjectView>,
    /// Objects in the bucket when listed: a new delivery refreshes it.
    pub listed_objects: u64,
    /// A listing asked for and not yet answered.
    pub listing: bool,
    pub preview: Option<ObjectPreview>,
}

pub enum Msg {
    FromWorker(Event),
    WorkerFailed(String),
    EditForm(Box<StreamForm>),
    Create,
    Toggle,
    Step,
    FastForward(u64),
    SetRate(String),
    /// A producer's rate by name, as typed.
    SetProducerRate(String, String),
    SetSpeed(String),
    Split(String),
    Merge(String, String),
    KillWorker(u32),
    SetRetention(String),
    /// A consumer application's poll interval (name, ms as typed).
    SetConsumerPoll(String, String),
    /// Where a consumer's next replay starts (name, time as typed).
    ReplayFrom(String, String),
    Replay(String),
    /// The percentage of messages a queue's consumers fail (queue, as typed).
    SetQueueFailures(String, String),
    /// Registers a consumer application for enhanced fan-out (true) or
    /// moves it back to shared GetRecords (false).
    SetFanOut(String, bool),
    /// Stops (false) or starts (true) a KCL application's worker: (app,
    /// worker, start).
    KclWorker(String, String, bool),
    /// UpdateEventSourceMapping on a Lambda event source mapping.
    UpdateMapping(String, shardlab_sim::esm::EsmUpdate),
    /// A Lambda function's JavaScript as edited: (function, source).
    FunctionDraft(String, String),
    /// UpdateFunctionCode with the function's edited JavaScript.
    DeployFunction(String),
    /// The outage switch of a bucket or domain: down or not.
    SetOutage(Sink, bool),
    Browse(String, String),
    OpenObject(String, String),
    DownloadObject(String, String),
    /// Search (domain, index, query).
    Search(String, String, String),
    /// Run a statement on a Redshift cluster (cluster, SQL).
    RunRedshift(String, String),
    ClosePreview,
    SqlEdit(String),
    /// An example from `sql_view::EXAMPLES` by index.
    SqlExample(usize),
    SqlStartAt(shardlab_sim::sql::SqlStart),
    SqlRun,
    SqlStop,
    SqlPickStream(String),
    SqlPickColumn(String),
    SqlTranslate,
    SqlReferenceName(String),
    SqlReferenceCsv(String),
    SqlCloseFlink,
    /// "Test template": the first records of the form's scenario.
    TestTemplate,
    PresetsListed(Result<Vec<presets::Preset>, String>),
    LessonsListed(Result<Vec<lessons_view::Entry>, String>),
    /// Starts the lesson in this file (empty: leaves the lesson).
    StartLesson(String),
    LessonLoaded(Box<Result<(String, shardlab_lessons::Lesson, Scenario), String>>),
    /// Shows the current step's next hint.
    LessonHint,
    /// Shows the link that opens the lesson.
    LessonLink,
    /// "Do it for me": sends the current step's solution.
    LessonSolve,
    /// A solution's `scenario` file is loaded: create the stream from it,
    /// then go on with the rest of the solution.
    LessonScenario(Result<Scenario, String>, Vec<shardlab_lessons::Action>),
    LoadPreset(String),
    PresetLoaded(Result<Scenario, String>),
    DismissError,
    /// Offers a text as a file download (file name, text).
    SaveText(String, String),
    /// Puts the workspace in the URL and shows the link.
    ShareLink,
    DownloadWorkspace,
    /// A workspace file was chosen in this input.
    OpenWorkspaceFile(web_sys::HtmlInputElement),
    WorkspaceFileRead(Result<Vec<u8>, String>),
    /// A file input for the agent: read it.
    OpenAgentFile(web_sys::HtmlInputElement),
    /// The agent's file as read: its name and bytes.
    AgentFileRead(Result<(String, Vec<u8>), String>),
    /// How the agent turns the file's lines into records.
    AgentFormat(shardlab_sim::agent::AgentFormat),
    ExercisesListed(Result<Vec<exercise_view::Entry>, String>),
    /// Opens the site's exercise in this file (empty: leaves the exercise).
    StartExercise(String),
    /// An exercise file's text, and the site file it came from.
    ExerciseLoaded(Result<(Option<String>, String), String>),
    /// An exercise file was chosen in this input.
    OpenExerciseFile(web_sys::HtmlInputElement),
    ExerciseStudent(String),
    GradeExercise,
    DownloadExerciseResult,
    ShareExercise,
    /// The work saved in this browser, read at start-up.
    Restored(Result<Option<persist::Saved>, String>),
    /// A restored lesson's file is loaded: resume it at (step, hints) on
    /// the saved workspace's stream.
    LessonResumed(
        Box<Result<(String, shardlab_lessons::Lesson, Scenario), String>>,
        usize,
        usize,
        Box<Scenario>,
    ),
    /// A save of this record finished.
    WorkSaved(Result<String, String>),
    DismissNotice,
    ToggleProjector,
    ConsoleCode(String),
    ConsoleRun,
    ConsoleStop,
    ConsoleClear,
    FromConsole(console_view::FromConsole),
}

pub struct App {
    worker: Option<SimWorker>,
    ready: bool,
    creating: bool,
    form: StreamForm,
    live: Option<LiveStream>,
    error: Option<String>,
    presets: Vec<presets::Preset>,
    /// What each consumer's "replay from" field holds, by consumer name.
    replay_from: std::collections::BTreeMap<String, String>,
    browser: Option<Browser>,
    /// The last search's answer: (index, query, total, hits).
    search: Option<SearchResults>,
    /// The Redshift query box's last answer.
    redshift: Option<shardlab_sim::control::RedshiftAnswer>,
    sql: sql_view::SqlPanel,
    /// The answer to the last "Test template".
    template_samples: Option<template_view::Samples>,
    /// The agent's file as last checked, and what it makes (see
    /// `template_view::agent_check`): worked out once per change, not per
    /// frame.
    agent_check: std::cell::RefCell<Option<template_view::AgentCheck>>,
    /// The AWS CLI script and CloudFormation template of the scenario the
    /// stream was last created from.
    aws_export: Option<Result<aws_view::AwsExport, String>>,
    /// The stream that export is of.
    aws_export_of: String,
    /// The scenario the stream was last created from (what is shared),
    /// with the event source mappings' settings and the functions' code as
    /// they were changed since.
    created_scenario: Option<Scenario>,
    /// Lambda functions' JavaScript being edited, by function name.
    function_drafts: std::collections::BTreeMap<String, String>,
    /// The last workspace link made.
    share_link: Option<String>,
    /// The page's workspace link, opened once the worker is ready.
    pending_link: Option<String>,
    /// The lessons the site lists, and the one being followed.
    lessons: Vec<lessons_view::Entry>,
    lesson: Option<lessons_view::Active>,
    /// The exercises the site lists, and the one being worked on.
    exercises: Vec<exercise_view::Entry>,
    exercise: Option<exercise_view::Active>,
    /// Saved work read at start-up, waiting for the worker to be ready.
    restore: Option<persist::Saved>,
    /// Until the saved work is read (and applied), nothing is saved over it.
    restoring: bool,
    /// The last record written (so only changes are written), and the last
    /// one the database confirmed.
    saved_json: String,
    stored_json: String,
    /// The work to keep as JSON, as of the last change (see `update`).
    work_json: Option<String>,
    /// A message that is not an error (e.g. the work was restored).
    notice: Option<String>,
    /// The in-page SDK console.
    console: console_view::ConsolePanel,
    /// Projector mode: everything larger (a display setting of this
    /// browser, kept in its localStorage).
    projector: bool,
}

/// What the OpenSearch search box last found.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchResults {
    pub index: String,
    pub query: String,
    pub total: u64,
    pub hits: Vec<String>,
}

impl App {
    /// Opens the first delivery stream's bucket once it exists, and lists
    /// the open folder again when a delivery has added objects.
    fn refresh_browser(&mut self, snapshot: &Snapshot) {
        let Some(ds) = snapshot.delivery_streams.first() else {
            return;
        };
        let (bucket, prefix) = match &self.browser {
            None => (ds.bucket.clone(), String::new()),
            // The previous stream's bucket (its snapshot or listing came
            // after this stream was created): start over with this one's.
            Some(b)
                if !snapshot
                    .delivery_streams
                    .iter()
                    .any(|d| d.bucket == b.bucket) =>
            {
                self.browser = None;
                (ds.bucket.clone(), String::new())
            }
            Some(b) if b.listing => return,
            Some(b) => match snapshot
                .delivery_streams
                .iter()
                .find(|d| d.bucket == b.bucket)
            {
                Some(d) if d.bucket_objects != b.listed_objects => {
                    (b.bucket.clone(), b.prefix.clone())
                }
                _ => return,
            },
        };
        let browser = self.browser.get_or_insert_with(|| Browser {
            bucket: bucket.clone(),
            prefix: prefix.clone(),
            folders: Vec::new(),
            objects: Vec::new(),
            listed_objects: 0,
            listing: false,
            preview: None,
        });
        browser.listing = true;
        self.send(Command::ListObjects { bucket, prefix });
    }

    /// Creates a lesson's stream (its start, or a solution's `scenario`):
    /// the form shows it, and the lesson waits for its first snapshot.
    fn create_lesson_stream(&mut self, scenario: Scenario) {
        self.template_samples = None;
        self.form = StreamForm::from(&scenario);
        self.create_stream(scenario);
    }

    /// Creates the stream (from the form, a lesson, an exercise or saved
    /// work): what showed the old one goes, and a lesson goes on with the
    /// new stream once it is there.
    fn create_stream(&mut self, scenario: Scenario) {
        if let Some(lesson) = self.lesson.as_mut() {
            lesson.armed = false;
            lesson.stream_name = scenario.stream_name.clone();
        }
        self.error = None;
        self.creating = true;
        self.browser = None;
        self.search = None;
        self.redshift = None;
        self.aws_export = None;
        self.created_scenario = Some(scenario.clone());
        self.function_drafts.clear();
        self.share_link = None;
        self.sql.flink = None;
        self.console.fail_pending();
        self.send(Command::ExportAws {
            scenario: scenario.clone(),
        });
        self.send(Command::CreateStream { scenario });
    }

    /// Opens a shared workspace: its stream, created, and its SQL in the
    /// editor (not started: the learner runs it).
    fn open_workspace(&mut self, w: shardlab_sim::share::Workspace) {
        self.lesson = None;
        self.exercise = None;
        if let Some(code) = w.sql {
            self.sql.code = code;
            self.sql.error = None;
            self.sql.revision += 1;
        }
        self.create_lesson_stream(w.scenario);
    }

    /// Sends a lesson solution's commands in order; a `scenario` action
    /// fetches its file first and the rest follows once it is created.
    fn perform(&mut self, ctx: &Context<Self>, actions: Vec<shardlab_lessons::Action>) {
        let mut actions = actions.into_iter();
        while let Some(action) = actions.next() {
            if let Some(command) = action.command() {
                self.send(command);
            } else if let shardlab_lessons::Action::Scenario { file } = action {
                let rest: Vec<_> = actions.collect();
                ctx.link().send_future(async move {
                    Msg::LessonScenario(presets::load(file).await, rest)
                });
                return;
            }
        }
    }

    /// Brings back the work saved in this browser: the workspace's stream
    /// (created again: the same seed makes the same records), its SQL in
    /// the editor, and the lesson or exercise with its progress.
    fn apply_restore(&mut self, ctx: &Context<Self>, saved: persist::Saved) {
        let persist::Saved {
            workspace,
            lesson,
            exercise,
            ..
        } = saved;
        if let Some(code) = workspace.sql.clone() {
            self.sql.code = code;
            self.sql.revision += 1;
        }
        let mut what = vec![format!("the stream {}", workspace.scenario.stream_name)];
        if workspace.sql.is_some() {
            what.push("your SQL".into());
        }
        if let Some(l) = &lesson {
            what.push(format!("your lesson at step {}", l.step + 1));
        }
        if let Some(x) = exercise {
            if let Ok(ex) = shardlab_lessons::exercise::parse(&x.source) {
                what.push(format!("the exercise \"{}\"", ex.title));
                let mut active = exercise_view::Active::new(x.source, ex, x.file);
                active.student = x.student;
                active.result = x
                    .result
                    .as_deref()
                    .and_then(|r| shardlab_lessons::exercise::GradeResult::from_file(r).ok());
                active.result_file = x.result.filter(|_| active.result.is_some());
                self.exercise = Some(active);
            }
        }
        self.notice = Some(format!(
            "Restored from this browser: {}. The stream starts again from its scenario (the same seed makes the same records).",
            what.join(", ")
        ));
        match lesson {
            Some(l) => {
                let scenario = Box::new(workspace.scenario);
                ctx.link().send_future(async move {
                    Msg::LessonResumed(
                        Box::new(lessons_view::load(l.file).await),
                        l.step,
                        l.hints,
                        scenario,
                    )
                });
            }
            None => {
                self.restoring = false;
                self.create_lesson_stream(workspace.scenario);
            }
        }
    }

    /// The code of the running scenario's Lambda function `name`.
    pub(crate) fn function_code(&self, name: &str) -> Option<FunctionCode> {
        self.created_scenario
            .as_ref()?
            .lambda_functions
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.code.clone())
    }

    /// The function's JavaScript as being edited, if it is.
    pub(crate) fn function_draft(&self, name: &str) -> Option<String> {
        self.function_drafts.get(name).cloned()
    }

    /// Whether the work as it stands is what the database holds (`None`:
    /// nothing to keep yet).
    pub(crate) fn work_saved(&self) -> Option<bool> {
        self.work_json.as_ref().map(|w| *w == self.stored_json)
    }

    /// The work to keep, as it stands.
    fn work(&self) -> Option<persist::Saved> {
        let scenario = self.created_scenario.clone()?;
        Some(persist::Saved::new(
            // The editor's starting example is not the learner's work.
            shardlab_sim::share::Workspace::new(
                scenario,
                Some(self.sql.code.clone()).filter(|c| c != sql_view::EXAMPLES[0].1),
            ),
            self.lesson.as_ref().map(|l| persist::SavedLesson {
                file: l.file.clone(),
                step: l.step,
                hints: l.hints,
            }),
            self.exercise.as_ref().map(|x| persist::SavedExercise {
                source: x.source.clone(),
                file: x.file.clone(),
                student: x.student.clone(),
                result: x.result_file.clone(),
            }),
        ))
    }

    /// Sends the command a field's whole number makes, or says what the
    /// field takes (`what`) when the text is not one.
    fn send_number<T: std::str::FromStr>(
        &mut self,
        text: &str,
        what: &str,
        command: impl FnOnce(T) -> Command,
    ) {
        match text.trim().parse::<T>() {
            Ok(n) => self.send(command(n)),
            Err(_) => self.error = Some(format!("{what}, not '{text}'.")),
        }
    }

    fn send(&mut self, command: Command) {
        let result = match &self.worker {
            Some(w) => w.send(&command),
            None => Err("The simulation worker is not running.".into()),
        };
        if let Err(e) = result {
            self.error = Some(e);
        }
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let on_event = ctx.link().callback(Msg::FromWorker);
        let on_failure = ctx.link().callback(Msg::WorkerFailed);
        let (worker, error) = match SimWorker::start(on_event, on_failure) {
            Ok(w) => (Some(w), None),
            Err(e) => (None, Some(e)),
        };
        ctx.link()
            .send_future(async { Msg::PresetsListed(presets::list().await) });
        ctx.link()
            .send_future(async { Msg::LessonsListed(lessons_view::list().await) });
        ctx.link()
            .send_future(async { Msg::ExercisesListed(exercise_view::list().await) });
        let pending_link = share_view::fragment();
        // A link says what to open; otherwise the work saved here comes back.
        let restoring = pending_link.is_none();
        if restoring {
            ctx.link()
                .send_future(async { Msg::Restored(persist::load().await) });
        }
        App {
            worker,
            ready: false,
            creating: false,
            form: StreamForm::default(),
            live: None,
            error,
            presets: Vec::new(),
            replay_from: Default::default(),
            browser: None,
            search: None,
            redshift: None,
            sql: sql_view::SqlPanel::default(),
            template_samples: None,
            agent_check: Default::default(),
            aws_export: None,
            aws_export_of: String::new(),
            created_scenario: None,
            function_drafts: Default::default(),
            share_link: None,
            pending_link,
            lessons: Vec::new(),
            lesson: None,
            exercises: Vec::new(),
            exercise: None,
            restore: None,
            restoring,
            saved_json: String::new(),
            stored_json: String::new(),
            work_json: None,
            notice: None,
            projector: persist::projector(),
            console: Default::default(),
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        // The work to keep is serialised again only when it may have
        // changed: never for the display-rate snapshots (unless a lesson
        // step moved on) nor the console's traffic, since an exercise
        // with its expected rows can be large.
        let quiet = matches!(
            msg,
            Msg::FromWorker(Event::Snapshot { .. })
                | Msg::FromWorker(Event::ApiReplies { .. })
                | Msg::FromConsole(_)
                | Msg::WorkSaved(_)
        );
        let step = self.lesson.as_ref().map(|l| (l.step, l.hints));
        let render = self.update_inner(ctx, msg);
        if !quiet || self.lesson.as_ref().map(|l| (l.step, l.hints)) != step {
            self.work_json = self.work().map(|w| w.to_json());
        }
        render
    }

    fn rendered(&mut self, ctx: &Context<Self>, _first_render: bool) {
        if self.restoring {
            return;
        }
        let Some(json) = self.work_json.clone() else {
            return;
        };
        if json != self.saved_json {
            self.saved_json = json.clone();
            ctx.link().send_future(async move {
                let saved = persist::save(json.clone()).await;
                Msg::WorkSaved(saved.map(|()| json))
            });
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        view::app(self, ctx)
    }
}

impl App {
    fn update_inner(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::FromWorker(Event::Ready) => {
                self.ready = true;
                // `?memory-limit-mb=N`: a smaller heap budget for the
                // simulation (the end-to-end tests use it).
                if let Some(mb) = web_sys::window()
                    .and_then(|w| w.location().search().ok())
                    .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
                    .and_then(|p| p.get("memory-limit-mb"))
                    .and_then(|v| v.parse::<u64>().ok())
                    .and_then(|mb| mb.checked_mul(1 << 20))
                {
                    self.send(Command::SetMemoryLimit { bytes: mb });
                }
                if let Some(saved) = self.restore.take() {
                    self.apply_restore(ctx, saved);
                }
                // A workspace or exercise link: the worker reads it.
                if let Some(fragment) = self.pending_link.take() {
                    share_view::clear_fragment();
                    let key = fragment.trim_start_matches('#');
                    if key.starts_with(shardlab_sim::share::EXERCISE_KEY) {
                        self.send(Command::OpenExerciseLink { fragment });
                    } else if let Some(file) = key.strip_prefix(share_view::LESSON_KEY) {
                        match exercise_view::site_file(file) {
                            Ok(file) => ctx.link().send_message(Msg::StartLesson(file)),
                            Err(e) => {
                                self.error = Some(format!("This link could not be opened: {e}."))
                            }
                        }
                    } else if let Some(file) = key.strip_prefix(share_view::SITE_EXERCISE_KEY) {
                        let file = file.to_string();
                        ctx.link().send_future(async move {
                            Msg::ExerciseLoaded(exercise_view::load(file).await)
                        });
                    } else {
                        self.send(Command::OpenWorkspaceLink { fragment });
                    }
                }
            }
            Msg::FromWorker(Event::Snapshot {
                snapshot,
                running,
                speed,
                workers,
                fast_forward_ms,
            }) => {
                self.creating = false;
                if let Some(lesson) = self.lesson.as_mut() {
                    lesson.observe(&snapshot);
                }
                self.refresh_browser(&snapshot);
                self.sql.absorb(snapshot.sql.as_deref());
                self.live = Some(LiveStream {
                    snapshot,
                    running,
                    speed,
                    workers,
                    fast_forward_ms,
                });
            }
            Msg::FromWorker(Event::Objects {
                bucket,
                prefix,
                folders,
                objects,
                bucket_objects,
            }) => {
                let preview = self.browser.take().and_then(|b| b.preview);
                self.browser = Some(Browser {
                    bucket,
                    prefix,
                    folders,
                    objects,
                    listed_objects: bucket_objects,
                    listing: false,
                    preview,
                });
            }
            Msg::FromWorker(Event::SearchResults {
                index,
                query,
                total,
                hits,
                ..
            }) => {
                self.search = Some(SearchResults {
                    index,
                    query,
                    total,
                    hits,
                });
            }
            Msg::FromWorker(Event::RedshiftResult { answer }) => self.redshift = Some(answer),
            Msg::FromWorker(Event::ObjectBytes { key, bytes }) => {
                if let Err(e) = save_file(&key, &bytes) {
                    self.error = Some(format!("Could not save {key}: {e}"));
                }
            }
            Msg::FromWorker(Event::Object { preview }) => {
                if let Some(b) = self.browser.as_mut() {
                    b.preview = Some(preview);
                }
            }
            Msg::FromWorker(Event::SqlError {
                line,
                column,
                message,
                ..
            }) => self.sql.error = Some((line, column, message)),
            Msg::FromWorker(Event::FlinkSql { sql, notes }) => self.sql.flink = Some((sql, notes)),
            Msg::FromWorker(Event::Error { message }) => {
                self.creating = false;
                self.error = Some(message);
            }
            Msg::WorkerFailed(message) => {
                self.ready = false;
                self.error = Some(message);
            }
            Msg::EditForm(form) => {
                if form.record_template != self.form.record_template {
                    self.template_samples = None;
                }
                self.form = *form;
            }
            Msg::TestTemplate => match self.form.scenario() {
                Ok(scenario) => self.send(Command::TestTemplate { scenario }),
                Err(e) => self.error = Some(e),
            },
            Msg::FromWorker(Event::AwsExport {
                stream_name,
                export,
            }) => {
                self.aws_export_of = stream_name.clone();
                self.aws_export = Some(export.map(|(script, template)| aws_view::AwsExport {
                    stream_name,
                    script,
                    template,
                }));
            }
            Msg::FromWorker(Event::SampleRecords { records }) => {
                self.template_samples = Some(template_view::Samples::Records(records))
            }
            Msg::FromWorker(Event::TemplateError {
                line,
                column,
                message,
            }) => {
                self.template_samples = Some(template_view::Samples::Error(line, column, message))
            }
            Msg::Create => match self.form.scenario() {
                Ok(scenario) => self.create_stream(scenario),
                Err(e) => self.error = Some(e),
            },
            Msg::Toggle => {
                let running = self
                    .live
                    .as_ref()
                    .is_some_and(|l| l.running || l.fast_forward_ms > 0);
                self.send(if running {
                    Command::Pause
                } else {
                    Command::Run
                });
            }
            Msg::Step => self.send(Command::Step),
            Msg::FastForward(ms) => self.send(Command::FastForward { ms }),
            Msg::SetRate(text) => match parse_rate(&text) {
                Ok(rate_per_sec) => self.send(Command::SetRate {
                    rate_per_sec,
                    producer: None,
                }),
                Err(e) => self.error = Some(e),
            },
            Msg::SetProducerRate(name, text) => match parse_rate(&text) {
                Ok(rate_per_sec) => self.send(Command::SetRate {
                    rate_per_sec,
                    producer: Some(name),
                }),
                Err(e) => self.error = Some(e),
            },
            Msg::SetSpeed(text) => match text.parse::<f64>() {
                Ok(speed) => self.send(Command::SetSpeed { speed }),
                Err(_) => self.error = Some(format!("Unknown speed {text}.")),
            },
            Msg::Split(shard_id) => self.send(Command::SplitShard { shard_id }),
            Msg::Merge(shard_id, adjacent_shard_id) => self.send(Command::MergeShards {
                shard_id,
                adjacent_shard_id,
            }),
            Msg::KillWorker(worker) => self.send(Command::KillWorker { worker }),
            Msg::SetRetention(text) => self.send_number(
                &text,
                "The retention period is a whole number of hours, 24 to 8760",
                |hours| Command::SetRetention { hours },
            ),
            Msg::SetConsumerPoll(name, text) => self.send_number(
                &text,
                "The poll interval is a whole number of milliseconds",
                |poll_ms| Command::SetConsumerPoll { name, poll_ms },
            ),
            Msg::ReplayFrom(name, text) => {
                self.replay_from.insert(name, text);
                return false;
            }
            Msg::Replay(name) => {
                let text = self.replay_from.get(&name).map_or("", |t| t.trim());
                let from = if text.is_empty() {
                    Ok(Replay::TrimHorizon)
                } else {
                    shardlab_sim::headless::parse_duration(text)
                        .map(|ms| Replay::AtTimestamp(SCENARIO_EPOCH_MS + ms))
                        .map_err(|e| {
                            format!(
                                "Replay from: {e}. Leave it empty for TRIM_HORIZON, or give a time since the stream was created, such as 30m."
                            )
                        })
                };
                match from {
                    Ok(from) => self.send(Command::ReplayConsumer { name, from }),
                    Err(e) => self.error = Some(e),
                }
            }
            Msg::SetQueueFailures(queue, text) => self.send_number(
                &text,
                "The failure rate is a whole percentage, 0 to 100",
                |percent| Command::SetQueueFailures { queue, percent },
            ),
            Msg::SetFanOut(name, fan_out) => {
                self.send(Command::SetConsumerFanOut { name, fan_out })
            }
            Msg::KclWorker(app, worker, start) => self.send(if start {
                Command::StartKclWorker { app, worker }
            } else {
                Command::StopKclWorker { app, worker }
            }),
            Msg::UpdateMapping(name, update) => {
                // What is shared and moved to AWS follows (when the worker
                // will accept it: the same check).
                let changed = self.created_scenario.as_mut().and_then(|s| {
                    let c = s.consumers.iter_mut().find(|c| c.name == name)?;
                    let next = update.apply(c.lambda.as_ref()?);
                    next.validate(&name).ok()?;
                    c.lambda = Some(next);
                    Some(s.clone())
                });
                self.send(Command::UpdateEventSourceMapping { name, update });
                if let Some(scenario) = changed {
                    self.send(Command::ExportAws { scenario });
                }
            }
            Msg::FunctionDraft(function, source) => {
                self.function_drafts.insert(function, source);
            }
            Msg::DeployFunction(function) => {
                let Some(source) = self.function_drafts.get(&function).cloned() else {
                    return false;
                };
                let code = FunctionCode::Javascript(source);
                let checked = LambdaFunction {
                    name: function.clone(),
                    code: code.clone(),
                }
                .validate();
                if let Err(e) = checked {
                    self.error = Some(e);
                    return true;
                }
                let changed = self.created_scenario.as_mut().and_then(|s| {
                    let f = s.lambda_functions.iter_mut().find(|f| f.name == function)?;
                    f.code = code.clone();
                    Some(s.clone())
                });
                self.send(Command::UpdateFunctionCode { function, code });
                if let Some(scenario) = changed {
                    self.send(Command::ExportAws { scenario });
                }
            }
            Msg::SetOutage(sink, down) => self.send(Command::SetOutage { sink, down }),
            Msg::Browse(bucket, prefix) => {
                if let Some(b) = self.browser.as_mut() {
                    b.listing = true;
                }
                self.send(Command::ListObjects { bucket, prefix });
            }
            Msg::OpenObject(bucket, key) => self.send(Command::GetObject { bucket, key }),
            Msg::DownloadObject(bucket, key) => self.send(Command::DownloadObject { bucket, key }),
            Msg::RunRedshift(cluster, sql) => self.send(Command::RunRedshift { cluster, sql }),
            Msg::Search(domain, index, query) => self.send(Command::SearchIndex {
                domain,
                index,
                query,
            }),
            Msg::ClosePreview => {
                if let Some(b) = self.browser.as_mut() {
                    b.preview = None;
                }
            }
            Msg::SqlEdit(code) => self.sql.code = code,
            Msg::SqlExample(i) => {
                if let Some((_, code)) = sql_view::EXAMPLES.get(i) {
                    self.sql.code = code.to_string();
                    self.sql.error = None;
                    self.sql.revision += 1;
                }
            }
            Msg::SqlStartAt(start) => self.sql.start = start,
            Msg::SqlRun => {
                self.sql.error = None;
                self.sql.reset_results();
                self.send(Command::StartSql {
                    code: self.sql.code.clone(),
                    start: self.sql.start,
                    reference: Some(self.sql.reference.clone()),
                });
            }
            Msg::SqlStop => self.send(Command::StopSql),
            Msg::SqlPickStream(name) => {
                self.sql.reset_results();
                self.sql.stream = Some(name);
                if let Some(live) = &self.live {
                    self.sql.absorb(live.snapshot.sql.as_deref());
                }
            }
            Msg::SqlPickColumn(c) => self.sql.column = Some(c),
            Msg::SqlTranslate => {
                self.sql.error = None;
                self.send(Command::TranslateSql {
                    code: self.sql.code.clone(),
                    start: self.sql.start,
                });
            }
            Msg::SqlCloseFlink => self.sql.flink = None,
            Msg::SqlReferenceName(name) => self.sql.reference.name = name,
            Msg::SqlReferenceCsv(csv) => self.sql.reference.csv = csv,
            Msg::PresetsListed(Ok(list)) => self.presets = list,
            Msg::PresetsListed(Err(e)) => self.error = Some(e),
            Msg::LoadPreset(file) if file.is_empty() => {}
            Msg::LoadPreset(file) => ctx
                .link()
                .send_future(async move { Msg::PresetLoaded(presets::load(file).await) }),
            Msg::PresetLoaded(Ok(scenario)) => {
                self.error = None;
                self.template_samples = None;
                self.form = StreamForm::from(&scenario);
            }
            Msg::PresetLoaded(Err(e)) => self.error = Some(e),
            Msg::DismissError => self.error = None,
            Msg::ShareLink | Msg::DownloadWorkspace => {
                let download = matches!(msg, Msg::DownloadWorkspace);
                if let Some(workspace) = share_view::current(self) {
                    self.send(Command::PackWorkspace {
                        workspace,
                        download,
                    });
                }
                return false;
            }
            Msg::FromWorker(Event::WorkspacePacked {
                stream_name,
                fragment,
                file,
                download,
            }) => {
                if download {
                    let name = format!("{stream_name}.shardlab.json");
                    if let Err(e) = save_file(&name, file.as_bytes()) {
                        self.error = Some(format!("Could not save {name}: {e}"));
                    }
                    return false;
                }
                match share_view::link_for(&fragment) {
                    Ok(link) => self.share_link = Some(link),
                    Err(e) => self.error = Some(format!("Could not make the link: {e}")),
                }
            }
            Msg::FromWorker(Event::WorkspaceOpened { workspace }) => self.open_workspace(workspace),
            Msg::FromWorker(Event::WorkspaceError { link, message }) => {
                self.error = Some(if link {
                    format!("This link could not be opened: {message}.")
                } else {
                    format!("This workspace file could not be opened: {message}.")
                })
            }
            Msg::OpenAgentFile(input) => {
                ctx.link().send_future(async move {
                    Msg::AgentFileRead(
                        share_view::read_file_up_to(input, "agent", shardlab_sim::agent::MAX_BYTES)
                            .await,
                    )
                });
                return false;
            }
            Msg::AgentFileRead(read) => {
                let format = self
                    .form
                    .agent
                    .as_ref()
                    .map(|a| a.format)
                    .unwrap_or_default();
                let file = read.and_then(|(name, bytes)| {
                    let text = String::from_utf8(bytes)
                        .map_err(|_| format!("{name} is not UTF-8 text"))?;
                    shardlab_sim::agent::AgentFile::from_text(&name, &text, format)
                });
                match file {
                    Ok(file) => {
                        self.form.agent = Some(file);
                        // The file's lines replace the template's records.
                        self.form.record_template.clear();
                        self.error = None;
                    }
                    Err(e) => self.error = Some(format!("The agent cannot send this file: {e}")),
                }
            }
            Msg::AgentFormat(format) => {
                if let Some(a) = &self.form.agent {
                    // The options belong to a format: a new one starts without.
                    let next = shardlab_sim::agent::AgentFile {
                        format,
                        custom_field_names: None,
                        match_pattern: None,
                        delimiter: None,
                        ..a.clone()
                    };
                    match next.validate() {
                        Ok(()) => self.form.agent = Some(next),
                        Err(e) => {
                            self.error = Some(format!("The agent cannot send this file: {e}"))
                        }
                    }
                }
            }
            Msg::OpenWorkspaceFile(input) => {
                ctx.link().send_future(async move {
                    Msg::WorkspaceFileRead(share_view::read_file(input, "workspace").await)
                });
                return false;
            }
            Msg::WorkspaceFileRead(bytes) => match bytes {
                Ok(bytes) => self.send(Command::OpenWorkspaceFile { bytes }),
                Err(e) => {
                    self.error = Some(format!("This workspace file could not be opened: {e}."))
                }
            },
            Msg::ExercisesListed(Ok(list)) => self.exercises = list,
            Msg::ExercisesListed(Err(e)) => self.error = Some(e),
            Msg::StartExercise(file) if file.is_empty() => self.exercise = None,
            Msg::StartExercise(file) => ctx
                .link()
                .send_future(async move { Msg::ExerciseLoaded(exercise_view::load(file).await) }),
            Msg::ExerciseLoaded(Err(e)) => self.error = Some(e),
            Msg::ExerciseLoaded(Ok((file, source))) => {
                match shardlab_lessons::exercise::parse(&source) {
                    Ok(exercise) => {
                        let scenario = exercise.scenario.clone();
                        self.lesson = None;
                        self.exercise = Some(exercise_view::Active::new(source, exercise, file));
                        self.create_lesson_stream(scenario);
                    }
                    Err(e) => self.error = Some(format!("This exercise could not be opened: {e}.")),
                }
            }
            Msg::OpenExerciseFile(input) => {
                ctx.link().send_future(async move {
                    Msg::ExerciseLoaded(share_view::read_file(input, "exercise").await.and_then(
                        |bytes| {
                            String::from_utf8(bytes)
                                .map(|text| (None, text))
                                .map_err(|_| "This exercise file is not text (UTF-8).".to_string())
                        },
                    ))
                });
                return false;
            }
            // Rendered again so that the name is saved (see `rendered`).
            Msg::ExerciseStudent(name) => {
                if let Some(x) = self.exercise.as_mut() {
                    x.student = name;
                }
            }
            Msg::GradeExercise => {
                let Some(x) = self.exercise.as_mut() else {
                    return false;
                };
                x.grading = true;
                let (scenario, sql) = match x.exercise.submit {
                    shardlab_lessons::exercise::Submit::Stream => {
                        (self.created_scenario.clone(), None)
                    }
                    shardlab_lessons::exercise::Submit::Sql => (None, Some(self.sql.code.clone())),
                };
                let command = Command::GradeExercise {
                    exercise: x.source.clone(),
                    student: x.student.clone(),
                    scenario,
                    sql,
                };
                self.send(command);
            }
            Msg::FromWorker(Event::ExerciseGraded { result }) => {
                if let Some(x) = self.exercise.as_mut() {
                    x.grading = false;
                    match shardlab_lessons::exercise::GradeResult::from_file(&result) {
                        // A grade of an exercise left since is not this one's.
                        Ok(r) if r.exercise_digest != x.exercise.digest => {}
                        Ok(r) => {
                            x.result = Some(r);
                            x.result_file = Some(result);
                        }
                        Err(e) => self.error = Some(format!("The grade could not be read: {e}.")),
                    }
                }
            }
            Msg::DownloadExerciseResult => {
                if let Some((name, text)) = self.exercise.as_ref().and_then(|x| {
                    x.result_file
                        .clone()
                        .map(|t| (exercise_view::result_file_name(x), t))
                }) {
                    if let Err(e) = save_file(&name, text.as_bytes()) {
                        self.error = Some(format!("Could not save {name}: {e}"));
                    }
                }
                return false;
            }
            Msg::ShareExercise => match self.exercise.as_ref() {
                Some(x) => match &x.file {
                    Some(file) => {
                        let fragment = format!("{}{file}", share_view::SITE_EXERCISE_KEY);
                        match share_view::link_for(&fragment) {
                            Ok(link) => {
                                if let Some(x) = self.exercise.as_mut() {
                                    x.link = Some(link);
                                }
                            }
                            Err(e) => self.error = Some(format!("Could not make the link: {e}")),
                        }
                    }
                    None => {
                        let source = x.source.clone();
                        self.send(Command::PackExercise { source });
                        return false;
                    }
                },
                None => return false,
            },
            Msg::FromWorker(Event::ExercisePacked { fragment }) => {
                match share_view::link_for(&fragment) {
                    Ok(link) => {
                        if let Some(x) = self.exercise.as_mut() {
                            x.link = Some(link);
                        }
                    }
                    Err(e) => self.error = Some(format!("Could not make the link: {e}")),
                }
            }
            Msg::FromWorker(Event::ExerciseOpened { source }) => {
                ctx.link()
                    .send_message(Msg::ExerciseLoaded(Ok((None, source))));
                return false;
            }
            Msg::FromWorker(Event::ExerciseError { message }) => {
                if let Some(x) = self.exercise.as_mut() {
                    x.grading = false;
                }
                self.error = Some(format!("Exercise: {message}."));
            }
            Msg::Restored(Ok(Some(saved))) => {
                if self.ready {
                    self.apply_restore(ctx, saved);
                } else {
                    self.restore = Some(saved);
                }
            }
            Msg::Restored(Ok(None)) => self.restoring = false,
            Msg::Restored(Err(e)) => {
                self.restoring = false;
                self.notice = Some(format!("Your work will not be kept across reloads: {e}."));
            }
            Msg::LessonResumed(loaded, step, hints, scenario) => {
                self.restoring = false;
                match *loaded {
                    Ok((file, lesson, _)) => {
                        let mut active =
                            lessons_view::Active::new(file, lesson, scenario.stream_name.clone());
                        active.step = step.min(active.lesson.steps.len());
                        active.hints = hints;
                        self.lesson = Some(active);
                    }
                    Err(e) => {
                        self.notice = Some(format!(
                            "The lesson you were following could not be restored: {e}"
                        ))
                    }
                }
                self.create_lesson_stream(*scenario);
            }
            Msg::WorkSaved(Ok(json)) => self.stored_json = json,
            Msg::WorkSaved(Err(e)) => {
                self.notice = Some(format!(
                    "Your work could not be saved in this browser: {e}."
                ))
            }
            Msg::DismissNotice => self.notice = None,
            Msg::ConsoleCode(code) => {
                self.console.code = Some(code);
                return false;
            }
            Msg::ConsoleRun => {
                let stream = self
                    .live
                    .as_ref()
                    .map(|l| l.snapshot.stream_name.clone())
                    .unwrap_or_default();
                let code = self.console.code(&stream);
                self.console.output.push(console_view::LogLine {
                    level: "run".into(),
                    text: "▶ Run".into(),
                });
                if let Err(e) = self
                    .console
                    .run(&code, ctx.link().callback(Msg::FromConsole))
                {
                    self.error = Some(e);
                    self.console.running = false;
                }
            }
            Msg::ConsoleStop => {
                self.console.stop();
                self.console.output.push(console_view::LogLine {
                    level: "error".into(),
                    text: "Stopped.".into(),
                });
            }
            Msg::ConsoleClear => self.console.output.clear(),
            Msg::FromConsole(message) => {
                use console_view::FromConsole;
                match message {
                    FromConsole::Api { api } => {
                        let id = self.console.track(api.id);
                        self.send(Command::KinesisApi {
                            id,
                            operation: api.operation,
                            body: api.body,
                        });
                        return false;
                    }
                    FromConsole::Log { log } => self.console.output.push(log),
                    FromConsole::Done { .. } => {
                        self.console.running = false;
                        self.console.output.push(console_view::LogLine {
                            level: "done".into(),
                            text: "✓ Done.".into(),
                        });
                    }
                    FromConsole::Error { error } => {
                        self.console.running = false;
                        self.console.output.push(console_view::LogLine {
                            level: "error".into(),
                            text: format!("✗ {error}"),
                        });
                    }
                    FromConsole::Crashed(error) => {
                        self.console.stop();
                        self.console.output.push(console_view::LogLine {
                            level: "error".into(),
                            text: format!("✗ {error}"),
                        });
                    }
                    FromConsole::Ready { .. } => return false,
                }
                // Bounded: a loop that logs forever cannot fill the page.
                let excess = self.console.output.len().saturating_sub(500);
                self.console.output.drain(..excess);
            }
            Msg::FromWorker(Event::ApiReplies { replies }) => {
                for reply in &replies {
                    self.console.reply(reply);
                }
                return false;
            }
            Msg::ToggleProjector => {
                self.projector = !self.projector;
                persist::set_projector(self.projector);
            }
            Msg::SaveText(file, text) => {
                if let Err(e) = save_file(&file, text.as_bytes()) {
                    self.error = Some(format!("Could not save {file}: {e}"));
                }
                return false;
            }
            Msg::LessonsListed(Ok(list)) => self.lessons = list,
            Msg::LessonsListed(Err(e)) => self.error = Some(e),
            Msg::StartLesson(file) if file.is_empty() => self.lesson = None,
            Msg::StartLesson(file) => ctx.link().send_future(async move {
                Msg::LessonLoaded(Box::new(lessons_view::load(file).await))
            }),
            Msg::LessonLoaded(loaded) => match *loaded {
                Ok((file, lesson, scenario)) => {
                    self.exercise = None;
                    self.lesson = Some(lessons_view::Active::new(
                        file,
                        lesson,
                        scenario.stream_name.clone(),
                    ));
                    self.create_lesson_stream(scenario);
                }
                Err(e) => self.error = Some(e),
            },
            Msg::LessonLink => {
                if let Some(lesson) = self.lesson.as_mut() {
                    match share_view::link_for(&format!(
                        "{}{}",
                        share_view::LESSON_KEY,
                        lesson.file
                    )) {
                        Ok(link) => lesson.link = Some(link),
                        Err(e) => self.error = Some(format!("Could not make the link: {e}")),
                    }
                }
            }
            Msg::LessonHint => {
                if let Some(lesson) = self.lesson.as_mut() {
                    lesson.hints += 1;
                }
            }
            Msg::LessonSolve => {
                let actions = self
                    .lesson
                    .as_ref()
                    .and_then(|l| l.lesson.steps.get(l.step))
                    .map(|step| step.solution.clone())
                    .unwrap_or_default();
                self.perform(ctx, actions);
            }
            Msg::LessonScenario(Ok(scenario), rest) => {
                self.create_lesson_stream(scenario);
                self.perform(ctx, rest);
            }
            Msg::LessonScenario(Err(e), _) => self.error = Some(e),
        }
        true
    }
}

/// Offers `bytes` as a file download named after the key's last part.
fn save_file(key: &str, bytes: &[u8]) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "not an anchor")?;
    a.set_href(&url);
    a.set_download(key.rsplit('/').next().unwrap_or(key));
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Mounts the app; the page's JS bootstrap calls this after loading the wasm.
#[wasm_bindgen]
pub fn start_ui() {
    console_error_panic_hook::set_once();
    let root = mount_point();
    match root {
        Some(el) => {
            yew::Renderer::<App>::with_root(el).render();
        }
        None => {
            yew::Renderer::<App>::new().render();
        }
    }
}

fn mount_point() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id("app")
}

#[cfg(test)]
mod form_tests {
    use super::*;
    use shardlab_sim::consumer::ConsumerSpec;

    #[test]
    fn every_preset_comes_back_from_the_form() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../static/scenarios");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == "index.json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let scenario = shardlab_sim::headless::parse_scenario(&text).unwrap();
            let back = StreamForm::from(&scenario).scenario().unwrap();
            if scenario.delivery_streams.is_empty() {
                assert_eq!(back, scenario, "{}", path.display());
            } else {
                // The form names its transform function `transform`, and
                // writes the processor with only its ARN.
                assert_eq!(back.consumers, scenario.consumers, "{}", path.display());
                assert_eq!(
                    back.delivery_streams.len(),
                    scenario.delivery_streams.len(),
                    "{}",
                    path.display()
                );
            }
            checked += 1;
        }
        assert!(checked >= 20, "{checked} presets");
    }

    #[test]
    fn the_output_stream_field_makes_a_stream_and_the_applications_output() {
        let mut form = StreamForm {
            output_stream: "alerts".into(),
            output_stream_shards: "2".into(),
            ..StreamForm::default()
        };
        let s = form.scenario().unwrap();
        assert_eq!(
            s.output_streams,
            vec![shardlab_sim::simulation::OutputStream {
                name: "alerts".into(),
                shard_count: 2
            }]
        );
        assert_eq!(s.sql_outputs.len(), 1);
        assert_eq!(s.sql_outputs[0].name, "DESTINATION_SQL_STREAM");
        assert_eq!(s.sql_outputs[0].data_stream(), Some("alerts"));
        // Renamed: the output follows; emptied: both go.
        form.output_stream = "alarms".into();
        let s = form.scenario().unwrap();
        assert_eq!(s.sql_outputs[0].data_stream(), Some("alarms"));
        form.output_stream = " ".into();
        let s = form.scenario().unwrap();
        assert!(
            s.output_streams.is_empty() && s.sql_outputs.is_empty(),
            "{s:?}"
        );
        form.output_stream = "alerts".into();
        form.output_stream_shards = "x".into();
        assert!(form
            .scenario()
            .unwrap_err()
            .contains("output stream's shards"));
        // A preset's output keeps its stream name and format through a
        // rename; a preset's output stream no output writes to stays so.
        let mut preset = StreamForm {
            output_stream_shards: "1".into(),
            ..form.clone()
        }
        .scenario()
        .unwrap();
        preset.sql_outputs[0].name = "ALERTS".into();
        preset.sql_outputs[0].schema.format = shardlab_sim::sql::RecordFormat::CSV;
        let mut form = StreamForm::from(&preset);
        form.output_stream = "alarms".into();
        let s = form.scenario().unwrap();
        assert_eq!(s.sql_outputs.len(), 1);
        assert_eq!(s.sql_outputs[0].name, "ALERTS");
        assert_eq!(s.sql_outputs[0].data_stream(), Some("alarms"));
        assert_eq!(
            s.sql_outputs[0].schema.format,
            shardlab_sim::sql::RecordFormat::CSV
        );
        preset.sql_outputs.clear();
        assert_eq!(StreamForm::from(&preset).scenario().unwrap(), preset);
    }

    #[test]
    fn an_http_endpoint_preset_is_edited_and_keeps_what_the_form_does_not_show() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../static/scenarios/clicks-to-http.json");
        let scenario =
            shardlab_sim::headless::parse_scenario(&std::fs::read_to_string(path).unwrap())
                .unwrap();
        let mut form = StreamForm::from(&scenario);
        let f = &form.firehose;
        assert!(f.http && !f.parquet);
        assert_eq!(
            (
                f.http_url.as_str(),
                f.http_retry_s.as_str(),
                f.size_mb.as_str(),
                f.interval_s.as_str()
            ),
            ("http://localhost:9000/firehose", "60", "1", "10")
        );
        form.firehose.http_url = "https://example.com/in".into();
        form.firehose.http_gzip = true;
        form.firehose.http_access_key = "k".into();
        let back = form.scenario().unwrap();
        let d = &back.delivery_streams[0];
        assert!(d.get("ExtendedS3DestinationConfiguration").is_none(), "{d}");
        let h = &d["HttpEndpointDestinationConfiguration"];
        assert_eq!(
            h["EndpointConfiguration"],
            serde_json::json!({"Url": "https://example.com/in", "Name": "shardlab receive", "AccessKey": "k"})
        );
        assert_eq!(h["RequestConfiguration"]["ContentEncoding"], "GZIP");
        assert_eq!(
            h["RequestConfiguration"]["CommonAttributes"][0]["AttributeName"],
            "source"
        );
        assert_eq!(h["BufferingHints"]["IntervalInSeconds"], 10);
        assert_eq!(h["S3Configuration"]["Prefix"], "http-backup/");
        assert_eq!(
            h["S3Configuration"]["BucketARN"],
            "arn:aws:s3:::shardlab-backup"
        );
        assert!(h["S3Configuration"]
            .get("ProcessingConfiguration")
            .is_none());
        // Back to S3: the same bucket, as the destination.
        form.firehose.http = false;
        let back = form.scenario().unwrap();
        let d = &back.delivery_streams[0];
        assert!(
            d.get("HttpEndpointDestinationConfiguration").is_none(),
            "{d}"
        );
        assert_eq!(
            d["ExtendedS3DestinationConfiguration"]["BucketARN"],
            "arn:aws:s3:::shardlab-backup"
        );
    }

    #[test]
    fn the_form_gives_back_a_presets_consumers_in_their_order() {
        let scenario = Scenario {
            stream_name: "orders".into(),
            shard_count: 2,
            seed: 1,
            rate_per_sec: 10,
            consumers: vec![
                ConsumerSpec::kcl("billing", 1000, 2, 10_000),
                ConsumerSpec::polling("dashboard", 200),
                ConsumerSpec::fan_out("alerts"),
            ],
            ..Default::default()
        };
        let form = StreamForm::from(&scenario);
        assert_eq!(form.scenario().unwrap(), scenario);
        // A form changed since (a consumer more) puts polling ones first.
        let mut changed = form.clone();
        changed.consumer_polls.push_str(", 500");
        let names: Vec<String> = changed
            .scenario()
            .unwrap()
            .consumers
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            [
                "consumer-app-1",
                "consumer-app-2",
                "consumer-app-3",
                "billing"
            ]
        );
    }
}
