//! CloudWatch-like charts of the last minute, one datapoint a second: the
//! stream's incoming records and bytes against its shards' limits, refused
//! writes and reads, how far behind its readers are, each consumer
//! application's records and lag, and each shard's incoming records
//! against its own limit.

use shardlab_sim::metrics::{MetricsView, Points, METRIC_SECONDS};
use yew::prelude::*;

use crate::format::{bytes, thousands};

/// Line colours, in order, for the series of one chart.
const PALETTE: &[&str] = &[
    "#1f6feb", "#8250df", "#0a7d55", "#bf8700", "#cf222e", "#6e7781", "#1b7c83", "#a40e26",
];

/// A consumer application's colour, the same in the charts and on the
/// shard lanes (`i`: its place among the snapshot's consumers).
pub fn consumer_colour(i: usize) -> &'static str {
    PALETTE[(i + 1) % PALETTE.len()]
}

const W: f64 = 300.0;
const H: f64 = 110.0;
const PAD_LEFT: f64 = 4.0;
const PAD_TOP: f64 = 16.0;

/// A series to draw: its name, its datapoints and its style.
struct Line<'a> {
    label: String,
    points: &'a Points,
    colour: &'a str,
    /// A limit: dashed, drawn under the others.
    dashed: bool,
}

fn line<'a>(label: &str, points: &'a Points, colour: &'a str, dashed: bool) -> Line<'a> {
    Line {
        label: label.to_string(),
        points,
        colour,
        dashed,
    }
}

