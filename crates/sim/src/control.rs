//! Messages between the UI and the simulation worker.
//!
//! Small and rare (a command per click, a snapshot per display frame), so
//! they travel as plain JS objects; bulk record data never crosses here.

use serde::{Deserialize, Serialize};

use crate::firehose_source::{ObjectPreview, ObjectView};
use crate::{Scenario, Snapshot};
use shardlab_firehose::Sink;

/// Speeds the clock can run at, relative to wall-clock time.
pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 1000.0;
/// The longest fast-forward: a week of virtual time (a learner watching
/// retention trim asks for +24 h; +7 d covers the longest lessons).
pub const MAX_FAST_FORWARD_MS: u64 = 7 * 24 * 3_600_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Command {
    /// Replaces the current stream (if any) with a new one, paused.
    CreateStream {
        scenario: Scenario,
    },
    Run,
    Pause,
    /// Runs exactly one tick, then stays paused.
    Step,
    /// Runs `ms` of virtual time as fast as the machine allows (the same
    /// ticks as at any speed), then stays paused. Pause stops it.
    FastForward {
        ms: u64,
    },
    /// A producer's rate: `producer-0`'s, or the named one's.
    SetRate {
        rate_per_sec: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        producer: Option<String>,
    },
    /// The simulation worker's heap budget in bytes: past it, running and
    /// fast-forwarding stop with a message (the site uses 2.5 GiB of the
    /// 4 GiB a WebAssembly worker addresses; the end-to-end tests lower it
    /// with the page's `?memory-limit-mb=` parameter).
    SetMemoryLimit {
        bytes: u64,
    },
    SetSpeed {
        speed: f64,
    },
    /// SplitShard at the middle of the shard's hash-key range.
    SplitShard {
        shard_id: String,
    },
    /// MergeShards of two adjacent open shards.
    MergeShards {
        shard_id: String,
        adjacent_shard_id: String,
    },
    /// The AWS CLI script and CloudFormation template that create the
    /// scenario on AWS (answered with `AwsExport`).
    ExportAws {
        scenario: Scenario,
    },
    /// Packs a workspace into a link fragment and a file (answered with
    /// `WorkspacePacked`).
    PackWorkspace {
        workspace: crate::share::Workspace,
        /// For a download (echoed in the answer), or for a link.
        #[serde(default)]
        download: bool,
    },
    /// Reads a workspace link's fragment (answered with `WorkspaceOpened`
    /// or `WorkspaceError`).
    OpenWorkspaceLink {
        fragment: String,
    },
    /// Reads a workspace file.
    OpenWorkspaceFile {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Reads an exercise link's fragment (`#x=1.…`; answered with
    /// `ExerciseOpened` or `ExerciseError`).
    OpenExerciseLink {
        fragment: String,
    },
    /// Packs an exercise file into a link's fragment (`ExercisePacked`).
    PackExercise {
        source: String,
    },
    /// Grades a submission: replays the exercise (its file's text) with
    /// the student's stream or SQL (answered with `ExerciseGraded`).
    GradeExercise {
        exercise: String,
        student: String,
        #[serde(default)]
        scenario: Option<Scenario>,
        #[serde(default)]
        sql: Option<String>,
    },
    /// A Kinesis API call from the in-page SDK console (answered with
    /// `ApiReplies`, now or once the call's tick is done).
    KinesisApi {
        id: u64,
        operation: String,
        body: String,
    },
    /// Increase- or DecreaseStreamRetentionPeriod (24 to 8,760 hours).
    SetRetention {
        hours: u32,
    },
    /// Moves a consumer application back to read the stream again.
    ReplayConsumer {
        name: String,
        from: crate::consumer::Replay,
    },
    /// How often a consumer application calls GetRecords on each shard.
    SetConsumerPoll {
        name: String,
        poll_ms: u64,
    },
    /// Registers a consumer application for enhanced fan-out (or
    /// deregisters it, back to shared GetRecords).
    SetConsumerFanOut {
        name: String,
        fan_out: bool,
    },
    /// UpdateEventSourceMapping: new settings for a Lambda event source
    /// mapping (those left out stay).
    UpdateEventSourceMapping {
        name: String,
        update: crate::esm::EsmUpdate,
    },
    /// UpdateFunctionCode: new code for one of the scenario's Lambda
    /// functions.
    UpdateFunctionCode {
        function: String,
        code: crate::lambda::FunctionCode,
    },
    /// The percentage of messages an SQS queue's consumers fail to
    /// process (not deleted: back after the visibility timeout).
    SetQueueFailures {
        queue: String,
        percent: u32,
    },
    /// Stops a KCL application's worker (`worker-2`) as a crash would.
    StopKclWorker {
        app: String,
        worker: String,
    },
    /// Starts a stopped KCL worker again, or adds the next one.
    StartKclWorker {
        app: String,
        worker: String,
    },
    /// Terminates a shard worker abruptly, as a crash would; the
    /// coordinator must notice and restore it (the durability lesson).
    KillWorker {
        worker: u32,
    },
    /// The outage switch of a Firehose bucket or OpenSearch domain.
    SetOutage {
        sink: Sink,
        down: bool,
    },
    /// Lists a bucket one level below `prefix`, folded at '/'.
    ListObjects {
        bucket: String,
        prefix: String,
    },
    /// Opens an object: its text, decompressed.
    GetObject {
        bucket: String,
        key: String,
    },
    /// An object's stored bytes, to save as a file.
    DownloadObject {
        bucket: String,
        key: String,
    },
    /// Starts a SQL application on the stream (replacing a running one).
    StartSql {
        code: String,
        #[serde(default)]
        start: crate::sql::SqlStart,
        /// A reference table for the application to join.
        #[serde(default)]
        reference: Option<crate::sql::ReferenceData>,
    },
    StopSql,
    /// The application as Flink SQL (answered with `FlinkSql`).
    TranslateSql {
        code: String,
        #[serde(default)]
        start: crate::sql::SqlStart,
    },
    /// The first records the scenario's producer makes (the Kinesis Data
    /// Generator's "Test template"), answered with `SampleRecords`.
    TestTemplate {
        scenario: Scenario,
    },
    /// Runs a statement on a Redshift cluster: a `SELECT` over its tables
    /// (and `stl_load_errors`), or `CREATE TABLE`, `DROP TABLE`,
    /// `TRUNCATE`. Answered with `RedshiftResult`.
    RunRedshift {
        cluster: String,
        sql: String,
    },
    /// Searches an index: `field:value`, or text anywhere.
    SearchIndex {
        domain: String,
        index: String,
        query: String,
    },
}

/// What the UI shows about one shard worker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerView {
    pub index: u32,
    /// The shards it keeps, open and closed.
    pub shards: Vec<String>,
    /// Records its shards accepted during the last virtual second.
    pub records_last_second: u64,
    /// Shard operations it has run, all time.
    pub ops: u64,
    /// The coordinator's copy of it: last checkpoint and the log since.
    pub checkpoints: u64,
    pub checkpoint_bytes: u64,
    pub log_batches: u64,
    pub log_bytes: u64,
    pub recoveries: u64,
    /// Wall-clock milliseconds from posting its last batch to the reply.
    pub last_round_trip_ms: f64,
    pub last_recovery: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// The worker has loaded and takes commands.
    Ready,
    /// The current state of the stream and of the shard workers.
    Snapshot {
        snapshot: Snapshot,
        running: bool,
        speed: f64,
        workers: Vec<WorkerView>,
        /// Virtual ms a fast-forward still has to run (0: none).
        #[serde(default)]
        fast_forward_ms: u64,
    },
    /// A command failed; the text is for the learner.
    Error {
        message: String,
    },
    /// The answer to `PackWorkspace`: the link's fragment and the file.
    WorkspacePacked {
        stream_name: String,
        /// Empty when the workspace is too large for a link.
        fragment: String,
        file: String,
        download: bool,
    },
    /// A workspace link or file, read and checked.
    WorkspaceOpened {
        workspace: crate::share::Workspace,
    },
    /// Why a workspace link (`link`) or file could not be opened.
    WorkspaceError {
        link: bool,
        message: String,
    },
    /// An exercise link's file.
    ExerciseOpened {
        source: String,
    },
    ExercisePacked {
        fragment: String,
    },
    /// A graded submission: the result file's text (JSON).
    ExerciseGraded {
        result: String,
    },
    /// Why an exercise link could not be opened, or a grade not made.
    ExerciseError {
        message: String,
    },
    /// Answers to console calls.
    ApiReplies {
        replies: Vec<crate::simulation::ApiReply>,
    },
    /// The answer to `ExportAws`: the script and the template (JSON text),
    /// or why the scenario cannot be exported.
    AwsExport {
        stream_name: String,
        export: Result<(String, String), String>,
    },
    /// The answer to `TranslateSql`.
    FlinkSql {
        sql: String,
        notes: Vec<String>,
    },
    /// A SQL application did not compile: where and why.
    SqlError {
        line: u64,
        column: u64,
        token: Option<String>,
        message: String,
    },
    /// The answer to `TestTemplate`: (partition key, data) of the first
    /// records, or where the template is wrong.
    SampleRecords {
        records: Vec<(String, String)>,
    },
    TemplateError {
        line: u64,
        column: u64,
        message: String,
    },
    /// The answer to `ListObjects`.
    Objects {
        bucket: String,
        prefix: String,
        folders: Vec<String>,
        objects: Vec<ObjectView>,
        /// How many objects the bucket held when listed.
        bucket_objects: u64,
    },
    /// The answer to `GetObject`.
    Object {
        preview: ObjectPreview,
    },
    /// The answer to `SearchIndex`: the first hits as JSON text.
    SearchResults {
        domain: String,
        index: String,
        query: String,
        total: u64,
        hits: Vec<String>,
    },
    /// The answer to `RunRedshift`.
    RedshiftResult {
        answer: RedshiftAnswer,
    },
    /// The answer to `DownloadObject`: the bytes as stored (compressed as
    /// the delivery stream compressed them).
    ObjectBytes {
        key: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
}

/// The most search hits an answer carries.
pub const SEARCH_HITS: usize = 20;

/// What a statement run on a Redshift cluster gave: a query's columns
/// (`name type`) and first rows as `psql` shows them (None for NULL),
/// nothing for DDL, or Redshift's error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedshiftAnswer {
    pub cluster: String,
    pub sql: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Rows in the whole result.
    pub total_rows: u64,
    pub error: Option<String>,
}

