//! Lessons: Markdown files in `static/lessons/`, each a starting scenario
//! and a series of steps a learner does in the playground, every step with
//! a check on the running stream, hints, and a solution.
//!
//! ```markdown
//! ---
//! title: Partition keys and hot shards
//! scenario: hot-key.json
//! summary: Why one busy key throttles one shard.
//! ---
//!
//! Text before the first step introduces the lesson.
//!
//! ## Run the stream
//!
//! Press **Run** and watch the shards' bars.
//!
//! check: elapsed_seconds >= 10 and records_throttled > 0
//! hint: Run is at the top of the stream panel.
//! do: run 10s
//! ```
//!
//! The front matter names the lesson and its scenario (a file in
//! `static/scenarios/`). Each `## ` heading starts a step. Inside a step,
//! lines that begin with `check:`, `hint:` or `do:` (outside code blocks)
//! are not shown: `check:` is the one condition that completes the step
//! (see [`MEASURES`]), each `hint:` is revealed on demand, and the `do:`
//! lines are the step's solution, which "Do it for me" performs and the
//! tests play to prove every lesson can be completed. Everything else is
//! Markdown.
//!
//! Pure: no platform crates. The UI fetches the files and renders the HTML
//! this crate makes; the simulation worker runs the solutions' commands.

use std::fmt;

pub mod exercise;

use shardlab_sim::clock::SCENARIO_EPOCH_MS;
use shardlab_sim::consumer::Replay;
use shardlab_sim::control::Command;
use shardlab_sim::headless::parse_duration;
use shardlab_sim::sql::SqlStart;
use shardlab_sim::Snapshot;

/// A lesson, read from its file.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    pub title: String,
    /// The starting scenario: a file name in `static/scenarios/`.
    pub scenario: String,
    pub summary: Option<String>,
    /// The text before the first step, as HTML.
    pub intro_html: String,
    pub steps: Vec<Step>,
}

/// One step: what to do, how the playground knows it is done, hints, and
/// the solution.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub title: String,
    pub html: String,
    pub check: Check,
    /// Hints as HTML, in the order they are revealed.
    pub hints: Vec<String>,
    pub solution: Vec<Action>,
}

/// Something a solution does, as a learner would in the playground.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `run 10s`: let virtual time pass (the playground fast-forwards).
    Run { ms: u64 },
    /// `rate 3000`: set the producer's records per second.
    Rate { per_sec: u64 },
    /// `split shardId-000000000000`: split a shard at its middle.
    Split { shard_id: String },
    /// `merge shardId-000000000001 shardId-000000000002`.
    Merge {
        shard_id: String,
        adjacent_shard_id: String,
    },
    /// `sql`: start the step's ```sql block as the SQL application.
    Sql { code: String },
    /// `kill-worker 1`: terminate a shard worker.
    KillWorker { worker: u32 },
    /// `scenario kpl-aggregation.json`: create the stream again from
    /// another scenario file (as the form's *Create stream* does).
    Scenario { file: String },
    /// `retention 48`: Increase- or DecreaseStreamRetentionPeriod.
    Retention { hours: u32 },
    /// `replay dashboard`: move a consumer application back to the oldest
    /// records; `replay dashboard at 30m`: to those that arrived from 30
    /// virtual minutes after the stream was created.
    Replay {
        consumer: String,
        at_elapsed_ms: Option<u64>,
    },
    /// `poll dashboard 1000`: a consumer application's GetRecords interval.
    Poll { consumer: String, ms: u64 },
    /// `queue-failures work 20`: the percentage of messages an SQS queue's
    /// consumers fail to process.
    QueueFailures { queue: String, percent: u32 },
    /// `fan-out dashboard on`: register a consumer application for
    /// enhanced fan-out (`off`: back to shared GetRecords).
    FanOut { consumer: String, on: bool },
    /// `stop billing worker-1`: stop a KCL application's worker (a crash);
    /// `start billing worker-1`: start it again (or the next one).
    KclWorker {
        app: String,
        worker: String,
        start: bool,
    },
    /// `mapping process-orders retries 2`: UpdateEventSourceMapping on a
    /// Lambda event source mapping (`batch-size`, `window`,
    /// `parallelization`, `bisect on|off`, `retries`, `max-age`,
    /// `report-failures on|off`).
    Mapping {
        consumer: String,
        update: shardlab_sim::esm::EsmUpdate,
    },
}

