//! Continuous SQL on the page: the editor with example queries, run/stop,
//! the discovered input schema, a live results table, a chart of a chosen
//! column over time, and the input's per-second timeline with the window
//! boundaries the output shows.

use std::collections::VecDeque;

use web_sys::{HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::format::thousands;
use crate::{App, LiveStream, Msg};
use shardlab_sim::sql::{ReferenceData, SqlRowView, SqlStart, SqlStreamView, SqlView};

/// Rows of the chosen stream the chart keeps (the page's memory is bounded
/// whatever the stream's volume).
const CHART_ROWS: usize = 400;
const CHART_SERIES: usize = 6;

/// Example applications over the playground's clickstream records
/// (`event_id, user_id, page, action, event_time`).
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "Tumbling window: clicks per action every 10 s",
        "-- A tumbling window: GROUP BY a key derived from ROWTIME.\n\
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (action VARCHAR(16), clicks BIGINT);\n\
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n\
    SELECT STREAM action, COUNT(*) AS clicks\n\
    FROM \"SOURCE_SQL_STREAM_001\"\n\
    GROUP BY action, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '10' SECOND);\n",
    ),
    (
        "Continuous filter: purchases only",
        "-- A continuous filter: one output row per matching input row.\n\
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (user_id VARCHAR(16), page VARCHAR(16), event_time TIMESTAMP);\n\
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n\
    SELECT STREAM user_id, page, event_time\n\
    FROM \"SOURCE_SQL_STREAM_001\"\n\
    WHERE action = 'purchase';\n",
    ),
    (
        "Sliding window: clicks per page over the last minute",
        "-- A sliding window: an output row for every input row, computed\n\
-- over the rows of the last minute with the same page.\n\
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (page VARCHAR(16), clicks_last_minute BIGINT);\n\
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n\
    SELECT STREAM page, COUNT(*) OVER last_minute\n\
    FROM \"SOURCE_SQL_STREAM_001\"\n\
    WINDOW last_minute AS (PARTITION BY page RANGE INTERVAL '1' MINUTE PRECEDING);\n",
    ),
    (
        "Stagger window: each user's actions in the 30 s after their first",
        "-- A stagger window opens with a key's first row and closes RANGE later.\n\
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (user_id VARCHAR(16), actions BIGINT);\n\
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n\
    SELECT STREAM user_id, COUNT(*) AS actions\n\
    FROM \"SOURCE_SQL_STREAM_001\"\n\
    WINDOWED BY STAGGER (PARTITION BY user_id RANGE INTERVAL '30' SECOND);\n",
    ),
    (
        "Top 3 pages per minute (TOP_K_ITEMS_TUMBLING)",
        "CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (page VARCHAR(16), most_frequent_values BIGINT);\n\
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n\
    SELECT STREAM *\n\
    FROM TABLE(TOP_K_ITEMS_TUMBLING(\n\
        CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), 'page', 3, 60));\n",
    ),
    (
        "Two pumps: purchases, then purchases per page every 30 s",
        "CREATE OR REPLACE STREAM \"PURCHASES\" (page VARCHAR(16), user_id VARCHAR(16));\n\
CREATE OR REPLACE PUMP \"FILTER_PUMP\" AS INSERT INTO \"PURCHASES\"\n\
    SELECT STREAM page, user_id FROM \"SOURCE_SQL_STREAM_001\" WHERE action = 'purchase';\n\
\n\
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (page VARCHAR(16), purchases BIGINT);\n\
CREATE OR REPLACE PUMP \"COUNT_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n\
    SELECT STREAM page, COUNT(*) FROM \"PURCHASES\"\n\
    GROUP BY page, FLOOR(\"PURCHASES\".ROWTIME TO MINUTE);\n",
    ),
    (
        "Reference data: clicks per page category every 10 s",
        "-- A reference table (below the editor; KDA loads one from S3) joined\n\
-- to the stream: pages without a category come out as NULL.\n\
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (category VARCHAR(16), clicks BIGINT);\n\
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n\
    SELECT STREAM c.category, COUNT(*) AS clicks\n\
    FROM \"SOURCE_SQL_STREAM_001\"\n\
    LEFT JOIN \"PAGES\" AS c ON \"SOURCE_SQL_STREAM_001\".page = c.page\n\
    GROUP BY c.category, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '10' SECOND);\n",
    ),
    (
        "Flink SQL: TUMBLE on event time with a watermark",
        "-- Flink SQL, AWS's current engine: a table on the stream, a watermark\n\
-- on event time, and a window table function.\n\
CREATE TABLE clicks (\n\
    user_id STRING,\n\
    page STRING,\n\
    action STRING,\n\
    event_time TIMESTAMP(3),\n\
    WATERMARK FOR event_time AS event_time - INTERVAL '2' SECOND\n\
) WITH ('connector' = 'kinesis', 'stream' = 'clickstream', 'format' = 'json');\n\
\n\
SELECT window_start, window_end, action, COUNT(*) AS clicks\n\
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(event_time), INTERVAL '10' SECONDS))\n\
GROUP BY window_start, window_end, action;\n",
    ),
];

