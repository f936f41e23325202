//! SubscribeToShard's response: an AWS event stream
//! (`application/vnd.amazon.eventstream`) on the open HTTP response.
//!
//! The response is written chunked, one chunk per message, flushed at
//! once. Each message is framed as AWS's SDKs expect: a prelude (total length,
//! headers length, both big-endian u32, and the prelude's CRC32), string
//! headers (`:message-type`, `:event-type` or `:exception-type`,
//! `:content-type`), the JSON payload, and the whole message's CRC32. The
//! first event is `initial-response`, then `SubscribeToShardEvent`s follow
//! as the engine releases records (2 MiB/s per consumer and shard), until
//! the subscription's 5 minutes are over or the shard has ended.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use shardlab_engine::api::Subscription;

use crate::{now_ms, Service};

/// How often the engine is asked for records.
const POLL: Duration = Duration::from_millis(200);
/// An event goes out at least this often, records or not, so the client
/// sees the subscription alive and its continuation sequence number.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// One encoded event-stream message.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut head = Vec::new();
    for (name, value) in headers {
        head.push(name.len() as u8);
        head.extend_from_slice(name.as_bytes());
        head.push(7); // string
        head.extend_from_slice(&(value.len() as u16).to_be_bytes());
        head.extend_from_slice(value.as_bytes());
    }
    let total = 12 + head.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn event(event_type: &str, payload: &Value) -> Vec<u8> {
    message(
        &[
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", "application/json"),
        ],
        payload.to_string().as_bytes(),
    )
}

fn exception(name: &str, text: &str) -> Vec<u8> {
    message(
        &[
            (":message-type", "exception"),
            (":exception-type", name),
            (":content-type", "application/json"),
        ],
        serde_json::json!({ "message": text })
            .to_string()
            .as_bytes(),
    )
}

/// The response body of one subscription, produced as the client reads.
pub struct EventBody {
    service: Arc<Service>,
    subscription: Subscription,
    pending: Vec<u8>,
    started: bool,
    done: bool,
    last_event: Instant,
}

impl EventBody {
    pub(crate) fn new(service: Arc<Service>, subscription: Subscription) -> Self {
        EventBody {
            service,
            subscription,
            pending: Vec::new(),
            started: false,
            done: false,
            last_event: Instant::now(),
        }
    }

    /// Fills `pending` with the next message, waiting for one if needed.
    fn refill(&mut self) {
        if !self.started {
            self.started = true;
            self.pending = event("initial-response", &serde_json::json!({}));
            return;
        }
        loop {
            let next = match self.service.kinesis.lock() {
                Ok(mut k) => k.next_event(&mut self.subscription, now_ms()),
                Err(_) => {
                    self.done = true;
                    return;
                }
            };
            match next {
                Ok(None) => {
                    self.done = true;
                    return;
                }
                Err(e) => {
                    self.pending = exception(e.name(), e.message());
                    self.done = true;
                    return;
                }
                Ok(Some(ev)) => {
                    let has_records = ev["Records"].as_array().is_some_and(|r| !r.is_empty());
                    let ends = ev.get("ChildShards").is_some();
                    if has_records || ends || self.last_event.elapsed() >= HEARTBEAT {
                        self.last_event = Instant::now();
                        self.pending = event("SubscribeToShardEvent", &ev);
                        return;
                    }
                }
            }
            std::thread::sleep(POLL);
        }
    }
}

impl EventBody {
    /// The next message, or None when the stream is over.
    fn next_message(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        self.pending.clear();
        self.refill();
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }

    /// Writes the response's body, chunked (the head is written by the
    /// caller), flushing after every message so each event reaches the
    /// client when it is produced. Returns when the subscription ends or the
    /// client goes away.
    pub fn serve(mut self, out: &mut dyn Write) {
        while let Some(m) = self.next_message() {
            let chunk = [format!("{:x}\r\n", m.len()).as_bytes(), &m, b"\r\n"].concat();
            if out.write_all(&chunk).and_then(|_| out.flush()).is_err() {
                return;
            }
        }
        let _ = out.write_all(b"0\r\n\r\n").and_then(|_| out.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_framed_with_both_crcs() {
        let m = message(&[(":event-type", "initial-response")], b"{}");
        let total = u32::from_be_bytes(m[0..4].try_into().unwrap()) as usize;
        let headers = u32::from_be_bytes(m[4..8].try_into().unwrap()) as usize;
        assert_eq!(total, m.len());
        assert_eq!(headers, 1 + 11 + 1 + 2 + 16);
        assert_eq!(
            u32::from_be_bytes(m[8..12].try_into().unwrap()),
            crc32fast::hash(&m[..8])
        );
        assert_eq!(&m[12 + headers..total - 4], b"{}");
        assert_eq!(
            u32::from_be_bytes(m[total - 4..].try_into().unwrap()),
            crc32fast::hash(&m[..total - 4])
        );
    }
}
