//! Firehose on the page: the form's delivery-stream fields, each delivery
//! stream's buffer filling against its hints, its deliveries, and a
//! browser over the bucket it writes to.

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::format::{bytes, thousands};
use crate::{App, Browser, LiveStream, Msg, StreamForm};
use shardlab_sim::firehose_source::{
    DeliveryStreamView, HttpView, OpenSearchView, RedshiftView, COMPRESSION_FORMATS, SOURCE_POLL_MS,
};
use shardlab_sim::Sink;

/// Seconds with one decimal, for delays and countdowns.
fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The form's fieldset: a delivery stream reading the stream, or none.
/// A callback that edits the form from an input's text.
fn on_text(
    form: &StreamForm,
    ctx: &Context<App>,
    set: fn(&mut StreamForm, String),
) -> Callback<InputEvent> {
    let base = form.clone();
    ctx.link().callback(move |e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let mut next = base.clone();
        set(&mut next, input.value());
        Msg::EditForm(Box::new(next))
    })
}

/// A callback that edits the form from a checkbox, select or textarea
/// (`value` reads the element's state).
/// The Source choice: the stream, the producer, or the SQL application's
/// output.
fn set_source(n: &mut StreamForm, v: String) {
    n.firehose.direct_put = v != "stream";
    n.firehose.set_sql_output(v == "sql");
}

/// The SQL output's in-application stream and record format.
fn sql_output_fields(form: &StreamForm, ctx: &Context<App>) -> Html {
    let mut f = form.firehose.clone();
    let Some(o) = f.sql_output_mut() else {
        return html! {};
    };
    let (stream, json) = (
        o.name.clone(),
        o.schema.format == shardlab_sim::sql::RecordFormat::JSON,
    );
    html! {
        <>
            <label class="field" for="fh-sql-stream">
                <span class="field-label">{"In-application stream"}</span>
                <input id="fh-sql-stream" type="text" value={stream} data-testid="firehose-sql-stream"
                    oninput={on_text(form, ctx, |n, v| if let Some(o) = n.firehose.sql_output_mut() { o.name = v.trim().to_string() })}
                    autocomplete="off" spellcheck="false" />
                <span class="hint">{"its exact name (KDA's names are case-sensitive)"}</span>
            </label>
            <label class="field" for="fh-sql-format">
                <span class="field-label">{"Record format"}</span>
                <select id="fh-sql-format" data-testid="firehose-sql-format"
                    onchange={on_change(form, ctx, |s: &HtmlSelectElement| s.value() == "JSON", |n, v| if let Some(o) = n.firehose.sql_output_mut() {
                        o.schema.format = if v { shardlab_sim::sql::RecordFormat::JSON } else { shardlab_sim::sql::RecordFormat::CSV };
                    })}>
                    <option value="JSON" selected={json}>{"JSON"}</option>
                    <option value="CSV" selected={!json}>{"CSV"}</option>
                </select>
                <span class="hint">{"KDA writes JSON records one after another with no delimiter, and CSV records a line each"}</span>
            </label>
        </>
    }
}

fn on_change<E: JsCast + AsRef<web_sys::EventTarget> + 'static, V: 'static>(
    form: &StreamForm,
    ctx: &Context<App>,
    value: fn(&E) -> V,
    set: fn(&mut StreamForm, V),
) -> Callback<Event> {
    let base = form.clone();
    ctx.link().callback(move |e: Event| {
        let element: E = e.target_unchecked_into();
        let mut next = base.clone();
        set(&mut next, value(&element));
        Msg::EditForm(Box::new(next))
    })
}

