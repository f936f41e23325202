//! Moving to AWS: the AWS CLI commands and the CloudFormation template that
//! create on AWS what a scenario makes in the playground — its stream, the
//! Firehose delivery streams with their buckets, OpenSearch domains and
//! Lambda functions, and the IAM roles they need — with notes for what has
//! no resource of its own (consumer applications, the producer).
//!
//! Names follow the scenario, except buckets: S3 bucket names are global,
//! so each gets the account id as a suffix (`shardlab-lab` becomes
//! `shardlab-lab-<account>`). Account and region are left to the shell
//! (`${ACCOUNT}`, `${REGION}`) or to CloudFormation (`AWS::AccountId`).

use std::collections::BTreeSet;

use base64::Engine;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::lambda::{FunctionCode, LambdaFunction};
use crate::{Scenario, SimError};

/// One step of the CLI script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Words after `aws`, with `${ACCOUNT}` and `${REGION}` left for the shell.
    Aws(Vec<String>),
    /// A shell command (writing a Lambda function's source, zipping it).
    Shell(String),
    /// A comment for the reader.
    Note(String),
}

/// The Node.js runtime the generated functions use.
pub const LAMBDA_RUNTIME: &str = "nodejs24.x";
/// The OpenSearch version and the smallest domain the generated ones use.
pub const OPENSEARCH_VERSION: &str = "OpenSearch_2.11";

const ACCOUNT: &str = "${ACCOUNT}";
const REGION: &str = "${REGION}";

/// What the scenario's delivery streams refer to, found in their requests.
#[derive(Default)]
struct Refs {
    buckets: BTreeSet<String>,
    domains: BTreeSet<String>,
    functions: BTreeSet<String>,
}

/// What an ARN in a delivery stream request points at.
enum Target {
    Stream,
    Role,
    Bucket(String),
    Domain(String),
    Function(String),
}

/// Read with the same helpers Firehose reads its requests with, so that
/// whatever the playground accepts exports (a qualified function ARN,
/// `...:function:name:$LATEST`, names the function).
fn target(s: &str) -> Option<Target> {
    use shardlab_firehose::opensearch::domain_name;
    use shardlab_firehose::{bucket::bucket_name, config::lambda_function_name};
    if s.starts_with("arn:aws:kinesis:") && crate::firehose_source::stream_name_of(s).is_some() {
        return Some(Target::Stream);
    }
    if s.starts_with("arn:aws:iam:") && s.contains(":role/") {
        return Some(Target::Role);
    }
    if let Some(b) = bucket_name(s) {
        return Some(Target::Bucket(b.to_string()));
    }
    if let Some(d) = domain_name(s).filter(|_| s.starts_with("arn:aws:es:")) {
        return Some(Target::Domain(d.to_string()));
    }
    lambda_function_name(s).map(|f| Target::Function(f.to_string()))
}

