//! `shardlab receive`: an HTTP endpoint that takes Firehose's deliveries,
//! for trying the HTTP endpoint destination on one machine.
//!
//! It answers as the Firehose guide asks an endpoint to: 200 with the
//! request's `requestId` and a `timestamp`, as JSON. It can also fail on
//! purpose (the first N requests, with a status of your choice) to watch
//! Firehose retry, and check an access key. It allows any origin with
//! CORS (and Chrome's private network access), so the playground in a
//! browser — also on GitHub Pages — can deliver to it.

use std::io::Read as _;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::http::{Handler, Request, Response};
use crate::now_ms;

/// How the receiver answers.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// The first `fail` requests get `status` instead of 200.
    pub fail: u64,
    pub status: u16,
    /// When set, a request without this X-Amz-Firehose-Access-Key gets 401.
    pub access_key: Option<String>,
}

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub request_id: String,
    pub timestamp: u64,
    pub records: Vec<Vec<u8>>,
    pub headers: Vec<(String, String)>,
    /// The status it was answered with.
    pub status: u16,
}

/// What the receiver has seen, oldest first.
pub type Log = Arc<Mutex<Vec<Received>>>;

fn cors(response: Response) -> Response {
    response
        .header("Access-Control-Allow-Origin", "*")
        .header("Access-Control-Allow-Methods", "POST, OPTIONS")
        .header("Access-Control-Allow-Headers", "*")
        .header("Access-Control-Allow-Private-Network", "true")
        .header("Access-Control-Max-Age", "600")
}

fn answer(status: u16, body: Value) -> Response {
    cors(Response::new(status, body.to_string().into_bytes()))
        .header("Content-Type", "application/json")
}

/// A request's body as Firehose sends it: JSON, maybe gzipped.
fn read_body(request: &Request) -> Result<(String, u64, Vec<Vec<u8>>), String> {
    let mut body = request.body.clone();
    if request
        .header("content-encoding")
        .is_some_and(|e| e.eq_ignore_ascii_case("gzip"))
    {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut plain)
            .map_err(|e| format!("the body is not gzip: {e}"))?;
        body = plain;
    }
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let id = v["requestId"]
        .as_str()
        .ok_or("the body has no requestId")?
        .to_string();
    let timestamp = v["timestamp"].as_u64().ok_or("the body has no timestamp")?;
    let mut records = Vec::new();
    for r in v["records"].as_array().ok_or("the body has no records")? {
        let data = r["data"].as_str().ok_or("a record has no data")?;
        records.push(
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| format!("a record's data is not base64: {e}"))?,
        );
    }
    Ok((id, timestamp, records))
}

/// Requests `shardlab receive` remembers the attempts of (it forgets them
/// all past this many).
const REMEMBERED_IDS: usize = 100_000;

/// The receiver's handler; what it sees goes to `log` (unless `print`,
/// which prints it instead, so that a long-running receiver does not
/// keep every record).
pub fn handler(behaviour: Behaviour, log: Log, print: bool) -> Arc<Handler> {
    let seen: Mutex<std::collections::HashMap<String, u64>> = Mutex::default();
    let answered = std::sync::atomic::AtomicU64::new(0);
    Arc::new(move |request: Request| {
        if request.method == "OPTIONS" {
            return cors(Response::new(204, Vec::new()));
        }
        if request.method != "POST" {
            return answer(
                405,
                json!({"errorMessage": "Firehose delivers with POST; this is a Firehose HTTP endpoint receiver."}),
            );
        }
        let (id, timestamp, records) = match read_body(&request) {
            Ok(parts) => parts,
            Err(e) => {
                if print {
                    println!("refused a request: {e}");
                }
                return answer(400, json!({"timestamp": now_ms(), "errorMessage": e}));
            }
        };
        let attempt = {
            let mut seen = seen.lock().expect("not poisoned");
            if seen.len() >= REMEMBERED_IDS {
                seen.clear();
            }
            let n = seen.entry(id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let before = answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = request.header("x-amz-firehose-access-key");
        let (status, error) = if behaviour
            .access_key
            .as_deref()
            .is_some_and(|k| key != Some(k))
        {
            (401, Some("The access key is missing or wrong."))
        } else if before < behaviour.fail {
            (
                behaviour.status,
                Some("Failing on purpose (shardlab receive --fail)."),
            )
        } else {
            (200, None)
        };
        if print {
            println!(
                "request {id} (attempt {attempt}): {} records, answered {status}",
                records.len()
            );
            if status == 200 {
                for r in &records {
                    let text = String::from_utf8_lossy(r);
                    let line: String = text.trim_end().chars().take(200).collect();
                    println!("  {line}");
                }
            }
        }
        if !print {
            log.lock().expect("not poisoned").push(Received {
                request_id: id.clone(),
                timestamp,
                records,
                headers: request.headers.clone(),
                status,
            });
        }
        let mut body = json!({"requestId": id, "timestamp": now_ms()});
        if let Some(e) = error {
            body["errorMessage"] = json!(e);
        }
        answer(status, body)
    })
}