/// The SQL panel's own state.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlPanel {
    pub code: String,
    pub start: SqlStart,
    /// The last compile error: (line, column, message).
    pub error: Option<(u64, u64, String)>,
    /// The stream the table and chart show.
    pub stream: Option<String>,
    pub column: Option<String>,
    /// The chosen stream's columns.
    pub columns: Vec<String>,
    /// Rows of `stream` seen so far, newest last, bounded.
    pub history: VecDeque<SqlRowView>,
    pub last_seq: u64,
    /// Counts the page's own changes of `code` (an example chosen), so the
    /// editor knows to take the text.
    pub revision: u64,
    /// The last "Show as Flink SQL" answer: the text and its notes.
    pub flink: Option<(String, Vec<String>)>,
    /// The reference table the application may join.
    pub reference: ReferenceData,
}

/// The reference data the panel starts with: the clickstream's pages.
pub const PAGES_CSV: &str = "page,category\n/,home\n/products,catalog\n/products/42,catalog\n/cart,checkout\n/checkout,checkout\n";

impl Default for SqlPanel {
    fn default() -> Self {
        SqlPanel {
            code: EXAMPLES[0].1.to_string(),
            start: SqlStart::Now,
            error: None,
            stream: None,
            column: None,
            columns: Vec::new(),
            history: VecDeque::new(),
            last_seq: 0,
            revision: 0,
            flink: None,
            reference: ReferenceData {
                name: "PAGES".into(),
                csv: PAGES_CSV.into(),
            },
        }
    }
}

impl SqlPanel {
    /// Folds a snapshot's rows of the chosen stream into the history.
    pub fn absorb(&mut self, view: Option<&SqlView>) {
        let Some(view) = view else {
            return;
        };
        let visible: Vec<&SqlStreamView> = view
            .streams
            .iter()
            .filter(|s| s.name != "error_stream")
            .collect();
        if self
            .stream
            .as_ref()
            .is_none_or(|s| !view.streams.iter().any(|v| &v.name == s))
        {
            // The last in-application stream: usually the destination.
            self.stream = visible.last().map(|s| s.name.clone());
            self.history.clear();
            self.last_seq = 0;
        }
        let Some(s) = view
            .streams
            .iter()
            .find(|s| Some(&s.name) == self.stream.as_ref())
        else {
            return;
        };
        self.columns.clone_from(&s.columns);
        if self.column.as_ref().is_none_or(|c| !s.columns.contains(c)) {
            self.column = numeric_column(s);
        }
        for r in &s.rows {
            if r.seq > self.last_seq {
                self.history.push_back(r.clone());
            }
        }
        self.last_seq = self
            .last_seq
            .max(s.rows.iter().map(|r| r.seq).max().unwrap_or(0));
        while self.history.len() > CHART_ROWS {
            self.history.pop_front();
        }
    }

    pub fn reset_results(&mut self) {
        self.history.clear();
        self.last_seq = 0;
        self.stream = None;
        self.column = None;
        self.columns.clear();
    }
}

