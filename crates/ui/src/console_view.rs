//! The in-page SDK console: JavaScript written for the AWS SDK for
//! JavaScript v3 (`@aws-sdk/client-kinesis`) runs unchanged against the
//! playground's stream. The code runs in a worker of its own
//! (`console-worker.js`, with the SDK bundled from npm); its client's HTTP
//! requests come here as messages and go to the simulation worker as
//! `KinesisApi` commands, whose answers go back the same way. This thread
//! only relays them.

use serde::{Deserialize, Serialize};
use shardlab_sim::simulation::ApiReply;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, HtmlTextAreaElement, MessageEvent, Worker};
use yew::prelude::*;

use crate::sim_worker::module_worker;
use crate::{App, Msg};

/// The example the console starts with, for the stream `{stream}`.
const EXAMPLE: &str = r#"// Code for the AWS SDK for JavaScript v3 runs here unchanged, against
// the playground's stream. Press Run.
import {
  KinesisClient,
  PutRecordCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
} from '@aws-sdk/client-kinesis';

const client = new KinesisClient({ region: 'us-east-1' });
const StreamName = '{stream}';

const put = await client.send(new PutRecordCommand({
  StreamName,
  PartitionKey: 'user-42',
  Data: new TextEncoder().encode(JSON.stringify({ page: '/checkout', action: 'click' })),
}));
console.log('PutRecord:', put.ShardId, put.SequenceNumber);

const { ShardIterator } = await client.send(new GetShardIteratorCommand({
  StreamName,
  ShardId: put.ShardId,
  ShardIteratorType: 'AT_SEQUENCE_NUMBER',
  StartingSequenceNumber: put.SequenceNumber,
}));
const { Records, MillisBehindLatest } = await client.send(
  new GetRecordsCommand({ ShardIterator, Limit: 5 }));
for (const r of Records) {
  console.log(r.SequenceNumber, r.PartitionKey, new TextDecoder().decode(r.Data));
}
console.log('MillisBehindLatest:', MillisBehindLatest);
"#;

/// What the console worker says.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FromConsole {
    Api {
        api: ApiCall,
    },
    Log {
        log: LogLine,
    },
    Done {
        done: bool,
    },
    Error {
        error: String,
    },
    Ready {
        ready: bool,
    },
    /// The worker itself failed (its script did not load, or it crashed):
    /// the next Run starts a new one.
    #[serde(skip_deserializing)]
    Crashed(String),
}

#[derive(Debug, Deserialize)]
pub struct ApiCall {
    pub id: u64,
    pub operation: String,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct LogLine {
    pub level: String,
    pub text: String,
}

#[derive(Serialize)]
struct Run<'a> {
    run: &'a str,
}

#[derive(Serialize)]
struct Reply<'a> {
    reply: &'a ApiReply,
}

/// The console's worker and the closures it calls.
pub struct ConsoleWorker {
    worker: Worker,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(ErrorEvent)>,
}

impl Drop for ConsoleWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

#[derive(Default)]
pub struct ConsolePanel {
    pub code: Option<String>,
    pub output: Vec<LogLine>,
    pub running: bool,
    pub worker: Option<ConsoleWorker>,
    /// Calls sent to the simulation and not yet answered: the page's id
    /// (unique for the page's life, so a late answer to a stopped run's
    /// call never reaches a new run's) and the console worker's.
    pub pending: Vec<(u64, u64)>,
    next_id: u64,
}

impl ConsolePanel {
    /// The code in the box: the learner's, or the example for `stream`.
    pub fn code(&self, stream: &str) -> String {
        self.code
            .clone()
            .unwrap_or_else(|| EXAMPLE.replace("{stream}", stream))
    }