pub fn form_fields(form: &StreamForm, ctx: &Context<App>) -> Html {
    let f = &form.firehose;
    let edit = |set: fn(&mut StreamForm, String)| on_text(form, ctx, set);
    let toggle = |set: fn(&mut StreamForm, bool)| {
        on_change(form, ctx, |i: &HtmlInputElement| i.checked(), set)
    };
    let oncompression = on_change(
        form,
        ctx,
        |s: &HtmlSelectElement| s.value(),
        |n, v| n.firehose.compression = v,
    );
    html! {
        <fieldset class="firehose-fields">
            <label class="check">
                <input type="checkbox" checked={f.enabled} onchange={toggle(|n, v| n.firehose.enabled = v)} data-testid="firehose-enabled" />
                <span>{"Deliver with Firehose"}</span>
            </label>
            { if !f.enabled { html! {
                <p class="hint">{"A delivery stream reads the stream like a consumer and writes objects to a bucket (or sends requests to an HTTP endpoint) when its buffer is full or its interval has passed."}</p>
            } } else { html! {
                <>
                <label class="field" for="fh-name">
                    <span class="field-label">{"Delivery stream"}</span>
                    <input id="fh-name" type="text" value={f.name.clone()} oninput={edit(|n, v| n.firehose.name = v)} autocomplete="off" spellcheck="false" />
                </label>
                <label class="field" for="fh-source">
                    <span class="field-label">{"Source"}</span>
                    <select id="fh-source" onchange={on_change(form, ctx, |s: &HtmlSelectElement| s.value(), set_source)} data-testid="firehose-source">
                        <option value="stream" selected={!f.direct_put}>{"Reads the stream (KinesisStreamAsSource)"}</option>
                        <option value="direct" selected={f.direct_put && !f.is_sql_output()}>{"The producer writes to it (Direct PUT)"}</option>
                        <option value="sql" selected={f.direct_put && f.is_sql_output()}>{"The SQL application's output writes to it (Direct PUT)"}</option>
                    </select>
                    { if f.is_sql_output() { html! {
                        <span class="hint">{"KDA's application output: every row the SQL application writes to the in-application stream below goes here (start the SQL panel's application after creating the stream); the producer does not write to it"}</span>
                    } } else { html! {} } }
                </label>
                { if f.is_sql_output() { sql_output_fields(form, ctx) } else { html! {} } }
                <label class="field" for="fh-destination">
                    <span class="field-label">{"Destination"}</span>
                    <select id="fh-destination" onchange={on_change(form, ctx, |s: &HtmlSelectElement| s.value() == "http", set_http)} data-testid="firehose-destination">
                        <option value="s3" selected={!f.http}>{"Amazon S3 bucket"}</option>
                        <option value="http" selected={f.http}>{"HTTP endpoint (the bucket keeps what fails)"}</option>
                    </select>
                </label>
                { if f.http { http_fields(form, ctx) } else { html! {} } }
                <div class="field-row">
                    <label class="field" for="fh-size">
                        <span class="field-label">{"Buffer size"}</span>
                        <input id="fh-size" type="number" value={f.size_mb.clone()} oninput={edit(|n, v| n.firehose.size_mb = v)} data-testid="firehose-size" />
                        <span class="hint">{ if f.http { "MiB, 1–64 for an HTTP endpoint (AWS default 5)" } else if f.parquet { "MiB, 64–128 with conversion (AWS default 128)" } else { "MiB, 1–128 (AWS default 5)" } }</span>
                    </label>
                    <label class="field" for="fh-interval">
                        <span class="field-label">{"Buffer interval"}</span>
                        <input id="fh-interval" type="number" value={f.interval_s.clone()} oninput={edit(|n, v| n.firehose.interval_s = v)} data-testid="firehose-interval" />
                        <span class="hint">{"seconds, 0–900 (AWS default 300)"}</span>
                    </label>
                </div>
                <label class="field" for="fh-compression">
                    <span class="field-label">{ if f.http { "Backup compression" } else { "Compression" } }</span>
                    <select id="fh-compression" onchange={oncompression} disabled={f.parquet}>
                        { for COMPRESSION_FORMATS.iter().map(|c| html! {
                            <option value={*c} selected={f.compression == *c && !f.parquet || f.parquet && *c == "UNCOMPRESSED"}>{ *c }</option>
                        }) }
                    </select>
                    { if f.parquet { html! {
                        <span class="hint">{"UNCOMPRESSED: with Parquet, AWS compresses inside the file instead"}</span>
                    } } else { html! {} } }
                </label>
                { if f.http { html! {} } else { parquet_fields(form, ctx) } }
                <label class="field" for="fh-prefix">
                    <span class="field-label">{ if f.http { "Backup prefix" } else { "Prefix" } }</span>
                    <input id="fh-prefix" type="text" value={f.prefix.clone()} oninput={edit(|n, v| n.firehose.prefix = v)} placeholder="e.g. clicks/ or year=!{timestamp:yyyy}/" autocomplete="off" spellcheck="false" />
                    <span class="hint">{"keys get "}<code>{"yyyy/MM/dd/HH/"}</code>{" (UTC) unless the prefix has a timestamp"}</span>
                </label>
                <label class="check">
                    <input type="checkbox" checked={f.newline} onchange={toggle(|n, v| n.firehose.newline = v)} />
                    <span>{"One record per line (AppendDelimiterToRecord)"}</span>
                </label>
                { transform_fields(form, ctx) }
                </>
            } } }
        </fieldset>
    }
}

/// Switches the form between an S3 and an HTTP endpoint destination. An
/// endpoint takes no format conversion, and buffers of at most 64 MiB.
fn set_http(n: &mut StreamForm, http: bool) {
    n.firehose.http = http;
    if http {
        n.firehose.parquet = false;
        if n.firehose
            .size_mb
            .trim()
            .parse::<u32>()
            .is_ok_and(|s| s > 64)
        {
            n.firehose.size_mb = "5".into();
        }
    }
}

/// An HTTP endpoint's URL, access key, content encoding and retry duration.
fn http_fields(form: &StreamForm, ctx: &Context<App>) -> Html {
    let f = &form.firehose;
    let edit = |set: fn(&mut StreamForm, String)| on_text(form, ctx, set);
    html! {
        <>
        <label class="field" for="fh-http-url">
            <span class="field-label">{"Endpoint URL"}</span>
            <input id="fh-http-url" type="text" value={f.http_url.clone()} oninput={edit(|n, v| n.firehose.http_url = v)} autocomplete="off" spellcheck="false" data-testid="firehose-http-url" />
            <span class="hint">{"AWS takes only "}<code>{"https://"}</code>{" URLs on port 443; the playground also takes "}<code>{"http://localhost"}</code>{" for a receiver on this machine, such as "}<code>{"shardlab receive --port 9000"}</code>{". The browser sends the requests: the endpoint must allow CORS."}</span>
        </label>
        <div class="field-row">
            <label class="field" for="fh-http-key">
                <span class="field-label">{"Access key"}</span>
                <input id="fh-http-key" type="text" value={f.http_access_key.clone()} oninput={edit(|n, v| n.firehose.http_access_key = v)} autocomplete="off" spellcheck="false" data-testid="firehose-http-key" />
                <span class="hint">{"sent as X-Amz-Firehose-Access-Key (optional)"}</span>
            </label>
            <label class="field" for="fh-http-retry">
                <span class="field-label">{"Retry duration"}</span>
                <input id="fh-http-retry" type="number" value={f.http_retry_s.clone()} oninput={edit(|n, v| n.firehose.http_retry_s = v)} data-testid="firehose-http-retry" />
                <span class="hint">{"seconds, 0–7,200 (AWS default 300); then to "}<code>{"http-endpoint-failed/"}</code></span>
            </label>
        </div>
        <label class="check">
            <input type="checkbox" checked={f.http_gzip} onchange={on_change(form, ctx, |i: &HtmlInputElement| i.checked(), |n, v| n.firehose.http_gzip = v)} />
            <span>{"GZIP request bodies (Content-Encoding: gzip)"}</span>
        </label>
        </>
    }
}

