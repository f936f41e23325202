//! An HTTP endpoint destination: Firehose's request and response
//! protocol (`httpdeliveryrequestresponse` in the Firehose guide).
//!
//! This crate stays pure: it builds each request (headers and JSON body)
//! and judges each outcome, but the host sends them — the browser with
//! `fetch` from the simulation worker, the native binary with an HTTP
//! client. A sealed buffer becomes one request per 10,000 records; one
//! request of a delivery stream is out at a time, and the next waits for
//! it, so records reach the endpoint in order.
//!
//! Only a 200 answer with a JSON body carrying the same `requestId` and a
//! numeric `timestamp` is a delivery. A 413 is final: the batch is not
//! retried and, as AWS does, not written to the error output (it is
//! counted as rejected). Anything else is retried with backoff (1 s
//! doubling to 2 min, ±15 % jitter) until `RetryOptions` runs out, then
//! the records go to the backup bucket under `http-endpoint-failed/`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The error output type of records the endpoint never took.
pub const HTTP_ENDPOINT_FAILED: &str = "http-endpoint-failed";
/// At most this many records go in one request.
pub const MAX_RECORDS_PER_REQUEST: usize = 10_000;
/// An endpoint has 3 minutes to answer.
pub const TIMEOUT_MS: u64 = 180_000;
/// A response (with its headers) must stay under 1 MiB.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// `errorMessage` in a response: at most this many characters are kept.
const MAX_ERROR_MESSAGE: usize = 8192;
/// A response body quoted in an error message is cut here.
const QUOTED_BODY: usize = 1024;

/// Firehose's error codes for an HTTP endpoint.
const CODES: &[&str] = &[
    "HttpEndpoint.ConnectionFailed",
    "HttpEndpoint.DestinationException",
    "HttpEndpoint.InvalidResponseFromDestination",
    "HttpEndpoint.RequestTimeout",
    "HttpEndpoint.ResponseTooLarge",
    "HttpEndpoint.ConnectionReset",
    "HttpEndpoint.SSLHandshakeFailure",
];

/// A code as the error output writes it: one of Firehose's, else
/// `HttpEndpoint.ConnectionFailed` (a host's own failure).
pub fn code_name(code: &str) -> &'static str {
    CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or(CODES[0])
}

/// Where a delivery stream's requests go
/// (`HttpEndpointDestinationConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTarget {
    pub url: String,
    pub name: Option<String>,
    pub access_key: Option<String>,
    /// `RequestConfiguration.ContentEncoding` GZIP.
    pub gzip: bool,
    /// `RequestConfiguration.CommonAttributes`, in the order given.
    pub common_attributes: Vec<(String, String)>,
    pub retry_seconds: u32,
    /// `S3BackupMode` AllData: every record also goes to the bucket.
    pub backup_all: bool,
    pub role_arn: Option<String>,
}

/// A request for the host to send, exactly as Firehose sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Which request this is, for the outcome.
    pub id: u64,
    pub url: String,
    /// In the order they are sent; names as AWS spells them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What came of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpOutcome {
    /// The endpoint answered.
    Response {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// It did not: `code` is one of Firehose's (`HttpEndpoint.ConnectionFailed`,
    /// `HttpEndpoint.RequestTimeout`, `HttpEndpoint.ConnectionReset`,
    /// `HttpEndpoint.ResponseTooLarge`).
    Failed { code: String, message: String },
}

impl HttpOutcome {
    /// The endpoint could not be reached.
    pub fn connection_failed(detail: impl std::fmt::Display) -> HttpOutcome {
        HttpOutcome::Failed {
            code: "HttpEndpoint.ConnectionFailed".into(),
            message: format!("Unable to connect to the endpoint: {detail}"),
        }
    }

    /// No answer within 3 minutes.
    pub fn timed_out() -> HttpOutcome {
        HttpOutcome::Failed {
            code: "HttpEndpoint.RequestTimeout".into(),
            message: "The endpoint did not respond within 3 minutes.".into(),
        }
    }

    /// The answer was larger than 1 MiB.
    pub fn too_large() -> HttpOutcome {
        HttpOutcome::Failed {
            code: "HttpEndpoint.ResponseTooLarge".into(),
            message: "The response from the endpoint is larger than 1 MiB.".into(),
        }
    }
}