/// The most rows a Redshift query's answer carries to the UI.
pub const REDSHIFT_ROWS_SHOWN: usize = 100;

/// Runs a statement on a cluster of the simulation's Firehose, as the
/// UI's query box asks, and says what came of it.
pub fn run_redshift(sim: &mut crate::Simulation, cluster: &str, sql: &str) -> Event {
    let (columns, rows, total_rows, error) = match sim.redshift_run(cluster, sql) {
        Ok(Some(r)) => (
            r.columns.iter().map(|(n, t)| format!("{n} {t}")).collect(),
            r.rows
                .iter()
                .take(REDSHIFT_ROWS_SHOWN)
                .map(|row| {
                    row.iter()
                        .map(|c| (*c != shardlab_firehose::redshift::Cell::Null).then(|| c.text()))
                        .collect()
                })
                .collect(),
            r.rows.len() as u64,
            None,
        ),
        Ok(None) => (Vec::new(), Vec::new(), 0, None),
        Err(e) => (Vec::new(), Vec::new(), 0, Some(e)),
    };
    Event::RedshiftResult {
        answer: RedshiftAnswer {
            cluster: cluster.to_string(),
            sql: sql.to_string(),
            columns,
            rows,
            total_rows,
            error,
        },
    }
}

/// The answers to the bucket browser's commands, from the simulation's
/// Firehose: `Event::Objects` or `Event::Object`, or what is wrong.
pub fn browse(sim: &crate::Simulation, command: &Command) -> Option<Result<Event, String>> {
    let firehose = sim.firehose();
    match command {
        Command::ListObjects { bucket, prefix } => Some(match firehose.bucket(bucket) {
            None => Err(format!("There is no bucket {bucket}.")),
            Some(b) => {
                let listing = b.list(prefix, Some('/'));
                Ok(Event::Objects {
                    bucket: bucket.clone(),
                    prefix: prefix.clone(),
                    folders: listing.common_prefixes,
                    objects: listing
                        .keys
                        .into_iter()
                        .filter_map(|k| {
                            b.objects.get(&k).map(|o| ObjectView {
                                bytes: o.body.len() as u64,
                                records: o.records,
                                last_modified_ms: o.last_modified_ms,
                                key: k,
                            })
                        })
                        .collect(),
                    bucket_objects: b.objects.len() as u64,
                })
            }
        }),
        Command::GetObject { bucket, key } => Some(
            crate::firehose_source::preview(firehose, bucket, key)
                .map(|preview| Event::Object { preview }),
        ),
        Command::SearchIndex {
            domain,
            index,
            query,
        } => Some(match firehose.domain(domain) {
            None => Err(format!("There is no OpenSearch domain {domain}.")),
            Some(d) => {
                let (hits, total) = d.search(index, query, SEARCH_HITS);
                Ok(Event::SearchResults {
                    domain: domain.clone(),
                    index: index.clone(),
                    query: query.clone(),
                    total: total as u64,
                    hits: hits.iter().map(|h| h.source.to_string()).collect(),
                })
            }
        }),
        Command::DownloadObject { bucket, key } => Some(
            firehose
                .bucket(bucket)
                .and_then(|b| b.objects.get(key))
                .map(|o| Event::ObjectBytes {
                    key: key.clone(),
                    bytes: o.body.clone(),
                })
                .ok_or_else(|| format!("there is no object {key} in {bucket}")),
        ),
        _ => None,
    }
}
