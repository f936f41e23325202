//! Enhanced fan-out: registered stream consumers, each with its own
//! 2 MiB/s per shard, pushed to through `SubscribeToShard`.
//!
//! Over HTTP, AWS streams `SubscribeToShardEvent`s for up to 5 minutes on
//! one connection. Here a subscription is a value the caller holds and
//! polls with the virtual clock ([`Kinesis::next_event`]): each poll
//! delivers what the consumer's 2 MiB/s allows since the last one, with
//! the `ContinuationSequenceNumber` to resume from, and `ChildShards` at
//! the end of a closed shard. After 5 minutes the subscription ends and
//! the consumer subscribes again, as with AWS.

use serde_json::{json, Value};

use super::output::RecordJson;
use super::request::{Body, Validation};
use super::{epoch_secs, Finish, Kinesis, Planned, StreamStatus};
use crate::shard::DebtBucket;
use crate::store::{ShardOp, ShardOpResult, ShardStore};
use crate::{shard_id, ApiError, SequenceNumber};

/// At most 20 consumers per stream, and 5 registering at once.
const MAX_CONSUMERS: usize = 20;
const MAX_CREATING: usize = 5;
/// A subscription lasts 5 minutes; subscribing again to the same shard
/// within 5 seconds of a successful call is refused.
const SUBSCRIPTION_MS: u64 = 300_000;
const RESUBSCRIBE_MS: u64 = 5_000;
/// Each consumer gets 2 MiB/s per shard.
const FANOUT_BYTES_PER_SEC: u64 = 2 * 1024 * 1024;

#[derive(Clone, Debug)]
pub(super) struct Consumer {
    name: String,
    arn: String,
    created_ms: u64,
    deregistered_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConsumerStatus {
    Creating,
    Active,
    Deleting,
}

impl ConsumerStatus {
    fn as_str(self) -> &'static str {
        match self {
            ConsumerStatus::Creating => "CREATING",
            ConsumerStatus::Active => "ACTIVE",
            ConsumerStatus::Deleting => "DELETING",
        }
    }
}

/// An open `SubscribeToShard`: where the consumer is in the shard, and
/// its share of throughput.
#[derive(Clone, Debug)]
pub struct Subscription {
    stream: String,
    stream_created_ms: u64,
    consumer_arn: String,
    shard_index: u32,
    position: u64,
    started_ms: u64,
    budget: DebtBucket,
    finished: bool,
}

impl Subscription {
    pub fn shard_id(&self) -> String {
        shard_id(self.shard_index)
    }
}

/// A `SubscribeToShardEvent`, typed.
#[derive(Debug)]
pub struct SubscribeEvent {
    pub records: Vec<RecordJson>,
    pub continuation_sequence_number: SequenceNumber,
    pub millis_behind_latest: u64,
    /// At the end of a closed shard: its children (and the subscription
    /// is over).
    pub child_shards: Option<Vec<Value>>,
}

impl SubscribeEvent {
    /// The event as the JSON protocol's `SubscribeToShardEvent`.
    pub fn to_json(self) -> Value {
        let records: Vec<Value> = self
            .records
            .into_iter()
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
            .collect();
        let mut event = json!({
            "Records": records,
            "ContinuationSequenceNumber": self.continuation_sequence_number.to_string(),
            "MillisBehindLatest": self.millis_behind_latest,
        });
        if let Some(children) = self.child_shards {
            event["ChildShards"] = Value::Array(children);
        }
        event
    }
}

impl Kinesis {
    fn consumer_status(&self, c: &Consumer) -> ConsumerStatus {
        if c.deregistered_ms.is_some() {
            ConsumerStatus::Deleting
        } else if self.now_ms < c.created_ms + self.config.transition_ms {
            ConsumerStatus::Creating
        } else {
            ConsumerStatus::Active
        }
    }

