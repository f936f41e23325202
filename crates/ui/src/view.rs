//! The page: header, the create-stream form, and the live stream panel.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::format::{bytes, elapsed, key_space_percent, speed, thousands};
use crate::{App, LiveStream, Msg, StreamForm};
use shardlab_sim::producer::{KeyStrategy, RateShape};

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
        (Some(l), true) if l.fast_forward_ms > 0 => html! {
            <span class="pill pill-live" data-testid="status">{ format!("Fast-forward, {} to go", elapsed(l.fast_forward_ms)) }</span>
        },
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
    let projector = ctx.link().callback(|_| Msg::ToggleProjector);
    html! {
        <div class={classes!("shell", app.projector.then_some("projector"))} data-testid="shell">
        <a class="skip-link" href="#main-content">{"Skip to the playground"}</a>
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">
                    <span></span><span></span><span></span>
                </span>
                <h1 class="name">{"Shardlab"}</h1>
                <span class="tagline">{"Kinesis Data Streams, Firehose and streaming SQL, live in your browser"}</span>
            </div>
            <div class="topbar-right">
                { match app.work_saved() {
                    Some(true) => html! { <span class="saved" data-testid="saved" title="Your stream's settings, SQL, lesson and exercise are kept in this browser (IndexedDB) and come back when you reload">{"Saved in this browser"}</span> },
                    Some(false) => html! { <span class="saved" data-testid="saved">{"Saving…"}</span> },
                    None => html! {},
                } }
                { clock(app) }
                { status }
                <button class="topbar-toggle" onclick={projector} aria-pressed={app.projector.to_string()} title="Larger text and controls, for a projector or a big screen" data-testid="projector">{"Projector mode"}</button>
            </div>
        </header>
        <main class="layout" id="main-content" tabindex="-1">
            { error_banner(app, ctx) }
            <aside class="card create">
                { create_form(app, ctx) }
            </aside>
            <section class="stream">
                { crate::lessons_view::card(app, ctx) }
                { crate::exercise_view::card(app, ctx) }
                { match &app.live {
                    Some(live) => html! {
                        <>
                        { stream_panel(app, live, ctx) }
                        { crate::sql_view::panel(app, live, ctx) }
                        { crate::firehose_view::panel(app, live, ctx) }
                        { crate::aws_view::card(app, ctx) }
                        { crate::share_view::card(app, ctx) }
                        { crate::console_view::card(app, ctx) }
                        </>
                    },
                    None => empty_state(),
                } }
            </section>
        </main>
        <footer class="footer">
            {"Everything runs in this tab: each shard in its own Web Worker, the simulation in another. Same seed, same numbers — every time."}
        </footer>
        </div>
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

/// The notice (information) and the error, each with a Dismiss button.
fn error_banner(app: &App, ctx: &Context<App>) -> Html {
    let banner =
        |message: &Option<String>, class: &'static str, role, testid, dismiss: fn() -> Msg| {
            match message {
                Some(message) => {
                    let onclick = ctx.link().callback(move |_| dismiss());
                    html! {
                        <div {class} {role} data-testid={testid}>
                            <span>{ message }</span>
                            <button class="link" {onclick}>{"Dismiss"}</button>
                        </div>
                    }
                }
                None => html! {},
            }
        };
    html! {
        <>
        { banner(&app.notice, "notice", "status", "notice", || Msg::DismissNotice) }
        { banner(&app.error, "error", "alert", "error", || Msg::DismissError) }
        </>
    }
}