impl Action {
    /// The command the playground sends for it; `None` for
    /// [`Action::Scenario`], whose file must be fetched first.
    pub fn command(&self) -> Option<Command> {
        Some(match self {
            Action::Scenario { .. } => return None,
            Action::Run { ms } => Command::FastForward { ms: *ms },
            Action::Rate { per_sec } => Command::SetRate {
                rate_per_sec: *per_sec,
                producer: None,
            },
            Action::Split { shard_id } => Command::SplitShard {
                shard_id: shard_id.clone(),
            },
            Action::Merge {
                shard_id,
                adjacent_shard_id,
            } => Command::MergeShards {
                shard_id: shard_id.clone(),
                adjacent_shard_id: adjacent_shard_id.clone(),
            },
            Action::Sql { code } => Command::StartSql {
                code: code.clone(),
                start: SqlStart::TrimHorizon,
                reference: None,
            },
            Action::KillWorker { worker } => Command::KillWorker { worker: *worker },
            Action::Retention { hours } => Command::SetRetention { hours: *hours },
            Action::Replay {
                consumer,
                at_elapsed_ms,
            } => Command::ReplayConsumer {
                name: consumer.clone(),
                from: match at_elapsed_ms {
                    None => Replay::TrimHorizon,
                    Some(ms) => Replay::AtTimestamp(SCENARIO_EPOCH_MS + ms),
                },
            },
            Action::Poll { consumer, ms } => Command::SetConsumerPoll {
                name: consumer.clone(),
                poll_ms: *ms,
            },
            Action::QueueFailures { queue, percent } => Command::SetQueueFailures {
                queue: queue.clone(),
                percent: *percent,
            },
            Action::FanOut { consumer, on } => Command::SetConsumerFanOut {
                name: consumer.clone(),
                fan_out: *on,
            },
            Action::Mapping { consumer, update } => Command::UpdateEventSourceMapping {
                name: consumer.clone(),
                update: update.clone(),
            },
            Action::KclWorker { app, worker, start } => {
                let (app, worker) = (app.clone(), worker.clone());
                if *start {
                    Command::StartKclWorker { app, worker }
                } else {
                    Command::StopKclWorker { app, worker }
                }
            }
        })
    }
}

/// What a lesson file got wrong, with its line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LessonError {}