    fn consumer_json(&self, c: &Consumer) -> Value {
        json!({
            "ConsumerName": c.name,
            "ConsumerARN": c.arn,
            "ConsumerStatus": self.consumer_status(c).as_str(),
            "ConsumerCreationTimestamp": epoch_secs(c.created_ms),
        })
    }

    /// The ARN of the stream consumer `name` registered on `stream`.
    pub fn consumer_arn(&self, stream: &str, name: &str) -> Option<String> {
        let c = self.streams.get(stream)?.consumers.get(name)?;
        c.deregistered_ms.is_none().then(|| c.arn.clone())
    }

    /// Removes consumers whose deregistration has finished.
    pub(super) fn advance_consumers(&mut self) {
        let (now, transition) = (self.now_ms, self.config.transition_ms);
        for s in self.streams.values_mut() {
            s.consumers
                .retain(|_, c| c.deregistered_ms.is_none_or(|d| now < d + transition));
        }
    }

    /// The stream a consumer ARN belongs to, and the consumer's name:
    /// `<stream ARN>/consumer/<name>:<creation epoch seconds>`.
    fn parse_consumer_arn(&self, arn: &str) -> Result<(String, String), ApiError> {
        let invalid = || {
            ApiError::validation(format!(
                "1 validation error detected: Value '{arn}' at 'consumerARN' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: \
                 ^(arn):aws.*:kinesis:.*:\\d{{12}}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+"
            ))
        };
        let (stream_arn, rest) = arn.split_once("/consumer/").ok_or_else(invalid)?;
        let (name, _) = rest.rsplit_once(':').ok_or_else(invalid)?;
        let stream = self.parse_arn(stream_arn)?;
        Ok((stream, name.to_string()))
    }

    fn consumer_not_found(&self, what: &str) -> ApiError {
        ApiError::not_found(format!(
            "Consumer {what} under account {} not found.",
            self.config.account_id
        ))
    }

    /// Resolves `ConsumerARN`, or `StreamARN` plus `ConsumerName`.
    fn find_consumer(&self, body: &Body) -> Result<(String, String), ApiError> {
        let mut v = Validation::new();
        let consumer_arn = body.str("ConsumerARN")?;
        let stream_arn = body.str("StreamARN")?;
        let name = body.str("ConsumerName")?;
        v.name(name, "consumerName");
        v.finish()?;
        let (stream, name) = match (consumer_arn, stream_arn, name) {
            (Some(arn), _, _) => {
                let (stream, name) = self.parse_consumer_arn(arn)?;
                let s = self.stream(&stream)?;
                match s.consumers.get(&name) {
                    Some(c) if c.arn == arn => (stream, name),
                    _ => return Err(self.consumer_not_found(arn)),
                }
            }
            (None, Some(sa), Some(n)) => (self.parse_arn(sa)?, n.to_string()),
            _ => {
                return Err(ApiError::invalid_argument(
                    "Either ConsumerARN or both ConsumerName and StreamARN must be provided.",
                ))
            }
        };
        if !self.stream(&stream)?.consumers.contains_key(&name) {
            return Err(self.consumer_not_found(&name));
        }
        Ok((stream, name))
    }