fn create_form(app: &App, ctx: &Context<App>) -> Html {
    let form = app.form.clone();
    let field = |label: &'static str,
                 hint: String,
                 id: &'static str,
                 kind: &'static str,
                 value: String,
                 set: fn(&mut StreamForm, String)| {
        let base = form.clone();
        let oninput = ctx.link().callback(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut next = base.clone();
            set(&mut next, input.value());
            Msg::EditForm(Box::new(next))
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
            { preset_picker(app, ctx) }
            <p class="muted">{"A provisioned stream: its hash-key space split evenly over the shards, each shard 1 MiB/s or 1,000 records/s in."}</p>
            { field("Stream name", "1–128 of a–z A–Z 0–9 _ . -".into(), "stream-name", "text", form.stream_name.clone(), |f, v| f.stream_name = v) }
            { field("Shards", "1 to 32; a Web Worker per shard, up to 8".into(), "shard-count", "number", form.shard_count.clone(), |f, v| f.shard_count = v) }
            { field("Producer rate", rate_hint(&form.rate_shape), "rate", "number", form.rate_per_sec.clone(), |f, v| f.rate_per_sec = v) }
            { shape_picker(&form, ctx) }
            { key_picker(&form, ctx) }
            { field("Record size", format!("bytes per clickstream event ({} to {}), padded with a \"pad\" field; empty for their own, about 150. At 1,000 records/s, records over about 1 KB meet the 1 MiB/s limit first", thousands(u64::from(*shardlab_sim::producer::RECORD_SIZES.start())), thousands(u64::from(*shardlab_sim::producer::RECORD_SIZES.end()))), "record-size", "number", form.record_size.clone(), |f, v| f.record_size = v) }
            { crate::template_view::fields(app, ctx) }
            { crate::template_view::agent_fields(app, ctx) }
            { crate::producers_view::fields(&form, ctx) }
            { aggregation_field(&form, ctx) }
            if form.aggregation.is_some() {
                { field("KPL rate limit", "RateLimit: the most the KPL sends each shard, in % of its 1,000 records/s and 1 MiB/s (150 by default); what is over waits in the producer".into(), "kpl-rate-limit", "number", form.kpl_rate_limit.clone(), |f, v| f.kpl_rate_limit = v) }
                { field("KPL record TTL", "RecordTtl: ms a record may wait to be sent, held by the rate limit or throttled and sent again, before it fails (30,000 by default)".into(), "kpl-record-ttl", "number", form.kpl_record_ttl.clone(), |f, v| f.kpl_record_ttl = v) }
                { fail_if_throttled_field(&form, ctx) }
            } else {
                { retries_field(&form, ctx) }
            }
            { field("Seed", "same seed, same records and sequence numbers".into(), "seed", "number", form.seed.clone(), |f, v| f.seed = v) }
            { field("Consumers poll every", "ms between GetRecords per shard, one consumer per value (e.g. 200 or 100, 100); 0 for none".into(), "consumer-poll", "text", form.consumer_polls.clone(), |f, v| f.consumer_polls = v) }
            { field("KCL application workers", format!("a KCL application sharing the shards over 1 to {} workers through a lease table; 0 for none", shardlab_sim::kcl::MAX_WORKERS), "kcl-workers", "number", form.kcl_workers.clone(), |f, v| f.kcl_workers = v) }
            if form.kcl_workers.trim().parse::<u32>().is_ok_and(|n| n > 0) {
                { field("KCL checkpoint every", "ms between each record processor's checkpoints (the KCL samples: 60,000)".into(), "kcl-checkpoint", "number", form.kcl_checkpoint_ms.clone(), |f, v| f.kcl_checkpoint_ms = v) }
            }
            { field("SQL output stream", "a data stream the SQL application's DESTINATION_SQL_STREAM is written to, as JSON records (KDA's KinesisStreamsOutput); empty for none".into(), "output-stream", "text", form.output_stream.clone(), |f, v| f.output_stream = v) }
            if !form.output_stream.trim().is_empty() {
                { field("Output stream shards", "its shards count against the same 32 as the stream's".into(), "output-stream-shards", "number", form.output_stream_shards.clone(), |f, v| f.output_stream_shards = v) }
            }
            { crate::firehose_view::form_fields(&form, ctx) }
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

fn stream_panel(app: &App, live: &LiveStream, ctx: &Context<App>) -> Html {
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
    // The settings' inputs are not bound to the snapshot's values: the
    // snapshots re-render the page at display rate, and a bound input would
    // be reset under the learner's fingers. Each starts from the current
    // value (defaultValue) and is made anew when that value changes.
    let onretention = ctx.link().callback(|e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        Msg::SetRetention(input.value())
    });
    let retained: u64 = s.shards.iter().map(|x| x.records_retained).sum();
    let oldest_age = s
        .shards
        .iter()
        .filter_map(|x| x.oldest_arrival_ms)
        .min()
        .map(|t| s.now_ms.saturating_sub(t));
    html! {
        <div class="card panel">
            <div class="panel-head">
                <div>
                    <h2 class="stream-name" data-testid="stream-name">{ &s.stream_name }</h2>
                    <div class="arn mono">{ &s.stream_arn }</div>
                </div>
                <div class="badges">
                    <span class="pill pill-ok">{"ACTIVE"}</span>
                    <span class="pill pill-muted" data-testid="open-shards">{ format!("{} open shards · PROVISIONED", s.shards.iter().filter(|x| x.open).count()) }</span>
                    <span class="pill pill-muted">{ format!("seed {}", s.seed) }</span>
                </div>
            </div>
            <div class="controls">
                <button class={if live.running || live.fast_forward_ms > 0 { "secondary" } else { "primary" }} onclick={toggle} data-testid="toggle">
                    { if live.fast_forward_ms > 0 { "Stop fast-forward" } else if live.running { "Pause" } else { "Start producer" } }
                </button>
                <button class="secondary" onclick={step} disabled={live.running} title="Advance virtual time by one 100 ms tick" data-testid="step">{"Step 100 ms"}</button>
                { for [("+1 min", 60_000u64, "ff-minute"), ("+1 h", 3_600_000, "ff-hour"), ("+24 h", 86_400_000, "ff-day")].into_iter().map(|(label, ms, id)| {
                    let ff = ctx.link().callback(move |_| Msg::FastForward(ms));
                    html! {
                        <button class="secondary" onclick={ff} disabled={live.fast_forward_ms > 0} data-testid={id}
                            title="Run this much virtual time as fast as this machine can (the same ticks as at any speed)">{ label }</button>
                    }
                }) }
                <label class="inline">
                    <span>{"Rate"}</span>
                    <input type="number" min="0" key={format!("rate-{}", s.rate_per_sec)} ~defaultValue={s.rate_per_sec.to_string()} onchange={onrate} data-testid="rate" />
                    <span class="muted">{"rec/s"}</span>
                </label>
                <label class="inline" title="IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod: 24 to 8,760 hours">
                    <span>{"Retention"}</span>
                    <input type="number" min="24" max="8760" key={format!("retention-{}", s.retention_hours)} ~defaultValue={s.retention_hours.to_string()} onchange={onretention} data-testid="retention" />
                    <span class="muted">{"h"}</span>
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
                if s.producers.len() > 1 {
                    { for s.producers.iter().enumerate().map(|(i, p)| producer_stat(i, p, ctx)) }
                }
                if s.kinesis_records_put != s.records_produced {
                    { stat("Kinesis records", thousands(s.kinesis_records_put), "aggregated records put (KPL): what the shards count", "kinesis-records") }
                }
                { stat("Accepted", thousands(accepted), "acknowledged with a sequence number", "accepted") }
                { stat("Throttled", thousands(throttled), "ProvisionedThroughputExceededException", "throttled") }
                if s.records_held > 0 {
                    { stat("Held by rate limit", thousands(s.records_held), "Kinesis records the KPL holds back now: sending them would take a shard over its RateLimit", "held") }
                }
                if s.records_retried + s.records_failed + s.records_awaiting_retry > 0 {
                    { stat("Retried", thousands(s.records_retried), "throttled records the producer sent again: after a backoff with jitter, or with the KPL's next batch (each gets a new sequence number)", "retried") }
                    { stat("Awaiting retry", thousands(s.records_awaiting_retry), "throttled records waiting for their next send", "awaiting-retry") }
                    { stat("Failed", thousands(s.records_failed), "records the producer gave up on after its last attempt (or with its retry buffer full), or the KPL's past their RecordTtl: lost", "failed") }
                }
                { stat("Ingest", format!("{}/s", thousands(per_second)), "records in the last virtual second", "per-second") }
                { stat("Stored", bytes(bytes_in), "data + partition keys", "bytes") }
                { stat("Retained", thousands(retained), "records the shards still keep: older ones are past the retention period", "retained") }
                { stat("Oldest", oldest_age.map_or("—".to_string(), elapsed), "age of the oldest retained record (the trim horizon)", "oldest") }
            </div>
            { consumers_panel(app, live, ctx) }
            { crate::queues_view::panel(live.snapshot.messaging.as_ref(), ctx) }
            { crate::output_view::panel(&live.snapshot.output_streams) }
            { crate::metrics_view::panel(&live.snapshot.metrics) }
            { keyspace(live) }
            { shard_lanes(live) }
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
                        let lineage = match (&shard.parent_shard_id, &shard.adjacent_parent_shard_id) {
                            (Some(p), Some(a)) => format!("merged from {} + {}", short_id(p), short_id(a)),
                            (Some(p), None) => format!("split from {}", short_id(p)),
                            _ => String::new(),
                        };
                        html! {
                            <tr data-shard={i.to_string()} class={classes!((!shard.open).then_some("closed"))}>
                                <td class="shard-id">
                                    <div class="mono">{ &shard.shard_id }</div>
                                    <div class="host muted" data-testid={format!("host-{i}")}>
                                        { format!("worker {}", shard.host) }
                                        { if shard.open { html! {} } else { html! { <span class="pill pill-muted tiny" data-testid={format!("closed-{i}")}>{"CLOSED"}</span> } } }
                                    </div>
                                    { if lineage.is_empty() { html! {} } else { html! { <div class="muted lineage">{ lineage }</div> } } }
                                    <div class="reshard">{ reshard_buttons(live, i, ctx) }</div>
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
            { workers_panel(live, ctx) }
            <div class="digest muted">
                {"Run digest "}<span class="mono" data-testid="digest">{ &s.digest }</span>
                {" — the same scenario and seed give the same digest, on any machine."}
            </div>
        </div>
    }
}

/// One producer's records, and its rate to change (producer-0's is the
/// Rate control above).
fn producer_stat(i: usize, p: &shardlab_sim::simulation::ProducerView, ctx: &Context<App>) -> Html {
    let name = p.name.clone();
    let onrate = ctx.link().callback(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        Msg::SetProducerRate(name.clone(), input.value())
    });
    html! {
        <div class="stat" title={format!("records {} made", p.name)}>
            <div class="stat-label">{ &p.name }</div>
            <div class="stat-value mono" data-testid={format!("stat-produced-{i}")}>{ thousands(p.produced) }</div>
            if i > 0 {
                <label class="inline" title="records per second, from the next millisecond">
                    <input type="number" min="0" class="rate-small" key={format!("prate-{i}-{}", p.rate_per_sec)} ~defaultValue={p.rate_per_sec.to_string()} onchange={onrate} data-testid={format!("producer-live-rate-{i}")} />
                    <span class="muted">{"/s"}</span>
                </label>
            }
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
            { key_histogram(&live.snapshot.key_histogram) }
            <div class="keyspace-bar">
                { for shards.iter().enumerate().filter(|(_, s)| s.open).map(|(i, s)| {
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

/// Each retained shard as a lane of time, from when the stream was
/// created (or the retention period ago, once that is later) to now: what
/// it still keeps (from its trim horizon), the records of the last minute
/// second by second, and where each consumer application is on it (how
/// far behind the newest record its last read was).
fn shard_lanes(live: &LiveStream) -> Html {
    let s = &live.snapshot;
    if s.shards.is_empty() || s.elapsed_ms == 0 {
        return html! {};
    }
    let now = s.now_ms;
    let created = now - s.elapsed_ms;
    let retention = u64::from(s.retention_hours) * 3_600_000;
    // Once records have expired, the axis starts a tenth of the retention
    // period before the retention edge, so the trimmed part shows.
    let trimming = s.elapsed_ms > retention;
    let start = if trimming {
        now - retention - retention / 10
    } else {
        created
    };
    let span = (now - start).max(1) as f64;
    let x = |t: u64| (t.saturating_sub(start) as f64 / span * 1000.0).clamp(0.0, 1000.0);
    let readers: Vec<(usize, &shardlab_sim::consumer::ConsumerView)> = s
        .consumers
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.shards.is_empty())
        .collect();
    html! {
        <div class="shard-lanes" data-testid="shard-lanes">
            <div class="keyspace-label muted">
                <span>{ if trimming {
                    format!("Shards over time: the last {} h (retention {} h; the grey part is past it, trimmed)", thousands(u64::from(s.retention_hours) * 11 / 10), s.retention_hours)
                } else {
                    format!("Shards over time: since the stream was created, {} ago (retention {} h: nothing trimmed yet)", elapsed(s.elapsed_ms), s.retention_hours)
                } }</span>
                <span class="lane-legend small">
                    { for readers.iter().map(|(i, c)| html! {
                        <span><i style={format!("background:{}", crate::metrics_view::consumer_colour(*i))} />{ &c.name }</span>
                    }) }
                </span>
            </div>
            { for s.shards.iter().filter(|sh| sh.records_retained > 0 || sh.open).map(|sh| {
                let kept_from = sh.oldest_arrival_ms.map_or(1000.0, x);
                let per_second = s.metrics.shards.iter().find(|m| m.shard_id == sh.shard_id);
                let top = per_second.and_then(|m| m.incoming_records.iter().max().copied()).unwrap_or(0).max(1);
                let seconds = per_second.map_or(0, |m| m.incoming_records.len()) as u64;
                let first_second = (s.metrics.end_s.saturating_sub(seconds)) * 1000 + created;
                html! {
                    <div class="lane" data-testid={format!("lane-{}", sh.shard_id)}>
                        <span class="lane-label mono small">{ short_id(&sh.shard_id) }{ if sh.open { "" } else { " (closed)" } }</span>
                        <svg viewBox="0 0 1000 24" preserveAspectRatio="none" role="img"
                            aria-label={format!("{}: {} records kept{}", sh.shard_id, thousands(sh.records_retained),
                                sh.oldest_arrival_ms.map_or(String::new(), |t| format!(", the oldest from {} after creation", elapsed(t.saturating_sub(created)))))}>
                            if trimming {
                                <rect class="trimmed" x="0" y="0" width={format!("{:.1}", x(now - retention))} height="24" />
                                <line class="retention-edge" x1={format!("{:.1}", x(now - retention))} x2={format!("{:.1}", x(now - retention))} y1="0" y2="24" />
                            }
                            <rect class="kept" x={format!("{kept_from:.1}")} y="6" width={format!("{:.1}", (1000.0 - kept_from).max(0.0))} height="12" />
                            if let Some(m) = per_second {
                                { for m.incoming_records.iter().enumerate().filter(|(_, n)| **n > 0).map(|(k, n)| {
                                    let (a, b) = (x(first_second + k as u64 * 1000), x(first_second + (k as u64 + 1) * 1000));
                                    let h = *n as f64 / top as f64 * 12.0;
                                    html! { <rect class="records" x={format!("{a:.2}")} y={format!("{:.2}", 18.0 - h)} width={format!("{:.2}", (b - a).max(0.5))} height={format!("{h:.2}")} /> }
                                }) }
                            }
                            { for readers.iter().filter_map(|(i, c)| {
                                let r = c.shards.iter().find(|r| r.shard_id == sh.shard_id)?;
                                // A reader done with a closed shard has read it all.
                                let at = if r.done { 1000.0 } else { x(now.saturating_sub(r.lag_ms)) };
                                Some(html! {
                                    <rect class="reader" x={format!("{:.1}", (at - 3.0).max(0.0))} y="0" width="6" height="24"
                                        fill={crate::metrics_view::consumer_colour(*i)}>
                                        <title>{ format!("{}: {} behind the newest record", c.name, elapsed(r.lag_ms)) }</title>
                                    </rect>
                                })
                            }) }
                        </svg>
                    </div>
                }
            }) }
        </div>
    }
}

/// Where the last second's records landed in the hash-key space, drawn
/// over the shards' bar: one column per 256th of the space, as tall as the
/// records that hashed into it (a hot key is one tall column).
fn key_histogram(counts: &[u64]) -> Html {
    let top = counts.iter().copied().max().unwrap_or(0);
    if top == 0 {
        return html! {};
    }
    let n = counts.len() as f64;
    let total: u64 = counts.iter().sum();
    let (hot, hottest) = counts
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| **c)
        .map(|(i, c)| (i, *c))
        .unwrap_or((0, 0));
    html! {
        <svg class="key-histogram" viewBox={format!("0 0 {n} 40")} preserveAspectRatio="none" role="img"
            data-testid="key-histogram"
            aria-label={format!("Records of the last second by hash key: {} in all, the busiest 256th of the space (from {:.1}%) {}", thousands(total), hot as f64 * 100.0 / n, thousands(hottest))}>
            <title>{ format!(
                "Records offered in the last second by where their partition key hashes: {} in all; the busiest 256th of the hash-key space (from {:.1}%) got {}",
                thousands(total), hot as f64 * 100.0 / n, thousands(hottest)
            ) }</title>
            { for counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| {
                let h = (*c as f64 / top as f64 * 40.0).max(1.0);
                html! { <rect x={i.to_string()} y={format!("{:.2}", 40.0 - h)} width="1" height={format!("{h:.2}")} /> }
            }) }
        </svg>
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

/// "shardId-000000000004" as "shard 4".
fn short_id(shard_id: &str) -> String {
    match shard_id
        .rsplit('-')
        .next()
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(n) => format!("shard {n}"),
        None => shard_id.to_string(),
    }
}

/// Split for an open shard; merge with the open shard right after it in
/// the hash-key space, when there is one.
fn reshard_buttons(live: &LiveStream, i: usize, ctx: &Context<App>) -> Html {
    let shards = &live.snapshot.shards;
    let shard = &shards[i];
    if !shard.open {
        return html! {};
    }
    let id = shard.shard_id.clone();
    let split = {
        let id = id.clone();
        ctx.link().callback(move |_| Msg::Split(id.clone()))
    };
    let next = shard
        .ending_hash_key
        .parse::<u128>()
        .ok()
        .and_then(|end| end.checked_add(1))
        .and_then(|start| {
            shards
                .iter()
                .find(|o| o.open && o.starting_hash_key.parse::<u128>().ok() == Some(start))
        });
    let merge = next.map(|n| {
        let (a, b) = (id.clone(), n.shard_id.clone());
        let title = format!("MergeShards {} with {}", short_id(&a), short_id(&b));
        let onclick = ctx.link().callback(move |_| Msg::Merge(a.clone(), b.clone()));
        html! { <button class="link" {onclick} {title} data-testid={format!("merge-{i}")}>{"Merge ↓"}</button> }
    });
    html! {
        <>
            <button class="link" onclick={split} title="SplitShard at the middle of its hash-key range" data-testid={format!("split-{i}")}>{"Split"}</button>
            { merge.unwrap_or_default() }
        </>
    }
}

/// The shard workers: what each keeps, its load, the coordinator's copy of
/// it (checkpoint + log), and a control to kill it.
fn workers_panel(live: &LiveStream, ctx: &Context<App>) -> Html {
    html! {
        <div class="workers">
            <h3>{"Shard workers"}</h3>
            <p class="muted">{"Each worker keeps its shards' records. The simulation keeps a copy of each worker — its last checkpoint plus every batch acknowledged since — so a worker that dies is replaced and restored, and no acknowledged record is lost. Kill one and watch."}</p>
            <div class="worker-grid">
                { for live.workers.iter().map(|w| {
                    let index = w.index;
                    let kill = ctx.link().callback(move |_| Msg::KillWorker(index));
                    html! {
                        <div class="worker card-inner" data-testid={format!("worker-{index}")}>
                            <div class="worker-head">
                                <strong>{ format!("worker {index}") }</strong>
                                <button class="link danger" onclick={kill} title="Terminate this Web Worker, as a crash would" data-testid={format!("kill-{index}")}>{"Kill"}</button>
                            </div>
                            <div class="muted small">{ w.shards.iter().map(|s| short_id(s)).collect::<Vec<_>>().join(", ") }</div>
                            <dl class="worker-stats">
                                <dt>{"Load"}</dt><dd class="mono">{ format!("{}/s", thousands(w.records_last_second)) }</dd>
                                <dt>{"Operations"}</dt><dd class="mono">{ thousands(w.ops) }</dd>
                                <dt>{"Round trip"}</dt><dd class="mono">{ format!("{:.1} ms", w.last_round_trip_ms) }</dd>
                                <dt>{"Checkpoint"}</dt><dd class="mono">{ format!("{} (#{})", bytes(w.checkpoint_bytes), w.checkpoints) }</dd>
                                <dt title="Batches acknowledged since the checkpoint">{"Log since"}</dt><dd class="mono">{ format!("{} · {}", thousands(w.log_batches), bytes(w.log_bytes)) }</dd>
                                <dt>{"Restored"}</dt><dd class="mono" data-testid={format!("recoveries-{index}")}>{ format!("{}×", w.recoveries) }</dd>
                            </dl>
                            { match &w.last_recovery {
                                Some(text) => html! { <div class="recovery small" data-testid={format!("recovery-{index}")}>{ text }</div> },
                                None => html! {},
                            } }
                        </div>
                    }
                }) }
            </div>
        </div>
    }
}

/// Each consumer application: what it has been delivered, how far behind
/// it is, and how often the shards' read limits refused it.
fn consumers_panel(app: &App, live: &LiveStream, ctx: &Context<App>) -> Html {
    let consumers = &live.snapshot.consumers;
    if consumers.is_empty() {
        return html! {};
    }
    // A delivery stream's or the SQL application's reader is not moved by
    // hand.
    let own = |name: &str| !name.starts_with("firehose/") && !name.starts_with("sql/");
    html! {
        <div class="consumers">
            { for consumers.iter().enumerate().map(|(i, c)| {
                let reading = c.shards.iter().filter(|s| !s.done).count();
                html! {
                    <div class="consumer" data-testid={format!("consumer-{i}")}>
                        <strong>{ &c.name }</strong>
                        if c.fan_out {
                            <span class="muted" data-testid={format!("consumer-mode-{i}")}>{ format!(" · enhanced fan-out: records pushed through SubscribeToShard on each of {reading} shards, 2 MiB/s each of its own") }</span>
                        } else {
                            <span class="muted" data-testid={format!("consumer-mode-{i}")}>{ format!(" · GetRecords every {} ms on each of {} shards", c.poll_ms, reading) }</span>
                        }
                        <span class="consumer-figures">
                            <span>{"delivered "}<b class="mono" data-testid={format!("consumer-delivered-{i}")}>{ thousands(c.delivered) }</b></span>
                            if c.user_records != c.delivered {
                                <span title="KPL aggregated records unpacked, as the KCL unpacks them">{"user records "}<b class="mono" data-testid={format!("consumer-user-records-{i}")}>{ thousands(c.user_records) }</b></span>
                            }
                            <span>{"behind "}<b class="mono" data-testid={format!("consumer-lag-{i}")}>{ format!("{} ms", thousands(c.max_lag_ms)) }</b></span>
                            <span class={classes!((c.throttled > 0).then_some("bad"))}>{"throttled reads "}<b class="mono">{ thousands(c.throttled) }</b></span>
                            if c.kcl.is_some() {
                                <span class={classes!((c.redelivered > 0).then_some("warn"))} title="records processed again: after a lease moved (a failover or a steal), from the last checkpoint">{"duplicates "}<b class="mono" data-testid={format!("consumer-redelivered-{i}")}>{ thousands(c.redelivered) }</b></span>
                            } else if c.redelivered > 0 {
                                <span title="records read a second time after a replay">{"redelivered "}<b class="mono" data-testid={format!("consumer-redelivered-{i}")}>{ thousands(c.redelivered) }</b></span>
                            }
                            if c.out_of_order > 0 {
                                <span title="records delivered after one that reached the stream later (from another shard): each shard is read in order, the shards independently">{"out of arrival order "}<b class="mono">{ thousands(c.out_of_order) }</b></span>
                            }
                        </span>
                        // A Lambda mapping polls once a second from where it
                        // was created; it is not moved or switched.
                        if own(&c.name) && c.lambda.is_none() {
                            { consumer_controls(i, c, ctx) }
                        }
                        if let Some(kcl) = &c.kcl {
                            { crate::kcl_view::panel(i, &c.name, kcl, ctx) }
                        }
                        if let Some(mapping) = &c.lambda {
                            { crate::lambda_view::panel(i, &c.name, mapping, app, ctx) }
                        }
                    </div>
                }
            }) }
        </div>
    }
}

/// A consumer application's poll interval, and replay: back to
/// TRIM_HORIZON, or AT_TIMESTAMP a time after the stream was created.
fn consumer_controls(
    i: usize,
    c: &shardlab_sim::consumer::ConsumerView,
    ctx: &Context<App>,
) -> Html {
    let (name, poll_ms) = (&c.name, c.poll_ms);
    let (n1, n2, n3) = (name.to_string(), name.to_string(), name.to_string());
    let fan_out = c.fan_out;
    let toggle = {
        let name = name.to_string();
        ctx.link()
            .callback(move |_| Msg::SetFanOut(name.clone(), !fan_out))
    };
    let onpoll = ctx.link().callback(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        Msg::SetConsumerPoll(n1.clone(), input.value())
    });
    let onfrom = ctx.link().callback(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        Msg::ReplayFrom(n2.clone(), input.value())
    });
    let replay = ctx.link().callback(move |_| Msg::Replay(n3.clone()));
    html! {
        <span class="consumer-controls">
            if !fan_out {
                <label class="inline" title="Milliseconds between GetRecords calls on each shard (the KCL's default is 1,000)">
                    <span>{"poll"}</span>
                    <input type="number" min="100" key={format!("poll-{i}-{poll_ms}")} ~defaultValue={poll_ms.to_string()} onchange={onpoll} data-testid={format!("consumer-poll-{i}")} />
                    <span class="muted">{"ms"}</span>
                </label>
            }
            <label class="inline" title="Empty: from the oldest retained records (TRIM_HORIZON). A time since the stream was created, such as 30m or 1h: from the first record that arrived then (AT_TIMESTAMP).">
                <span>{"replay from"}</span>
                <input type="text" placeholder="TRIM_HORIZON" size="12" onchange={onfrom} data-testid={format!("consumer-replay-from-{i}")} />
            </label>
            <button class="secondary" onclick={replay} data-testid={format!("consumer-replay-{i}")}
                title="Read the stream again from there; the other applications keep their positions">{"Replay"}</button>
            <button class="secondary" onclick={toggle} data-testid={format!("consumer-fan-out-{i}")}
                title={ if fan_out { "DeregisterStreamConsumer: poll with GetRecords again, sharing each shard's 5 reads and 2 MiB per second" } else { "RegisterStreamConsumer: get records pushed through SubscribeToShard, with 2 MiB/s per shard of its own" } }>
                { if fan_out { "Use shared GetRecords" } else { "Use enhanced fan-out" } }
            </button>
        </span>
    }
}

/// KPL-style aggregation: on or off (a preset's AggregationMaxSize kept).
fn aggregation_field(form: &StreamForm, ctx: &Context<App>) -> Html {
    let base = form.clone();
    let onchange = ctx.link().callback(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let mut next = base.clone();
        next.aggregation = input
            .checked()
            .then(|| base.aggregation.clone().unwrap_or_default());
        Msg::EditForm(Box::new(next))
    });
    let size = form
        .aggregation
        .as_ref()
        .map_or(shardlab_sim::aggregation::DEFAULT_MAX_SIZE, |a| a.max_size);
    html! {
        <div class="field">
            <label class="check" for="aggregation">
                <input id="aggregation" type="checkbox" checked={form.aggregation.is_some()} {onchange} data-testid="aggregation" />
                <span>{"Aggregate like the KPL"}</span>
            </label>
            <span class="hint">{ format!("pack each shard's records of a tick into aggregated records of up to {} bytes (AggregationMaxSize): 1,000 records/s per shard stops binding small records", thousands(size)) }</span>
        </div>
    }
}

/// The KPL's FailIfThrottled.
fn fail_if_throttled_field(form: &StreamForm, ctx: &Context<App>) -> Html {
    let base = form.clone();
    let onchange = ctx.link().callback(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let mut next = base.clone();
        if let Some(a) = next.aggregation.as_mut() {
            a.fail_if_throttled = input.checked();
        }
        Msg::EditForm(Box::new(next))
    });
    let on = form
        .aggregation
        .as_ref()
        .is_some_and(|a| a.fail_if_throttled);
    html! {
        <div class="field">
            <label class="check" for="kpl-fail-if-throttled">
                <input id="kpl-fail-if-throttled" type="checkbox" checked={on} {onchange} data-testid="kpl-fail-if-throttled" />
                <span>{"Fail if throttled"}</span>
            </label>
            <span class="hint">{"FailIfThrottled: a throttled record fails at once; off, the KPL sends it again with its next batch until its TTL"}</span>
        </div>
    }
}

/// Retries of throttled records: on or off (a preset's policy kept).
fn retries_field(form: &StreamForm, ctx: &Context<App>) -> Html {
    let base = form.clone();
    let onchange = ctx.link().callback(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let mut next = base.clone();
        next.retries = input
            .checked()
            .then(|| base.retries.clone().unwrap_or_default());
        Msg::EditForm(Box::new(next))
    });
    let policy = form.retries.clone().unwrap_or_default();
    html! {
        <div class="field">
            <label class="check" for="retries">
                <input id="retries" type="checkbox" checked={form.retries.is_some()} {onchange} data-testid="retries" />
                <span>{"Retry throttled records"}</span>
            </label>
            <span class="hint">{ format!(
                "send each throttled record again after a random wait of up to {} ms, doubling per retry up to {} ms (full jitter), {} sends at most; off: throttled records are lost",
                thousands(policy.base_delay_ms), thousands(policy.max_backoff_ms), policy.max_attempts
            ) }</span>
        </div>
    }
}