/// What an outcome means for the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    Delivered,
    /// A failed attempt: tried again while the retry duration lasts.
    /// `endpoint_message` is the response's `errorMessage`, if it had one.
    Retry {
        code: String,
        message: String,
        endpoint_message: Option<String>,
    },
    /// 413: final, not retried, not written to the error output.
    Rejected {
        message: String,
    },
}

impl HttpTarget {
    /// A request carrying `records` (already transformed), with its
    /// request id; `timestamp_ms` is when it was made.
    pub fn request<'a>(
        &self,
        id: u64,
        request_id: &str,
        source_arn: &str,
        timestamp_ms: u64,
        records: impl Iterator<Item = &'a [u8]>,
    ) -> HttpRequest {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "{{\"requestId\":{},\"timestamp\":{timestamp_ms},\"records\":[",
                json!(request_id)
            )
            .as_bytes(),
        );
        for (i, r) in records.enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(b"{\"data\":\"");
            body.extend_from_slice(b64.encode(r).as_bytes());
            body.extend_from_slice(b"\"}");
        }
        body.extend_from_slice(b"]}");
        let mut headers = vec![
            (
                "X-Amz-Firehose-Protocol-Version".to_string(),
                "1.0".to_string(),
            ),
            (
                "X-Amz-Firehose-Request-Id".to_string(),
                request_id.to_string(),
            ),
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                "X-Amz-Firehose-Source-Arn".to_string(),
                source_arn.to_string(),
            ),
        ];
        if let Some(key) = &self.access_key {
            headers.push(("X-Amz-Firehose-Access-Key".to_string(), key.clone()));
        }
        if !self.common_attributes.is_empty() {
            let attrs: serde_json::Map<String, Value> = self
                .common_attributes
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            headers.push((
                "X-Amz-Firehose-Common-Attributes".to_string(),
                json!({ "commonAttributes": attrs }).to_string(),
            ));
        }
        if self.gzip {
            headers.push(("Content-Encoding".to_string(), "gzip".to_string()));
            body = gzip(&body);
        }
        HttpRequest {
            id,
            url: self.url.clone(),
            headers,
            body,
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    e.write_all(bytes).expect("writing to memory");
    e.finish().expect("writing to memory")
}

/// Judges an outcome of the request with `request_id`, as Firehose does.
pub fn judge(outcome: &HttpOutcome, request_id: &str) -> Judgement {
    let (status, content_type, body) = match outcome {
        HttpOutcome::Failed { code, message } => {
            return Judgement::Retry {
                code: code.clone(),
                message: message.clone(),
                endpoint_message: None,
            }
        }
        HttpOutcome::Response {
            status,
            content_type,
            body,
        } => (*status, content_type.as_deref(), body),
    };
    let quoted = quote(body);
    if body.len() > MAX_RESPONSE_BYTES {
        return judge(&HttpOutcome::too_large(), request_id);
    }
    let parsed: Option<serde_json::Map<String, Value>> = serde_json::from_slice(body).ok();
    let endpoint_message = parsed
        .as_ref()
        .and_then(|m| m.get("errorMessage"))
        .and_then(Value::as_str)
        .map(|s| s.chars().take(MAX_ERROR_MESSAGE).collect::<String>());
    if status == 413 {
        return Judgement::Rejected {
            message: format!(
                "The following response was received from the endpoint destination. \
                 413: {quoted}"
            ),
        };
    }
    if status != 200 {
        return Judgement::Retry {
            code: "HttpEndpoint.DestinationException".into(),
            message: format!(
                "The following response was received from the endpoint destination. \
                 {status}: {quoted}"
            ),
            endpoint_message,
        };
    }
    let json_type = content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    let problem = match &parsed {
        _ if !json_type => Some("has no \"Content-Type: application/json\" header"),
        None => Some("is not recognized as valid JSON or has unexpected fields"),
        Some(m) => match (m.get("requestId"), m.get("timestamp")) {
            _ if m
                .keys()
                .any(|k| !matches!(k.as_str(), "requestId" | "timestamp" | "errorMessage")) =>
            {
                Some("is not recognized as valid JSON or has unexpected fields")
            }
            (None | Some(Value::Null), _) => Some("has no requestId"),
            (Some(id), _) if id.as_str() != Some(request_id) => {
                Some("has a requestId that does not match the request's")
            }
            (_, Some(t)) if t.is_number() => None,
            _ => Some("has no numeric timestamp"),
        },
    };
    match problem {
        None => Judgement::Delivered,
        Some(problem) => Judgement::Retry {
            code: "HttpEndpoint.InvalidResponseFromDestination".into(),
            message: format!(
                "The response received from the specified endpoint is invalid. Contact the \
                 owner of the endpoint to resolve the issue. Response for request \
                 {request_id} {problem}. Raw response received: {status} {quoted}"
            ),
            endpoint_message,
        },
    }
}