    pub(super) fn register_stream_consumer(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let stream_arn = body.str("StreamARN")?;
        v.required(&stream_arn, "streamARN");
        let name = body.str("ConsumerName")?;
        v.required(&name, "consumerName");
        v.name(name, "consumerName");
        v.finish()?;
        let stream = self.parse_arn(stream_arn.unwrap_or_default())?;
        let name = name.unwrap_or_default().to_string();
        let s = self.stream(&stream)?;
        if s.status != StreamStatus::Active && s.status != StreamStatus::Updating {
            return Err(self.not_active(s));
        }
        if s.consumers.contains_key(&name) {
            return Err(ApiError::in_use(format!(
                "Consumer {name} under stream {stream} already exists for account {}.",
                self.config.account_id
            )));
        }
        if s.consumers.len() >= MAX_CONSUMERS {
            return Err(ApiError::limit_exceeded(format!(
                "Stream {stream} under account {} already has {MAX_CONSUMERS} registered \
                 consumers, the most a stream can have.",
                self.config.account_id
            )));
        }
        let creating = s
            .consumers
            .values()
            .filter(|c| self.consumer_status(c) == ConsumerStatus::Creating)
            .count();
        if creating >= MAX_CREATING {
            return Err(ApiError::limit_exceeded(format!(
                "Rate exceeded: at most {MAX_CREATING} consumers can be registering at once."
            )));
        }
        let now = self.now_ms;
        let consumer = Consumer {
            arn: format!("{}/consumer/{name}:{}", s.arn, now / 1000),
            name: name.clone(),
            created_ms: now,
            deregistered_ms: None,
        };
        let out = json!({ "Consumer": self.consumer_json(&consumer) });
        self.stream_mut(&stream)?.consumers.insert(name, consumer);
        Ok(out)
    }

    pub(super) fn describe_stream_consumer(&mut self, body: &Body) -> Result<Value, ApiError> {
        let (stream, name) = self.find_consumer(body)?;
        let s = self.stream(&stream)?;
        let c = &s.consumers[&name];
        let mut d = self.consumer_json(c);
        d["StreamARN"] = json!(s.arn);
        Ok(json!({ "ConsumerDescription": d }))
    }

    pub(super) fn list_stream_consumers(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let stream_arn = body.str("StreamARN")?;
        v.required(&stream_arn, "streamARN");
        let max = body.int("MaxResults")?;
        v.range(max, "maxResults", 1, 10_000);
        let token = body.str("NextToken")?;
        v.finish()?;
        let stream = self.parse_arn(stream_arn.unwrap_or_default())?;
        let s = self.stream(&stream)?;
        let after = token.map(str::to_string);
        let max = max.unwrap_or(100) as usize;
        let listed: Vec<&Consumer> = s
            .consumers
            .values()
            .filter(|c| after.as_ref().is_none_or(|a| c.name > *a))
            .collect();
        let page = &listed[..listed.len().min(max)];
        let mut out = json!({
            "Consumers": page.iter().map(|c| self.consumer_json(c)).collect::<Vec<_>>(),
        });
        if listed.len() > page.len() {
            if let Some(last) = page.last() {
                out["NextToken"] = json!(last.name);
            }
        }
        Ok(out)
    }

    pub(super) fn deregister_stream_consumer(&mut self, body: &Body) -> Result<Value, ApiError> {
        let (stream, name) = self.find_consumer(body)?;
        let now = self.now_ms;
        if let Some(c) = self.stream_mut(&stream)?.consumers.get_mut(&name) {
            c.deregistered_ms.get_or_insert(now);
        }
        self.advance_consumers();
        Ok(Value::Null)
    }

    /// Opens a subscription of `consumer_arn` to one shard, from
    /// `StartingPosition` (`Type` and its `SequenceNumber` or `Timestamp`),
    /// with AWS's checks, on the in-process shards.
    pub fn subscribe_to_shard(
        &mut self,
        request: &Value,
        now_ms: u64,
    ) -> Result<Subscription, ApiError> {
        let (mut planned, sub) = self.plan_subscribe_to_shard(request, now_ms)?;
        let results = self.local.run(planned.take_ops());
        self.finish_subscribe_to_shard(planned, sub, results)
    }

