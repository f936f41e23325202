//! Shardlab's native endpoint: the engine's Kinesis API and the Firehose
//! API over HTTP, as AWS serves them (the JSON 1.1 protocol: `POST /` with
//! `X-Amz-Target: Kinesis_20131202.<Operation>` or
//! `Firehose_20150804.<Operation>` (with `AWSGlue.<Operation>` for the
//! Data Catalog tables Firehose's format conversion reads) and
//! `Content-Type: application/x-amz-json-1.1`), so the AWS CLI, boto3 and
//! the AWS SDKs work against it unchanged; plus read-only S3 (GET, path
//! style) for the buckets Firehose delivers to. Signatures are accepted
//! without checking, as local emulators do. Time is the wall clock.

mod eventstream;
pub mod http;
pub mod http_client;
pub mod receiver;
mod s3;
mod search;
mod source;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{Body, Request, Response};
use shardlab_engine::{ApiError, Kinesis, KinesisConfig};

const KINESIS_PREFIX: &str = "Kinesis_20131202.";
const FIREHOSE_PREFIX: &str = "Firehose_20150804.";
/// AWS Glue's Data Catalog: the tables Firehose's format conversion reads.
const GLUE_PREFIX: &str = "AWSGlue.";
const REDSHIFT_DATA_PREFIX: &str = "RedshiftData.";
/// How often buffers are checked against their interval, in wall-clock ms.
const FIREHOSE_TICK_MS: u64 = 100;
const JSON_11: &str = "application/x-amz-json-1.1";

/// A running endpoint; dropping it stops the server.
pub struct Endpoint {
    http: Option<http::Server>,
    port: u16,
    service: Arc<Service>,
    ticker: Option<JoinHandle<()>>,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
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
    fn answer(self: &Arc<Self>, request: Request) -> Response {
        let id = self
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let target = request.header("X-Amz-Target").map(str::to_string);
        let content_type = request.header("Content-Type").unwrap_or_default();
        if target.is_none() && request.target.starts_with(search::PREFIX) {
            let (status, body) = match self.firehose_now() {
                Ok(side) => search::answer(
                    &side.firehose,
                    &request.method,
                    &request.target,
                    &request.body,
                ),
                Err(_) => (
                    500,
                    serde_json::json!({"error": "internal failure", "status": 500}),
                ),
            };
            return Response::new(status, body.to_string().into_bytes())
                .header("Content-Type", "application/json; charset=UTF-8");
        }
        if target.is_none() && request.method != "POST" {
            let answer = match self.firehose_now() {
                Ok(side) => s3::answer(&side.firehose, &request.method, &request.target),
                Err(_) => s3::internal_error(&request.target),
            };
            let mut response = Response::new(answer.status, answer.body)
                .header("Content-Type", answer.content_type)
                .header("x-amz-request-id", format!("{id:016x}"));
            for (name, value) in answer.headers {
                response = response.header(name, value);
            }
            return response;
        }
        let body = &request.body;
        let result = if request.method != "POST" {
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
                Some(op) => self.firehose_call(op, body),
                None if target
                    .as_deref()
                    .is_some_and(|t| t.starts_with(GLUE_PREFIX)) =>
                {
                    let op = &target.as_deref().unwrap_or_default()[GLUE_PREFIX.len()..];
                    self.glue_call(op, body)
                }
                None if target
                    .as_deref()
                    .is_some_and(|t| t.starts_with(REDSHIFT_DATA_PREFIX)) =>
                {
                    let op = &target.as_deref().unwrap_or_default()[REDSHIFT_DATA_PREFIX.len()..];
                    self.redshift_data_call(op, body)
                }
                None => match target
                    .as_deref()
                    .and_then(|t| t.strip_prefix(KINESIS_PREFIX))
                {
                    Some("SubscribeToShard") => match self.subscribe(body) {
                        Ok(subscription) => {
                            // The response streams for up to 5 minutes, on
                            // its connection's own thread.
                            let body = eventstream::EventBody::new(self.clone(), subscription);
                            return Response {
                                status: 200,
                                headers: Vec::new(),
                                body: Body::Stream(Box::new(move |out| body.serve(out))),
                            }
                            .header("Content-Type", "application/vnd.amazon.eventstream")
                            .header("Transfer-Encoding", "chunked")
                            .header("x-amzn-RequestId", format!("{id:016x}-shardlab"));
                        }
                        Err(e) => Err(e),
                    },
                    Some(op) => match self.kinesis.lock() {
                        Ok(mut k) => k.serve_bytes(op, body, now_ms()),
                        Err(_) => Err(ApiError::InternalFailure(String::new())),
                    },
                    None => Err(ApiError::UnknownOperation(format!(
                        "X-Amz-Target must be {KINESIS_PREFIX}<Operation>, \
                     {FIREHOSE_PREFIX}<Operation>, {GLUE_PREFIX}<Operation> or \
                     {REDSHIFT_DATA_PREFIX}<Operation>, got {}",
                        target.as_deref().unwrap_or("nothing")
                    ))),
                },
            }
        };
        let (status, bytes) = respond(result, id);
        Response::new(status, bytes)
            .header("Content-Type", JSON_11)
            .header("x-amzn-RequestId", format!("{id:016x}-shardlab"))
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

    fn redshift_data_call(&self, operation: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let request = shardlab_engine::api::request::parse_json(body)?;
        let mut side = self.firehose_now()?;
        let answer = side
            .firehose
            .redshift_data_call(operation, &request, now_ms())?;
        Ok(answer.to_string().into_bytes())
    }

    fn glue_call(&self, operation: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let request = shardlab_engine::api::request::parse_json(body)?;
        let mut side = self.firehose_now()?;
        let answer = side.firehose.glue_call(operation, &request, now_ms())?;
        Ok(answer.to_string().into_bytes())
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
    /// Serves on 127.0.0.1:`port` (0 picks a free port), a thread per
    /// connection (see [`http`]).
    pub fn start(port: u16, config: KinesisConfig) -> Result<Endpoint, String> {
        let listener = listen(port)?;
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
        let handler = {
            let service = service.clone();
            Arc::new(move |request| service.answer(request))
        };
        let http = http::Server::start(listener, handler)
            .map_err(|e| format!("could not serve on 127.0.0.1:{port}: {e}"))?;
        Ok(Endpoint {
            port: http.port(),
            http: Some(http),
            service,
            ticker: Some(ticker),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Blocks until the server stops (it does not stop by itself).
    pub fn wait(mut self) {
        if let Some(http) = self.http.take() {
            http.wait();
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
        self.http.take();
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