/// Loads a scenario preset from the site into the form.
fn preset_picker(app: &App, ctx: &Context<App>) -> Html {
    if app.presets.is_empty() {
        return html! {};
    }
    let onchange = ctx.link().callback(|e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        Msg::LoadPreset(select.value())
    });
    html! {
        <label class="field" for="preset">
            <span class="field-label">{"Start from a preset"}</span>
            <select id="preset" {onchange} data-testid="preset">
                <option value="" selected=true>{"—"}</option>
                { for app.presets.iter().map(|p| html! {
                    <option value={p.file.clone()}>{ &p.title }</option>
                }) }
            </select>
            <span class="hint">{"scenario files in scenarios/; "}<code>{"shardlab run"}</code>{" plays them natively"}</span>
        </label>
    }
}

/// The partition-key strategies the form offers.
/// The rate field's hint: the unit, and the rate's shape when a preset
/// gave one (the form has no control for shapes yet).
fn rate_hint(shape: &RateShape) -> String {
    match shape {
        RateShape::Constant => "records per second".into(),
        shape => format!("records per second, varied over time: {}", shape.describe()),
    }
}

/// The rate shapes the form offers, with their starting parameters.
fn shape_choices() -> [(&'static str, &'static str, RateShape); 4] {
    [
        ("constant", "Constant", RateShape::Constant),
        (
            "bursts",
            "Bursts (a flash sale)",
            RateShape::Bursts {
                every_ms: 30_000,
                burst_ms: 5_000,
                factor: 4,
            },
        ),
        (
            "ramp",
            "Ramp (a launch)",
            RateShape::Ramp {
                from_percent: 10,
                to_percent: 200,
                over_ms: 60_000,
            },
        ),
        ("poisson", "Poisson (random arrivals)", RateShape::Poisson),
    ]
}

