//! Shardlab's native endpoint: the engine's Kinesis API and the Firehose
//! API over HTTP, as AWS serves them (the JSON 1.1 protocol: `POST /` with
//! `X-Amz-Target: Kinesis_20131202.<Operation>` or
//! `Firehose_20150804.<Operation>` and
//! `Content-Type: application/x-amz-json-1.1`), so the AWS CLI, boto3 and
//! the AWS SDKs work against it unchanged; plus read-only S3 (GET, path
//! style) for the buckets Firehose delivers to. Signatures are accepted
//! without checking, as local emulators do. Time is the wall clock.

mod eventstream;
mod s3;
mod source;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use shardlab_engine::{ApiError, Kinesis, KinesisConfig};
use tiny_http::{Header, Request, Response, StatusCode};

const KINESIS_PREFIX: &str = "Kinesis_20131202.";
const FIREHOSE_PREFIX: &str = "Firehose_20150804.";
/// How often buffers are checked against their interval, in wall-clock ms.
const FIREHOSE_TICK_MS: u64 = 100;
const JSON_11: &str = "application/x-amz-json-1.1";

/// A running endpoint; dropping it stops the server.
pub struct Endpoint {
    http: Arc<tiny_http::Server>,
    port: u16,
    threads: Vec<JoinHandle<()>>,
    service: Arc<Service>,
    ticker: Option<JoinHandle<()>>,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header names are valid")
}

/// The HTTP response for an API result: 200 with the JSON body (empty for
/// operations that return nothing), or AWS's error body and status.
pub fn respond(result: Result<Vec<u8>, ApiError>, request_id: u64) -> (u16, Vec<u8>) {
    let _ = request_id;
    match result {
        Ok(body) => (200, body),
        Err(e) => (e.http_status(), e.body()),
    }
}

pub(crate) struct Service {
    pub(crate) kinesis: Mutex<Kinesis>,
    firehose: Mutex<source::FirehoseSide>,
    requests: std::sync::atomic::AtomicU64,
    stopping: std::sync::atomic::AtomicBool,
}

impl Service {
    fn answer(self: &Arc<Self>, mut request: Request) {
        let id = self
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let target = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("X-Amz-Target"))
            .map(|h| h.value.as_str().to_string());
        let content_type = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Content-Type"))
            .map(|h| h.value.as_str().to_string())
            .unwrap_or_default();
        if target.is_none() && request.method() != &tiny_http::Method::Post {
            let method = request.method().as_str().to_string();
            let url = request.url().to_string();
            let answer = match self.firehose_now() {
                Ok(side) => s3::answer(&side.firehose, &method, &url),
                Err(_) => s3::internal_error(&url),
            };
            let mut response = Response::from_data(answer.body)
                .with_status_code(StatusCode(answer.status))
                .with_header(header("Content-Type", answer.content_type))
                .with_header(header("x-amz-request-id", &format!("{id:016x}")));
            for (name, value) in answer.headers {
                response = response.with_header(header(name, &value));
            }
            let _ = request.respond(response);
            return;
        }
        let mut body = Vec::new();
        let read = std::io::Read::read_to_end(request.as_reader(), &mut body);
        let result = if read.is_err() {
            Err(ApiError::Serialization(
                "could not read the request body".into(),
            ))
        } else if request.method() != &tiny_http::Method::Post {
            Err(ApiError::Serialization(
                "Kinesis requests are POSTs to / with an X-Amz-Target header".into(),
            ))
        } else if content_type.contains("cbor") {
            Err(ApiError::Serialization(
                "this endpoint speaks application/x-amz-json-1.1, not CBOR; for the Java SDK, \
                 KCL or KPL set AWS_CBOR_DISABLE=true"
                    .into(),
            ))
        } else {
            match target
                .as_deref()
                .and_then(|t| t.strip_prefix(FIREHOSE_PREFIX))
            {
                Some(op) => self.firehose_call(op, &body),
                None => match target
                    .as_deref()
                    .and_then(|t| t.strip_prefix(KINESIS_PREFIX))
                {
                    Some("SubscribeToShard") => match self.subscribe(&body) {
                        Ok(subscription) => {
                            // The response streams for up to 5 minutes: on its
                            // own thread, so it holds no request thread.
                            let body = eventstream::EventBody::new(self.clone(), subscription);
                            let request_id = format!("{id:016x}-shardlab");
                            let writer = request.into_writer();
                            std::thread::spawn(move || body.serve(writer, &request_id));
                            return;
                        }
                        Err(e) => Err(e),
                    },
                    Some(op) => match self.kinesis.lock() {
                        Ok(mut k) => k.serve_bytes(op, &body, now_ms()),
                        Err(_) => Err(ApiError::InternalFailure(String::new())),
                    },
                    None => Err(ApiError::UnknownOperation(format!(
                        "X-Amz-Target must be {KINESIS_PREFIX}<Operation> or \
                     {FIREHOSE_PREFIX}<Operation>, got {}",
                        target.as_deref().unwrap_or("nothing")
                    ))),
                },
            }
        };
        let (status, bytes) = respond(result, id);
        let response = Response::from_data(bytes)
            .with_status_code(StatusCode(status))
            .with_header(header("Content-Type", JSON_11))
            .with_header(header("x-amzn-RequestId", &format!("{id:016x}-shardlab")));
        let _ = request.respond(response);
    }
}