    /// `subscribe_to_shard` in two halves, for shards that run elsewhere:
    /// the checks and the shard operation that finds the starting
    /// position; the subscription is finished with its result.
    pub fn plan_subscribe_to_shard(
        &mut self,
        request: &Value,
        now_ms: u64,
    ) -> Result<(Planned, Subscription), ApiError> {
        self.set_now(now_ms);
        let body = Body::new(request)?;
        let mut v = Validation::new();
        let consumer_arn = body.str("ConsumerARN")?;
        v.required(&consumer_arn, "consumerARN");
        let raw_shard = body.str("ShardId")?;
        v.required(&raw_shard, "shardId");
        let start = body.object("StartingPosition")?;
        v.required(&start.as_ref().map(|_| ()), "startingPosition");
        v.finish()?;
        let consumer_arn = consumer_arn.unwrap_or_default().to_string();
        let (stream, name) = self.parse_consumer_arn(&consumer_arn)?;
        let s = self.stream(&stream)?;
        let consumer = s
            .consumers
            .get(&name)
            .filter(|c| c.arn == consumer_arn)
            .ok_or_else(|| self.consumer_not_found(&consumer_arn))?;
        if self.consumer_status(consumer) != ConsumerStatus::Active {
            return Err(ApiError::in_use(format!(
                "Consumer {consumer_arn} is not ACTIVE, instead in state {}.",
                self.consumer_status(consumer).as_str()
            )));
        }
        // The position is resolved exactly as GetShardIterator resolves it.
        let start = start.ok_or_else(|| ApiError::InternalFailure(String::new()))?;
        let mut iterator_request = json!({
            "StreamName": stream,
            "ShardId": raw_shard.unwrap_or_default(),
            "ShardIteratorType": start.str("Type")?.unwrap_or_default(),
        });
        if let Some(seq) = start.str("SequenceNumber")? {
            iterator_request["StartingSequenceNumber"] = json!(seq);
        }
        if let Some(ts) = start.timestamp_ms("Timestamp")? {
            iterator_request["Timestamp"] = json!(ts as f64 / 1000.0);
        }
        let (_, shard_index, at) = self.resolve_position(&Body::new(&iterator_request)?)?;
        let key = (consumer_arn.clone(), shard_index);
        if let Some(&last) = self.subscriptions.get(&key) {
            if now_ms < last + RESUBSCRIBE_MS {
                return Err(ApiError::in_use(format!(
                    "Another active subscription exists for consumer {consumer_arn} on shard {}; \
                     wait 5 seconds after a successful SubscribeToShard before calling it again.",
                    shard_id(shard_index)
                )));
            }
        }
        let s = self.stream(&stream)?;
        let created = s.created_ms;
        let shard_key = s.key(shard_index);
        self.own_ops.clear();
        self.own_ops.push((
            shard_key,
            ShardOp::Position {
                at,
                now_ms,
                charge: false,
            },
        ));
        let planned = self.planned(Finish::Ready(Value::Null));
        Ok((
            planned,
            Subscription {
                stream,
                stream_created_ms: created,
                consumer_arn,
                shard_index,
                position: 0,
                started_ms: now_ms,
                budget: DebtBucket::new(FANOUT_BYTES_PER_SEC, now_ms),
                finished: false,
            },
        ))
    }

    /// Finishes a planned `SubscribeToShard` with its shard's answer.
    pub fn finish_subscribe_to_shard(
        &mut self,
        planned: Planned,
        mut sub: Subscription,
        results: Vec<ShardOpResult>,
    ) -> Result<Subscription, ApiError> {
        match planned.own_results(results).next() {
            Some(ShardOpResult::Position(p)) => {
                sub.position = p;
                // Another SubscribeToShard within 5 s of this one is refused.
                self.subscriptions
                    .insert((sub.consumer_arn.clone(), sub.shard_index), sub.started_ms);
                Ok(sub)
            }
            Some(ShardOpResult::Missing) => Err(self.subscription_gone(&sub)),
            _ => Err(ApiError::InternalFailure(String::new())),
        }
    }

    fn subscription_gone(&self, sub: &Subscription) -> ApiError {
        ApiError::not_found(format!(
            "Shard {} in stream {} under account {} does not exist",
            shard_id(sub.shard_index),
            sub.stream,
            self.config.account_id
        ))
    }