/// The quantities a check can compare, with what each means (the README's
/// table is made from this list).
pub const MEASURES: &[(&str, &str)] = &[
    (
        "elapsed_seconds",
        "virtual seconds since the stream was created",
    ),
    ("shards_open", "open shards (taking records)"),
    (
        "shards_closed",
        "shards closed by a split or merge (still readable)",
    ),
    (
        "rate_per_sec",
        "the producer's rate setting, records per second",
    ),
    (
        "retention_hours",
        "the stream's retention period, hours",
    ),
    (
        "records_retained",
        "records the shards still keep (not yet past retention), all shards",
    ),
    (
        "oldest_record_age_seconds",
        "age of the oldest record any shard keeps (the trim horizon), virtual seconds",
    ),
    ("records_produced", "records the producer has made"),
    ("records_accepted", "records the shards have accepted"),
    (
        "records_throttled",
        "records refused with ProvisionedThroughputExceededException",
    ),
    (
        "records_retried",
        "throttled records the producer sent again (with retries on)",
    ),
    (
        "records_awaiting_retry",
        "throttled records waiting for their next send",
    ),
    (
        "records_failed",
        "records the producer gave up on (after its last attempt, or with its retry buffer full; the KPL's past their RecordTtl)",
    ),
    (
        "records_held",
        "Kinesis records the KPL's RateLimit holds back now (with aggregation)",
    ),
    (
        "accepted_last_second",
        "records accepted in the last virtual second, all shards",
    ),
    (
        "throttled_last_second",
        "records throttled in the last virtual second, all shards",
    ),
    (
        "busiest_shard_percent",
        "the busiest open shard's share of the last second's accepted records, in percent",
    ),
    (
        "throttled_one_shard_percent",
        "the largest share of all throttled records that one shard refused, in percent",
    ),
    (
        "records_per_kinesis_record",
        "user records per Kinesis record put (above 1 when the producer aggregates like the KPL)",
    ),
    (
        "consumers",
        "consumer applications reading the stream (not Firehose or SQL)",
    ),
    (
        "consumer_records_min",
        "records delivered to the consumer application that has had the fewest",
    ),
    (
        "consumer_user_records_min",
        "user records (aggregated records unpacked) delivered to the consumer application that has had the fewest",
    ),
    (
        "consumer_lag_ms_max",
        "the largest MillisBehindLatest of any consumer application",
    ),
    (
        "consumer_records_behind_max",
        "records the shards accepted that a consumer application has not received yet, the most behind application",
    ),
    (
        "consumer_throttled",
        "GetRecords calls refused by the shards' read limits, all consumers",
    ),
    (
        "consumer_throttled_last_second",
        "calls refused by the read limits in the last virtual second, all consumers",
    ),
    (
        "consumer_redelivered",
        "records delivered a second time after a replay, all consumers",
    ),
    (
        "consumer_out_of_order",
        "records delivered after a record that reached the stream later than they did (from another shard), all consumers",
    ),
    (
        "consumer_out_of_order_last_second",
        "the same, in the last virtual second",
    ),
    (
        "consumers_fan_out",
        "consumer applications reading with enhanced fan-out (SubscribeToShard)",
    ),
    (
        "kcl_workers_running",
        "running workers of the KCL applications",
    ),
    (
        "kcl_leases_of_stopped_workers",
        "leases the lease table still gives to stopped workers (nobody processes those shards)",
    ),
    (
        "kcl_lease_spread",
        "the most leases a running worker holds minus the fewest, per application, largest",
    ),
    (
        "kcl_leases_stolen",
        "leases stolen to balance the load, all KCL applications",
    ),
    (
        "kcl_duplicates",
        "records a KCL application processed again after a lease moved (from the last checkpoint)",
    ),
    (
        "kcl_leases_waiting_for_parents",
        "leases whose processor waits for a parent shard's SHARD_END",
    ),
    (
        "lambda_invocations",
        "invocations of the Lambda event source mappings' functions, retries included",
    ),
    (
        "lambda_errors",
        "invocations that failed (an error, a timeout or reported item failures)",
    ),
    (
        "lambda_processed",
        "records the functions processed successfully",
    ),
    (
        "lambda_invoked_again",
        "records sent to a function more than once (retries: at least once)",
    ),
    (
        "lambda_discarded",
        "records the mappings discarded (retries exhausted or too old)",
    ),
    (
        "lambda_last_discard_records",
        "records in the newest discarded batch (0 before any)",
    ),
    (
        "lambda_retrying_shards",
        "shards whose batch is being retried after an error (blocked)",
    ),
    (
        "lambda_iterator_age_ms",
        "IteratorAge of the newest invocation: how old its last record was (ms), largest over the mappings",
    ),
    (
        "lambda_parallelization",
        "the largest ParallelizationFactor among the mappings",
    ),
    (
        "lambda_records_waiting",
        "records the mappings have read and not yet processed or discarded",
    ),
    (
        "lambda_concurrent",
        "invocations running now (concurrent executions), all mappings",
    ),
    (
        "sqs_messages_deleted",
        "messages SQS queues' consumers processed and deleted, all queues",
    ),
    (
        "sqs_messages_in_queues",
        "messages the SQS queues hold now (visible, in flight or delayed), all queues",
    ),
    (
        "sqs_redelivered",
        "messages received again after their visibility timeout ran out, all queues",
    ),
    (
        "sqs_duplicates",
        "extra copies standard queues delivered (at-least-once), all queues",
    ),
    (
        "sqs_out_of_order_standard",
        "messages processed after one sent later, standard queues",
    ),
    (
        "sqs_out_of_order_fifo",
        "messages processed after one of their group sent later, FIFO queues",
    ),
    (
        "sqs_consumer_share_max_percent",
        "the largest share of a queue's messages one of its competing consumers received, in percent (queues with two consumers or more)",
    ),
    ("sns_published", "messages published to the SNS topic"),
    (
        "sns_copies_min",
        "messages the subscribed queue that got the fewest was sent by the topic",
    ),
    (
        "firehose_objects",
        "objects Firehose has delivered to buckets",
    ),
    (
        "firehose_buffered_records",
        "records waiting in Firehose buffers",
    ),
    ("sql_rows_in", "rows the SQL application has read"),
    (
        "sql_rows_out",
        "rows the SQL application's in-application streams have emitted",
    ),
];