impl Service {
    /// The Firehose side, brought up to now first: Kinesis sources read,
    /// due buffers sealed and delivered. Every request sees it current,
    /// whatever the background ticker's timing.
    fn firehose_now(&self) -> Result<std::sync::MutexGuard<'_, source::FirehoseSide>, ApiError> {
        let mut side = self
            .firehose
            .lock()
            .map_err(|_| ApiError::InternalFailure(String::new()))?;
        let mut kinesis = self
            .kinesis
            .lock()
            .map_err(|_| ApiError::InternalFailure(String::new()))?;
        side.advance(&mut kinesis, now_ms());
        Ok(side)
    }

    fn firehose_call(&self, operation: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let mut side = self.firehose_now()?;
        let kinesis = self
            .kinesis
            .lock()
            .map_err(|_| ApiError::InternalFailure(String::new()))?;
        side.serve(&kinesis, operation, body, now_ms())
    }

    fn subscribe(&self, body: &[u8]) -> Result<shardlab_engine::api::Subscription, ApiError> {
        let value = shardlab_engine::api::request::parse_json(body)?;
        let mut k = self
            .kinesis
            .lock()
            .map_err(|_| ApiError::InternalFailure(String::new()))?;
        k.subscribe_to_shard(&value, now_ms())
    }
}

/// Listens on 127.0.0.1:`port` with TCP_NODELAY, which the connections it
/// accepts inherit: without it a response's body waits behind its headers
/// for the client's delayed ACK, 40 ms per request.
fn listen(port: u16) -> Result<std::net::TcpListener, String> {
    use socket2::{Domain, Socket, Type};
    let fail = |e: std::io::Error| format!("could not listen on 127.0.0.1:{port}: {e}");
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    socket.set_tcp_nodelay(true).map_err(fail)?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(1024).map_err(fail)?;
    Ok(socket.into())
}

impl Endpoint {
    /// Serves on 127.0.0.1:`port` (0 picks a free port).
    pub fn start(port: u16, config: KinesisConfig, threads: usize) -> Result<Endpoint, String> {
        let http = tiny_http::Server::from_listener(listen(port)?, None)
            .map_err(|e| format!("could not serve on 127.0.0.1:{port}: {e}"))?;
        let port = http
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or("not listening on an IP address")?;
        let http = Arc::new(http);
        let firehose = shardlab_firehose::Firehose::new(shardlab_firehose::FirehoseConfig {
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            seed: now_ms(),
            ..Default::default()
        });
        let service = Arc::new(Service {
            kinesis: Mutex::new(Kinesis::new(config)),
            firehose: Mutex::new(source::FirehoseSide::new(firehose)),
            requests: Default::default(),
            stopping: Default::default(),
        });
        // Buffers seal on their interval whether or not anyone calls.
        let ticker = {
            let service = service.clone();
            std::thread::spawn(move || {
                while !service.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                    // Taken and released at once: bringing it current is the point.
                    drop(service.firehose_now());
                    std::thread::sleep(std::time::Duration::from_millis(FIREHOSE_TICK_MS));
                }
            })
        };
        let threads = (0..threads.max(1))
            .map(|_| {
                let http = http.clone();
                let service = service.clone();
                std::thread::spawn(move || {
                    while let Ok(request) = http.recv() {
                        service.answer(request);
                    }
                })
            })
            .collect();
        Ok(Endpoint {
            http,
            port,
            threads,
            service,
            ticker: Some(ticker),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Blocks until the server stops (it does not stop by itself).
    pub fn wait(mut self) {
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.service
            .stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        for _ in &self.threads {
            self.http.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use serde_json::Value;

    #[test]
    fn errors_use_aws_bodies_and_statuses() {
        let (status, body) = respond(
            Err(ApiError::not_found("Stream s under account 1 not found.")),
            0,
        );
        assert_eq!(status, 400);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"__type": "ResourceNotFoundException", "message": "Stream s under account 1 not found."})
        );
        let (status, body) = respond(Err(ApiError::InternalFailure(String::new())), 0);
        assert_eq!(status, 500);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"__type": "InternalFailure"})
        );
        assert_eq!(respond(Ok(Vec::new()), 0), (200, Vec::new()));
    }
}