    fn start(on_message: Callback<FromConsole>) -> Result<ConsoleWorker, String> {
        let worker = module_worker("./console-worker.js", "console")?;
        let on_error = on_message.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<FromConsole>(event.data()) {
                Ok(m) => on_message.emit(m),
                Err(e) => on_message.emit(FromConsole::Error {
                    error: format!("an unreadable message from the console: {e}"),
                }),
            }
        });
        let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            on_error.emit(FromConsole::Crashed(format!(
                "the console stopped: {}",
                event.message()
            )));
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Ok(ConsoleWorker {
            worker,
            _onmessage: onmessage,
            _onerror: onerror,
        })
    }

    /// Runs `code`, starting the worker if need be (a worker's messages
    /// queue until its script has loaded).
    pub fn run(&mut self, code: &str, on_message: Callback<FromConsole>) -> Result<(), String> {
        if self.worker.is_none() {
            self.worker = Some(Self::start(on_message)?);
        }
        let worker = self.worker.as_ref().ok_or("no console worker")?;
        let value = serde_wasm_bindgen::to_value(&Run { run: code }).map_err(|e| e.to_string())?;
        worker
            .worker
            .post_message(&value)
            .map_err(|e| format!("Could not reach the console: {e:?}"))?;
        self.running = true;
        Ok(())
    }

    /// Stops the code: its worker goes, with whatever it was doing.
    pub fn stop(&mut self) {
        self.worker = None;
        self.running = false;
        self.pending.clear();
    }

    /// A call from the console worker (its id `worker_id`), to send to the
    /// simulation: the id to send it under.
    pub fn track(&mut self, worker_id: u64) -> u64 {
        self.next_id += 1;
        self.pending.push((self.next_id, worker_id));
        self.next_id
    }

    /// Hands an answer to the code that is waiting for it.
    pub fn reply(&mut self, reply: &ApiReply) {
        let Some(at) = self.pending.iter().position(|(id, _)| *id == reply.id) else {
            return;
        };
        let (_, worker_id) = self.pending.remove(at);
        let reply = ApiReply {
            id: worker_id,
            ..reply.clone()
        };
        if let Some(w) = &self.worker {
            if let Ok(value) = serde_wasm_bindgen::to_value(&Reply { reply: &reply }) {
                let _ = w.worker.post_message(&value);
            }
        }
    }

    /// The stream was created again: calls waiting on the old one fail.
    pub fn fail_pending(&mut self) {
        let body = serde_json::json!({
            "__type": "ResourceNotFoundException",
            "message": "The playground's stream was created again while this call waited.",
        })
        .to_string();
        let ids: Vec<u64> = self.pending.iter().map(|(id, _)| *id).collect();
        for id in ids {
            self.reply(&ApiReply {
                id,
                status: 400,
                body: body.clone(),
            });
        }
    }
}

pub fn card(app: &App, ctx: &Context<App>) -> Html {
    let Some(live) = &app.live else {
        return html! {};
    };
    let c = &app.console;
    let code = c.code(&live.snapshot.stream_name);
    let oninput = ctx.link().callback(|e: InputEvent| {
        let area: HtmlTextAreaElement = e.target_unchecked_into();
        Msg::ConsoleCode(area.value())
    });
    let run = ctx.link().callback(|_| Msg::ConsoleRun);
    let stop = ctx.link().callback(|_| Msg::ConsoleStop);
    let clear = ctx.link().callback(|_| Msg::ConsoleClear);
    html! {
        <section class="card console" data-testid="console">
            <h2>{"SDK console"}</h2>
            <p class="muted">{"JavaScript for the AWS SDK for JavaScript v3 ("}<code>{"@aws-sdk/client-kinesis"}</code>{"), run unchanged against this stream: the same commands, request shapes and errors as on AWS, and the same shard limits as the producer and consumers. It runs in a worker of its own; "}<code>{"import"}</code>{" takes the Kinesis client only."}</p>
            <label class="field" for="console-code">
                <span class="field-label">{"Code"}</span>
                <textarea id="console-code" class="console-code" rows="16" spellcheck="false" value={code} {oninput} data-testid="console-code" />
            </label>
            <div class="controls">
                <button class="primary" onclick={run} disabled={c.running} data-testid="console-run">{ if c.running { "Running…" } else { "Run" } }</button>
                <button class="secondary" onclick={stop} disabled={!c.running} data-testid="console-stop">{"Stop"}</button>
                <button class="link" onclick={clear}>{"Clear the output"}</button>
            </div>
            <pre class="console-output" role="log" aria-live="polite" aria-label="Console output" data-testid="console-output">
                { for c.output.iter().map(|l| html! {
                    <div class={classes!("console-line", l.level.clone())}>{ l.text.clone() }</div>
                }) }
            </pre>
        </section>
    }
}
