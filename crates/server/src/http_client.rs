//! Sends a Firehose HTTP endpoint destination's requests from the native
//! binary, as Firehose sends them: a POST with the request's headers and
//! body, no redirects followed, 3 minutes to answer, at most 1 MiB back.

use std::sync::OnceLock;
use std::time::Duration;

use shardlab_firehose::http::{HttpOutcome, HttpRequest, MAX_RESPONSE_BYTES, TIMEOUT_MS};

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(TIMEOUT_MS)))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("Shardlab Firehose")
            .build()
            .into()
    })
}

/// Sends `request` and says what came of it.
pub fn send(request: &HttpRequest) -> HttpOutcome {
    let mut call = agent().post(&request.url);
    for (name, value) in &request.headers {
        call = call.header(name, value);
    }
    match call.send(&request.body[..]) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response
                .body_mut()
                .with_config()
                .limit(MAX_RESPONSE_BYTES as u64 + 1)
                .read_to_vec();
            match body {
                Ok(body) => HttpOutcome::Response {
                    status,
                    content_type,
                    body,
                },
                Err(e) => failure(e),
            }
        }
        Err(e) => failure(e),
    }
}

fn failure(e: ureq::Error) -> HttpOutcome {
    match e {
        ureq::Error::Timeout(_) => HttpOutcome::timed_out(),
        ureq::Error::BodyExceedsLimit(_) => HttpOutcome::too_large(),
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            HttpOutcome::Failed {
                code: "HttpEndpoint.ConnectionReset".into(),
                message: format!("The connection was reset or closed by the endpoint: {io}"),
            }
        }
        ureq::Error::Tls(t) => HttpOutcome::Failed {
            code: "HttpEndpoint.SSLHandshakeFailure".into(),
            message: format!("The TLS handshake with the endpoint failed: {t}"),
        },
        other => HttpOutcome::connection_failed(other),
    }
}