/// How the producer's rate varies: a kind, and the numbers of a burst or
/// a ramp (seconds and percentages as people write them).
fn shape_picker(form: &StreamForm, ctx: &Context<App>) -> Html {
    let base = form.clone();
    let onchange = ctx.link().callback(move |e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        let mut next = base.clone();
        if let Some((_, _, shape)) = shape_choices()
            .into_iter()
            .find(|(id, _, _)| *id == select.value())
        {
            next.rate_shape = shape;
        }
        Msg::EditForm(Box::new(next))
    });
    let kind = |s: &RateShape| std::mem::discriminant(s);
    let current = shape_choices()
        .iter()
        .find(|(_, _, s)| kind(s) == kind(&form.rate_shape))
        .map(|(id, _, _)| *id);
    // One number of the shape: (label, value, unit, how to set it).
    type Setter = fn(&mut RateShape, u64);
    let number = |label: &'static str,
                  value: u64,
                  unit: &'static str,
                  id: &'static str,
                  set: Setter| {
        let base = form.clone();
        let oninput = ctx.link().callback(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut next = base.clone();
            if let Ok(v) = input.value().trim().parse::<u64>() {
                set(&mut next.rate_shape, v);
            }
            Msg::EditForm(Box::new(next))
        });
        html! {
            <label class="inline" for={id}>
                <span>{ label }</span>
                <input id={id} type="number" min="0" value={value.to_string()} {oninput} data-testid={id} />
                <span class="muted">{ unit }</span>
            </label>
        }
    };
    let params = match &form.rate_shape {
        RateShape::Bursts {
            every_ms,
            burst_ms,
            factor,
        } => html! {
            <span class="shape-params">
                { number("every", every_ms / 1000, "s", "burst-every", |s, v| if let RateShape::Bursts { every_ms, .. } = s { *every_ms = v * 1000 }) }
                { number("for", burst_ms / 1000, "s", "burst-for", |s, v| if let RateShape::Bursts { burst_ms, .. } = s { *burst_ms = v * 1000 }) }
                { number("at", *factor, "× the rate", "burst-factor", |s, v| if let RateShape::Bursts { factor, .. } = s { *factor = v }) }
            </span>
        },
        RateShape::Ramp {
            from_percent,
            to_percent,
            over_ms,
        } => html! {
            <span class="shape-params">
                { number("from", *from_percent, "%", "ramp-from", |s, v| if let RateShape::Ramp { from_percent, .. } = s { *from_percent = v }) }
                { number("to", *to_percent, "%", "ramp-to", |s, v| if let RateShape::Ramp { to_percent, .. } = s { *to_percent = v }) }
                { number("over", over_ms / 1000, "s", "ramp-over", |s, v| if let RateShape::Ramp { over_ms, .. } = s { *over_ms = v * 1000 }) }
            </span>
        },
        _ => html! {},
    };
    html! {
        <div class="field">
            <label class="field-label" for="rate-shape">{"Rate over time"}</label>
            <select id="rate-shape" {onchange} data-testid="rate-shape">
                { for shape_choices().into_iter().map(|(id, label, _)| html! {
                    <option value={id} selected={current == Some(id)}>{ label }</option>
                }) }
                if current.is_none() {
                    <option value="preset" selected=true>{ format!("From the preset: {}", form.rate_shape.describe()) }</option>
                }
            </select>
            { params }
            <span class="hint">{"computed from virtual time alone: the same records however the run is cut into ticks; an hour-of-week curve comes from scenario files"}</span>
        </div>
    }
}