/// The value of measure `name` in `snap` (see [`MEASURES`]).
pub fn measure(name: &str, snap: &Snapshot) -> Option<f64> {
    let readers = || {
        snap.consumers
            .iter()
            .filter(|c| !c.name.starts_with("firehose/") && !c.name.starts_with("sql/"))
    };
    let open = || snap.shards.iter().filter(|s| s.open);
    let kcls = || readers().filter_map(|c| c.kcl.as_ref());
    let mappings = || readers().filter_map(|c| c.lambda.as_ref());
    let queues = || snap.messaging.iter().flat_map(|m| &m.queues);
    let percent = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    };
    let value = match name {
        "elapsed_seconds" => snap.elapsed_ms as f64 / 1000.0,
        "shards_open" => open().count() as f64,
        "shards_closed" => snap.shards.iter().filter(|s| !s.open).count() as f64,
        "rate_per_sec" => snap.rate_per_sec as f64,
        "retention_hours" => snap.retention_hours as f64,
        "records_retained" => snap.shards.iter().map(|s| s.records_retained).sum::<u64>() as f64,
        "oldest_record_age_seconds" => snap
            .shards
            .iter()
            .filter_map(|s| s.oldest_arrival_ms)
            .min()
            .map_or(0.0, |t| snap.now_ms.saturating_sub(t) as f64 / 1000.0),
        "records_produced" => snap.records_produced as f64,
        "records_accepted" => snap.records_accepted() as f64,
        "records_throttled" => snap.shards.iter().map(|s| s.records_throttled).sum::<u64>() as f64,
        "records_retried" => snap.records_retried as f64,
        "records_awaiting_retry" => snap.records_awaiting_retry as f64,
        "records_failed" => snap.records_failed as f64,
        "records_held" => snap.records_held as f64,
        "accepted_last_second" => open().map(|s| s.records_last_second).sum::<u64>() as f64,
        "throttled_last_second" => snap
            .shards
            .iter()
            .map(|s| s.records_throttled_last_second)
            .sum::<u64>() as f64,
        "busiest_shard_percent" => percent(
            open().map(|s| s.records_last_second).max().unwrap_or(0),
            open().map(|s| s.records_last_second).sum(),
        ),
        "throttled_one_shard_percent" => percent(
            snap.shards
                .iter()
                .map(|s| s.records_throttled)
                .max()
                .unwrap_or(0),
            snap.shards.iter().map(|s| s.records_throttled).sum(),
        ),
        "records_per_kinesis_record" => {
            if snap.kinesis_records_put == 0 {
                0.0
            } else {
                snap.records_produced as f64 / snap.kinesis_records_put as f64
            }
        }
        "consumers" => readers().count() as f64,
        "consumer_records_min" => readers().map(|c| c.delivered).min().unwrap_or(0) as f64,
        "consumer_user_records_min" => readers().map(|c| c.user_records).min().unwrap_or(0) as f64,
        "consumer_lag_ms_max" => readers().map(|c| c.max_lag_ms).max().unwrap_or(0) as f64,
        "consumer_records_behind_max" => {
            let accepted = snap.records_accepted();
            readers()
                .map(|c| accepted.saturating_sub(c.delivered.saturating_sub(c.redelivered)))
                .max()
                .unwrap_or(0) as f64
        }
        "consumer_throttled" => readers().map(|c| c.throttled).sum::<u64>() as f64,
        "consumer_throttled_last_second" => snap.consumers_last_second.throttled as f64,
        "consumer_redelivered" => readers().map(|c| c.redelivered).sum::<u64>() as f64,
        "consumer_out_of_order" => readers().map(|c| c.out_of_order).sum::<u64>() as f64,
        "consumer_out_of_order_last_second" => snap.consumers_last_second.out_of_order as f64,
        "consumers_fan_out" => readers().filter(|c| c.fan_out).count() as f64,
        "kcl_workers_running" => kcls().flat_map(|k| &k.workers).filter(|w| w.alive).count() as f64,
        "kcl_leases_of_stopped_workers" => kcls()
            .flat_map(|k| {
                k.workers
                    .iter()
                    .filter(|w| !w.alive)
                    .map(|w| w.leases as u64)
            })
            .sum::<u64>() as f64,
        "kcl_lease_spread" => kcls()
            .map(|k| {
                let held = || k.workers.iter().filter(|w| w.alive).map(|w| w.leases);
                held().max().unwrap_or(0) - held().min().unwrap_or(0)
            })
            .max()
            .unwrap_or(0) as f64,
        "kcl_leases_stolen" => kcls().map(|k| k.counts.stolen).sum::<u64>() as f64,
        "kcl_duplicates" => readers()
            .filter(|c| c.kcl.is_some())
            .map(|c| c.redelivered)
            .sum::<u64>() as f64,
        "kcl_leases_waiting_for_parents" => kcls()
            .flat_map(|k| &k.leases)
            .filter(|l| l.blocked_on_parents)
            .count() as f64,
        "lambda_invocations" => mappings().map(|m| m.invocations).sum::<u64>() as f64,
        "lambda_errors" => mappings().map(|m| m.errors).sum::<u64>() as f64,
        "lambda_processed" => mappings().map(|m| m.processed).sum::<u64>() as f64,
        "lambda_invoked_again" => mappings().map(|m| m.invoked_again).sum::<u64>() as f64,
        "lambda_discarded" => mappings().map(|m| m.discarded).sum::<u64>() as f64,
        "lambda_last_discard_records" => mappings()
            .filter_map(|m| m.failures.last())
            .map(|d| d.records)
            .max()
            .unwrap_or(0) as f64,
        "lambda_retrying_shards" => mappings()
            .flat_map(|m| &m.shards)
            .filter(|s| s.retries > 0)
            .count() as f64,
        "lambda_iterator_age_ms" => mappings().map(|m| m.iterator_age_ms).max().unwrap_or(0) as f64,
        "lambda_parallelization" => mappings()
            .map(|m| m.spec.parallelization_factor)
            .max()
            .unwrap_or(0) as f64,
        "lambda_records_waiting" => mappings()
            .flat_map(|m| &m.shards)
            .map(|s| s.waiting)
            .sum::<u64>() as f64,
        "lambda_concurrent" => mappings().map(|m| u64::from(m.concurrent)).sum::<u64>() as f64,
        "sqs_messages_deleted" => queues().map(|q| q.counts.deleted).sum::<u64>() as f64,
        "sqs_messages_in_queues" => queues()
            .map(|q| q.visible + q.in_flight + q.delayed)
            .sum::<u64>() as f64,
        "sqs_redelivered" => queues().map(|q| q.counts.redelivered).sum::<u64>() as f64,
        "sqs_duplicates" => queues().map(|q| q.counts.duplicates).sum::<u64>() as f64,
        "sqs_out_of_order_standard" => queues()
            .filter(|q| !q.fifo)
            .map(|q| q.counts.out_of_order)
            .sum::<u64>() as f64,
        "sqs_out_of_order_fifo" => queues()
            .filter(|q| q.fifo)
            .map(|q| q.counts.out_of_order)
            .sum::<u64>() as f64,
        "sqs_consumer_share_max_percent" => queues()
            .filter(|q| q.processed_per_consumer.len() > 1)
            .map(|q| {
                percent(
                    q.processed_per_consumer.iter().copied().max().unwrap_or(0),
                    q.processed_per_consumer.iter().sum(),
                )
            })
            .fold(0.0, f64::max),
        "sns_published" => snap.messaging.as_ref().map_or(0, |m| m.published) as f64,
        "sns_copies_min" => queues()
            .filter(|q| q.from_topic)
            .map(|q| q.counts.sent)
            .min()
            .unwrap_or(0) as f64,
        "firehose_objects" => snap
            .delivery_streams
            .iter()
            .map(|d| d.bucket_objects)
            .sum::<u64>() as f64,
        "firehose_buffered_records" => snap
            .delivery_streams
            .iter()
            .map(|d| d.buffered_records)
            .sum::<u64>() as f64,
        "sql_rows_in" => snap.sql.as_ref().map_or(0, |s| s.rows_in) as f64,
        "sql_rows_out" => {
            snap.sql
                .as_ref()
                .map_or(0, |s| s.streams.iter().map(|t| t.total).sum::<u64>()) as f64
        }
        _ => return None,
    };
    Some(value)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Ge => a >= b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Lt => a < b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Clause {
    measure: &'static str,
    op: Op,
    value: f64,
}

