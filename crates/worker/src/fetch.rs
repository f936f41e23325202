//! Sends a Firehose HTTP endpoint destination's requests from the
//! simulation worker with `fetch`, as Firehose sends them: a POST with the
//! request's headers and body, redirects not followed, 3 minutes to
//! answer, at most 1 MiB read back.
//!
//! The browser adds what it must: a CORS preflight (the X-Amz-Firehose-*
//! headers are not simple headers), so the endpoint has to allow this
//! page's origin. A refused preflight looks like a network error, and is
//! reported as a failed connection that says so.

use js_sys::Uint8Array;
use shardlab_firehose::http::{HttpOutcome, HttpRequest, MAX_RESPONSE_BYTES, TIMEOUT_MS};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, RequestRedirect, Response, ResponseType};

/// Sends `request` and says what came of it.
pub async fn send(request: &HttpRequest) -> HttpOutcome {
    match try_send(request).await {
        Ok(outcome) => outcome,
        Err(e) => HttpOutcome::connection_failed(format!(
            "the browser could not build the request ({})",
            describe(&e)
        )),
    }
}

async fn try_send(request: &HttpRequest) -> Result<HttpOutcome, JsValue> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let headers = Headers::new()?;
    for (name, value) in &request.headers {
        headers.set(name, value)?;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&Uint8Array::from(&request.body[..]));
    init.set_redirect(RequestRedirect::Manual);
    let abort = AbortController::new()?;
    init.set_signal(Some(&abort.signal()));
    let on_timeout = {
        let abort = abort.clone();
        Closure::once_into_js(move || abort.abort())
    };
    let timer = scope.set_timeout_with_callback_and_timeout_and_arguments_0(
        on_timeout.unchecked_ref(),
        TIMEOUT_MS as i32,
    )?;
    let answer = JsFuture::from(scope.fetch_with_str_and_init(&request.url, &init)).await;
    let outcome = match answer {
        Err(_) if abort.signal().aborted() => HttpOutcome::timed_out(),
        Err(e) => HttpOutcome::connection_failed(format!(
            "{} (a network error, or the endpoint did not allow this page's origin with CORS)",
            describe(&e)
        )),
        Ok(value) => {
            let response: Response = value.unchecked_into();
            if response.type_() == ResponseType::Opaqueredirect {
                HttpOutcome::Response {
                    status: 302,
                    content_type: None,
                    body: b"(a redirect, which Firehose does not follow)".to_vec(),
                }
            } else {
                let status = response.status();
                let content_type = response.headers().get("content-type").ok().flatten();
                match JsFuture::from(response.array_buffer()?).await {
                    Ok(buffer) => {
                        let body = Uint8Array::new(&buffer).to_vec();
                        if body.len() > MAX_RESPONSE_BYTES {
                            HttpOutcome::too_large()
                        } else {
                            HttpOutcome::Response {
                                status,
                                content_type,
                                body,
                            }
                        }
                    }
                    Err(_) if abort.signal().aborted() => HttpOutcome::timed_out(),
                    Err(e) => HttpOutcome::Failed {
                        code: "HttpEndpoint.ConnectionReset".into(),
                        message: format!("The response was cut short: {}", describe(&e)),
                    },
                }
            }
        }
    };
    scope.clear_timeout_with_handle(timer);
    Ok(outcome)
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