/// A response body as an error message quotes it: text, cut short.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut cut: String = text.chars().take(QUOTED_BODY).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// `http://` is refused by AWS (the pattern is `https://.*`); the
/// playground also takes `http://` to this machine (localhost, 127.0.0.1,
/// [::1]) so that a receiver on a laptop can be tried without a
/// certificate. Move to AWS says so.
pub fn is_allowed_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    is_loopback_http(url)
}

/// An `http://` URL to this machine.
pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
    // `user@host`: the host is after the `@`, and AWS takes no userinfo.
    if host_port.contains('@') {
        return false;
    }
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// The wait before attempt `attempts + 1`: 1 s doubling, at most 2 min,
/// times a jitter in [0.85, 1.15) drawn from `unit` (in [0, 1)).
pub fn backoff_ms(attempts: u32, unit: f64) -> u64 {
    let base = 1_000u64
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(120_000) as f64;
    (base * (0.85 + 0.3 * unit)).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> HttpTarget {
        HttpTarget {
            url: "https://example.com/ingest?x=1".into(),
            name: None,
            access_key: Some("secret".into()),
            gzip: false,
            common_attributes: vec![("team".into(), "blue".into())],
            retry_seconds: 300,
            backup_all: false,
            role_arn: None,
        }
    }

    fn ok(body: &str) -> HttpOutcome {
        HttpOutcome::Response {
            status: 200,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_request_carries_the_protocol_headers_and_base64_records() {
        let r = target().request(
            7,
            "id-1",
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/d",
            1_700_000_000_000,
            [b"a".as_slice(), b"{\"x\":1}\n".as_slice()].into_iter(),
        );
        assert_eq!(r.id, 7);
        assert_eq!(r.url, "https://example.com/ingest?x=1");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"requestId": "id-1", "timestamp": 1_700_000_000_000u64,
                   "records": [{"data": "YQ=="}, {"data": "eyJ4IjoxfQo="}]})
        );
        let h: std::collections::BTreeMap<_, _> = r.headers.iter().cloned().collect();
        assert_eq!(h["X-Amz-Firehose-Protocol-Version"], "1.0");
        assert_eq!(h["X-Amz-Firehose-Request-Id"], "id-1");
        assert_eq!(h["Content-Type"], "application/json");
        assert_eq!(h["X-Amz-Firehose-Access-Key"], "secret");
        assert_eq!(
            h["X-Amz-Firehose-Common-Attributes"],
            r#"{"commonAttributes":{"team":"blue"}}"#
        );
        assert!(!h.contains_key("Content-Encoding"));
    }

    #[test]
    fn gzip_compresses_the_body_and_says_so() {
        let t = HttpTarget {
            gzip: true,
            ..target()
        };
        let r = t.request(1, "id", "arn", 5, [b"hello".as_slice()].into_iter());
        assert!(r
            .headers
            .contains(&("Content-Encoding".to_string(), "gzip".to_string())));
        let mut text = String::new();
        use std::io::Read as _;
        flate2::read::GzDecoder::new(&r.body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(
            text,
            r#"{"requestId":"id","timestamp":5,"records":[{"data":"aGVsbG8="}]}"#
        );
    }

    #[test]
    fn only_a_conforming_200_is_a_delivery() {
        assert_eq!(
            judge(&ok(r#"{"requestId":"r","timestamp":1}"#), "r"),
            Judgement::Delivered
        );
        let invalid = |j: Judgement, why: &str| match j {
            Judgement::Retry { code, message, .. } => {
                assert_eq!(code, "HttpEndpoint.InvalidResponseFromDestination");
                assert!(message.contains(why), "{message}");
                assert!(message
                    .starts_with("The response received from the specified endpoint is invalid."));
            }
            other => panic!("{other:?}"),
        };
        invalid(
            judge(&ok(r#"{"requestId":"x","timestamp":1}"#), "r"),
            "does not match",
        );
        invalid(judge(&ok(r#"{"timestamp":1}"#), "r"), "no requestId");
        invalid(
            judge(&ok(r#"{"requestId":null,"timestamp":1}"#), "r"),
            "no requestId",
        );
        invalid(
            judge(&ok(r#"{"requestId":"r","timestamp":"1"}"#), "r"),
            "numeric timestamp",
        );
        invalid(
            judge(&ok(r#"{"requestId":"r","timestamp":1,"ok":true}"#), "r"),
            "unexpected fields",
        );
        invalid(judge(&ok("OK"), "r"), "valid JSON");
        invalid(
            judge(
                &HttpOutcome::Response {
                    status: 200,
                    content_type: Some("text/plain".into()),
                    body: br#"{"requestId":"r","timestamp":1}"#.to_vec(),
                },
                "r",
            ),
            "Content-Type",
        );
        // A charset parameter is still JSON.
        assert_eq!(
            judge(
                &HttpOutcome::Response {
                    status: 200,
                    content_type: Some("application/json; charset=utf-8".into()),
                    body: br#"{"requestId":"r","timestamp":1,"errorMessage":""}"#.to_vec(),
                },
                "r",
            ),
            Judgement::Delivered
        );
    }

    #[test]
    fn other_statuses_are_retried_and_413_is_final() {
        let answer = |status| HttpOutcome::Response {
            status,
            content_type: Some("application/json".into()),
            body: br#"{"requestId":"r","timestamp":1,"errorMessage":"Payload too large"}"#.to_vec(),
        };
        for status in [201, 204, 301, 400, 401, 429, 500, 503] {
            match judge(&answer(status), "r") {
                Judgement::Retry {
                    code,
                    message,
                    endpoint_message,
                } => {
                    assert_eq!(code, "HttpEndpoint.DestinationException");
                    assert!(message.starts_with(&format!(
                        "The following response was received from the endpoint destination. {status}: "
                    )));
                    assert_eq!(endpoint_message.as_deref(), Some("Payload too large"));
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        assert!(matches!(
            judge(&answer(413), "r"),
            Judgement::Rejected { .. }
        ));
        assert!(matches!(
            judge(&HttpOutcome::timed_out(), "r"),
            Judgement::Retry { code, .. } if code == "HttpEndpoint.RequestTimeout"
        ));
        let huge = HttpOutcome::Response {
            status: 200,
            content_type: Some("application/json".into()),
            body: vec![b' '; MAX_RESPONSE_BYTES + 1],
        };
        assert!(matches!(
            judge(&huge, "r"),
            Judgement::Retry { code, .. } if code == "HttpEndpoint.ResponseTooLarge"
        ));
    }

    #[test]
    fn urls_are_https_or_http_to_this_machine() {
        for ok in [
            "https://example.com",
            "http://localhost:8080/in",
            "http://127.0.0.1/",
            "http://[::1]:9000",
            "http://localhost",
        ] {
            assert!(is_allowed_url(ok), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://localhost.example.com/",
            "http://127.0.0.2",
            "http://localhost:1@evil.example/",
            "http://[::1]@evil.example",
            "ftp://localhost",
            "localhost:80",
        ] {
            assert!(!is_allowed_url(bad), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_at_two_minutes() {
        for (attempts, base) in [
            (1, 1_000.0),
            (2, 2_000.0),
            (3, 4_000.0),
            (8, 120_000.0),
            (40, 120_000.0),
        ] {
            for unit in [0.0, 0.5, 0.999_999] {
                let ms = backoff_ms(attempts, unit) as f64;
                assert!(
                    ms >= base * 0.85 - 1.0 && ms <= base * 1.15 + 1.0,
                    "{attempts} {unit} {ms}"
                );
            }
        }
    }
}