/// Rewrites every ARN in `value` with `map`, collecting what they name.
fn rewrite(value: &Value, refs: &mut Refs, map: &dyn Fn(&Target) -> Value) -> Value {
    match value {
        Value::String(s) => match target(s) {
            Some(t) => {
                match &t {
                    Target::Stream | Target::Role => {}
                    Target::Bucket(b) => {
                        refs.buckets.insert(b.clone());
                    }
                    Target::Domain(d) => {
                        refs.domains.insert(d.clone());
                    }
                    Target::Function(f) => {
                        refs.functions.insert(f.clone());
                    }
                }
                map(&t)
            }
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| rewrite(v, refs, map)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), rewrite(v, refs, map)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn bucket_name(bucket: &str, account: &str) -> String {
    format!("{bucket}-{account}")
}

fn firehose_role(scenario: &Scenario) -> String {
    format!("{}-firehose", scenario.stream_name)
}

fn lambda_role(scenario: &Scenario) -> String {
    format!("{}-lambda", scenario.stream_name)
}

/// A CloudFormation logical id from a name: letters and digits, each word
/// capitalised (`purchases-to-s3` → `PurchasesToS3`).
fn logical(prefix: &str, name: &str) -> String {
    let mut out = prefix.to_string();
    for word in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

/// The Node.js handler of a scenario function: its own source, or the
/// built-in's behaviour written out (the playground runs built-ins in Rust;
/// these do the same in Lambda's Node.js runtime).
pub fn lambda_source(code: &FunctionCode) -> String {
    const DECODE: &str = "\
// Firehose's record transformation contract: each record back with its
// recordId, a result (Ok, Dropped or ProcessingFailed) and base64 data.
const decode = (r) => {
  try {
    const value = JSON.parse(Buffer.from(r.data, 'base64').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
};
const failed = (r) => ({ recordId: r.recordId, result: 'ProcessingFailed', data: r.data });
";
    // Deep equality of JSON values, as serde_json compares them.
    const SAME: &str = "\
const same = (a, b) => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]));
};
";
    // From Kinesis (an event source mapping): the answer; with a tumbling
    // window also the state, the records before the lowest failed one
    // counted per partition key (as the playground's built-ins do).
    const STREAM: &str = "\
const stream = (event, failures) => {
  if (!event.window) return { batchItemFailures: failures };
  const state = event.state || {};
  const failed = failures.length ? failures[0].itemIdentifier : undefined;
  for (const r of event.Records) {
    if (r.kinesis.sequenceNumber === failed) break;
    state[r.kinesis.partitionKey] = (state[r.kinesis.partitionKey] || 0) + 1;
  }
  return { batchItemFailures: failures, state };
};
";
    match code {
        FunctionCode::Javascript(src) => src.clone(),
        FunctionCode::SelectFields(fields) => format!(
            "// Keeps only these fields of each JSON object record, in this order.\n\
             const FIELDS = {fields};\n{DECODE}\
             {STREAM}\
             exports.handler = async (event) => event.Records ? stream(event, []) : ({{\n\
             \x20 records: event.records.map((r) => {{\n\
             \x20   const record = decode(r);\n\
             \x20   if (record === undefined) return failed(r);\n\
             \x20   const picked = {{}};\n\
             \x20   for (const f of FIELDS) {{\n\
             \x20     if (Object.prototype.hasOwnProperty.call(record, f)) picked[f] = record[f];\n\
             \x20   }}\n\
             \x20   return {{ recordId: r.recordId, result: 'Ok', data: Buffer.from(JSON.stringify(picked)).toString('base64') }};\n\
             \x20 }}),\n\
             }});\n",
            fields = Value::from(fields.clone())
        ),
        FunctionCode::KeepIf { field, equals } => format!(
            "// Keeps the JSON object records whose field {field} equals {equals}; drops the others.\n\
             const FIELD = {field_json};\n\
             const EQUALS = {equals};\n{DECODE}\
             {SAME}{STREAM}\
             exports.handler = async (event) => event.Records ? stream(event, []) : ({{\n\
             \x20 records: event.records.map((r) => {{\n\
             \x20   const record = decode(r);\n\
             \x20   if (record === undefined) return failed(r);\n\
             \x20   const keep = Object.prototype.hasOwnProperty.call(record, FIELD) && same(record[FIELD], EQUALS);\n\
             \x20   return {{ recordId: r.recordId, result: keep ? 'Ok' : 'Dropped', data: r.data }};\n\
             \x20 }}),\n\
             }});\n",
            field_json = Value::from(field.as_str()),
        ),
        FunctionCode::FailIf {
            field,
            equals,
            report_item_failures,
        } => format!(
            "// Fails on the JSON object records whose field {field} equals {equals}, and on\n\
             // records that are not JSON objects. From Kinesis (an event source mapping) it\n\
             // {kinesis}; as a Firehose transform it marks them ProcessingFailed.\n\
             const FIELD = {field_json};\n\
             const EQUALS = {equals};\n\
             const REPORT = {report_item_failures};\n{DECODE}\
             {SAME}\
             // Why a record fails, or undefined when it does not.\n\
             const why = (data, id) => {{\n\
             \x20 const record = decode({{ data }});\n\
             \x20 if (record === undefined) return `record ${{id}} is not a JSON object`;\n\
             \x20 const has = Object.prototype.hasOwnProperty.call(record, FIELD) && same(record[FIELD], EQUALS);\n\
             \x20 return has ? `record ${{id}} has ${{FIELD}} = ${{JSON.stringify(EQUALS)}}` : undefined;\n\
             }};\n\
             const bad = (data) => why(data, '') !== undefined;\n\
             {STREAM}\
             exports.handler = async (event) => {{\n\
             \x20 if (event.Records) {{\n\
             \x20   const failures = [];\n\
             \x20   for (const r of event.Records) {{\n\
             \x20     const reason = why(r.kinesis.data, r.kinesis.sequenceNumber);\n\
             \x20     if (reason === undefined) continue;\n\
             \x20     if (!REPORT) throw new Error(reason);\n\
             \x20     failures.push({{ itemIdentifier: r.kinesis.sequenceNumber }});\n\
             \x20   }}\n\
             \x20   return stream(event, failures);\n\
             \x20 }}\n\
             \x20 return {{\n\
             \x20   records: event.records.map((r) =>\n\
             \x20     bad(r.data) ? failed(r) : {{ recordId: r.recordId, result: 'Ok', data: r.data }}),\n\
             \x20 }};\n\
             }};\n",
            kinesis = if *report_item_failures {
                "returns them as batchItemFailures (ReportBatchItemFailures)"
            } else {
                "throws, failing the whole batch"
            },
            field_json = Value::from(field.as_str()),
        ),
    }
}

fn trust_policy(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// The account and region placeholders of a policy, and what makes an ARN
/// from text with them: CloudFormation's `Fn::Sub` (`sub`), or CLI text.
fn arn_maker(sub: bool) -> (&'static str, &'static str, impl Fn(String) -> Value) {
    let (account, region) = if sub {
        ("${AWS::AccountId}", "${AWS::Region}")
    } else {
        (ACCOUNT, REGION)
    };
    let arn = move |s: String| {
        if sub {
            json!({ "Fn::Sub": s })
        } else {
            json!(s)
        }
    };
    (account, region, arn)
}

/// What the delivery streams' role may do, with `arn` making each ARN
/// (CLI text, or CloudFormation's `Fn::Sub`).
fn firehose_policy(scenario: &Scenario, refs: &Refs, sub: bool) -> Value {
    let (account, region, arn) = arn_maker(sub);
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
        "Resource": arn(format!("arn:aws:kinesis:{region}:{account}:stream/{}", scenario.stream_name)),
    })];
    if !refs.buckets.is_empty() {
        let resources: Vec<Value> = refs
            .buckets
            .iter()
            .flat_map(|b| {
                let name = bucket_name(b, account);
                [
                    arn(format!("arn:aws:s3:::{name}")),
                    arn(format!("arn:aws:s3:::{name}/*")),
                ]
            })
            .collect();
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"],
            "Resource": resources,
        }));
    }
    if !refs.functions.is_empty() {
        let resources: Vec<Value> = refs
            .functions
            .iter()
            .map(|f| arn(format!("arn:aws:lambda:{region}:{account}:function:{f}")))
            .collect();
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
            "Resource": resources,
        }));
    }
    if !refs.domains.is_empty() {
        let resources: Vec<Value> = refs
            .domains
            .iter()
            .flat_map(|d| {
                [
                    arn(format!("arn:aws:es:{region}:{account}:domain/{d}")),
                    arn(format!("arn:aws:es:{region}:{account}:domain/{d}/*")),
                ]
            })
            .collect();
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["es:DescribeDomain", "es:DescribeDomains", "es:DescribeDomainConfig", "es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut"],
            "Resource": resources,
        }));
    }
    let databases = glue_databases(scenario);
    if !databases.is_empty() {
        // Format conversion reads its schema from these tables.
        let mut resources = vec![arn(format!("arn:aws:glue:{region}:{account}:catalog"))];
        for d in &databases {
            resources.push(arn(format!("arn:aws:glue:{region}:{account}:database/{d}")));
            resources.push(arn(format!("arn:aws:glue:{region}:{account}:table/{d}/*")));
        }
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
            "Resource": resources,
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The Glue databases the scenario's tables are in, in lower case (as
/// Glue stores names), each once.
fn glue_databases(scenario: &Scenario) -> Vec<String> {
    let names: BTreeSet<String> = scenario
        .glue_tables
        .iter()
        .filter_map(|t| t.get("DatabaseName").and_then(Value::as_str))
        .map(str::to_lowercase)
        .collect();
    names.into_iter().collect()
}

/// The delivery streams' CreateDeliveryStream requests as the scenario
/// makes them (its source filled in).
fn requests(scenario: &Scenario) -> Result<Vec<Value>, SimError> {
    let arn = shardlab_engine::stream_arn(crate::simulation::REGION, &scenario.stream_name);
    scenario
        .delivery_streams
        .iter()
        .map(|spec| crate::firehose_source::create_request(spec, &arn).map_err(SimError::Api))
        .collect()
}

/// A Redshift cluster a delivery stream COPYs into: identifier, database,
/// master user and password (from the delivery stream's request).
struct RedshiftCluster {
    id: String,
    database: String,
    user: String,
    password: String,
}

fn redshift_clusters(requests: &[Value]) -> Vec<RedshiftCluster> {
    let mut out: Vec<RedshiftCluster> = Vec::new();
    for r in requests {
        let d = &r["RedshiftDestinationConfiguration"];
        let Some((id, database)) = d["ClusterJDBCURL"]
            .as_str()
            .and_then(shardlab_firehose::config::jdbc_cluster)
        else {
            continue;
        };
        if out.iter().any(|c| c.id == id) {
            continue;
        }
        out.push(RedshiftCluster {
            id: id.to_string(),
            database: database.to_string(),
            user: d["Username"].as_str().unwrap_or("firehose").to_string(),
            password: d["Password"].as_str().unwrap_or_default().to_string(),
        });
    }
    out
}

/// A cluster's password, resolved from its secret when the stack is made.
fn redshift_password(cluster: &str) -> Value {
    json!({"Fn::Sub": format!(
        "{{{{resolve:secretsmanager:${{{}}}:SecretString:password}}}}",
        logical("RedshiftSecret", cluster)
    )})
}

fn consumer_notes(scenario: &Scenario) -> Vec<String> {
    let mut notes: Vec<String> = scenario
        .consumers
        .iter()
        .map(|c| {
            if let Some(l) = &c.lambda {
                return format!(
                    "Consumer '{}' is a Lambda event source mapping of function {} (below). In the playground the function takes {} ms per invocation plus {} ms per record; on AWS it takes what its code takes.",
                    c.name, l.function, l.invocation_ms, l.ms_per_record
                );
            }
            let mut note = format!(
                "Consumer application '{}' is your code, not a resource: with the KCL, name the application '{}' (it creates its DynamoDB lease table of that name), set idleTimeBetweenReadsInMillis to {} and initialPositionInStream to {}.",
                c.name,
                c.name,
                c.poll_ms,
                starting_position(c)
            );
            if let Some(k) = &c.kcl {
                note.push_str(&format!(
                    " Run it on {} instances (each a KCL worker) and checkpoint every {} ms in your record processor.",
                    k.workers, k.checkpoint_ms
                ));
            }
            note
        })
        .collect();
    match &scenario.agent {
        Some(agent) => notes.push(agent_note(scenario, agent)),
        None => notes.push(format!(
            "The producer is your code too: {} records/s, e.g. from the Amazon Kinesis Data Generator or the KPL; one of its records is put below (CLI v2 takes --data in base64).",
            scenario.rate_per_sec
        )),
    }
    for p in &scenario.producers {
        notes.push(format!(
            "The producer {} is your code too: {} records/s{}, with PutRecords calls of its own.",
            p.name,
            p.rate_per_sec,
            if p.record_template.is_some() {
                " from its record template (e.g. in the Amazon Kinesis Data Generator)"
            } else {
                ""
            }
        ));
    }
    notes
}

/// How the Amazon Kinesis Agent sends the agent's file: its flow in
/// /etc/aws-kinesis/agent.json.
fn agent_note(scenario: &Scenario, agent: &crate::agent::AgentFile) -> String {
    let mut flow = json!({
        "filePattern": format!("/var/log/shardlab/{}*", agent.name),
        "kinesisStream": scenario.stream_name,
        "partitionKeyOption": "RANDOM",
    });
    if agent.format == crate::agent::AgentFormat::CsvToJson {
        let delimiter = agent.delimiter.clone().unwrap_or_else(|| ",".into());
        let names: Vec<String> = match &agent.custom_field_names {
            Some(names) => names.clone(),
            None => {
                // The header line names the columns; the agent skips it.
                flow["skipHeaderLines"] = json!(1);
                agent
                    .lines
                    .first()
                    .map(|h| {
                        h.split(delimiter.as_str())
                            .map(|f| f.trim().trim_matches('"').to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            }
        };
        flow["dataProcessingOptions"] = json!([{
            "optionName": "CSVTOJSON",
            "customFieldNames": names,
            "delimiter": delimiter,
        }]);
    }
    if let Some(f) = agent.format.log_format() {
        let mut option = json!({"optionName": "LOGTOJSON", "logFormat": f});
        if let Some(p) = &agent.match_pattern {
            option["matchPattern"] = json!(p);
        }
        if let Some(names) = &agent.custom_field_names {
            option["customFieldNames"] = json!(names);
        }
        flow["dataProcessingOptions"] = json!([option]);
    }
    format!(
        "The records come from the file {}, one a line, as the Amazon Kinesis Agent sends a file it tails: put the file in /var/log/shardlab/ and give the agent this flow in /etc/aws-kinesis/agent.json: {}. One of the records is put below (CLI v2 takes --data in base64).",
        agent.name,
        json!({"flows": [flow]})
    )
}

/// Every function to create (the delivery streams', then the event source
/// mappings' in scenario order), and the SQS queues the mappings' failures
/// go to.
fn mapping_refs(scenario: &Scenario, refs: &Refs) -> (Vec<String>, Vec<String>) {
    let mut functions: Vec<String> = refs.functions.iter().cloned().collect();
    let mut queues = Vec::new();
    for l in scenario.consumers.iter().filter_map(|c| c.lambda.as_ref()) {
        if !functions.contains(&l.function) {
            functions.push(l.function.clone());
        }
        if let Some(q) = &l.on_failure {
            if !queues.contains(q) {
                queues.push(q.clone());
            }
        }
    }
    (functions, queues)
}

/// A function's timeout: the longest among the mappings that invoke it,
/// and at least 60 s when a delivery stream invokes it too (`refs`).
fn function_timeout(scenario: &Scenario, refs: &Refs, function: &str) -> u32 {
    let firehose = if refs.functions.contains(function) {
        60
    } else {
        0
    };
    scenario
        .consumers
        .iter()
        .filter_map(|c| c.lambda.as_ref())
        .filter(|l| l.function == function)
        .map(|l| l.timeout_s)
        .fold(firehose, u32::max)
}

/// A consumer's StartingPosition, as the APIs name it.
fn starting_position(c: &crate::consumer::ConsumerSpec) -> &'static str {
    match c.start {
        crate::consumer::StartAt::TrimHorizon => "TRIM_HORIZON",
        crate::consumer::StartAt::Latest => "LATEST",
    }
}

/// What the Lambda role may do besides writing logs: read the stream (for
/// event source mappings) and send to their failure queues.
fn mapping_policy(scenario: &Scenario, queues: &[String], sub: bool) -> Value {
    let (account, region, arn) = arn_maker(sub);
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards", "kinesis:ListStreams", "kinesis:SubscribeToShard"],
        "Resource": [
            arn(format!("arn:aws:kinesis:{region}:{account}:stream/{}", scenario.stream_name)),
            arn(format!("arn:aws:kinesis:{region}:{account}:stream/{}/consumer/*", scenario.stream_name)),
        ],
    })];
    if !queues.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": queues
                .iter()
                .map(|q| arn(format!("arn:aws:sqs:{region}:{account}:{q}")))
                .collect::<Vec<_>>(),
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The scenario's Lambda function `name`.
fn function<'a>(scenario: &'a Scenario, name: &str) -> Result<&'a LambdaFunction, SimError> {
    scenario
        .lambda_functions
        .iter()
        .find(|l| l.name == name)
        .ok_or_else(|| {
            SimError::Scenario(format!(
                "a delivery stream names the Lambda function {name}, which the scenario does not define"
            ))
        })
}

