//! The page: header, the create-stream form, and the live stream panel.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::format::{bytes, elapsed, key_space_percent, speed, thousands};
use crate::{App, LiveStream, Msg, StreamForm};

/// Speeds offered in the clock menu.
const SPEEDS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0];
/// A shard's write limit in records per second, for the throughput bars.
const SHARD_RECORDS_PER_SEC: u64 = 1000;

pub fn app(app: &App, ctx: &Context<App>) -> Html {
    let status = match (&app.live, app.ready) {
        (_, false) if app.worker.is_some() => {
            html! { <span class="pill pill-muted">{"Starting…"}</span> }
        }
        (_, false) => html! { <span class="pill pill-bad">{"Stopped"}</span> },
        (Some(l), true) if l.running => {
            html! { <span class="pill pill-live" data-testid="status">{"Running"}</span> }
        }
        (Some(_), true) => {
            html! { <span class="pill pill-paused" data-testid="status">{"Paused"}</span> }
        }
        (None, true) => {
            html! { <span class="pill pill-muted" data-testid="status">{"Ready"}</span> }
        }
    };
    html! {
        <>
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">
                    <span></span><span></span><span></span>
                </span>
                <span class="name">{"Shardlab"}</span>
                <span class="tagline">{"Kinesis Data Streams, live in your browser"}</span>
            </div>
            <div class="topbar-right">
                { clock(app) }
                { status }
            </div>
        </header>
        <main class="layout">
            { error_banner(app, ctx) }
            <aside class="card create">
                { create_form(app, ctx) }
            </aside>
            <section class="stream">
                { match &app.live {
                    Some(live) => stream_panel(live, ctx),
                    None => empty_state(),
                } }
            </section>
        </main>
        <footer class="footer">
            {"Everything runs in this tab: each shard in its own Web Worker, the simulation in another. Same seed, same numbers — every time."}
        </footer>
        </>
    }
}

fn clock(app: &App) -> Html {
    match &app.live {
        Some(l) => html! {
            <span class="clock" title="Virtual time since the stream was created">
                <span class="clock-label">{"virtual time"}</span>
                <span class="mono" data-testid="clock">{ elapsed(l.snapshot.elapsed_ms) }</span>
            </span>
        },
        None => html! {},
    }
}

fn error_banner(app: &App, ctx: &Context<App>) -> Html {
    match &app.error {
        Some(message) => html! {
            <div class="error" role="alert" data-testid="error">
                <span>{ message }</span>
                <button class="link" onclick={ctx.link().callback(|_| Msg::DismissError)}>{"Dismiss"}</button>
            </div>
        },
        None => html! {},
    }
}

fn create_form(app: &App, ctx: &Context<App>) -> Html {
    let form = app.form.clone();
    let field = |label: &'static str,
                 hint: &'static str,
                 id: &'static str,
                 kind: &'static str,
                 value: String,
                 set: fn(&mut StreamForm, String)| {
        let base = form.clone();
        let oninput = ctx.link().callback(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut next = base.clone();
            set(&mut next, input.value());
            Msg::EditForm(next)
        });
        html! {
            <label class="field" for={id}>
                <span class="field-label">{ label }</span>
                <input id={id} name={id} type={kind} value={value} {oninput} autocomplete="off" spellcheck="false" />
                <span class="hint">{ hint }</span>
            </label>
        }
    };
    let onsubmit = ctx.link().callback(|e: SubmitEvent| {
        e.prevent_default();
        Msg::Create
    });
    let busy = app.creating || !app.ready;
    html! {
        <form {onsubmit} novalidate=true>
            <h2>{"Create a data stream"}</h2>
            <p class="muted">{"A provisioned stream: its hash-key space split evenly over the shards, each shard 1 MiB/s or 1,000 records/s in."}</p>
            { field("Stream name", "1–128 of a–z A–Z 0–9 _ . -", "stream-name", "text", form.stream_name.clone(), |f, v| f.stream_name = v) }
            { field("Shards", "1 to 16; a Web Worker per shard, up to 8", "shard-count", "number", form.shard_count.clone(), |f, v| f.shard_count = v) }
            { field("Producer rate", "records per second, random partition keys", "rate", "number", form.rate_per_sec.clone(), |f, v| f.rate_per_sec = v) }
            { field("Seed", "same seed, same records and sequence numbers", "seed", "number", form.seed.clone(), |f, v| f.seed = v) }
            <button type="submit" class="primary" disabled={busy} data-testid="create">
                { if app.creating { "Creating…" } else { "Create stream" } }
            </button>
        </form>
    }
}