/// Record format conversion: JSON to Apache Parquet with a Glue table's
/// columns.
fn parquet_fields(form: &StreamForm, ctx: &Context<App>) -> Html {
    let f = &form.firehose;
    // As the AWS console does: turning conversion on raises a buffer below
    // its 64 MiB minimum to the 128 MiB default.
    let ontoggle = on_change(
        form,
        ctx,
        |i: &HtmlInputElement| i.checked(),
        |n, v| {
            n.firehose.parquet = v;
            let small = n
                .firehose
                .size_mb
                .trim()
                .parse::<u32>()
                .map_or(true, |s| s < 64);
            if v && small {
                n.firehose.size_mb = "128".into();
            }
        },
    );
    let oncolumns = {
        let base = form.clone();
        ctx.link().callback(move |e: InputEvent| {
            let area: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
            let mut next = base.clone();
            next.firehose.columns = area.value();
            Msg::EditForm(Box::new(next))
        })
    };
    let oncodec = on_change(
        form,
        ctx,
        |s: &HtmlSelectElement| s.value(),
        |n, v| n.firehose.parquet_compression = v,
    );
    html! {
        <>
        <label class="check">
            <input type="checkbox" checked={f.parquet} onchange={ontoggle} data-testid="firehose-parquet" />
            <span>{"Convert JSON records to Apache Parquet (record format conversion)"}</span>
        </label>
        { if f.parquet { html! {
            <>
            <label class="field" for="fh-columns">
                <span class="field-label">{"Columns"}</span>
                <textarea id="fh-columns" class="code" rows="6" spellcheck="false" value={f.columns.clone()} oninput={oncolumns} data-testid="firehose-columns" />
                <span class="hint">{"one per line: a name and a Hive type (string, int, bigint, double, boolean, timestamp, date, decimal(10,2), …). They make the AWS Glue table "}<code>{ format!("{}.{}", f.database_name(), f.table_name()) }</code>{"; fields not listed are dropped, and a record that does not fit goes to "}<code>{"format-conversion-failed/"}</code></span>
            </label>
            <label class="field" for="fh-parquet-compression">
                <span class="field-label">{"Parquet compression"}</span>
                <select id="fh-parquet-compression" onchange={oncodec}>
                    { for ["SNAPPY", "GZIP", "UNCOMPRESSED"].iter().map(|c| html! {
                        <option value={*c} selected={f.parquet_compression == *c}>{ *c }</option>
                    }) }
                </select>
                <span class="hint">{"buffers of 64–128 MiB (AWS's minimum with conversion); the interval usually seals them"}</span>
            </label>
            </>
        } } else { html! {} } }
        </>
    }
}

/// The Lambda transform: none, a built-in, or JavaScript.
fn transform_fields(form: &StreamForm, ctx: &Context<App>) -> Html {
    let f = &form.firehose;
    let onkind = on_change(
        form,
        ctx,
        |s: &HtmlSelectElement| s.value(),
        |n, v| n.firehose.transform = v,
    );
    let edit = |set: fn(&mut StreamForm, String)| on_text(form, ctx, set);
    let onsource = {
        let base = form.clone();
        ctx.link().callback(move |e: InputEvent| {
            let area: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
            let mut next = base.clone();
            next.firehose.javascript = area.value();
            Msg::EditForm(Box::new(next))
        })
    };
    let kinds = [
        ("none", "None"),
        ("select-fields", "Lambda: keep some JSON fields (built-in)"),
        (
            "keep-if",
            "Lambda: keep records where a field has a value (built-in)",
        ),
        (
            "fail-if",
            "Lambda: fail records where a field has a value (built-in)",
        ),
        ("javascript", "Lambda: your JavaScript function"),
    ];
    html! {
        <>
        <label class="field" for="fh-transform">
            <span class="field-label">{"Transform"}</span>
            <select id="fh-transform" onchange={onkind} data-testid="firehose-transform">
                { for kinds.iter().map(|(v, label)| html! {
                    <option value={*v} selected={f.transform == *v}>{ *label }</option>
                }) }
            </select>
            <span class="hint">{"records wait in the transform's own buffer (1 MB or 60 s), then one invocation per batch"}</span>
        </label>
        { match f.transform.as_str() {
            "select-fields" => html! {
                <label class="field" for="fh-fields">
                    <span class="field-label">{"Fields"}</span>
                    <input id="fh-fields" type="text" value={f.select_fields.clone()} oninput={edit(|n, v| n.firehose.select_fields = v)} />
                    <span class="hint">{"comma-separated; a record that is not a JSON object fails"}</span>
                </label>
            },
            "keep-if" | "fail-if" => html! {
                <div class="field-row">
                    <label class="field" for="fh-keep-field">
                        <span class="field-label">{"Field"}</span>
                        <input id="fh-keep-field" type="text" value={f.keep_field.clone()} oninput={edit(|n, v| n.firehose.keep_field = v)} />
                    </label>
                    <label class="field" for="fh-keep-value">
                        <span class="field-label">{"Equals"}</span>
                        <input id="fh-keep-value" type="text" value={f.keep_value.clone()} oninput={edit(|n, v| n.firehose.keep_value = v)} />
                    </label>
                </div>
            },
            "javascript" => html! {
                <label class="field" for="fh-js">
                    <span class="field-label">{"Handler"}</span>
                    <textarea id="fh-js" class="code" rows="14" spellcheck="false" value={f.javascript.clone()} oninput={onsource} data-testid="firehose-js" />
                    <span class="hint">{"runs in a Web Worker of its own, 3 s limit per invocation; Buffer.from(…, 'base64') works as in Node"}</span>
                </label>
            },
            _ => html! {},
        } }
        </>
    }
}

