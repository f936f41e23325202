//! Runs JavaScript transformation functions in a Web Worker of their own
//! (`lambda-worker.js`), never on the page or in the simulation's thread,
//! with a time limit: a function that does not answer in time has its
//! worker terminated (a fresh one takes the next invocation) and the
//! invocation fails as AWS reports a Lambda timeout.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Object, Reflect};
use shardlab_sim::lambda::JsInvocation;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// AWS Lambda's default timeout.
pub const TIME_LIMIT_MS: i32 = 3_000;

type Reply = Result<Vec<u8>, String>;

struct Running {
    worker: Worker,
    /// Resolved when the worker's script has loaded (its `ready` message).
    ready: Option<oneshot::Receiver<Reply>>,
    reply: Rc<RefCell<Option<oneshot::Sender<Reply>>>>,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(ErrorEvent)>,
}

pub struct LambdaRunner {
    script_url: String,
    running: Option<Running>,
}

impl LambdaRunner {
    pub fn new(script_url: String) -> Self {
        LambdaRunner {
            script_url,
            running: None,
        }
    }

    fn spawn(&self) -> Result<Running, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name("lambda-worker");
        let worker = Worker::new_with_options(&self.script_url, &options)
            .map_err(|e| format!("could not start the Lambda worker: {e:?}"))?;
        let reply: Rc<RefCell<Option<oneshot::Sender<Reply>>>> = Rc::default();
        // The first message is `ready`: it answers this receiver.
        let (ready_tx, ready_rx) = oneshot::channel();
        *reply.borrow_mut() = Some(ready_tx);
        let on_message = reply.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let field = |name: &str| {
                Reflect::get(&data, &name.into())
                    .ok()
                    .and_then(|v| v.as_string())
            };
            let ready = Reflect::get(&data, &"ready".into())
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let answer = match (field("ok"), field("error")) {
                _ if ready => Ok(Vec::new()),
                (Some(ok), _) => Ok(ok.into_bytes()),
                (None, Some(e)) => Err(e),
                _ => Err("the Lambda worker answered nothing".into()),
            };
            if let Some(tx) = on_message.borrow_mut().take() {
                let _ = tx.send(answer);
            }
        });
        let on_error = reply.clone();
        let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            if let Some(tx) = on_error.borrow_mut().take() {
                let _ = tx.send(Err(event.message()));
            }
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Ok(Running {
            worker,
            ready: Some(ready_rx),
            reply,
            _onmessage: onmessage,
            _onerror: onerror,
        })
    }

    /// Runs one invocation: the handler's response as JSON bytes, or why
    /// it failed.
    pub async fn invoke(&mut self, call: &JsInvocation) -> Result<Vec<u8>, String> {
        if self.running.is_none() {
            self.running = Some(self.spawn()?);
        }
        // Wait for a new worker to load before its first invocation: the
        // time limit is the function's, not the script's start-up.
        if let Some(ready) = self.running.as_mut().and_then(|r| r.ready.take()) {
            ready
                .await
                .map_err(|_| "the Lambda worker did not start".to_string())?
                .map_err(|e| format!("the Lambda worker did not start: {e}"))?;
        }
        let running = self.running.as_ref().ok_or("no Lambda worker")?;
        let (tx, rx) = oneshot::channel();
        *running.reply.borrow_mut() = Some(tx);
        let message = Object::new();
        let _ = Reflect::set(&message, &"source".into(), &call.source.as_str().into());
        let _ = Reflect::set(&message, &"event".into(), &call.event.as_str().into());
        running
            .worker
            .post_message(&message)
            .map_err(|e| format!("could not reach the Lambda worker: {e:?}"))?;
        let timer = sleep(TIME_LIMIT_MS);
        first_of(rx, timer).await.unwrap_or_else(|| {
            // Past the limit: the worker may be stuck in a loop; only
            // terminating it stops it.
            if let Some(r) = self.running.take() {
                r.worker.terminate();
            }
            Err(format!(
                "Task timed out after {:.2} seconds",
                f64::from(TIME_LIMIT_MS) / 1000.0
            ))
        })
    }
}

impl Drop for LambdaRunner {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.worker.terminate();
        }
    }
}

fn sleep(ms: i32) -> wasm_bindgen_futures::JsFuture {
    // `setTimeout` of whatever global this runs in (a worker, or a page
    // in the browser tests).
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Some(set_timeout) = Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        {
            let _ = set_timeout.call2(&global, &resolve, &ms.into());
        }
    });
    wasm_bindgen_futures::JsFuture::from(promise)
}

/// The reply, or None when the timer fires first.
async fn first_of(
    rx: oneshot::Receiver<Reply>,
    timer: wasm_bindgen_futures::JsFuture,
) -> Option<Reply> {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    struct Race {
        rx: oneshot::Receiver<Reply>,
        timer: wasm_bindgen_futures::JsFuture,
    }
    impl Future for Race {
        type Output = Option<Reply>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if let Poll::Ready(r) = Pin::new(&mut self.rx).poll(cx) {
                return Poll::Ready(Some(
                    r.unwrap_or_else(|_| Err("the Lambda worker went away".into())),
                ));
            }
            if Pin::new(&mut self.timer).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        }
    }
    Race { rx, timer }.await
}
