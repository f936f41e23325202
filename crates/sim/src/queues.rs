//! Amazon SQS queues and an SNS topic next to the stream, as far as
//! comparing them with Kinesis needs.
//!
//! - A **queue** holds messages until a consumer deletes them. ReceiveMessage
//!   returns up to 10 visible messages and hides them for the visibility
//!   timeout (30 s by default); a message not deleted in time becomes visible
//!   again and is received again (its `ApproximateReceiveCount` grows).
//!   `DelaySeconds` keeps new messages invisible for a while.
//! - A **standard** queue delivers in roughly the order sent (best effort:
//!   a receive takes messages from near the head, not strictly the head) and
//!   at least once: now and then a copy stays visible and is delivered again.
//! - A **FIFO** queue delivers each message group (the record's partition
//!   key) in order, exactly once: while a group has a message in flight, no
//!   later message of that group is returned.
//! - An SNS **topic** pushes a copy of every message published to it to each
//!   subscribed queue (fan-out); it keeps nothing.
//!
//! Several consumers of one queue compete: each message goes to one of them.
//! Randomness (which near-head message, which copy) comes from the
//! scenario's seed.

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

/// ReceiveMessage returns at most 10 messages.
pub const MAX_RECEIVE: usize = 10;
/// The playground's bounds: queues, consumers per queue.
pub const MAX_QUEUES: usize = 6;
pub const MAX_QUEUE_CONSUMERS: u32 = 8;
/// Messages a queue keeps at most in the playground (SQS has no such
/// limit; it keeps a message up to 14 days).
pub const MAX_MESSAGES: usize = 200_000;
/// One standard-queue receive in this many leaves a copy visible (a
/// duplicate delivery).
const DUPLICATE_ONE_IN: u64 = 200;
/// One standard-queue message in this many is received ahead of one or two
/// sent before it (best-effort ordering).
const SKIP_ONE_IN: u64 = 20;

fn default_visibility_ms() -> u64 {
    30_000
}
fn default_receive_ms() -> u64 {
    1_000
}
fn default_consumers() -> u32 {
    1
}

/// Where a queue's messages come from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueSource {
    /// The producer sends each record to the queue too (SendMessage; the
    /// partition key is a FIFO queue's MessageGroupId).
    #[default]
    Producer,
    /// The queue is subscribed to the scenario's SNS topic.
    Topic,
    /// Only what is sent to it as a destination: a Lambda event source
    /// mapping's `on_failure` descriptions of discarded batches.
    Destination,
}

/// A queue in a scenario, with its consumers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// Queue names: 1–80 of a–z A–Z 0–9 - _; a FIFO queue's ends in `.fifo`.
    pub name: String,
    #[serde(default)]
    pub source: QueueSource,
    #[serde(default = "default_visibility_ms")]
    pub visibility_timeout_ms: u64,
    #[serde(default)]
    pub delay_ms: u64,
    /// Competing consumers, each calling ReceiveMessage every
    /// `receive_every_ms` and deleting what it processed.
    #[serde(default = "default_consumers")]
    pub consumers: u32,
    #[serde(default = "default_receive_ms")]
    pub receive_every_ms: u64,
    /// Percent of received messages the consumers fail to process: they
    /// are not deleted, and come back after the visibility timeout.
    #[serde(default)]
    pub fail_percent: u32,
}

impl QueueSpec {
    pub fn fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }

    pub fn validate(&self) -> Result<(), String> {
        let base = self.name.strip_suffix(".fifo").unwrap_or(&self.name);
        if base.is_empty()
            || self.name.len() > 80
            || !base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "queue name '{}': can only include alphanumeric characters, hyphens, or \
                 underscores, 1 to 80 in length (a FIFO queue's ends in .fifo)",
                self.name
            ));
        }
        if self.visibility_timeout_ms > 43_200_000 {
            return Err(format!(
                "queue {}: VisibilityTimeout must be 0 to 43200 seconds (12 hours)",
                self.name
            ));
        }
        if self.delay_ms > 900_000 {
            return Err(format!(
                "queue {}: DelaySeconds must be 0 to 900 (15 minutes)",
                self.name
            ));
        }
        if !(0..=MAX_QUEUE_CONSUMERS).contains(&self.consumers) {
            return Err(format!(
                "queue {}: 0 to {MAX_QUEUE_CONSUMERS} consumers (0: messages wait, as in a dead-letter queue)",
                self.name
            ));
        }
        if !(100..=3_600_000).contains(&self.receive_every_ms) {
            return Err(format!(
                "queue {}: receive_every_ms must be 100 to 3600000",
                self.name
            ));
        }
        if self.fail_percent > 100 {
            return Err(format!(
                "queue {}: fail_percent is a percentage, 0 to 100",
                self.name
            ));
        }
        Ok(())
    }
}