pub(crate) fn key_choices() -> [(&'static str, &'static str, KeyStrategy); 5] {
    [
        (
            "random",
            "Random UUID per record (even spread)",
            KeyStrategy::Random,
        ),
        (
            "users",
            "100 users (user-0 … user-99)",
            KeyStrategy::Entities { count: 100 },
        ),
        (
            "zipf",
            "Zipf-skewed over 1,000 keys (a few keys carry most)",
            KeyStrategy::Zipf {
                count: 1000,
                exponent: 1.2,
            },
        ),
        (
            "hot",
            "One hot key in 50% of records",
            KeyStrategy::HotKey { percent: 50 },
        ),
        (
            "fixed",
            "A fixed set of keys (store-1 … store-5, or your own)",
            KeyStrategy::Fixed {
                keys: (1..=5).map(|i| format!("store-{i}")).collect(),
            },
        ),
    ]
}

/// Whether choice `id` is the strategy `keys` (any fixed set is "fixed").
pub(crate) fn is_key_choice(id: &str, choice: &KeyStrategy, keys: &KeyStrategy) -> bool {
    choice == keys || (id == "fixed" && matches!(keys, KeyStrategy::Fixed { .. }))
}

fn key_picker(form: &StreamForm, ctx: &Context<App>) -> Html {
    let base = form.clone();
    let onchange = ctx.link().callback(move |e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        let mut next = base.clone();
        if let Some((_, _, k)) = key_choices()
            .into_iter()
            .find(|(id, _, _)| *id == select.value())
        {
            next.keys = k;
        }
        Msg::EditForm(Box::new(next))
    });
    let standard = key_choices()
        .iter()
        .any(|(id, _, k)| is_key_choice(id, k, &form.keys));
    let fixed = match &form.keys {
        KeyStrategy::Fixed { keys } => Some(keys.join(", ")),
        _ => None,
    };
    let base = form.clone();
    let onfixed = ctx.link().callback(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let mut next = base.clone();
        next.keys = KeyStrategy::Fixed {
            keys: input
                .value()
                .split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect(),
        };
        Msg::EditForm(Box::new(next))
    });
    html! {
        <>
        <label class="field" for="keys">
            <span class="field-label">{"Partition keys"}</span>
            <select id="keys" {onchange} data-testid="keys">
                { for key_choices().into_iter().map(|(id, label, k)| html! {
                    <option value={id} selected={is_key_choice(id, &k, &form.keys)}>{ label }</option>
                }) }
                { if standard { html! {} } else { html! {
                    <option value="preset" selected=true>{ format!("From the preset: {}", form.keys.describe()) }</option>
                } } }
            </select>
            <span class="hint">{"MD5 of the key picks the shard: skewed keys make hot shards"}</span>
        </label>
        if let Some(text) = fixed {
            <label class="field" for="fixed-keys">
                <span class="field-label">{"The keys"}</span>
                <input id="fixed-keys" type="text" value={text} onchange={onfixed} data-testid="fixed-keys" />
                <span class="hint">{"comma-separated, each 1 to 256 characters; each record takes one at random"}</span>
            </label>
        }
        </>
    }
}