/// Every delivery stream of the run, and the bucket browser.
pub fn panel(app: &App, live: &LiveStream, ctx: &Context<App>) -> Html {
    let s = &live.snapshot;
    if s.delivery_streams.is_empty() {
        return html! {};
    }
    // The Data Streams side of the comparison: the readers that are not
    // Firehose's own.
    let kds_lag = s
        .consumers
        .iter()
        .filter(|c| !c.name.starts_with("firehose/"))
        .map(|c| c.max_lag_ms)
        .max();
    html! {
        <div class="card panel firehose" data-testid="firehose">
            <h3>{"Firehose delivery streams"}</h3>
            { for s.delivery_streams.iter().enumerate().map(|(i, ds)| html! {
                <>
                { delivery_stream(i, ds, kds_lag, ctx) }
                { match &ds.opensearch {
                    Some(os) => opensearch(app, os, ctx),
                    None => html! {},
                } }
                { match &ds.http {
                    Some(h) => http_endpoint(i, ds, h),
                    None => html! {},
                } }
                { match &ds.redshift {
                    Some(r) => redshift(app, i, ds, r, ctx),
                    None => html! {},
                } }
                </>
            }) }
            { match &app.browser {
                Some(b) => browser(b, ctx),
                None => html! {},
            } }
        </div>
    }
}