    /// The next `SubscribeToShardEvent` at `now_ms`, or `None` once the
    /// subscription's 5 minutes are over (or its shard has ended), on the
    /// in-process shards.
    pub fn next_event(
        &mut self,
        sub: &mut Subscription,
        now_ms: u64,
    ) -> Result<Option<Value>, ApiError> {
        let Some(mut planned) = self.plan_next_event(sub, now_ms)? else {
            return Ok(None);
        };
        let results = self.local.run(planned.take_ops());
        self.finish_next_event(planned, sub, results, now_ms)
            .map(|e| Some(e.to_json()))
    }

    /// `next_event` in two halves: the shard read that 2 MiB/s allows now
    /// (`None` once the subscription is over), then the event from it.
    pub fn plan_next_event(
        &mut self,
        sub: &mut Subscription,
        now_ms: u64,
    ) -> Result<Option<Planned>, ApiError> {
        self.set_now(now_ms);
        if sub.finished || now_ms >= sub.started_ms + SUBSCRIPTION_MS {
            return Ok(None);
        }
        let (_, name) = self.parse_consumer_arn(&sub.consumer_arn)?;
        let gone = self.subscription_gone(sub);
        let s = self
            .streams
            .get_mut(&sub.stream)
            .filter(|s| s.created_ms == sub.stream_created_ms && s.consumers.contains_key(&name))
            .ok_or(gone.clone())?;
        s.expire_shards(now_ms);
        if !s.shards.contains_key(&sub.shard_index) {
            return Err(gone);
        }
        let shard_key = s.key(sub.shard_index);
        // Deliver what 2 MiB/s allows; the records after it wait.
        let limit = if sub.budget.positive(now_ms) {
            crate::shard::READ_MAX_RECORDS_PER_CALL as u32
        } else {
            0
        };
        self.own_ops.clear();
        self.own_ops.push((
            shard_key,
            ShardOp::Read {
                from: sub.position,
                limit,
                now_ms,
                enforce: false,
            },
        ));
        Ok(Some(self.planned(Finish::Ready(Value::Null))))
    }

    /// Finishes a planned event read: moves the subscription on and
    /// returns the event.
    pub fn finish_next_event(
        &mut self,
        planned: Planned,
        sub: &mut Subscription,
        results: Vec<ShardOpResult>,
        now_ms: u64,
    ) -> Result<SubscribeEvent, ApiError> {
        let batch = match planned.own_results(results).next() {
            Some(ShardOpResult::Read(batch)) => batch,
            Some(ShardOpResult::Missing) => return Err(self.subscription_gone(sub)),
            _ => return Err(ApiError::InternalFailure(String::new())),
        };
        let stream = self
            .streams
            .get(&sub.stream)
            .ok_or_else(|| self.subscription_gone(sub))?;
        let created_secs = stream
            .shards
            .get(&sub.shard_index)
            .map_or(0, |s| s.created_ms / 1000);
        sub.budget.take(batch.bytes());
        sub.position = batch.next_index;
        // The last record delivered, or, with none, a number at the same
        // position that advances with time (resuming AFTER it reads on).
        let continuation = batch.records.last().map_or(
            SequenceNumber {
                shard_created_secs: created_secs,
                shard_index: sub.shard_index,
                sequence_index: sub.position.saturating_sub(1),
                arrival_secs: now_ms / 1000,
            },
            |r| r.sequence_number,
        );
        let millis_behind_latest = batch
            .next_arrival_ms
            .map_or(0, |arrival| now_ms.saturating_sub(arrival));
        let child_shards = batch.at_shard_end.then(|| {
            sub.finished = true;
            Self::child_shards(stream, sub.shard_index)
        });
        Ok(SubscribeEvent {
            // The records move into the event: no copy per record.
            records: batch.records.into_iter().map(RecordJson::from).collect(),
            continuation_sequence_number: continuation,
            millis_behind_latest,
            child_shards,
        })
    }
}