fn empty_state() -> Html {
    html! {
        <div class="card empty">
            <h2>{"No stream yet"}</h2>
            <p>{"Create a stream, then start the producer. Every record is routed by the MD5 hash of its partition key to the shard whose hash-key range holds it, and gets a sequence number that only grows within its shard."}</p>
        </div>
    }
}

fn stream_panel(live: &LiveStream, ctx: &Context<App>) -> Html {
    let s = &live.snapshot;
    let accepted: u64 = s.shards.iter().map(|x| x.records_accepted).sum();
    let throttled: u64 = s.shards.iter().map(|x| x.records_throttled).sum();
    let bytes_in: u64 = s.shards.iter().map(|x| x.bytes_accepted).sum();
    let per_second: u64 = s.shards.iter().map(|x| x.records_last_second).sum();
    let toggle = ctx.link().callback(|_| Msg::Toggle);
    let step = ctx.link().callback(|_| Msg::Step);
    let onrate = ctx.link().callback(|e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        Msg::SetRate(input.value())
    });
    let onspeed = ctx.link().callback(|e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        Msg::SetSpeed(select.value())
    });
    html! {
        <div class="card panel">
            <div class="panel-head">
                <div>
                    <h2 class="stream-name" data-testid="stream-name">{ &s.stream_name }</h2>
                    <div class="arn mono">{ &s.stream_arn }</div>
                </div>
                <div class="badges">
                    <span class="pill pill-ok">{"ACTIVE"}</span>
                    <span class="pill pill-muted">{ format!("{} shards · PROVISIONED", s.shards.len()) }</span>
                    <span class="pill pill-muted">{ format!("seed {}", s.seed) }</span>
                </div>
            </div>
            <div class="controls">
                <button class={if live.running { "secondary" } else { "primary" }} onclick={toggle} data-testid="toggle">
                    { if live.running { "Pause" } else { "Start producer" } }
                </button>
                <button class="secondary" onclick={step} disabled={live.running} title="Advance virtual time by one 100 ms tick" data-testid="step">{"Step 100 ms"}</button>
                <label class="inline">
                    <span>{"Rate"}</span>
                    <input type="number" min="0" value={s.rate_per_sec.to_string()} onchange={onrate} data-testid="rate" />
                    <span class="muted">{"rec/s"}</span>
                </label>
                <label class="inline">
                    <span>{"Speed"}</span>
                    <select onchange={onspeed} data-testid="speed">
                        { for SPEEDS.iter().map(|&v| html! {
                            <option value={v.to_string()} selected={v == live.speed}>{ speed(v) }</option>
                        }) }
                    </select>
                </label>
            </div>
            <div class="stats">
                { stat("Produced", thousands(s.records_produced), "records the producer sent", "produced") }
                { stat("Accepted", thousands(accepted), "acknowledged with a sequence number", "accepted") }
                { stat("Throttled", thousands(throttled), "ProvisionedThroughputExceededException", "throttled") }
                { stat("Ingest", format!("{}/s", thousands(per_second)), "records in the last virtual second", "per-second") }
                { stat("Stored", bytes(bytes_in), "data + partition keys", "bytes") }
            </div>
            { keyspace(live) }
            <div class="table-scroll">
            <table class="shards" data-testid="shards">
                <thead>
                    <tr>
                        <th>{"Shard · host"}</th>
                        <th>{"Hash-key range"}</th>
                        <th class="num">{"Records"}</th>
                        <th>{"Write load"}</th>
                        <th class="num">{"Throttled"}</th>
                        <th>{"Latest sequence number"}</th>
                    </tr>
                </thead>
                <tbody>
                    { for s.shards.iter().enumerate().map(|(i, shard)| {
                        let load = (shard.records_last_second as f64 / SHARD_RECORDS_PER_SEC as f64 * 100.0).min(100.0);
                        let hot = shard.records_throttled > 0 && shard.records_last_second >= SHARD_RECORDS_PER_SEC;
                        html! {
                            <tr data-shard={i.to_string()}>
                                <td class="shard-id">
                                    <div class="mono">{ &shard.shard_id }</div>
                                    <div class="host muted" data-testid={format!("host-{i}")}>{ live.placement.get(i).cloned().unwrap_or_default() }</div>
                                </td>
                                <td class="mono range" title={format!("{} – {}", shard.starting_hash_key, shard.ending_hash_key)}>
                                    { abbreviate(&shard.starting_hash_key) }{" – "}{ abbreviate(&shard.ending_hash_key) }
                                </td>
                                <td class="num mono" data-testid={format!("records-{i}")}>{ thousands(shard.records_accepted) }</td>
                                <td>
                                    <div class={classes!("meter", hot.then_some("meter-hot"))} title={format!("{} of 1,000 records/s", thousands(shard.records_last_second))}>
                                        <div class="meter-fill" style={format!("width:{load:.1}%")}></div>
                                    </div>
                                    <span class="meter-label mono">{ format!("{}/s", thousands(shard.records_last_second)) }</span>
                                </td>
                                <td class={classes!("num", "mono", (shard.records_throttled > 0).then_some("bad"))} data-testid={format!("throttled-{i}")}>{ thousands(shard.records_throttled) }</td>
                                <td class="mono seq" data-testid={format!("seq-{i}")} title={shard.latest_sequence_number.clone().unwrap_or_default()}>
                                    { shard.latest_sequence_number.clone().unwrap_or_else(|| "—".into()) }
                                </td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            </div>
            <div class="digest muted">
                {"Run digest "}<span class="mono" data-testid="digest">{ &s.digest }</span>
                {" — the same scenario and seed give the same digest, on any machine."}
            </div>
        </div>
    }
}

fn stat(label: &'static str, value: String, hint: &'static str, id: &'static str) -> Html {
    html! {
        <div class="stat" title={hint}>
            <div class="stat-label">{ label }</div>
            <div class="stat-value mono" data-testid={format!("stat-{id}")}>{ value }</div>
        </div>
    }
}

/// The hash-key space 0 … 2^128−1 as one bar, a segment per shard, each
/// shaded by its share of the last second's records.
fn keyspace(live: &LiveStream) -> Html {
    let shards = &live.snapshot.shards;
    let busiest = shards
        .iter()
        .map(|s| s.records_last_second)
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        <div class="keyspace">
            <div class="keyspace-label muted">
                <span>{"Hash-key space"}</span>
                <span class="mono">{"0 … 2¹²⁸−1"}</span>
            </div>
            <div class="keyspace-bar">
                { for shards.iter().enumerate().map(|(i, s)| {
                    let (left, width) = key_space_percent(&s.starting_hash_key, &s.ending_hash_key);
                    let heat = s.records_last_second as f64 / busiest as f64;
                    html! {
                        <div class="keyspace-seg" title={s.shard_id.clone()}
                            style={format!("left:{left:.3}%;width:{width:.3}%;--heat:{heat:.2}")}>
                            <span>{ i }</span>
                        </div>
                    }
                }) }
            </div>
        </div>
    }
}

/// A 39-digit hash key shortened for the table; the full value is in the
/// cell's tooltip.
fn abbreviate(key: &str) -> String {
    if key.len() <= 12 {
        key.to_string()
    } else {
        format!("{}…{}", &key[..6], &key[key.len() - 4..])
    }
}