/// The CLI steps that create the scenario on AWS, in order.
pub fn cli_steps(scenario: &Scenario) -> Result<Vec<Step>, SimError> {
    // The stream's checks only: the delivery streams are checked where
    // they are created (this runs on the UI thread too, without Firehose).
    scenario.validate_stream()?;
    let name = &scenario.stream_name;
    let aws = |words: &[&str]| Step::Aws(words.iter().map(|w| w.to_string()).collect());
    let mut steps = vec![
        Step::Note(format!(
            "The data stream: {} provisioned shards, 24 h retention.",
            scenario.shard_count
        )),
        aws(&[
            "kinesis",
            "create-stream",
            "--stream-name",
            name,
            "--shard-count",
            &scenario.shard_count.to_string(),
            "--stream-mode-details",
            "StreamMode=PROVISIONED",
        ]),
        aws(&["kinesis", "wait", "stream-exists", "--stream-name", name]),
    ];
    for o in &scenario.output_streams {
        steps.push(Step::Note(format!(
            "The output stream {}: {} provisioned shards, written by the SQL application \
             (KinesisStreamsOutput). KDA for SQL takes no new applications; in Managed Service \
             for Apache Flink, the SQL panel's Flink SQL writes it with the Kinesis connector.",
            o.name, o.shard_count
        )));
        steps.push(aws(&[
            "kinesis",
            "create-stream",
            "--stream-name",
            &o.name,
            "--shard-count",
            &o.shard_count.to_string(),
            "--stream-mode-details",
            "StreamMode=PROVISIONED",
        ]));
        steps.push(aws(&[
            "kinesis",
            "wait",
            "stream-exists",
            "--stream-name",
            &o.name,
        ]));
    }
    steps.extend(consumer_notes(scenario).into_iter().map(Step::Note));
    for c in scenario.consumers.iter().filter(|c| c.fan_out) {
        steps.push(Step::Note(format!(
            "Consumer '{}' reads with enhanced fan-out: register it (SubscribeToShard then needs its ConsumerARN).",
            c.name
        )));
        steps.push(aws(&[
            "kinesis",
            "register-stream-consumer",
            "--stream-arn",
            &format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"),
            "--consumer-name",
            &c.name,
        ]));
    }
    if let Some(first) = scenario
        .first_records(1)
        .map_err(|e| SimError::Scenario(e.to_string()))?
        .first()
    {
        steps.push(aws(&[
            "kinesis",
            "put-record",
            "--stream-name",
            name,
            "--partition-key",
            &first.partition_key,
            "--data",
            &base64::engine::general_purpose::STANDARD.encode(&first.data),
        ]));
    }

    let mut refs = Refs::default();
    let role_name = firehose_role(scenario);
    let requests: Vec<Value> = requests(scenario)?
        .iter()
        .map(|r| {
            rewrite(r, &mut refs, &|t| {
                Value::String(match t {
                    Target::Stream => {
                        format!(
                            "arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{}",
                            scenario.stream_name
                        )
                    }
                    Target::Role => format!("arn:aws:iam::{ACCOUNT}:role/{role_name}"),
                    Target::Bucket(b) => format!("arn:aws:s3:::{}", bucket_name(b, ACCOUNT)),
                    Target::Domain(d) => format!("arn:aws:es:{REGION}:{ACCOUNT}:domain/{d}"),
                    Target::Function(f) => {
                        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{f}")
                    }
                })
            })
        })
        .collect();
    let (functions, failure_queues) = mapping_refs(scenario, &refs);
    for b in &refs.buckets {
        steps.push(Step::Note(format!(
            "Bucket {b}, named {b}-<account> on AWS (bucket names are global)."
        )));
        steps.push(Step::Aws(vec![
            "s3".into(),
            "mb".into(),
            format!("s3://{}", bucket_name(b, ACCOUNT)),
        ]));
    }
    for d in &refs.domains {
        steps.push(Step::Note(format!(
            "OpenSearch domain {d}: one small node. Creating it takes 15 to 20 minutes; the delivery stream needs it active."
        )));
        steps.push(aws(&[
            "opensearch",
            "create-domain",
            "--domain-name",
            d,
            "--engine-version",
            OPENSEARCH_VERSION,
            "--cluster-config",
            "InstanceType=t3.small.search,InstanceCount=1",
            "--ebs-options",
            "EBSEnabled=true,VolumeType=gp3,VolumeSize=10",
        ]));
    }
    if !functions.is_empty() {
        let lrole = lambda_role(scenario);
        steps.push(Step::Note(format!(
            "Lambda functions run as role {lrole}, which may write their logs."
        )));
        steps.push(Step::Aws(vec![
            "iam".into(),
            "create-role".into(),
            "--role-name".into(),
            lrole.clone(),
            "--assume-role-policy-document".into(),
            trust_policy("lambda.amazonaws.com").to_string(),
        ]));
        steps.push(aws(&[
            "iam",
            "attach-role-policy",
            "--role-name",
            &lrole,
            "--policy-arn",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        ]));
        if scenario.consumers.iter().any(|c| c.lambda.is_some()) {
            steps.push(Step::Note(
                "Event source mappings read the stream as the function's role, and send descriptions of discarded batches to their queues."
                    .into(),
            ));
            steps.push(Step::Aws(vec![
                "iam".into(),
                "put-role-policy".into(),
                "--role-name".into(),
                lrole.clone(),
                "--policy-name".into(),
                "event-source".into(),
                "--policy-document".into(),
                mapping_policy(scenario, &failure_queues, false).to_string(),
            ]));
        }
        steps.push(aws(&["iam", "wait", "role-exists", "--role-name", &lrole]));
        steps.push(Step::Note(
            "A new role takes a few seconds to reach the other services.".into(),
        ));
        steps.push(Step::Shell("sleep 10".into()));
        for f in &functions {
            let function = function(scenario, f)?;
            let source = lambda_source(&function.code);
            let marker = "SHARDLAB_JS";
            steps.push(Step::Shell(format!(
                "mkdir -p lambda/{f} && cat > lambda/{f}/index.js <<'{marker}'\n{}\n{marker}",
                source.trim_end()
            )));
            steps.push(Step::Shell(format!(
                "python3 -m zipfile -c lambda/{f}.zip lambda/{f}/index.js"
            )));
            steps.push(Step::Aws(vec![
                "lambda".into(),
                "create-function".into(),
                "--function-name".into(),
                f.clone(),
                "--runtime".into(),
                LAMBDA_RUNTIME.into(),
                "--handler".into(),
                "index.handler".into(),
                "--timeout".into(),
                function_timeout(scenario, &refs, f).to_string(),
                "--role".into(),
                format!("arn:aws:iam::{ACCOUNT}:role/{lrole}"),
                "--zip-file".into(),
                format!("fileb://lambda/{f}.zip"),
            ]));
        }
    }
    for q in &failure_queues {
        steps.push(Step::Note(format!(
            "SQS queue {q}: where event source mappings describe the batches they discard."
        )));
        steps.push(aws(&["sqs", "create-queue", "--queue-name", q]));
    }
    for c in &scenario.consumers {
        let Some(l) = &c.lambda else {
            continue;
        };
        steps.push(Step::Note(format!(
            "Event source mapping '{}': function {} reads the stream in batches.",
            c.name, l.function
        )));
        let source = if c.fan_out {
            format!(
                "arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}/consumer/{}",
                c.name
            )
        } else {
            format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}")
        };
        if c.fan_out {
            steps.push(Step::Note(format!(
                "It reads with enhanced fan-out: its event source is the consumer registered above. Its ARN ends in the registration time; take it from `aws kinesis describe-stream-consumer --stream-arn arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name} --consumer-name {}` and put it in place of the ARN below.",
                c.name
            )));
        }
        let mut words: Vec<String> = [
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            &l.function,
            "--event-source-arn",
            &source,
            "--starting-position",
            starting_position(c),
            "--batch-size",
            &l.batch_size.to_string(),
            "--maximum-batching-window-in-seconds",
            &l.maximum_batching_window_s.to_string(),
            "--parallelization-factor",
            &l.parallelization_factor.to_string(),
            if l.bisect_batch_on_function_error {
                "--bisect-batch-on-function-error"
            } else {
                "--no-bisect-batch-on-function-error"
            },
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        // -1 (AWS's default): no limit.
        if l.maximum_retry_attempts >= 0 {
            words.extend([
                "--maximum-retry-attempts".into(),
                l.maximum_retry_attempts.to_string(),
            ]);
        }
        if l.maximum_record_age_s >= 0 {
            words.extend([
                "--maximum-record-age-in-seconds".into(),
                l.maximum_record_age_s.to_string(),
            ]);
        }
        if l.report_batch_item_failures {
            words.extend([
                "--function-response-types".into(),
                "ReportBatchItemFailures".into(),
            ]);
        }
        if let Some(f) = &l.filter_criteria {
            words.extend(["--filter-criteria".into(), f.to_string()]);
        }
        if l.tumbling_window_s > 0 {
            words.extend([
                "--tumbling-window-in-seconds".into(),
                l.tumbling_window_s.to_string(),
            ]);
        }
        if let Some(q) = &l.on_failure {
            words.extend([
                "--destination-config".into(),
                json!({"OnFailure": {"Destination": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{q}")}})
                    .to_string(),
            ]);
        }
        steps.push(Step::Aws(words));
    }
    if requests.is_empty() {
        return Ok(steps);
    }
    steps.push(Step::Note(format!(
        "Firehose reads the stream and delivers as role {role_name}."
    )));
    steps.push(Step::Aws(vec![
        "iam".into(),
        "create-role".into(),
        "--role-name".into(),
        role_name.clone(),
        "--assume-role-policy-document".into(),
        trust_policy("firehose.amazonaws.com").to_string(),
    ]));
    steps.push(Step::Aws(vec![
        "iam".into(),
        "put-role-policy".into(),
        "--role-name".into(),
        role_name.clone(),
        "--policy-name".into(),
        "delivery".into(),
        "--policy-document".into(),
        firehose_policy(scenario, &refs, false).to_string(),
    ]));
    steps.push(aws(&[
        "iam",
        "wait",
        "role-exists",
        "--role-name",
        &role_name,
    ]));
    steps.push(Step::Note(
        "A new role takes a few seconds to reach the other services.".into(),
    ));
    steps.push(Step::Shell("sleep 10".into()));
    let databases = glue_databases(scenario);
    if !databases.is_empty() {
        steps.push(Step::Note(
            "AWS Glue tables: the schemas format conversion writes Parquet with (Athena can query the objects with the same tables).".into(),
        ));
    }
    for d in &databases {
        steps.push(Step::Aws(vec![
            "glue".into(),
            "create-database".into(),
            "--database-input".into(),
            json!({"Name": d}).to_string(),
        ]));
    }
    for t in &scenario.glue_tables {
        steps.push(Step::Aws(vec![
            "glue".into(),
            "create-table".into(),
            "--cli-input-json".into(),
            t.to_string(),
        ]));
    }
    for c in redshift_clusters(&requests) {
        steps.push(Step::Note(format!(
            "Redshift cluster {}: one ra3.xlplus node, publicly accessible so that Firehose can \
             reach it (its security group must also let in Firehose's addresses for the Region). \
             Creating it takes about 10 minutes.",
            c.id
        )));
        steps.push(aws(&[
            "redshift",
            "create-cluster",
            "--cluster-identifier",
            &c.id,
            "--cluster-type",
            "single-node",
            "--node-type",
            "ra3.xlplus",
            "--db-name",
            &c.database,
            "--master-username",
            &c.user,
            "--master-user-password",
            &c.password,
            "--publicly-accessible",
        ]));
        steps.push(aws(&[
            "redshift",
            "wait",
            "cluster-available",
            "--cluster-identifier",
            &c.id,
        ]));
        for st in scenario
            .redshift_statements
            .iter()
            .filter(|st| st["ClusterIdentifier"] == c.id.as_str())
        {
            steps.push(aws(&[
                "redshift-data",
                "execute-statement",
                "--cluster-identifier",
                &c.id,
                "--database",
                st["Database"].as_str().unwrap_or(&c.database),
                "--db-user",
                &c.user,
                "--sql",
                st["Sql"].as_str().unwrap_or_default(),
            ]));
        }
    }
    for request in requests {
        let name = request["DeliveryStreamName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        steps.push(Step::Note(format!("Delivery stream {name}.")));
        let url = request["HttpEndpointDestinationConfiguration"]["EndpointConfiguration"]["Url"]
            .as_str()
            .unwrap_or_default();
        if let Some((cluster, _)) = request["RedshiftDestinationConfiguration"]["ClusterJDBCURL"]
            .as_str()
            .and_then(shardlab_firehose::config::jdbc_cluster)
        {
            steps.push(Step::Note(format!(
                "Its ClusterJDBCURL names the playground's cluster: put your cluster's endpoint \
                 in it (aws redshift describe-clusters --cluster-identifier {cluster} --query \
                 'Clusters[0].Endpoint') before you run this."
            )));
        }
        if shardlab_firehose::http::is_loopback_http(url) {
            steps.push(Step::Note(format!(
                "It delivers to {url}, a receiver on the playground's machine: AWS takes only \
                 https:// URLs on port 443 that it can reach, so put your endpoint's URL in \
                 EndpointConfiguration.Url below before you run this."
            )));
        }
        steps.push(Step::Aws(vec![
            "firehose".into(),
            "create-delivery-stream".into(),
            "--cli-input-json".into(),
            request.to_string(),
        ]));
    }
    Ok(steps)
}

/// A word for a POSIX shell: bare when safe, in double quotes when it
/// carries `${ACCOUNT}` or `${REGION}` (which the shell fills in), else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return word.to_string();
    }
    if word.contains(ACCOUNT) || word.contains(REGION) {
        let mut out = String::from("\"");
        let mut rest = word;
        while let Some(c) = rest.chars().next() {
            if rest.starts_with(ACCOUNT) || rest.starts_with(REGION) {
                let n = if rest.starts_with(ACCOUNT) {
                    ACCOUNT.len()
                } else {
                    REGION.len()
                };
                out.push_str(&rest[..n]);
                rest = &rest[n..];
                continue;
            }
            if "\"\\$`".contains(c) {
                out.push('\\');
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out.push('"');
        return out;
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The CLI steps as a shell script.
pub fn cli_script(scenario: &Scenario) -> Result<String, SimError> {
    let steps = cli_steps(scenario)?;
    let mut out = format!(
        "#!/bin/sh\n\
         # Creates on AWS what the Shardlab scenario for stream '{}' makes in the\n\
         # playground. Needs the AWS CLI v2, credentials (aws configure) and python3.\n\
         # Everything it creates costs money while it exists: delete it when done.\n\
         set -eu\n\
         ACCOUNT=$(aws sts get-caller-identity --query Account --output text)\n\
         REGION=${{AWS_REGION:-$(aws configure get region || echo us-east-1)}}\n\
         export AWS_REGION=\"$REGION\"\n",
        scenario.stream_name
    );
    for step in steps {
        match step {
            Step::Note(text) => {
                out.push('\n');
                for line in wrap(&text, 76) {
                    out.push_str("# ");
                    out.push_str(&line);
                    out.push('\n');
                }
            }
            Step::Shell(cmd) => {
                out.push_str(&cmd);
                out.push('\n');
            }
            Step::Aws(words) => {
                out.push_str("aws");
                for w in words {
                    out.push(' ');
                    out.push_str(&shell_word(&w));
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("a line");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// A CloudFormation template (JSON) with the same resources.
pub fn cloudformation(scenario: &Scenario) -> Result<Value, SimError> {
    // The stream's checks only: the delivery streams are checked where
    // they are created (this runs on the UI thread too, without Firehose).
    scenario.validate_stream()?;
    let mut resources = Map::new();
    resources.insert(
        "Stream".into(),
        json!({
            "Type": "AWS::Kinesis::Stream",
            "Properties": {
                "Name": scenario.stream_name,
                "ShardCount": scenario.shard_count,
                "RetentionPeriodHours": 24,
                "StreamModeDetails": {"StreamMode": "PROVISIONED"}
            }
        }),
    );
    for o in &scenario.output_streams {
        resources.insert(
            logical("OutputStream", &o.name),
            json!({
                "Type": "AWS::Kinesis::Stream",
                "Properties": {
                    "Name": o.name,
                    "ShardCount": o.shard_count,
                    "RetentionPeriodHours": 24,
                    "StreamModeDetails": {"StreamMode": "PROVISIONED"}
                }
            }),
        );
    }
    for c in scenario.consumers.iter().filter(|c| c.fan_out) {
        resources.insert(
            logical("Consumer", &c.name),
            json!({
                "Type": "AWS::Kinesis::StreamConsumer",
                "Properties": {
                    "ConsumerName": c.name,
                    "StreamARN": {"Fn::GetAtt": ["Stream", "Arn"]}
                }
            }),
        );
    }
    let mut refs = Refs::default();
    let mut parameters = serde_json::Map::new();
    let requests: Vec<Value> = requests(scenario)?
        .iter()
        .map(|r| {
            rewrite(r, &mut refs, &|t| match t {
                Target::Stream => json!({"Fn::GetAtt": ["Stream", "Arn"]}),
                Target::Role => json!({"Fn::GetAtt": ["FirehoseRole", "Arn"]}),
                Target::Bucket(b) => json!({"Fn::GetAtt": [logical("Bucket", b), "Arn"]}),
                Target::Domain(d) => json!({"Fn::GetAtt": [logical("Domain", d), "Arn"]}),
                Target::Function(f) => json!({"Fn::GetAtt": [logical("Function", f), "Arn"]}),
            })
        })
        .collect();
    for b in &refs.buckets {
        resources.insert(
            logical("Bucket", b),
            json!({
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": {"Fn::Sub": format!("{b}-${{AWS::AccountId}}")}}
            }),
        );
    }
    let clusters = redshift_clusters(&requests);
    for c in &clusters {
        // The password is made and kept by Secrets Manager, not written
        // in the template.
        resources.insert(
            logical("RedshiftSecret", &c.id),
            json!({
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "Description": format!("The master user of Redshift cluster {}", c.id),
                    "GenerateSecretString": {
                        "SecretStringTemplate": json!({"username": c.user}).to_string(),
                        "GenerateStringKey": "password",
                        "PasswordLength": 32,
                        "ExcludeCharacters": "\"@/\\ '"
                    }
                }
            }),
        );
        resources.insert(
            logical("RedshiftCluster", &c.id),
            json!({
                "Type": "AWS::Redshift::Cluster",
                "Properties": {
                    "ClusterIdentifier": c.id,
                    "ClusterType": "single-node",
                    "NodeType": "ra3.xlplus",
                    "DBName": c.database,
                    "MasterUsername": c.user,
                    "MasterUserPassword": redshift_password(&c.id),
                    "PubliclyAccessible": true
                }
            }),
        );
    }
    for d in &refs.domains {
        resources.insert(
            logical("Domain", d),
            json!({
                "Type": "AWS::OpenSearchService::Domain",
                "Properties": {
                    "DomainName": d,
                    "EngineVersion": OPENSEARCH_VERSION,
                    "ClusterConfig": {"InstanceType": "t3.small.search", "InstanceCount": 1},
                    "EBSOptions": {"EBSEnabled": true, "VolumeType": "gp3", "VolumeSize": 10}
                }
            }),
        );
    }
    let (functions, failure_queues) = mapping_refs(scenario, &refs);
    if !functions.is_empty() {
        let mut role = json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": trust_policy("lambda.amazonaws.com"),
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
            }
        });
        if scenario.consumers.iter().any(|c| c.lambda.is_some()) {
            role["Properties"]["Policies"] = json!([{
                "PolicyName": "event-source",
                "PolicyDocument": mapping_policy(scenario, &failure_queues, true)
            }]);
        }
        resources.insert("LambdaRole".into(), role);
    }
    for q in &failure_queues {
        resources.insert(
            logical("Queue", q),
            json!({"Type": "AWS::SQS::Queue", "Properties": {"QueueName": q}}),
        );
    }
    for c in &scenario.consumers {
        let Some(l) = &c.lambda else {
            continue;
        };
        let source = if c.fan_out {
            json!({"Fn::GetAtt": [logical("Consumer", &c.name), "ConsumerARN"]})
        } else {
            json!({"Fn::GetAtt": ["Stream", "Arn"]})
        };
        let mut props = json!({
            "FunctionName": {"Ref": logical("Function", &l.function)},
            "EventSourceArn": source,
            "StartingPosition": starting_position(c),
            "BatchSize": l.batch_size,
            "MaximumBatchingWindowInSeconds": l.maximum_batching_window_s,
            "ParallelizationFactor": l.parallelization_factor,
            "BisectBatchOnFunctionError": l.bisect_batch_on_function_error,
        });
        // -1 (AWS's default): no limit.
        if l.maximum_retry_attempts >= 0 {
            props["MaximumRetryAttempts"] = json!(l.maximum_retry_attempts);
        }
        if l.maximum_record_age_s >= 0 {
            props["MaximumRecordAgeInSeconds"] = json!(l.maximum_record_age_s);
        }
        if l.report_batch_item_failures {
            props["FunctionResponseTypes"] = json!(["ReportBatchItemFailures"]);
        }
        if let Some(f) = &l.filter_criteria {
            props["FilterCriteria"] = f.clone();
        }
        if l.tumbling_window_s > 0 {
            props["TumblingWindowInSeconds"] = json!(l.tumbling_window_s);
        }
        if let Some(q) = &l.on_failure {
            props["DestinationConfig"] =
                json!({"OnFailure": {"Destination": {"Fn::GetAtt": [logical("Queue", q), "Arn"]}}});
        }
        resources.insert(
            logical("Mapping", &c.name),
            json!({"Type": "AWS::Lambda::EventSourceMapping", "Properties": props}),
        );
    }
    for f in &functions {
        let function = function(scenario, f)?;
        resources.insert(
            logical("Function", f),
            json!({
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": f,
                    "Runtime": LAMBDA_RUNTIME,
                    "Handler": "index.handler",
                    "Timeout": function_timeout(scenario, &refs, f),
                    "Role": {"Fn::GetAtt": ["LambdaRole", "Arn"]},
                    "Code": {"ZipFile": lambda_source(&function.code)}
                }
            }),
        );
    }
    if !requests.is_empty() {
        resources.insert(
            "FirehoseRole".into(),
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": trust_policy("firehose.amazonaws.com"),
                    "Policies": [{
                        "PolicyName": "delivery",
                        "PolicyDocument": firehose_policy(scenario, &refs, true)
                    }]
                }
            }),
        );
    }
    let mut tables = Vec::new();
    for d in glue_databases(scenario) {
        resources.insert(
            logical("GlueDatabase", &d),
            json!({
                "Type": "AWS::Glue::Database",
                "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": {"Name": d}}
            }),
        );
    }
    for t in &scenario.glue_tables {
        let database = t["DatabaseName"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        let table = t["TableInput"]["Name"].as_str().unwrap_or_default();
        let id = logical("GlueTable", &format!("{database}-{table}"));
        resources.insert(
            id.clone(),
            json!({
                "Type": "AWS::Glue::Table",
                "Properties": {
                    "CatalogId": {"Ref": "AWS::AccountId"},
                    "DatabaseName": {"Ref": logical("GlueDatabase", &database)},
                    "TableInput": t["TableInput"]
                }
            }),
        );
        tables.push(id);
    }
    for mut request in requests {
        let name = request["DeliveryStreamName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // A Redshift destination reaches the template's cluster.
        if let Some(r) = request.get_mut("RedshiftDestinationConfiguration") {
            if let Some((cluster, database)) = r["ClusterJDBCURL"]
                .as_str()
                .and_then(shardlab_firehose::config::jdbc_cluster)
                .map(|(c, d)| (c.to_string(), d.to_string()))
            {
                let id = logical("RedshiftCluster", &cluster);
                r["ClusterJDBCURL"] = json!({"Fn::Sub": format!(
                    "jdbc:redshift://${{{id}.Endpoint.Address}}:${{{id}.Endpoint.Port}}/{database}"
                )});
                r["Password"] = redshift_password(&cluster);
            }
        }
        // An endpoint on the playground's machine is no URL for AWS: the
        // template asks for the real one when the stack is created.
        // (`get_mut`, not indexing: indexing would add the members.)
        let endpoint = request
            .get_mut("HttpEndpointDestinationConfiguration")
            .and_then(|h| h.get_mut("EndpointConfiguration"));
        if let Some((endpoint, url)) = endpoint.and_then(|e| {
            let url = e["Url"]
                .as_str()
                .filter(|u| shardlab_firehose::http::is_loopback_http(u))
                .map(str::to_string)?;
            Some((e, url))
        }) {
            let id = logical("EndpointUrl", &name);
            parameters.insert(
                id.clone(),
                json!({
                    "Type": "String",
                    "AllowedPattern": "https://.*",
                    "Description": format!(
                        "The HTTPS URL delivery stream {name} sends to (port 443). In the \
                         playground it sent to {url}, on your machine, which AWS cannot reach."
                    ),
                }),
            );
            endpoint["Url"] = json!({"Ref": id});
        }
        let mut resource =
            json!({"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": request});
        if !tables.is_empty() {
            // Format conversion reads its table when the stream is made.
            resource["DependsOn"] = json!(tables);
        }
        resources.insert(logical("DeliveryStream", &name), resource);
    }
    let mut notes = consumer_notes(scenario);
    if !clusters.is_empty() {
        notes.push(
            "Redshift tables are not CloudFormation resources: run the scenario's CREATE TABLE \
             statements (redshift_statements) in the cluster's query editor before records arrive."
                .into(),
        );
    }
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "What the Shardlab scenario for stream {} makes in the playground. {}",
            scenario.stream_name,
            notes.join(" ")
        ),
        "Resources": resources,
        "Outputs": {
            "StreamArn": {"Value": {"Fn::GetAtt": ["Stream", "Arn"]}}
        }
    });
    if !parameters.is_empty() {
        template["Parameters"] = Value::Object(parameters);
    }
    Ok(template)
}

/// The template as indented JSON text, as it is saved to a file.
pub fn cloudformation_text(scenario: &Scenario) -> Result<String, SimError> {
    let template = cloudformation(scenario)?;
    Ok(serde_json::to_string_pretty(&template).expect("a JSON value prints") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headless::parse_scenario;

    fn preset(file: &str) -> Scenario {
        let path = format!(
            "{}/../../static/scenarios/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        parse_scenario(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn output_streams_are_created_beside_the_stream() {
        let s = preset("ticker-to-stream.json");
        let script = cli_script(&s).unwrap();
        assert!(
            script.contains(
                "aws kinesis create-stream --stream-name ticker-averages --shard-count 1 --stream-mode-details StreamMode=PROVISIONED"
            ),
            "{script}"
        );
        let cf = cloudformation(&s).unwrap();
        let stream = &cf["Resources"][logical("OutputStream", "ticker-averages")];
        assert_eq!(stream["Properties"]["Name"], "ticker-averages");
        assert_eq!(stream["Properties"]["ShardCount"], 1);
    }

    /// The agent's flow carries the file's conversion as the agent's
    /// `dataProcessingOptions`.
    #[test]
    fn the_agents_flow_has_its_processing_options() {
        let flow = |s: &Scenario| -> serde_json::Value {
            let note = agent_note(s, s.agent.as_ref().unwrap());
            let json = note.split("agent.json: ").nth(1).unwrap();
            let json = &json[..json.rfind("}.").unwrap() + 1];
            serde_json::from_str::<serde_json::Value>(json).unwrap()["flows"][0].clone()
        };
        let mut s = preset("agent-orders.json");
        let header = flow(&s);
        assert_eq!(header["skipHeaderLines"], 1);
        assert_eq!(
            header["dataProcessingOptions"][0]["customFieldNames"][0],
            "order_id"
        );
        let agent = s.agent.as_mut().unwrap();
        agent.lines.remove(0);
        agent.custom_field_names = Some(vec!["id".into(), "who".into()]);
        agent.delimiter = Some(";".into());
        let named = flow(&s);
        assert!(named.get("skipHeaderLines").is_none());
        assert_eq!(
            named["dataProcessingOptions"],
            serde_json::json!([{"optionName": "CSVTOJSON", "customFieldNames": ["id", "who"], "delimiter": ";"}])
        );
        let agent = s.agent.as_mut().unwrap();
        agent.format = crate::agent::AgentFormat::CommonApacheLog;
        agent.delimiter = None;
        agent.match_pattern = Some("^(\\S+) (\\S+)".into());
        assert_eq!(
            flow(&s)["dataProcessingOptions"],
            serde_json::json!([{"optionName": "LOGTOJSON", "logFormat": "COMMONAPACHELOG", "matchPattern": "^(\\S+) (\\S+)", "customFieldNames": ["id", "who"]}])
        );
    }

    #[test]
    fn a_plain_stream_is_one_create_stream() {
        let s = preset("clickstream.json");
        let steps = cli_steps(&s).unwrap();
        let aws: Vec<&Vec<String>> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Aws(w) => Some(w),
                _ => None,
            })
            .collect();
        assert_eq!(
            aws[0].join(" "),
            "kinesis create-stream --stream-name clickstream --shard-count 4 --stream-mode-details StreamMode=PROVISIONED"
        );
        assert_eq!(aws[2][..3], ["kinesis", "put-record", "--stream-name"]);
        assert!(!aws.iter().any(|w| w[0] == "iam" || w[0] == "firehose"));
        let script = cli_script(&s).unwrap();
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(script.contains("# Consumer application"));
        let template = cloudformation(&s).unwrap();
        assert_eq!(template["Resources"].as_object().unwrap().len(), 1);
        assert_eq!(
            template["Resources"]["Stream"]["Properties"]["ShardCount"],
            4
        );
    }

    #[test]
    fn delivery_streams_get_their_bucket_role_and_functions() {
        let s = preset("purchases-to-s3.json");
        let script = cli_script(&s).unwrap();
        assert!(
            script.contains("aws s3 mb \"s3://shardlab-lab-${ACCOUNT}\""),
            "{script}"
        );
        assert!(script.contains("aws lambda create-function --function-name purchases-only"));
        assert!(
            script.contains("\\\"LambdaArn\\\""),
            "the request is in double quotes"
        );
        let t = cloudformation(&s).unwrap();
        let r = &t["Resources"];
        assert_eq!(r["BucketShardlabLab"]["Type"], "AWS::S3::Bucket");
        assert_eq!(
            r["FunctionPurchasesOnly"]["Properties"]["Runtime"],
            LAMBDA_RUNTIME
        );
        let d = &r["DeliveryStreamPurchasesToS3"]["Properties"];
        assert_eq!(d["DeliveryStreamType"], "KinesisStreamAsSource");
        assert_eq!(
            d["KinesisStreamSourceConfiguration"]["KinesisStreamARN"],
            json!({"Fn::GetAtt": ["Stream", "Arn"]})
        );
        let dest = &d["ExtendedS3DestinationConfiguration"];
        assert_eq!(
            dest["BucketARN"],
            json!({"Fn::GetAtt": ["BucketShardlabLab", "Arn"]})
        );
        assert_eq!(
            dest["ProcessingConfiguration"]["Processors"][0]["Parameters"][0]["ParameterValue"],
            json!({"Fn::GetAtt": ["FunctionPurchasesOnly", "Arn"]})
        );
        assert_eq!(dest["Prefix"], "purchases/");
    }

    #[test]
    fn a_qualified_function_arn_exports_as_the_playground_reads_it() {
        let mut s = preset("purchases-to-s3.json");
        let text = serde_json::to_string(&s.delivery_streams).unwrap();
        assert!(text.contains(":function:purchases-only\""), "{text}");
        s.delivery_streams = serde_json::from_str(&text.replace(
            ":function:purchases-only\"",
            ":function:purchases-only:$LATEST\"",
        ))
        .unwrap();
        s.validate().unwrap();
        let t = cloudformation(&s).unwrap();
        let d = &t["Resources"]["DeliveryStreamPurchasesToS3"]["Properties"];
        assert_eq!(
            d["ExtendedS3DestinationConfiguration"]["ProcessingConfiguration"]["Processors"][0]
                ["Parameters"][0]["ParameterValue"],
            json!({"Fn::GetAtt": ["FunctionPurchasesOnly", "Arn"]})
        );
        assert!(cli_script(&s).is_ok());
    }

    #[test]
    fn shell_words_are_quoted_for_posix_shells() {
        assert_eq!(shell_word("clickstream"), "clickstream");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("{\"a\":1}"), "'{\"a\":1}'");
        assert_eq!(
            shell_word("{\"arn\":\"x:${ACCOUNT}\",\"p\":\"$HOME`\"}"),
            "\"{\\\"arn\\\":\\\"x:${ACCOUNT}\\\",\\\"p\\\":\\\"\\$HOME\\`\\\"}\""
        );
    }

    #[test]
    fn an_endpoint_on_this_machine_is_pointed_out() {
        let script = cli_script(&preset("clicks-to-http.json")).unwrap();
        assert!(
            script.contains("# It delivers to http://localhost:9000/firehose, a receiver on the\n"),
            "{script}"
        );
        assert!(
            script.contains("HttpEndpointDestinationConfiguration"),
            "{script}"
        );
        let t = cloudformation(&preset("clicks-to-http.json")).unwrap();
        assert_eq!(
            t["Resources"]["DeliveryStreamClicksToHttp"]["Properties"]
                ["HttpEndpointDestinationConfiguration"]["EndpointConfiguration"]["Url"],
            json!({"Ref": "EndpointUrlClicksToHttp"})
        );
        assert_eq!(
            t["Parameters"]["EndpointUrlClicksToHttp"]["AllowedPattern"],
            "https://.*"
        );
        // Other destinations are left as they are.
        let t = cloudformation(&preset("clicks-to-s3.json")).unwrap();
        let props = &t["Resources"]["DeliveryStreamClicksToS3"]["Properties"];
        assert!(
            props.get("HttpEndpointDestinationConfiguration").is_none(),
            "{props}"
        );
        assert!(t.get("Parameters").is_none());
    }

    #[test]
    fn a_redshift_cluster_is_made_with_its_tables() {
        let s = preset("clicks-to-redshift.json");
        let script = cli_script(&s).unwrap();
        assert!(script.contains(
            "aws redshift create-cluster --cluster-identifier lab --cluster-type single-node"
        ));
        assert!(script.contains(
            "aws redshift-data execute-statement --cluster-identifier lab --database dev \
             --db-user firehose --sql 'CREATE TABLE clicks ("
        ));
        let t = cloudformation(&s).unwrap();
        let r = &t["Resources"]["DeliveryStreamClicksToRedshift"]["Properties"]
            ["RedshiftDestinationConfiguration"];
        assert_eq!(
            r["ClusterJDBCURL"]["Fn::Sub"],
            "jdbc:redshift://${RedshiftClusterLab.Endpoint.Address}:${RedshiftClusterLab.Endpoint.Port}/dev"
        );
        assert_eq!(
            r["Password"]["Fn::Sub"],
            "{{resolve:secretsmanager:${RedshiftSecretLab}:SecretString:password}}"
        );
        assert_eq!(
            t["Resources"]["RedshiftClusterLab"]["Type"],
            "AWS::Redshift::Cluster"
        );
    }

    #[test]
    fn a_mappings_filter_criteria_go_to_aws_unchanged() {
        let mut s = preset("lambda-orders.json");
        let criteria =
            serde_json::json!({"Filters": [{"Pattern": r#"{"data": {"status": ["new"]}}"#}]});
        s.consumers[0].lambda.as_mut().unwrap().filter_criteria = Some(criteria.clone());
        let script = cli_script(&s).unwrap();
        assert!(
            script.contains(
                r#"--filter-criteria '{"Filters":[{"Pattern":"{\"data\": {\"status\": [\"new\"]}}"}]}'"#
            ),
            "{script}"
        );
        let t = cloudformation(&s).unwrap();
        let mapping = t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .find(|r| r["Type"] == "AWS::Lambda::EventSourceMapping")
            .unwrap();
        assert_eq!(mapping["Properties"]["FilterCriteria"], criteria);
    }

    #[test]
    fn every_preset_exports() {
        let dir = format!("{}/../../static/scenarios", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            if file == "index.json" {
                continue;
            }
            let s = preset(&file);
            cli_script(&s).unwrap_or_else(|e| panic!("{file}: {e}"));
            let t = cloudformation(&s).unwrap_or_else(|e| panic!("{file}: {e}"));
            let resources = t["Resources"].as_object().unwrap();
            let fan_out = s.consumers.iter().filter(|c| c.fan_out).count();
            assert_eq!(
                resources.len() > 1 + fan_out + s.output_streams.len(),
                !s.delivery_streams.is_empty() || s.consumers.iter().any(|c| c.lambda.is_some()),
                "{file}"
            );
            for c in s.consumers.iter().filter(|c| c.lambda.is_some()) {
                let m = &resources[&logical("Mapping", &c.name)];
                assert_eq!(m["Type"], "AWS::Lambda::EventSourceMapping", "{file}");
            }
        }
    }
}