/// The queues and the topic of a scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Messaging {
    pub queues: Vec<QueueSpec>,
    /// The SNS topic's name, when queues subscribe to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl Messaging {
    pub fn validate(&self) -> Result<(), String> {
        if self.queues.len() > MAX_QUEUES {
            return Err(format!(
                "{} queues; the playground runs at most {MAX_QUEUES}",
                self.queues.len()
            ));
        }
        for (i, q) in self.queues.iter().enumerate() {
            q.validate()?;
            if self.queues[..i].iter().any(|o| o.name == q.name) {
                return Err(format!("two queues are named {}", q.name));
            }
            if q.source == QueueSource::Topic && self.topic.is_none() {
                return Err(format!(
                    "queue {} subscribes to the topic, but the scenario has no `topic`",
                    q.name
                ));
            }
            if q.source == QueueSource::Topic && q.fifo() {
                return Err(format!(
                    "queue {} is a FIFO queue: only a FIFO topic delivers to one, and the \
                     playground's topic is a standard topic",
                    q.name
                ));
            }
        }
        if let Some(t) = &self.topic {
            if t.is_empty()
                || t.len() > 256
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "topic name '{t}': 1 to 256 of alphanumeric characters, hyphens and underscores"
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
struct Message {
    /// Sent order in the queue.
    id: u64,
    group: Option<String>,
    /// The producer's record number, to tell order and copies apart.
    record: u64,
    visible_at_ms: u64,
    receive_count: u32,
    /// Received and not deleted (hidden for the visibility timeout).
    in_flight: bool,
    /// An extra copy a standard queue delivers (at least once).
    copy: bool,
}

/// What a queue has done, all time, and holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    pub sent: u64,
    pub received: u64,
    pub deleted: u64,
    /// Receives of a message received before (its visibility timeout ran
    /// out before it was deleted).
    pub redelivered: u64,
    /// Extra copies a standard queue delivered.
    pub duplicates: u64,
    /// Messages processed after a message sent later (of the same group,
    /// for a FIFO queue).
    pub out_of_order: u64,
}

/// One queue and its competing consumers.
pub struct Queue {
    spec: QueueSpec,
    messages: BTreeMap<u64, Message>,
    next_id: u64,
    counts: QueueCounts,
    /// Per consumer, when it next calls ReceiveMessage, and what it has
    /// processed.
    consumers: Vec<(u64, u64)>,
    /// The newest record processed so far, per group (FIFO) or overall.
    newest: BTreeMap<String, u64>,
    /// Messages in flight, by when they become visible again, and per
    /// message group how many (so that neither needs a scan of the queue).
    in_flight: BTreeSet<(u64, u64)>,
    busy_groups: BTreeMap<String, u32>,
}

impl Queue {
    pub fn new(spec: QueueSpec, now_ms: u64) -> Self {
        let consumers = (0..spec.consumers).map(|_| (now_ms, 0)).collect();
        Queue {
            spec,
            messages: BTreeMap::new(),
            next_id: 0,
            counts: QueueCounts::default(),
            consumers,
            newest: BTreeMap::new(),
            in_flight: BTreeSet::new(),
            busy_groups: BTreeMap::new(),
        }
    }

    /// SendMessage: record `record`, with its partition key as the message
    /// group of a FIFO queue. Refused (false) when the playground's queue
    /// is full.
    pub fn send(&mut self, record: u64, key: &str, now_ms: u64) -> bool {
        if self.messages.len() >= MAX_MESSAGES {
            return false;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.messages.insert(
            id,
            Message {
                id,
                group: self.spec.fifo().then(|| key.to_string()),
                record,
                visible_at_ms: now_ms + self.spec.delay_ms,
                receive_count: 0,
                in_flight: false,
                copy: false,
            },
        );
        self.counts.sent += 1;
        true
    }

    /// Runs the consumers due by `now_ms`: each receives up to 10 messages,
    /// processes them, and deletes those it did not fail.
    pub fn tick(&mut self, now_ms: u64, rng: &mut ChaCha8Rng) {
        // Messages whose visibility timeout ran out come back.
        while let Some(&(at, id)) = self.in_flight.first() {
            if at > now_ms {
                break;
            }
            self.in_flight.pop_first();
            if let Some(m) = self.messages.get_mut(&id) {
                m.in_flight = false;
                Self::release(&mut self.busy_groups, m.group.as_deref());
            }
        }
        // Competing consumers call at the same moments; which one's call
        // lands first varies.
        let n = self.consumers.len();
        let first = (rng.next_u64() % n.max(1) as u64) as usize;
        for c in (0..n).map(|i| (first + i) % n) {
            while self.consumers[c].0 <= now_ms {
                self.consumers[c].0 += self.spec.receive_every_ms;
                let received = self.receive(now_ms, rng);
                self.consumers[c].1 += received.len() as u64;
                // A FIFO consumer that fails a message leaves the rest of
                // its group in the batch too, so the group stays in order.
                let mut failed_groups: BTreeSet<String> = BTreeSet::new();
                for id in received {
                    let group = self.messages.get(&id).and_then(|m| m.group.clone());
                    if group.as_ref().is_some_and(|g| failed_groups.contains(g)) {
                        continue;
                    }
                    if (rng.next_u64() % 100) < self.spec.fail_percent as u64 {
                        // Not deleted: back after the visibility timeout.
                        failed_groups.extend(group);
                        continue;
                    }
                    self.delete(id);
                }
            }
        }
    }

    /// ReceiveMessage: up to 10 visible messages, hidden for the visibility
    /// timeout; their ids.
    fn receive(&mut self, now_ms: u64, rng: &mut ChaCha8Rng) -> Vec<u64> {
        let visible = |m: &Message| !m.in_flight && m.visible_at_ms <= now_ms;
        let mut picked: Vec<u64> = Vec::new();
        if self.spec.fifo() {
            // In order within each group, and none of a group while one of
            // its messages is in flight (or a delayed one holds it back); a
            // batch may take several of one group, in order.
            let mut blocked: BTreeSet<&str> = self.busy_groups.keys().map(String::as_str).collect();
            for m in self.messages.values() {
                if picked.len() == MAX_RECEIVE {
                    break;
                }
                let g = m.group.as_deref().unwrap_or_default();
                if m.in_flight || blocked.contains(g) {
                    continue;
                }
                if !visible(m) {
                    blocked.insert(g);
                    continue;
                }
                picked.push(m.id);
            }
        } else {
            // Best effort: from the first visible messages, not strictly
            // the first.
            let window: Vec<u64> = self
                .messages
                .values()
                .filter(|m| visible(m))
                .take(MAX_RECEIVE * 2)
                .map(|m| m.id)
                .collect();
            let mut window = window;
            while picked.len() < MAX_RECEIVE && !window.is_empty() {
                // Mostly the head; one time in SKIP_ONE_IN, one of the
                // next two.
                let i = if rng.next_u64().is_multiple_of(SKIP_ONE_IN) {
                    (1 + rng.next_u64() % 2) as usize
                } else {
                    0
                };
                picked.push(window.remove(i.min(window.len() - 1)));
            }
        }
        let mut out = Vec::with_capacity(picked.len());
        for id in picked {
            // At least once: now and then a standard queue keeps another
            // copy, which is received again later.
            let duplicate = !self.spec.fifo() && rng.next_u64().is_multiple_of(DUPLICATE_ONE_IN);
            let Some(m) = self.messages.get_mut(&id) else {
                continue;
            };
            m.receive_count += 1;
            m.in_flight = true;
            m.visible_at_ms = now_ms + self.spec.visibility_timeout_ms;
            self.in_flight.insert((m.visible_at_ms, id));
            if let Some(g) = &m.group {
                *self.busy_groups.entry(g.clone()).or_default() += 1;
            }
            self.counts.received += 1;
            if m.receive_count > 1 {
                self.counts.redelivered += 1;
            }
            let copy = duplicate.then(|| Message {
                id: self.next_id,
                receive_count: 0,
                in_flight: false,
                visible_at_ms: now_ms,
                copy: true,
                ..m.clone()
            });
            if let Some(copy) = copy {
                self.counts.duplicates += 1;
                self.next_id += 1;
                self.messages.insert(copy.id, copy);
            }
            out.push(id);
        }
        out
    }

    /// DeleteMessage, once processed: counts it processed out of order
    /// when a message sent after it (of its group, in a FIFO queue) was
    /// processed before.
    fn delete(&mut self, id: u64) {
        let Some(m) = self.messages.remove(&id) else {
            return;
        };
        if m.in_flight {
            self.in_flight.remove(&(m.visible_at_ms, id));
            Self::release(&mut self.busy_groups, m.group.as_deref());
        }
        self.counts.deleted += 1;
        if m.copy {
            // A duplicate is counted as one, not as out of order.
            return;
        }
        let newest = self.newest.entry(m.group.unwrap_or_default()).or_insert(0);
        if m.record < *newest {
            self.counts.out_of_order += 1;
        } else {
            *newest = m.record;
        }
    }

    /// One fewer message of `group` in flight.
    fn release(busy: &mut BTreeMap<String, u32>, group: Option<&str>) {
        let Some(g) = group else { return };
        if let Some(n) = busy.get_mut(g) {
            *n -= 1;
            if *n == 0 {
                busy.remove(g);
            }
        }
    }

    pub fn set_fail_percent(&mut self, percent: u32) -> Result<(), String> {
        if percent > 100 {
            return Err(format!("{percent}% is not a percentage (0 to 100)"));
        }
        self.spec.fail_percent = percent;
        Ok(())
    }

    pub fn view(&self, now_ms: u64) -> QueueView {
        let in_flight = self.in_flight.len() as u64;
        let delayed = self
            .messages
            .values()
            .filter(|m| !m.in_flight && m.visible_at_ms > now_ms)
            .count() as u64;
        QueueView {
            name: self.spec.name.clone(),
            fifo: self.spec.fifo(),
            from_topic: self.spec.source == QueueSource::Topic,
            visibility_timeout_ms: self.spec.visibility_timeout_ms,
            delay_ms: self.spec.delay_ms,
            fail_percent: self.spec.fail_percent,
            visible: self.messages.len() as u64 - in_flight - delayed,
            in_flight,
            delayed,
            counts: self.counts,
            processed_per_consumer: self.consumers.iter().map(|(_, n)| *n).collect(),
        }
    }
}

/// What the UI and lessons see of a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    pub fifo: bool,
    pub from_topic: bool,
    pub visibility_timeout_ms: u64,
    pub delay_ms: u64,
    pub fail_percent: u32,
    /// Messages waiting to be received, received and not yet deleted, and
    /// not visible yet (DelaySeconds).
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    pub counts: QueueCounts,
    /// Messages each competing consumer has received.
    pub processed_per_consumer: Vec<u64>,
}

/// The queues and topic of a run.
pub struct Queues {
    queues: Vec<Queue>,
    topic: Option<String>,
    published: u64,
    /// The producer's records sent so far (their numbers).
    records: u64,
    /// Messages sent to destination queues so far (their numbers).
    destination_messages: u64,
    rng: ChaCha8Rng,
}

impl Queues {
    pub fn new(spec: &Messaging, now_ms: u64, rng: ChaCha8Rng) -> Self {
        Queues {
            queues: spec
                .queues
                .iter()
                .map(|q| Queue::new(q.clone(), now_ms))
                .collect(),
            topic: spec.topic.clone(),
            published: 0,
            records: 0,
            destination_messages: 0,
            rng,
        }
    }

    /// The producer's records of a tick, by partition key: sent to the
    /// queues it feeds, and published to the topic (which sends a copy to
    /// each subscribed queue).
    pub fn produce<'a>(&mut self, keys: impl IntoIterator<Item = &'a str>, now_ms: u64) {
        for key in keys {
            let record = self.records;
            self.records += 1;
            if self.topic.is_some() {
                self.published += 1;
            }
            for q in &mut self.queues {
                let fed = match q.spec.source {
                    QueueSource::Producer => true,
                    QueueSource::Topic => self.topic.is_some(),
                    QueueSource::Destination => false,
                };
                if fed {
                    q.send(record, key, now_ms);
                }
            }
        }
    }

    /// Sends one message to the queue named `queue` (a destination's);
    /// false when there is no such queue or it is full.
    pub fn send_to(&mut self, queue: &str, key: &str, now_ms: u64) -> bool {
        match self.queues.iter_mut().find(|q| q.spec.name == queue) {
            Some(q) => {
                // Numbered apart from the producer's records.
                self.destination_messages += 1;
                q.send(self.destination_messages, key, now_ms)
            }
            None => false,
        }
    }

    /// Whether the scenario has a queue named `queue`.
    pub fn has(&self, queue: &str) -> bool {
        self.queues.iter().any(|q| q.spec.name == queue)
    }

    /// Each queue's counts, in scenario order.
    pub fn counts(&self) -> impl Iterator<Item = QueueCounts> + '_ {
        self.queues.iter().map(|q| q.counts)
    }

    pub fn tick(&mut self, now_ms: u64) {
        for q in &mut self.queues {
            q.tick(now_ms, &mut self.rng);
        }
    }

    pub fn set_fail_percent(&mut self, queue: &str, percent: u32) -> Result<(), String> {
        let names: Vec<&str> = self.queues.iter().map(|q| q.spec.name.as_str()).collect();
        let known = names.join(", ");
        match self.queues.iter_mut().find(|q| q.spec.name == queue) {
            Some(q) => q.set_fail_percent(percent),
            None => Err(format!(
                "no queue named '{queue}'; the scenario's are: {}",
                if known.is_empty() { "none" } else { &known }
            )),
        }
    }

    pub fn view(&self, now_ms: u64) -> MessagingView {
        MessagingView {
            queues: self.queues.iter().map(|q| q.view(now_ms)).collect(),
            topic: self.topic.clone(),
            published: self.published,
        }
    }
}

/// The queues and topic, for the UI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagingView {
    pub queues: Vec<QueueView>,
    pub topic: Option<String>,
    /// Messages published to the topic.
    pub published: u64,
}

#[cfg(test)]
mod tests;