/// One chart: a title, its lines, and how its values read.
fn chart(
    title: &str,
    help: &str,
    lines: &[Line],
    unit: &dyn Fn(u64) -> String,
    testid: String,
) -> Html {
    let highest = lines
        .iter()
        .flat_map(|l| l.points.iter().copied())
        .max()
        .unwrap_or(0);
    let top = highest.max(1);
    let scale = (H - PAD_TOP - 4.0) / top as f64;
    let step = (W - PAD_LEFT * 2.0) / (METRIC_SECONDS - 1) as f64;
    let path = |points: &Points| -> String {
        // The newest datapoint at the right edge.
        let skip = METRIC_SECONDS.saturating_sub(points.len());
        points
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "{:.1},{:.1}",
                    PAD_LEFT + (i + skip) as f64 * step,
                    H - 2.0 - *v as f64 * scale
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let latest = |l: &Line| l.points.last().copied().unwrap_or(0);
    html! {
        <figure class="metric" data-testid={testid} title={help.to_string()}>
            <figcaption>
                <span class="metric-title">{ title }</span>
                <span class="metric-max mono">{ format!("max {}", unit(highest)) }</span>
            </figcaption>
            <svg viewBox={format!("0 0 {W} {H}")} role="img" aria-label={format!("{title}, the last minute")}>
                <line x1="0" y1={(H - 2.0).to_string()} x2={W.to_string()} y2={(H - 2.0).to_string()} class="axis" />
                { for lines.iter().filter(|l| l.points.len() > 1).map(|l| html! {
                    <polyline points={path(l.points)} fill="none" stroke={l.colour.to_string()}
                        stroke-width={if l.dashed { "1" } else { "1.6" }}
                        stroke-dasharray={if l.dashed { "4 3" } else { "none" }} />
                }) }
            </svg>
            <div class="metric-legend small">
                { for lines.iter().map(|l| html! {
                    <span>
                        <i style={format!("background:{}", l.colour)} class={classes!(l.dashed.then_some("dashed"))} />
                        { format!("{} {}", l.label, unit(latest(l))) }
                    </span>
                }) }
            </div>
        </figure>
    }
}

fn count(n: u64) -> String {
    thousands(n)
}

fn per_second(n: u64) -> String {
    format!("{}/s", thousands(n))
}

fn bytes_per_second(n: u64) -> String {
    format!("{}/s", bytes(n))
}

fn millis(n: u64) -> String {
    if n >= 10_000 {
        format!("{:.1} s", n as f64 / 1000.0)
    } else {
        format!("{} ms", thousands(n))
    }
}

/// The metrics panel.
pub fn panel(m: &MetricsView) -> Html {
    if m.incoming_records.is_empty() {
        return html! {};
    }
    let consumers: Vec<_> = m.consumers.iter().enumerate().collect();
    let colour = consumer_colour;
    html! {
        <details class="metrics" open=true data-testid="metrics">
            <summary>
                <h3>{"Metrics"}</h3>
                <span class="muted small">{ format!(
                    " as CloudWatch names them, one datapoint a second, the last {} s (to {} s)",
                    m.incoming_records.len(), thousands(m.end_s)
                ) }</span>
            </summary>
            <div class="metric-grid">
                { chart("IncomingRecords", "Records put successfully each second, against what the open shards can take (1,000 records/s each); WriteProvisionedThroughputExceeded: records refused", &[
                    line("limit", &m.records_limit, "#6e7781", true),
                    line("IncomingRecords", &m.incoming_records, PALETTE[0], false),
                    line("WriteProvisionedThroughputExceeded", &m.write_throttled, "#cf222e", false),
                ], &per_second, "metric-incoming-records".into()) }
                { chart("IncomingBytes", "Bytes put successfully each second (data and partition keys), against 1 MiB/s per open shard", &[
                    line("limit", &m.bytes_limit, "#6e7781", true),
                    line("IncomingBytes", &m.incoming_bytes, PALETTE[0], false),
                ], &bytes_per_second, "metric-incoming-bytes".into()) }
                { chart("GetRecords.IteratorAgeMilliseconds", "How far behind the newest record the slowest reader is (the largest over readers and shards)", &[
                    line("Maximum", &m.iterator_age_ms, PALETTE[1], false),
                ], &millis, "metric-iterator-age".into()) }
                { chart("ReadProvisionedThroughputExceeded", "Read calls refused each second by the shards' 5 reads/s and 2 MiB/s", &[
                    line("ReadProvisionedThroughputExceeded", &m.read_throttled, "#cf222e", false),
                ], &count, "metric-read-throttled".into()) }
                if !consumers.is_empty() {
                    { chart("Records processed", "Records each consumer application got each second (a Lambda mapping: processed successfully)", &consumers.iter().map(|(i, c)| line(&c.name, &c.records, colour(*i), false)).collect::<Vec<_>>(),
                        &per_second, "metric-consumer-records".into()) }
                    { chart("MillisBehindLatest", "How far behind each application is (a Lambda mapping: IteratorAge)", &consumers.iter().map(|(i, c)| line(&c.name, &c.behind_ms, colour(*i), false)).collect::<Vec<_>>(),
                        &millis, "metric-consumer-behind".into()) }
                    if consumers.iter().any(|(_, c)| c.duplicates.iter().any(|n| *n > 0)) {
                        { chart("Duplicates", "Records an application got again each second (after a replay, a KCL failover, a Lambda retry)", &consumers.iter().map(|(i, c)| line(&c.name, &c.duplicates, colour(*i), false)).collect::<Vec<_>>(),
                            &per_second, "metric-consumer-duplicates".into()) }
                    }
                }
            </div>
            <h4 class="small">{"Per shard: IncomingRecords against 1,000 records/s, and WriteProvisionedThroughputExceeded"}</h4>
            <div class="metric-grid shard-metrics">
                { for m.shards.iter().filter(|s| s.incoming_records.iter().chain(&s.write_throttled).any(|n| *n > 0)).map(|s| {
                    let limit: Points = vec![1000; s.incoming_records.len()];
                    chart(&s.shard_id, "Records put successfully and refused each second on this shard", &[
                        line("limit", &limit, "#6e7781", true),
                        line("in", &s.incoming_records, PALETTE[0], false),
                        line("throttled", &s.write_throttled, "#cf222e", false),
                    ], &per_second, format!("metric-{}", s.shard_id))
                }) }
            </div>
        </details>
    }
}