/// A step's condition: comparisons of measures with numbers, joined by
/// `and`, e.g. `shards_open >= 3 and records_throttled == 0`.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// As written in the file.
    pub text: String,
    clauses: Vec<Clause>,
}

impl Check {
    /// Reads a check; the error says which part is wrong and lists the
    /// measures when a name is unknown.
    pub fn parse(text: &str) -> Result<Check, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the check is empty; write e.g. `records_accepted > 0`".into());
        }
        let mut clauses = Vec::new();
        for part in text.split(" and ") {
            let words: Vec<&str> = part.split_whitespace().collect();
            let [name, op, value] = words.as_slice() else {
                return Err(format!(
                    "`{}` is not a comparison; write `measure op number`, e.g. `shards_open >= 3`",
                    part.trim()
                ));
            };
            let measure = MEASURES
                .iter()
                .map(|(m, _)| *m)
                .find(|m| m == name)
                .ok_or_else(|| {
                    format!(
                        "there is no measure `{name}`; the measures are {}",
                        MEASURES
                            .iter()
                            .map(|(m, _)| *m)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            let op = match *op {
                ">=" => Op::Ge,
                "<=" => Op::Le,
                ">" => Op::Gt,
                "<" => Op::Lt,
                "==" => Op::Eq,
                "!=" => Op::Ne,
                other => {
                    return Err(format!(
                        "`{other}` is not a comparison; use >=, <=, >, <, == or !="
                    ))
                }
            };
            let value: f64 = value
                .replace('_', "")
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| format!("`{value}` is not a number"))?;
            clauses.push(Clause { measure, op, value });
        }
        Ok(Check {
            text: text.to_string(),
            clauses,
        })
    }

    /// Whether the stream in `snap` satisfies every comparison.
    pub fn holds(&self, snap: &Snapshot) -> bool {
        self.clauses
            .iter()
            .all(|c| measure(c.measure, snap).is_some_and(|v| c.op.holds(v, c.value)))
    }

    /// Each comparison with the value it has now, for the step's status
    /// line, e.g. `records_throttled > 0 (now 0)`.
    pub fn progress(&self, snap: &Snapshot) -> Vec<(String, bool)> {
        self.clauses
            .iter()
            .map(|c| {
                let now = measure(c.measure, snap).unwrap_or(0.0);
                let shown = if now.fract() == 0.0 {
                    format!("{now:.0}")
                } else {
                    format!("{now:.1}")
                };
                let op = match c.op {
                    Op::Ge => ">=",
                    Op::Le => "<=",
                    Op::Gt => ">",
                    Op::Lt => "<",
                    Op::Eq => "==",
                    Op::Ne => "!=",
                };
                (
                    format!("{} {op} {} (now {shown})", c.measure, c.value),
                    c.op.holds(now, c.value),
                )
            })
            .collect()
    }
}