fn delivery_stream(
    i: usize,
    ds: &DeliveryStreamView,
    kds_lag: Option<u64>,
    ctx: &Context<App>,
) -> Html {
    let fill = if ds.size_hint_bytes == 0 {
        0.0
    } else {
        // The size hint applies per buffer: with dynamic partitioning,
        // the fullest partition is the one about to seal.
        (ds.fullest_buffer_bytes as f64 / ds.size_hint_bytes as f64 * 100.0).min(100.0)
    };
    let countdown = match ds.interval_left_ms {
        Some(left) => format!("seals in {} (interval)", secs(left)),
        None => "empty: the interval starts with the next record".into(),
    };
    let a = &ds.accounting;
    let bucket = ds.bucket.clone();
    // The switch turns the outage on when it is off, and off when on.
    let down = !ds.bucket_unavailable;
    let outage = ctx
        .link()
        .callback(move |_| Msg::SetOutage(Sink::Bucket(bucket.clone()), down));
    let last_delay = ds.recent.first().map(|f| f.delay_ms);
    html! {
        <div class="delivery-stream" data-testid={format!("ds-{i}")}>
            <div class="ds-head">
                <div>
                    <strong class="mono">{ &ds.name }</strong>
                    <span class="muted">{ match (&ds.opensearch, &ds.http) {
                        (None, None) if ds.redshift.is_some() => {
                            let r = ds.redshift.as_ref().expect("checked");
                            format!(" → Redshift {}.{}.{} (via s3://{}/{}) · {} or {} s", r.cluster, r.database, r.table, ds.bucket, ds.prefix, bytes(ds.size_hint_bytes), ds.interval_ms / 1000)
                        }
                        (Some(os), _) => format!(" → OpenSearch {} / {} (backup s3://{}/) · {} or {} s", os.domain, os.index_name, ds.bucket, bytes(ds.size_hint_bytes), ds.interval_ms / 1000),
                        (None, Some(h)) => format!(" → HTTP endpoint {} (backup s3://{}/) · {} or {} s", h.url, ds.bucket, bytes(ds.size_hint_bytes), ds.interval_ms / 1000),
                        (None, None) => format!(" → s3://{}/{} · {} · {} or {} s", ds.bucket, ds.prefix, ds.compression, bytes(ds.size_hint_bytes), ds.interval_ms / 1000),
                    } }</span>
                </div>
                <button class={classes!("link", (!ds.bucket_unavailable).then_some("danger"))} onclick={outage} data-testid={format!("outage-{i}")}
                    title="The destination-outage switch: while the bucket is down, deliveries fail and are retried">
                    { match (ds.bucket_unavailable, ds.opensearch.is_some() || ds.http.is_some()) {
                        (true, false) if ds.redshift.is_some() => "End intermediate-bucket outage",
                        (false, false) if ds.redshift.is_some() => "Start intermediate-bucket outage",
                        (true, false) => "End bucket outage",
                        (false, false) => "Start bucket outage",
                        (true, true) => "End backup-bucket outage",
                        (false, true) => "Start backup-bucket outage",
                    } }
                </button>
            </div>
            <div class="gauge" title="Bytes in the buffer against the size hint">
                <div class="gauge-fill" style={format!("width:{fill:.1}%")}></div>
                <span class="gauge-label mono" data-testid={format!("ds-buffer-{i}")}>
                    { if ds.active_partitions > 1 {
                        format!("{} records in {} partitions · fullest {} of {} · {}", thousands(ds.buffered_records), ds.active_partitions, bytes(ds.fullest_buffer_bytes), bytes(ds.size_hint_bytes), countdown)
                    } else {
                        format!("{} records · {} of {} · {}", thousands(ds.buffered_records), bytes(ds.buffered_bytes), bytes(ds.size_hint_bytes), countdown)
                    } }
                </span>
            </div>
            { match &ds.transform_function {
                Some(function) => html! {
                    <div class="small transform" data-testid={format!("ds-transform-{i}")}>
                        { format!("Lambda {function}: {} records in the transform", thousands(a.transforming)) }
                        { match ds.transform_interval_left_ms {
                            Some(left) => format!(", sent in {}", secs(left)),
                            None => String::new(),
                        } }
                        { format!(" · {} Ok, {} dropped, {} failed", thousands(a.transformed_records), thousands(a.dropped_records), thousands(a.transform_failed)) }
                        { match &ds.transform_error {
                            Some(e) => html! { <div class="bad">{ format!("Last invocation error: {e}") }</div> },
                            None => html! {},
                        } }
                    </div>
                },
                None => html! {},
            } }
            { if ds.bucket_unavailable { html! {
                <div class="recovery small">{ format!("Bucket outage: {} objects waiting, retried with backoff; AWS retries S3 for 24 hours, then the data is lost.", ds.pending_objects) }</div>
            } } else { html! {} } }
            <div class="ds-figures">
                <span>{"in "}<b class="mono" data-testid={format!("ds-incoming-{i}")}>{ thousands(a.incoming_records) }</b></span>
                { if ds.opensearch.is_some() { html! {
                    <span>{"indexed "}<b class="mono" data-testid={format!("ds-delivered-{i}")}>{ thousands(a.delivered_records) }</b>{" documents"}</span>
                } } else if ds.http.is_some() { html! {
                    <span>{"delivered "}<b class="mono" data-testid={format!("ds-delivered-{i}")}>{ thousands(a.delivered_records) }</b>{ format!(" in {} request{}", thousands(a.http_requests_delivered), if a.http_requests_delivered == 1 { "" } else { "s" }) }</span>
                } } else { html! {
                    <span>{"delivered "}<b class="mono" data-testid={format!("ds-delivered-{i}")}>{ thousands(a.delivered_records) }</b>{ format!(" in {} object{}", thousands(a.delivered_objects), if a.delivered_objects == 1 { "" } else { "s" }) }</span>
                } } }
                <span>{"waiting "}<b class="mono">{ thousands(a.buffered_records) }</b></span>
                <span title="DeliveryToS3.DataFreshness: how long the oldest undelivered record has waited">{"freshness "}<b class="mono">{ secs(ds.data_freshness_ms) }</b></span>
                <span class={classes!((a.processing_failed > 0).then_some("bad"))}>{"error output "}<b class="mono">{ thousands(a.processing_failed) }</b></span>
                { if a.expired_records > 0 { html! { <span class="bad">{"lost after 24 h "}<b class="mono">{ thousands(a.expired_records) }</b></span> } } else { html! {} } }
            </div>
            <div class="compare small" data-testid={format!("ds-compare-{i}")}>
                { match kds_lag {
                    Some(lag) => html! { <span>{"A Data Streams consumer is "}<b class="mono">{ format!("{lag} ms") }</b>{" behind; "}</span> },
                    None => html! {},
                } }
                <span>{ match last_delay {
                    Some(d) => format!("Firehose's last delivery landed {} after its oldest record arrived: near real time, because of the buffer.", secs(d)),
                    None => format!("Firehose reads each shard every {} s and holds records until a hint is reached.", SOURCE_POLL_MS / 1000),
                } }</span>
            </div>
            { metrics_table(i, ds) }
            { if ds.recent.is_empty() { html! {} } else { html! {
                <table class="flushes" data-testid={format!("ds-flushes-{i}")}>
                    <thead><tr><th>{"Delivered"}</th><th>{"Trigger"}</th><th class="num">{"Records"}</th><th class="num">{"Size"}</th><th class="num">{"Delay"}</th><th class="num">{"Tries"}</th></tr></thead>
                    <tbody>
                        { for ds.recent.iter().map(|f| html! {
                            <tr>
                                <td class="mono">{ clock_time(f.delivered_ms) }</td>
                                <td><span class={classes!("pill", "tiny", if f.trigger.as_str() == "size" { "pill-live" } else { "pill-muted" })}>{ f.trigger.as_str() }</span></td>
                                <td class="num mono">{ thousands(f.records) }</td>
                                <td class="num mono" title="the records' bytes → the bytes stored (after compression) or sent">{ format!("{} → {}", bytes(f.raw_bytes), bytes(f.object_bytes)) }</td>
                                <td class="num mono">{ secs(f.delay_ms) }</td>
                                <td class="num mono">{ f.attempts }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            } } }
        </div>
    }
}

/// A Redshift destination: the table COPY loads (its newest rows), the
/// last COPY command and what came of it, the newest load errors, and the
/// cluster's outage switch, and a query box that runs SQL on the cluster.
fn redshift(
    app: &App,
    i: usize,
    ds: &DeliveryStreamView,
    r: &RedshiftView,
    ctx: &Context<App>,
) -> Html {
    let a = &ds.accounting;
    let cluster = r.cluster.clone();
    let onquery = ctx.link().callback(move |e: SubmitEvent| {
        e.prevent_default();
        let form: web_sys::HtmlFormElement = e.target_unchecked_into();
        let sql = form
            .elements()
            .named_item("sql")
            .and_then(|el| el.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
            .map(|t| t.value())
            .unwrap_or_default();
        Msg::RunRedshift(cluster.clone(), sql)
    });
    let answer = app.redshift.as_ref().filter(|q| q.cluster == r.cluster);
    let default_sql = answer
        .map(|q| q.sql.clone())
        .unwrap_or_else(|| format!("SELECT COUNT(*) FROM {};", r.table));
    let cluster = r.cluster.clone();
    let down = !r.unavailable;
    let outage = ctx
        .link()
        .callback(move |_| Msg::SetOutage(Sink::Cluster(cluster.clone()), down));
    html! {
        <div class="opensearch" data-testid={format!("redshift-{i}")}>
            <div class="ds-head">
                <div class="small">
                    <strong>{"Redshift "}</strong>
                    <span class="mono">{ format!("{}.{}.{}", r.cluster, r.database, r.table) }</span>
                    { format!(" · {} rows · COPY loaded {} rows from {} records; {} records waiting for COPY, {} skipped",
                        thousands(r.row_count), thousands(a.copied_rows), thousands(a.copied_records),
                        thousands(a.copy_waiting_records), thousands(a.copy_skipped_records)) }
                </div>
                <button class={classes!("link", (!r.unavailable).then_some("danger"))} onclick={outage} data-testid={format!("cluster-outage-{i}")}
                    title="The cluster-outage switch: while it is on, COPY cannot connect and is retried every 5 minutes">
                    { if r.unavailable { "End cluster outage" } else { "Start cluster outage" } }
                </button>
            </div>
            { match &r.last_copy {
                Some(c) => html! {
                    <div class="small" data-testid={format!("redshift-copy-{i}")}>
                        <div><span class="muted">{ format!("{} ", clock_time(c.at_ms)) }</span><code>{ &c.command }</code></div>
                        { match &c.error {
                            Some((code, message)) => html! { <div class="bad">{ format!("{code}: {message} — {}", c.then) }</div> },
                            None => html! { <div>{ &c.then }</div> },
                        } }
                    </div>
                },
                None => html! { <div class="small muted">{"No COPY yet: the first runs when the first object lands in the intermediate bucket."}</div> },
            } }
            { if r.columns.is_empty() { html! {
                <div class="small bad">{ format!("The cluster has no table {}: COPY fails until a CREATE TABLE makes it: run one in the query box below, or add it to the scenario's redshift_statements.", r.table) }</div>
            } } else { html! {
                <div class="table-scroll">
                <table class="flushes" data-testid={format!("redshift-rows-{i}")}>
                    <thead><tr>{ for r.columns.iter().map(|c| html! { <th title={c.clone()}>{ c.split(' ').next().unwrap_or("") }</th> }) }</tr></thead>
                    <tbody>
                        { for r.rows.iter().map(|row| html! {
                            <tr>{ for row.iter().map(|v| html! { <td class="mono">{ v }</td> }) }</tr>
                        }) }
                    </tbody>
                </table>
                </div>
            } } }
            { if r.load_errors.is_empty() { html! {} } else { html! {
                <details class="metrics" open=true data-testid={format!("redshift-errors-{i}")}>
                    <summary>{"stl_load_errors (newest)"}</summary>
                    <div class="table-scroll">
                    <table class="flushes">
                        <thead><tr><th>{"query"}</th><th class="num">{"line"}</th><th>{"colname"}</th><th>{"raw_field_value"}</th><th class="num">{"err_code"}</th><th>{"err_reason"}</th></tr></thead>
                        <tbody>
                            { for r.load_errors.iter().map(|e| html! {
                                <tr>
                                    <td class="mono">{ e.query }</td>
                                    <td class="num mono">{ e.line_number }</td>
                                    <td class="mono">{ &e.colname }</td>
                                    <td class="mono">{ &e.raw_field_value }</td>
                                    <td class="num mono">{ e.err_code }</td>
                                    <td>{ &e.err_reason }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                    </div>
                </details>
            } } }
            <form class="redshift-query" onsubmit={onquery}>
                <label class="small" for={format!("redshift-sql-{i}")}>
                    { format!("Query {} (Redshift SQL: SELECT with WHERE, GROUP BY, HAVING, ORDER BY, LIMIT over one table or stl_load_errors; CREATE TABLE, DROP TABLE, TRUNCATE)", r.cluster) }
                </label>
                <textarea id={format!("redshift-sql-{i}")} name="sql" class="mono" rows="3" spellcheck="false"
                    data-testid={format!("redshift-sql-{i}")} value={default_sql} />
                <button type="submit" class="secondary" data-testid={format!("redshift-run-{i}")}>{"Run"}</button>
            </form>
            { match answer {
                Some(q) => redshift_answer(i, q),
                None => html! {},
            } }
        </div>
    }
}

/// The query box's last answer: rows as `psql` shows them, or the error.
fn redshift_answer(i: usize, q: &shardlab_sim::control::RedshiftAnswer) -> Html {
    if let Some(e) = &q.error {
        return html! { <div class="small bad mono" data-testid={format!("redshift-answer-{i}")} data-sql={q.sql.clone()}>{ e }</div> };
    }
    if q.columns.is_empty() {
        return html! { <div class="small" data-testid={format!("redshift-answer-{i}")} data-sql={q.sql.clone()}>{"Done."}</div> };
    }
    html! {
        <div data-testid={format!("redshift-answer-{i}")} data-sql={q.sql.clone()}>
            <div class="table-scroll">
            <table class="flushes">
                <thead><tr>{ for q.columns.iter().map(|c| html! { <th title={c.clone()}>{ c.rsplit_once(' ').map_or(c.as_str(), |(n, _)| n) }</th> }) }</tr></thead>
                <tbody>
                    { for q.rows.iter().map(|row| html! {
                        <tr>{ for row.iter().map(|v| match v {
                            Some(v) => html! { <td class="mono">{ v }</td> },
                            None => html! { <td class="mono muted">{"NULL"}</td> },
                        }) }</tr>
                    }) }
                </tbody>
            </table>
            </div>
            <div class="small muted">{ if q.total_rows as usize > q.rows.len() {
                format!("({} rows; the first {} shown)", thousands(q.total_rows), q.rows.len())
            } else {
                format!("({} row{})", q.total_rows, if q.total_rows == 1 { "" } else { "s" })
            } }</div>
        </div>
    }
}

/// An HTTP endpoint destination: the request out, the last failed
/// attempt and what became of its batch, and what the endpoint refused.
fn http_endpoint(i: usize, ds: &DeliveryStreamView, h: &HttpView) -> Html {
    let a = &ds.accounting;
    html! {
        <div class="opensearch" data-testid={format!("http-endpoint-{i}")}>
            <div class="small">
                <strong>{"HTTP endpoint "}</strong><span class="mono">{ &h.url }</span>
                { format!(" · {} · retried for {} s · S3 backup: {}",
                    if h.gzip { "GZIP" } else { "uncompressed" },
                    h.retry_seconds,
                    if h.backup_all { "all data" } else { "failed data only" }) }
            </div>
            <div class="small" data-testid={format!("http-status-{i}")}>
                { if h.in_flight { "A request is out, waiting for the endpoint's answer. " } else { "No request out. " } }
                { format!("{} requests delivered; {} records to the error output; {} rejected by a 413.",
                    thousands(a.http_requests_delivered), thousands(a.delivery_failed), thousands(a.rejected_records)) }
            </div>
            { match &h.last_error {
                Some(e) => html! {
                    <div class="small bad" data-testid={format!("http-error-{i}")}>
                        { format!("{} {}: {} — {}", clock_time(e.at_ms), e.code, e.message, e.then) }
                    </div>
                },
                None => html! {},
            } }
            <div class="hint">{"Your endpoint gets POST requests with Firehose's headers and a JSON body of base64 records, and must answer 200 with the same requestId. From the browser it must also answer CORS preflights; "}<code>{"shardlab receive"}</code>{" is such an endpoint on this machine."}</div>
        </div>
    }
}

/// An OpenSearch destination: its indices, the outage switch, a search box.
fn opensearch(app: &App, os: &OpenSearchView, ctx: &Context<App>) -> Html {
    let domain = os.domain.clone();
    let down = !os.unavailable;
    let outage = ctx
        .link()
        .callback(move |_| Msg::SetOutage(Sink::Domain(domain.clone()), down));
    let newest = os
        .indices
        .last()
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    let domain = os.domain.clone();
    let onsearch = ctx.link().callback(move |e: SubmitEvent| {
        e.prevent_default();
        let form: web_sys::HtmlFormElement = e.target_unchecked_into();
        let field = |name: &str| {
            form.elements()
                .named_item(name)
                .and_then(|el| el.dyn_into::<HtmlInputElement>().ok().map(|i| i.value()))
                .or_else(|| {
                    form.elements()
                        .named_item(name)
                        .and_then(|el| el.dyn_into::<HtmlSelectElement>().ok().map(|s| s.value()))
                })
                .unwrap_or_default()
        };
        Msg::Search(domain.clone(), field("index"), field("query"))
    });
    html! {
        <div class="opensearch" data-testid="opensearch">
            <div class="ds-head">
                <div>
                    <strong>{"OpenSearch "}</strong>
                    <span class="mono">{ &os.domain }</span>
                    <span class="muted">{ format!(" · index {} rotated {}", os.index_name, os.rotation) }</span>
                </div>
                <button class={classes!("link", (!os.unavailable).then_some("danger"))} onclick={outage} data-testid="domain-outage">
                    { if os.unavailable { "End domain outage" } else { "Start domain outage" } }
                </button>
            </div>
            <div class="small muted">
                { if os.indices.is_empty() { "No documents yet.".to_string() } else {
                    os.indices.iter().map(|(n, c)| format!("{n}: {} documents", thousands(*c))).collect::<Vec<_>>().join(" · ")
                } }
            </div>
            { if os.indices.is_empty() { html! {} } else { html! {
                <form class="search" onsubmit={onsearch}>
                    <select name="index">
                        { for os.indices.iter().map(|(n, _)| html! { <option value={n.clone()} selected={*n == newest}>{ n }</option> }) }
                    </select>
                    <input name="query" type="text" placeholder="action:purchase, or any text" data-testid="search-query" />
                    <button type="submit" class="secondary" data-testid="search">{"Search"}</button>
                </form>
            } } }
            { match &app.search {
                Some(r) => html! {
                    <div class="preview" data-testid="search-results">
                        <div class="muted small">{ format!("{} documents in {} match \"{}\"; the first {} shown", thousands(r.total), r.index, r.query, r.hits.len()) }</div>
                        <pre class="mono">{ r.hits.join("\n") }</pre>
                    </div>
                },
                None => html! {},
            } }
        </div>
    }
}

/// The last minutes of metrics, as CloudWatch shows them (AWS publishes
/// Firehose's at 1-minute granularity).
fn metrics_table(i: usize, ds: &DeliveryStreamView) -> Html {
    if ds.metrics.is_empty() {
        return html! {};
    }
    let delivery = if ds.opensearch.is_some() {
        "DeliveryToAmazonOpenSearchService"
    } else if ds.http.is_some() {
        "DeliveryToHttpEndpoint"
    } else {
        "DeliveryToS3"
    };
    html! {
        <details class="metrics" data-testid={format!("ds-metrics-{i}")}>
            <summary>{"CloudWatch metrics (AWS/Firehose, 1-minute periods)"}</summary>
            <div class="table-scroll">
            <table class="flushes">
                <thead><tr>
                    <th>{"Minute"}</th>
                    <th class="num">{"IncomingRecords"}</th>
                    <th class="num">{"IncomingBytes"}</th>
                    <th class="num">{"ThrottledRecords"}</th>
                    <th class="num">{ format!("{delivery}.Records") }</th>
                    <th class="num">{ format!("{delivery}.Success") }</th>
                    <th class="num">{ format!("{delivery}.DataFreshness") }</th>
                    { if ds.transform_function.is_some() { html! { <th class="num">{"SucceedProcessing.Records"}</th> } } else { html! {} } }
                    { if ds.format_conversion { html! { <>
                        <th class="num">{"SucceedConversion.Records"}</th>
                        <th class="num">{"FailedConversion.Records"}</th>
                    </> } } else { html! {} } }
                </tr></thead>
                <tbody>
                    { for ds.metrics.iter().map(|m| html! {
                        <tr>
                            <td class="mono">{ &clock_time(m.minute_ms)[..5] }</td>
                            <td class="num mono">{ thousands(m.incoming_records) }</td>
                            <td class="num mono">{ bytes(m.incoming_bytes) }</td>
                            <td class="num mono">{ thousands(m.throttled_records) }</td>
                            <td class="num mono">{ thousands(m.delivery_records) }</td>
                            <td class="num mono">{ m.delivery_success_permille.map_or("—".to_string(), |p| format!("{:.3}", p as f64 / 1000.0)) }</td>
                            <td class="num mono">{ format!("{:.0} s", m.data_freshness_ms as f64 / 1000.0) }</td>
                            { if ds.transform_function.is_some() { html! { <td class="num mono">{ thousands(m.succeed_processing_records) }</td> } } else { html! {} } }
                            { if ds.format_conversion { html! { <>
                                <td class="num mono">{ thousands(m.succeed_conversion_records) }</td>
                                <td class="num mono">{ thousands(m.failed_conversion_records) }</td>
                            </> } } else { html! {} } }
                        </tr>
                    }) }
                </tbody>
            </table>
            </div>
        </details>
    }
}

/// `HH:mm:ss.S` of a virtual instant.
fn clock_time(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{}",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60,
        ms % 1000 / 100
    )
}

fn browser(b: &Browser, ctx: &Context<App>) -> Html {
    let crumbs: Vec<(String, String)> = {
        let mut out = vec![(b.bucket.clone(), String::new())];
        let mut acc = String::new();
        for part in b.prefix.split_inclusive('/') {
            acc.push_str(part);
            out.push((part.to_string(), acc.clone()));
        }
        out
    };
    html! {
        <div class="bucket-browser" data-testid="bucket-browser">
            <div class="crumbs mono">
                {"s3://"}
                { for crumbs.into_iter().map(|(label, prefix)| {
                    let bucket = b.bucket.clone();
                    let go = ctx.link().callback(move |_| Msg::Browse(bucket.clone(), prefix.clone()));
                    html! { <button class="link mono" onclick={go}>{ label }</button> }
                }) }
            </div>
            { if b.folders.is_empty() && b.objects.is_empty() { html! {
                <p class="muted small">{"No objects yet: the first lands when a buffer hint is reached."}</p>
            } } else { html! {} } }
            <ul class="objects">
                { for b.folders.iter().map(|f| {
                    let bucket = b.bucket.clone();
                    let prefix = f.clone();
                    let go = ctx.link().callback(move |_| Msg::Browse(bucket.clone(), prefix.clone()));
                    let name = f[b.prefix.len()..].to_string();
                    html! { <li><button class="link mono folder" onclick={go} data-testid="folder">{ name }</button></li> }
                }) }
                { for b.objects.iter().map(|o| {
                    let bucket = b.bucket.clone();
                    let key = o.key.clone();
                    let open = ctx.link().callback(move |_| Msg::OpenObject(bucket.clone(), key.clone()));
                    let name = o.key[b.prefix.len().min(o.key.len())..].to_string();
                    html! {
                        <li>
                            <button class="link mono" onclick={open} data-testid="object">{ name }</button>
                            <span class="muted small">{ format!(" {} · {} records", bytes(o.bytes), thousands(o.records)) }</span>
                        </li>
                    }
                }) }
            </ul>
            { match &b.preview {
                Some(p) => {
                    let close = ctx.link().callback(|_| Msg::ClosePreview);
                    let (bucket, key) = (p.bucket.clone(), p.key.clone());
                    let download = ctx
                        .link()
                        .callback(move |_| Msg::DownloadObject(bucket.clone(), key.clone()));
                    html! {
                        <div class="preview" data-testid="object-preview">
                            <div class="preview-head">
                                <span class="mono small">{ &p.key }</span>
                                <span>
                                    <button class="link" onclick={download} data-testid="download">{"Download"}</button>
                                    {" · "}
                                    <button class="link" onclick={close}>{"Close"}</button>
                                </span>
                            </div>
                            <div class="muted small">{ if p.compression.starts_with("Apache Parquet") {
                                // Columns in the file; shown here as JSON lines.
                                format!("{}: {} stored, {} records; rows shown as JSON{}", p.compression, bytes(p.stored_bytes), thousands(p.records), if p.truncated { ", the first ones" } else { "" })
                            } else {
                                format!("{}: {} stored, {} original, {} records{}", p.compression, bytes(p.stored_bytes), bytes(p.original_bytes), thousands(p.records), if p.truncated { "; first 4 KiB shown" } else { "" })
                            } }</div>
                            <pre class="mono">{ &p.text }</pre>
                        </div>
                    }
                }
                None => html! {},
            } }
        </div>
    }
}