/// The last column whose values are numbers: the one worth charting.
fn numeric_column(s: &SqlStreamView) -> Option<String> {
    let row = s.rows.last()?;
    s.columns
        .iter()
        .zip(&row.values)
        .rev()
        .find(|(_, v)| v.parse::<f64>().is_ok())
        .map(|(c, _)| c.clone())
}

fn clock_time(ms: i64) -> String {
    let s = ms.rem_euclid(86_400_000) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

pub fn panel(app: &App, live: &LiveStream, ctx: &Context<App>) -> Html {
    let p = &app.sql;
    let view = live.snapshot.sql.as_deref();
    let oninput = ctx.link().callback(|e: InputEvent| {
        let t: HtmlTextAreaElement = e.target_unchecked_into();
        Msg::SqlEdit(t.value())
    });
    let onexample = ctx.link().callback(|e: Event| {
        let s: HtmlSelectElement = e.target_unchecked_into();
        Msg::SqlExample(s.value().parse().unwrap_or(usize::MAX))
    });
    let onstart = ctx.link().callback(|e: Event| {
        let s: HtmlSelectElement = e.target_unchecked_into();
        Msg::SqlStartAt(if s.value() == "TRIM_HORIZON" {
            SqlStart::TrimHorizon
        } else {
            SqlStart::Now
        })
    });
    let run = ctx.link().callback(|_| Msg::SqlRun);
    let translate = ctx.link().callback(|_| Msg::SqlTranslate);
    let stop = ctx.link().callback(|_| Msg::SqlStop);
    let (err_line, err_col) = p.error.as_ref().map_or((0, 0), |(l, c, _)| (*l, *c));
    html! {
        <div class="card sql" data-testid="sql-panel">
            <div class="card-head">
                <h2>{"Continuous SQL"}</h2>
                <span class="muted">{ match view {
                    Some(v) => format!("{} · reading {} · {} rows in", v.dialect, live.snapshot.stream_name, thousands(v.rows_in)),
                    None => "Kinesis Data Analytics SQL or Flink SQL over the stream".to_string(),
                } }</span>
            </div>
            <div class="sql-toolbar">
                <select onchange={onexample} aria-label="Example queries" data-testid="sql-examples">
                    <option value="" selected=true>{"Examples…"}</option>
                    { for EXAMPLES.iter().enumerate().map(|(i, (title, _))| html! { <option value={i.to_string()}>{ *title }</option> }) }
                </select>
                <label class="inline">{"Start at "}
                    <select onchange={onstart} aria-label="Starting position" data-testid="sql-start">
                        <option value="NOW" selected={p.start == SqlStart::Now}>{"NOW"}</option>
                        <option value="TRIM_HORIZON" selected={p.start == SqlStart::TrimHorizon}>{"TRIM_HORIZON"}</option>
                    </select>
                </label>
                <button class="primary" onclick={run} data-testid="sql-run">{ if view.is_some() { "Restart" } else { "Run" } }</button>
                <button onclick={stop} disabled={view.is_none()} data-testid="sql-stop">{"Stop"}</button>
                <button onclick={translate} data-testid="sql-to-flink" title="The same application for Managed Service for Apache Flink, as AWS's migration guide maps it">{"Show as Flink SQL"}</button>
            </div>
            // CodeMirror (web/editor/sql-editor.js) mounts in the div and
            // hides the textarea; without it the textarea is the editor.
            <div id="sql-editor" class="sql-editor"></div>
            <textarea id="sql-code" class="sql-code mono" spellcheck="false" rows="12" value={p.code.clone()} {oninput}
                data-revision={p.revision.to_string()} data-error-line={err_line.to_string()} data-error-column={err_col.to_string()} aria-label="SQL application" />
            { compile_error(p) }
            { reference(p, ctx) }
            { flink(p, ctx) }
            { match view {
                Some(v) => html! {
                    <>
                    { schema(v) }
                    if let Some((name, rows)) = &v.reference {
                        <p class="muted sql-schema">{ format!("Reference table {name}: {rows} rows") }</p>
                    }
                    { for v.outputs.iter().enumerate().map(|(i, o)| {
                        let format = match o.format { shardlab_sim::sql::RecordFormat::JSON => "JSON", shardlab_sim::sql::RecordFormat::CSV => "CSV" };
                        html! {
                        <p class="muted sql-schema" data-testid={format!("sql-output-{i}")}>
                            { if !o.data_stream.is_empty() {
                                format!("Output: {} → Kinesis stream {} ({format}, a record per row, random partition keys): {} rows written, {} waiting; {} refused by its shards' write limits and sent again{}",
                                    o.stream, o.data_stream, thousands(o.sent), thousands(o.waiting), thousands(o.throttled),
                                    if o.too_large > 0 { format!("; {} over the 1 MiB record limit, dropped", thousands(o.too_large)) } else { String::new() })
                            } else if o.function.is_empty() {
                                format!("Output: {} → Firehose {} ({}{}): {} rows sent, {} waiting",
                                    o.stream, o.delivery_stream, format,
                                    if o.format == shardlab_sim::sql::RecordFormat::JSON { ", concatenated as KDA writes it" } else { "" },
                                    thousands(o.sent), thousands(o.waiting))
                            } else {
                                format!("Output: {} → Lambda {} ({format}, a record per row): {} invocations; {} rows delivered, {} waiting; {} deliveries failed and were retried{}",
                                    o.stream, o.function, thousands(o.invocations), thousands(o.sent), thousands(o.waiting),
                                    thousands(o.delivery_failed),
                                    o.last_error.as_ref().map(|e| format!(" (last: {e})")).unwrap_or_default())
                            } }
                        </p>
                    }}) }
                    { results(p, v, ctx) }
                    { timeline(p, v) }
                    { chart(p, ctx) }
                    </>
                },
                None => html! { <p class="muted">{"Run the application: its input schema is discovered from the stream's newest records, as the console's Discover schema does, and its rows appear here as windows close."}</p> },
            } }
        </div>
    }
}

fn reference(p: &SqlPanel, ctx: &Context<App>) -> Html {
    let onname = ctx.link().callback(|e: InputEvent| {
        let i: web_sys::HtmlInputElement = e.target_unchecked_into();
        Msg::SqlReferenceName(i.value())
    });
    let oncsv = ctx.link().callback(|e: InputEvent| {
        let t: HtmlTextAreaElement = e.target_unchecked_into();
        Msg::SqlReferenceCsv(t.value())
    });
    html! {
        <details class="sql-reference">
            <summary>{ format!("Reference data: {} (CSV, loaded when the application starts; empty for none)", p.reference.name) }</summary>
            <label class="inline">{"Table "}
                <input type="text" value={p.reference.name.clone()} oninput={onname} data-testid="sql-reference-name" spellcheck="false" />
            </label>
            <textarea class="code" rows="6" value={p.reference.csv.clone()} oninput={oncsv} data-testid="sql-reference-csv" spellcheck="false" />
        </details>
    }
}

fn flink(p: &SqlPanel, ctx: &Context<App>) -> Html {
    let Some((sql, notes)) = &p.flink else {
        return html! {};
    };
    let close = ctx.link().callback(|_| Msg::SqlCloseFlink);
    html! {
        <div class="sql-flink" data-testid="sql-flink">
            <div class="preview-head">
                <strong>{"As Flink SQL (Managed Service for Apache Flink)"}</strong>
                <button class="link" onclick={close}>{"Close"}</button>
            </div>
            <pre class="mono">{ sql }</pre>
            <ul class="muted">{ for notes.iter().map(|n| html! { <li>{ n }</li> }) }</ul>
        </div>
    }
}

fn compile_error(p: &SqlPanel) -> Html {
    let Some((line, column, message)) = &p.error else {
        return html! {};
    };
    let text = p
        .code
        .lines()
        .nth(line.saturating_sub(1) as usize)
        .unwrap_or_default();
    html! {
        <div class="sql-error" role="alert" data-testid="sql-error">
            <strong>{ format!("Line {line}, column {column}: ") }</strong>{ message }
            if *line > 0 {
                <pre class="mono">{ format!("{text}\n{}^", " ".repeat(column.saturating_sub(1) as usize)) }</pre>
            }
        </div>
    }
}

fn schema(v: &SqlView) -> Html {
    html! {
        <p class="sql-schema muted" data-testid="sql-schema">
            <span>{"SOURCE_SQL_STREAM_001: "}</span>
            { for v.input_columns.iter().map(|(n, t)| html! { <span class="chip mono">{ format!("{n} {t}") }</span> }) }
            <span class="chip mono">{"APPROXIMATE_ARRIVAL_TIME TIMESTAMP"}</span>
        </p>
    }
}

fn results(p: &SqlPanel, v: &SqlView, ctx: &Context<App>) -> Html {
    let onpick = ctx.link().callback(|e: Event| {
        let s: HtmlSelectElement = e.target_unchecked_into();
        Msg::SqlPickStream(s.value())
    });
    let Some(s) = v
        .streams
        .iter()
        .find(|s| Some(&s.name) == p.stream.as_ref())
        .or(v.streams.first())
    else {
        return html! {};
    };
    let errors = v
        .streams
        .iter()
        .find(|s| s.name == "error_stream")
        .map_or(0, |s| s.total);
    html! {
        <div class="sql-results">
            <div class="sql-toolbar">
                <select onchange={onpick} aria-label="Stream to show" data-testid="sql-stream">
                    { for v.streams.iter().map(|x| html! {
                        <option value={x.name.clone()} selected={x.name == s.name}>{ format!("{} ({} rows)", x.name, thousands(x.total)) }</option>
                    }) }
                </select>
                if errors > 0 {
                    <span class="pill pill-bad">{ format!("{} rows in error_stream", thousands(errors)) }</span>
                }
            </div>
            <div class="table-wrap">
                <table class="sql-table" data-testid="sql-rows">
                    <thead><tr><th>{"ROWTIME"}</th>{ for s.columns.iter().map(|c| html! { <th>{ c }</th> }) }</tr></thead>
                    <tbody>
                        { for s.rows.iter().rev().take(15).map(|r| html! {
                            <tr><td class="mono">{ clock_time(r.rowtime_ms) }</td>{ for r.values.iter().map(|x| html! { <td class="mono">{ x }</td> }) }</tr>
                        }) }
                    </tbody>
                </table>
                if s.rows.is_empty() {
                    <p class="muted">{ "No rows yet: a window emits when ROWTIME passes its end." }</p>
                }
            </div>
        </div>
    }
}

/// The last minute of input, a bar per second, with the ends of the
/// windows the chosen stream emitted drawn over it.
fn timeline(p: &SqlPanel, v: &SqlView) -> Html {
    let (w, h) = (600.0, 70.0);
    let Some(&(first, _)) = v.input_per_second.first() else {
        return html! {};
    };
    let last = v.bound_ms.max(first + 1000);
    let span = (last - first).max(1000) as f64;
    let x = |t: i64| (t - first) as f64 / span * w;
    let max = v
        .input_per_second
        .iter()
        .map(|(_, c)| *c)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bar_w = (1000.0 / span * w - 1.0).max(1.0);
    let mut ends: Vec<i64> = p
        .history
        .iter()
        .map(|r| r.rowtime_ms)
        .filter(|t| *t >= first && *t <= last)
        .collect();
    ends.dedup();
    html! {
        <figure class="sql-figure">
            <figcaption class="muted">{"Input per second of ROWTIME, and the ROWTIME of each output row (a window's end)"}</figcaption>
            <svg viewBox={format!("0 0 {w} {h}")} class="sql-svg" role="img" aria-label="Input timeline with window boundaries" data-testid="sql-timeline">
                { for v.input_per_second.iter().map(|(t, c)| {
                    let bh = *c as f64 / max * (h - 14.0);
                    html! { <rect class="bar" x={format!("{:.1}", x(*t))} y={format!("{:.1}", h - 12.0 - bh)} width={format!("{bar_w:.1}")} height={format!("{bh:.1}")} /> }
                }) }
                { for ends.iter().map(|t| html! {
                    <line class="window-end" x1={format!("{:.1}", x(*t))} x2={format!("{:.1}", x(*t))} y1="0" y2={format!("{}", h - 12.0)} />
                }) }
                <text x="0" y={format!("{}", h - 1.0)} class="axis">{ clock_time(first) }</text>
                <text x={format!("{w}")} y={format!("{}", h - 1.0)} class="axis" text-anchor="end">{ clock_time(last) }</text>
            </svg>
        </figure>
    }
}

/// The chosen numeric column over ROWTIME, a line per value of the first
/// text column (e.g. one per action).
fn chart(p: &SqlPanel, ctx: &Context<App>) -> Html {
    let Some(col) = &p.column else {
        return html! {};
    };
    let Some((yi, key_i)) = p.chart_index() else {
        return html! {};
    };
    let onpick = ctx.link().callback(|e: Event| {
        let s: HtmlSelectElement = e.target_unchecked_into();
        Msg::SqlPickColumn(s.value())
    });
    let mut series: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
    for r in &p.history {
        let Some(y) = r.values.get(yi).and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let key = key_i
            .and_then(|k| r.values.get(k).cloned())
            .unwrap_or_default();
        match series.iter().position(|(k, _)| *k == key) {
            Some(i) => series[i].1.push((r.rowtime_ms, y)),
            None if series.len() < CHART_SERIES => series.push((key, vec![(r.rowtime_ms, y)])),
            None => {}
        }
    }
    let (t0, t1) = p.history.iter().fold((i64::MAX, i64::MIN), |(a, b), r| {
        (a.min(r.rowtime_ms), b.max(r.rowtime_ms))
    });
    let ymax = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|(_, y)| *y))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let (w, h) = (600.0, 140.0);
    let x = |t: i64| {
        if t1 > t0 {
            (t - t0) as f64 / (t1 - t0) as f64 * (w - 10.0) + 5.0
        } else {
            w / 2.0
        }
    };
    let y = |v: f64| h - 14.0 - v / ymax * (h - 24.0);
    html! {
        <figure class="sql-figure">
            <figcaption class="muted">
                <select onchange={onpick} aria-label="Column to chart" data-testid="sql-column">
                    { for p.columns.iter().map(|c| html! { <option value={c.clone()} selected={c == col}>{ c }</option> }) }
                </select>
                { format!(" over ROWTIME (max {})", trim_num(ymax)) }
            </figcaption>
            <svg viewBox={format!("0 0 {w} {h}")} class="sql-svg" role="img" aria-label={format!("Chart of {col}")} data-testid="sql-chart">
                { for series.iter().enumerate().map(|(i, (_, pts))| {
                    let d: Vec<String> = pts.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
                    html! {
                        <>
                        <polyline class={format!("series s{i}")} points={d.join(" ")} />
                        { for pts.iter().map(|(t, v)| html! { <circle class={format!("series s{i}")} cx={format!("{:.1}", x(*t))} cy={format!("{:.1}", y(*v))} r="2.5" /> }) }
                        </>
                    }
                }) }
                <text x="0" y={format!("{}", h - 1.0)} class="axis">{ clock_time(t0.min(t1)) }</text>
                <text x={format!("{w}")} y={format!("{}", h - 1.0)} class="axis" text-anchor="end">{ clock_time(t1.max(t0)) }</text>
            </svg>
            <div class="legend">
                { for series.iter().enumerate().map(|(i, (k, _))| html! { <span class={format!("key s{i}")}>{ if k.is_empty() { col.clone() } else { k.clone() } }</span> }) }
            </div>
        </figure>
    }
}

fn trim_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

impl SqlPanel {
    /// (index of the charted column, index of the first text column).
    fn chart_index(&self) -> Option<(usize, Option<usize>)> {
        let row = self.history.back()?;
        let names = &self.columns;
        let yi = names.iter().position(|c| Some(c) == self.column.as_ref())?;
        let key = names.iter().enumerate().position(|(i, _)| {
            i != yi
                && row
                    .values
                    .get(i)
                    .is_some_and(|v| v.parse::<f64>().is_err() && !v.contains(':'))
        });
        Some((yi, key))
    }
}