/// Markdown to HTML (CommonMark with tables and strikethrough).
pub fn markdown_html(text: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let mut out = String::new();
    html::push_html(
        &mut out,
        Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH),
    );
    out
}

/// Markdown from a file anyone may have written (an exercise from a link)
/// to HTML that can only be text and formatting: raw HTML is shown as
/// text, and a link or image whose address is not http(s), mailto or
/// relative becomes plain text.
pub fn markdown_html_untrusted(text: &str) -> String {
    use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};
    let safe = |url: &CowStr| {
        let url = url.trim().to_ascii_lowercase();
        match url.find(':') {
            None => true,
            // A colon after a slash, ? or # is not a scheme's.
            Some(i) if url[..i].contains(['/', '?', '#']) => true,
            Some(_) => ["http:", "https:", "mailto:"]
                .iter()
                .any(|s| url.starts_with(s)),
        }
    };
    // Dropped tags' ends are dropped too (links and images do not nest).
    let mut dropped: Vec<bool> = Vec::new();
    let events = Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
        .filter_map(|event| match event {
            Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
            Event::Start(Tag::Link { ref dest_url, .. })
            | Event::Start(Tag::Image { ref dest_url, .. }) => {
                let ok = safe(dest_url);
                dropped.push(!ok);
                ok.then_some(event)
            }
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
                (!dropped.pop().unwrap_or(false)).then_some(event)
            }
            other => Some(other),
        });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// A front matter line: its number, key and value.
pub(crate) type FrontLine = (usize, &'static str, String);

/// Reads the front matter that opens a lesson or exercise file: the index
/// of its closing `---` line, and each `key: value` with its line. `intro`
/// says what a file without one should start with; keys outside `keys`
/// and keys given twice are errors.
pub(crate) fn front_matter(
    lines: &[&str],
    intro: &str,
    keys: &[&'static str],
) -> Result<(usize, Vec<FrontLine>), LessonError> {
    let err = |line: usize, message: String| LessonError { line, message };
    if lines.first().map(|l| l.trim()) != Some("---") {
        return Err(err(1, intro.to_string()));
    }
    let end = lines
        .iter()
        .skip(1)
        .position(|l| l.trim() == "---")
        .map(|i| i + 1)
        .ok_or_else(|| err(1, "the front matter has no closing `---` line".into()))?;
    let mut out: Vec<FrontLine> = Vec::new();
    for (i, line) in lines.iter().enumerate().take(end).skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| err(i + 1, format!("`{line}` is not `key: value`")))?;
        let key = key.trim();
        let key = *keys.iter().find(|k| **k == key).ok_or_else(|| {
            err(
                i + 1,
                format!(
                    "unknown front matter key `{key}` (keys: {})",
                    keys.join(", ")
                ),
            )
        })?;
        if out.iter().any(|(_, k, _)| *k == key) {
            return Err(err(i + 1, format!("`{key}:` is given twice")));
        }
        // A value may be quoted (as in YAML), for titles with a colon.
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        out.push((i + 1, key, value.to_string()));
    }
    Ok((end, out))
}

/// A fenced code block's opening line: its marker (```` ``` ```` or `~~~`,
/// or longer) and its info string, lowercased, spaces collapsed.
pub(crate) fn opens_fence(trimmed: &str) -> Option<(String, String)> {
    if !trimmed.starts_with("```") && !trimmed.starts_with("~~~") {
        return None;
    }
    let marker: String = trimmed
        .chars()
        .take_while(|c| *c == '`' || *c == '~')
        .collect();
    let info = trimmed[marker.len()..]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    Some((marker, info))
}

/// Whether a line closes the block `marker` opened.
pub(crate) fn closes_fence(trimmed: &str, marker: &str) -> bool {
    trimmed.starts_with(marker)
        && trimmed
            .trim_start_matches(marker.chars().next().unwrap_or('`'))
            .trim()
            .is_empty()
}

/// A step while it is being read.
struct Draft {
    title: String,
    line: usize,
    text: String,
    check: Option<Check>,
    hints: Vec<String>,
    actions: Vec<(usize, String)>,
    sql: Option<String>,
}

/// Reads a lesson file; every error names its line.
pub fn parse(source: &str) -> Result<Lesson, LessonError> {
    let err = |line: usize, message: String| LessonError { line, message };
    let lines: Vec<&str> = source.lines().collect();
    let (end, front) = front_matter(
        &lines,
        "a lesson starts with front matter: a line `---`, then `title:` and `scenario:`, then `---`",
        &["title", "scenario", "summary"],
    )?;
    let (mut title, mut scenario, mut summary) = (None, None, None);
    for (_, key, value) in front {
        match key {
            "title" => title = Some(value),
            "scenario" => scenario = Some(value),
            _ => summary = Some(value),
        }
    }
    let title = title
        .filter(|t| !t.is_empty())
        .ok_or_else(|| err(1, "the front matter needs a `title:`".into()))?;
    let scenario = scenario.filter(|s| !s.is_empty()).ok_or_else(|| {
        err(
            1,
            "the front matter needs a `scenario:` (a file in static/scenarios/)".into(),
        )
    })?;
    if scenario.contains('/') || !scenario.ends_with(".json") {
        return Err(err(
            1,
            format!("`scenario: {scenario}` must name a .json file in static/scenarios/"),
        ));
    }

    let mut intro = String::new();
    let mut drafts: Vec<Draft> = Vec::new();
    let mut fence: Option<(String, String)> = None; // (marker, info)
    let mut fenced = String::new();
    for (i, line) in lines.iter().enumerate().skip(end + 1) {
        let n = i + 1;
        let trimmed = line.trim_start();
        if let Some((marker, info)) = &fence {
            if closes_fence(trimmed, marker) {
                if info == "sql" {
                    if let Some(step) = drafts.last_mut() {
                        step.sql.get_or_insert_with(|| fenced.clone());
                    }
                }
                fence = None;
                fenced.clear();
            } else {
                fenced.push_str(line);
                fenced.push('\n');
            }
        } else if let Some((marker, info)) = opens_fence(trimmed) {
            fence = Some((marker, info));
        } else if let Some(heading) = line.strip_prefix("## ") {
            drafts.push(Draft {
                title: heading.trim().to_string(),
                line: n,
                text: String::new(),
                check: None,
                hints: Vec::new(),
                actions: Vec::new(),
                sql: None,
            });
            continue;
        } else if let Some(directive) = ["check:", "hint:", "do:"]
            .iter()
            .find(|d| line.starts_with(*d))
        {
            let value = line[directive.len()..].trim();
            let step = drafts.last_mut().ok_or_else(|| {
                err(
                    n,
                    format!("`{directive}` belongs inside a step (after a `## ` heading)"),
                )
            })?;
            match *directive {
                "check:" => {
                    if step.check.is_some() {
                        return Err(err(
                            n,
                            format!(
                                "step \"{}\" has a second `check:`; join the conditions with `and`",
                                step.title
                            ),
                        ));
                    }
                    step.check = Some(Check::parse(value).map_err(|m| err(n, m))?);
                }
                "hint:" => step.hints.push(markdown_html(value)),
                _ => step.actions.push((n, value.to_string())),
            }
            continue;
        }
        match drafts.last_mut() {
            Some(step) => {
                step.text.push_str(line);
                step.text.push('\n');
            }
            None => {
                intro.push_str(line);
                intro.push('\n');
            }
        }
    }
    if fence.is_some() {
        return Err(err(lines.len(), "a code block is never closed".into()));
    }
    if drafts.is_empty() {
        return Err(err(
            lines.len(),
            "the lesson has no steps; start each with a `## ` heading".into(),
        ));
    }
    let mut steps = Vec::with_capacity(drafts.len());
    for d in drafts {
        let check = d
            .check
            .ok_or_else(|| err(d.line, format!("step \"{}\" has no `check:` line", d.title)))?;
        if d.actions.is_empty() {
            return Err(err(
                d.line,
                format!("step \"{}\" has no `do:` line (its solution)", d.title),
            ));
        }
        let count = d.actions.len();
        let mut solution = Vec::with_capacity(count);
        for (k, (n, text)) in d.actions.iter().enumerate() {
            let action = action(text, d.sql.as_deref()).map_err(|m| err(*n, m))?;
            if matches!(action, Action::Run { .. }) && k + 1 != count {
                return Err(err(
                    *n,
                    "`do: run` comes last in a step (time passes after the other actions)".into(),
                ));
            }
            solution.push(action);
        }
        steps.push(Step {
            title: d.title,
            html: markdown_html(&d.text),
            check,
            hints: d.hints,
            solution,
        });
    }
    Ok(Lesson {
        title,
        scenario,
        summary,
        intro_html: markdown_html(&intro),
        steps,
    })
}

fn action(text: &str, sql: Option<&str>) -> Result<Action, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let number = |w: &str, what: &str| {
        w.replace([',', '_'], "")
            .parse::<u64>()
            .map_err(|_| format!("`{w}` is not a whole number ({what})"))
    };
    match words.as_slice() {
        ["run", duration] => Ok(Action::Run {
            ms: parse_duration(duration)?,
        }),
        ["rate", n] => Ok(Action::Rate {
            per_sec: number(n, "records per second")?,
        }),
        ["split", shard] => Ok(Action::Split {
            shard_id: shard.to_string(),
        }),
        ["merge", a, b] => Ok(Action::Merge {
            shard_id: a.to_string(),
            adjacent_shard_id: b.to_string(),
        }),
        ["kill-worker", n] => Ok(Action::KillWorker {
            worker: u32::try_from(number(n, "a worker")?)
                .map_err(|_| format!("there is no worker {n}"))?,
        }),
        ["retention", hours] => Ok(Action::Retention {
            hours: u32::try_from(number(hours, "hours")?)
                .map_err(|_| format!("{hours} hours is far too long a retention period"))?,
        }),
        ["replay", consumer] => Ok(Action::Replay {
            consumer: consumer.to_string(),
            at_elapsed_ms: None,
        }),
        ["replay", consumer, "at", elapsed] => Ok(Action::Replay {
            consumer: consumer.to_string(),
            at_elapsed_ms: Some(parse_duration(elapsed)?),
        }),
        ["poll", consumer, ms] => Ok(Action::Poll {
            consumer: consumer.to_string(),
            ms: number(ms, "milliseconds")?,
        }),
        ["queue-failures", queue, percent] => Ok(Action::QueueFailures {
            queue: queue.to_string(),
            percent: u32::try_from(number(percent, "a percentage")?)
                .map_err(|_| format!("{percent} is not a percentage"))?,
        }),
        ["fan-out", consumer, state @ ("on" | "off")] => Ok(Action::FanOut {
            consumer: consumer.to_string(),
            on: *state == "on",
        }),
        ["mapping", consumer, setting, value] => Ok(Action::Mapping {
            consumer: consumer.to_string(),
            update: mapping_update(setting, value)?,
        }),
        [verb @ ("stop" | "start"), app, worker] => Ok(Action::KclWorker {
            app: app.to_string(),
            worker: worker.to_string(),
            start: *verb == "start",
        }),
        ["scenario", file] if file.ends_with(".json") && !file.contains('/') => {
            Ok(Action::Scenario {
                file: file.to_string(),
            })
        }
        ["sql"] => sql
            .map(|code| Action::Sql {
                code: code.to_string(),
            })
            .ok_or_else(|| {
                "`do: sql` starts the step's ```sql block, and this step has none".into()
            }),
        _ => Err(format!(
            "`do: {text}` is not an action; the actions are `run 10s`, `rate 3000`, \
             `split <shard id>`, `merge <shard id> <adjacent shard id>`, `sql`, `kill-worker <n>`, \
             `retention <hours>`, `replay <consumer> [at <time since creation, e.g. 30m>]`, \
             `poll <consumer> <milliseconds>`, `fan-out <consumer> on|off`, \
             `queue-failures <queue> <percent>`, \
             `mapping <event source mapping> <setting> <value>`, \
             `stop <KCL application> <worker>`, \
             `start <KCL application> <worker>` and `scenario <file in static/scenarios/>`"
        )),
    }
}

/// One setting of `do: mapping <name> <setting> <value>`.
fn mapping_update(setting: &str, value: &str) -> Result<shardlab_sim::esm::EsmUpdate, String> {
    let mut u = shardlab_sim::esm::EsmUpdate::default();
    let whole = || {
        value
            .parse::<i32>()
            .map_err(|_| format!("`{value}` is not a whole number"))
    };
    let switch = || match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("`{setting}` is `on` or `off`, not `{value}`")),
    };
    let count = || {
        value
            .parse::<u32>()
            .map_err(|_| format!("`{value}` is not a whole number"))
    };
    match setting {
        "batch-size" => u.batch_size = Some(count()?),
        "window" => u.maximum_batching_window_s = Some(count()?),
        "parallelization" => u.parallelization_factor = Some(count()?),
        "bisect" => u.bisect_batch_on_function_error = Some(switch()?),
        "retries" => u.maximum_retry_attempts = Some(whole()?),
        "max-age" => u.maximum_record_age_s = Some(whole()?),
        "report-failures" => u.report_batch_item_failures = Some(switch()?),
        _ => {
            return Err(format!(
                "`{setting}` is not a mapping setting; they are batch-size, window, \
                 parallelization, bisect, retries, max-age and report-failures"
            ))
        }
    }
    Ok(u)
}

#[cfg(test)]
mod tests;
