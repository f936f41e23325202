//! A Lambda event source mapping's settings, invocations and discarded
//! batches, under its consumer row.

use shardlab_sim::clock::SCENARIO_EPOCH_MS;
use shardlab_sim::esm::{EsmUpdate, EsmView};
use shardlab_sim::lambda::FunctionCode;
use web_sys::{HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::format::{elapsed, thousands};
use crate::{App, Msg};

/// `list` as options, with `current` added when it is not among them (a
/// value a preset set).
fn options(list: &[(&str, &str)], current: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|(v, label)| (v.to_string(), label.to_string()))
        .collect();
    if !out.iter().any(|(v, _)| v == current) {
        out.push((current.to_string(), current.to_string()));
    }
    out
}

/// A select of `options` (value, label) showing `current`, that sends the
/// update `make` builds from the chosen value.
fn setting(
    testid: String,
    title: &str,
    current: String,
    options: Vec<(String, String)>,
    make: impl Fn(&str) -> EsmUpdate + 'static,
    name: &str,
    ctx: &Context<App>,
) -> Html {
    let name = name.to_string();
    let onchange = ctx.link().callback(move |e: Event| {
        let value = e.target_unchecked_into::<HtmlSelectElement>().value();
        Msg::UpdateMapping(name.clone(), make(&value))
    });
    html! {
        <select {onchange} data-testid={testid} title={title.to_string()}>
            { for options.into_iter().map(|(v, label)| {
                let selected = v == current;
                html! { <option {selected} value={v}>{ label }</option> }
            }) }
        </select>
    }
}

/// The mapping's settings (each a control that sends
/// UpdateEventSourceMapping), its figures, each shard's batches, the
/// newest invocations, and the newest discarded batch's description.
pub fn panel(i: usize, name: &str, m: &EsmView, app: &App, ctx: &Context<App>) -> Html {
    let s = &m.spec;
    let on_off = |on: bool| options(&[("true", "on"), ("false", "off")], &on.to_string());
    let retries = options(
        &[
            ("-1", "-1 (until expired)"),
            ("0", "0"),
            ("1", "1"),
            ("2", "2"),
            ("5", "5"),
            ("10", "10"),
            ("100", "100"),
        ],
        &s.maximum_retry_attempts.to_string(),
    );
    let ages = options(
        &[
            ("-1", "-1 (no limit)"),
            ("60", "60 s"),
            ("300", "5 min"),
            ("3600", "1 h"),
            ("86400", "1 day"),
        ],
        &s.maximum_record_age_s.to_string(),
    );
    let factors: Vec<(String, String)> = (1..=10).map(|n| (n.to_string(), n.to_string())).collect();
    let batches = options(
        &[
            ("1", "1"),
            ("10", "10"),
            ("50", "50"),
            ("100", "100"),
            ("500", "500"),
            ("1000", "1,000"),
            ("10000", "10,000"),
        ],
        &s.batch_size.to_string(),
    );
    let windows = options(
        &[
            ("0", "0 s"),
            ("1", "1 s"),
            ("5", "5 s"),
            ("30", "30 s"),
            ("300", "300 s"),
        ],
        &s.maximum_batching_window_s.to_string(),
    );
    let number = |v: &str| v.parse::<i64>().unwrap_or(0);
    let latest_failure = m.failures.last();
    html! {
        <div class="lambda-esm" data-testid={format!("lambda-{i}")}>
            <p class="muted small">
                { format!(
                    "A Lambda event source mapping: it polls each shard once a second and invokes the function {} synchronously with batches of one shard's records ({} ms per invocation plus {} ms per record, timeout {} s). Each shard (or each of its {} parallel batches) waits for its batch to succeed before the next.",
                    s.function, s.invocation_ms, s.ms_per_record, s.timeout_s, s.parallelization_factor
                ) }
            </p>
            <div class="lambda-settings small">
                <label>{"BatchSize "}{ setting(format!("lambda-{i}-batch-size"), "BatchSize: at most this many records per invocation", s.batch_size.to_string(), batches,
                    move |v| EsmUpdate { batch_size: Some(number(v) as u32), ..Default::default() }, name, ctx) }</label>
                <label>{"Batching window "}{ setting(format!("lambda-{i}-window"), "MaximumBatchingWindowInSeconds: wait up to this long for a full batch", s.maximum_batching_window_s.to_string(), windows,
                    move |v| EsmUpdate { maximum_batching_window_s: Some(number(v) as u32), ..Default::default() }, name, ctx) }</label>
                <label>{"Parallelization "}{ setting(format!("lambda-{i}-parallelization"), "ParallelizationFactor: batches of one shard running at once (each partition key stays in one, in order)", s.parallelization_factor.to_string(), factors,
                    move |v| EsmUpdate { parallelization_factor: Some(number(v) as u32), ..Default::default() }, name, ctx) }</label>
                <label>{"Retries "}{ setting(format!("lambda-{i}-retries"), "MaximumRetryAttempts: retries of a failed batch before it is discarded", s.maximum_retry_attempts.to_string(), retries,
                    move |v| EsmUpdate { maximum_retry_attempts: Some(number(v) as i32), ..Default::default() }, name, ctx) }</label>
                <label>{"Max record age "}{ setting(format!("lambda-{i}-max-age"), "MaximumRecordAgeInSeconds: older records are discarded unprocessed", s.maximum_record_age_s.to_string(), ages,
                    move |v| EsmUpdate { maximum_record_age_s: Some(number(v) as i32), ..Default::default() }, name, ctx) }</label>
                <label>{"Bisect "}{ setting(format!("lambda-{i}-bisect"), "BisectBatchOnFunctionError: split a failed batch in two and retry each half (a split is not a retry)", s.bisect_batch_on_function_error.to_string(), on_off(s.bisect_batch_on_function_error),
                    move |v| EsmUpdate { bisect_batch_on_function_error: Some(v == "true"), ..Default::default() }, name, ctx) }</label>
                <label>{"ReportBatchItemFailures "}{ setting(format!("lambda-{i}-report"), "FunctionResponseTypes ReportBatchItemFailures: the function's batchItemFailures say where to retry from (off: its response is ignored)", s.report_batch_item_failures.to_string(), on_off(s.report_batch_item_failures),
                    move |v| EsmUpdate { report_batch_item_failures: Some(v == "true"), ..Default::default() }, name, ctx) }</label>
                <span class="muted">{ format!("On failure: {}", s.on_failure.clone().unwrap_or_else(|| "no destination (discarded batches are only counted)".into())) }</span>
                if s.tumbling_window_s > 0 {
                    <span class="muted" data-testid={format!("lambda-{i}-window")} title="TumblingWindowInSeconds: the state each invocation returns is passed to the next one of the window; a final invocation (isFinalInvokeForWindow) gets it once the window is over">
                        { format!("Tumbling window: {} s", s.tumbling_window_s) }
                    </span>
                }
                if let Some(f) = &s.filter_criteria {
                    <span class="muted" data-testid={format!("lambda-{i}-filters")} title="FilterCriteria: a record reaches the function only when its JSON data matches one of these patterns; the others are dropped before any batch">
                        { format!("Filters: {}", f["Filters"].as_array().map(|l| l.iter().filter_map(|p| p["Pattern"].as_str()).collect::<Vec<_>>().join(" or ")).unwrap_or_default()) }
                    </span>
                }
            </div>
            <div class="consumer-figures">
                <span>{"invocations "}<b class="mono" data-testid={format!("lambda-{i}-invocations")}>{ thousands(m.invocations) }</b></span>
                <span class={classes!((m.errors > 0).then_some("bad"))}>{"errors "}<b class="mono" data-testid={format!("lambda-{i}-errors")}>{ thousands(m.errors) }</b></span>
                <span>{"processed "}<b class="mono" data-testid={format!("lambda-{i}-processed")}>{ thousands(m.processed) }</b></span>
                <span class={classes!((m.invoked_again > 0).then_some("warn"))} title="records sent to the function more than once: a retry runs the whole batch again (at least once)">{"invoked again "}<b class="mono">{ thousands(m.invoked_again) }</b></span>
                <span class={classes!((m.discarded > 0).then_some("bad"))} title="records discarded after the retries or the maximum age ran out">{"discarded "}<b class="mono" data-testid={format!("lambda-{i}-discarded")}>{ thousands(m.discarded) }</b></span>
                if s.filter_criteria.is_some() {
                    <span title="records the filters dropped: the function never saw them, and the mapping moved past them">{"filtered out "}<b class="mono" data-testid={format!("lambda-{i}-filtered")}>{ thousands(m.filtered_out) }</b></span>
                }
                if m.expired > 0 {
                    <span class="bad" title="records that left the stream (retention) before they were processed">{"expired "}<b class="mono">{ thousands(m.expired) }</b></span>
                }
                <span title="IteratorAge: how old the last record of a batch was when the function was invoked (the largest over the shards' newest invocations)">{"IteratorAge "}<b class="mono" data-testid={format!("lambda-{i}-iterator-age")}>{ format!("{} ms", thousands(m.iterator_age_ms)) }</b></span>
                <span title="concurrent executions now">{"running "}<b class="mono">{ m.concurrent }</b></span>
            </div>
            <div class="table-scroll">
                <table class="sql-table" data-testid={format!("lambda-{i}-shards")}>
                    <thead><tr><th>{"shard"}</th><th class="num" title="records read and not yet processed">{"waiting"}</th><th class="num">{"running"}</th><th class="num" title="retries of the batch that is failing (a blocked shard)">{"retries"}</th><th class="num">{"processed"}</th></tr></thead>
                    <tbody>
                        { for m.shards.iter().map(|sh| html! {
                            <tr class={classes!((sh.retries > 0).then_some("warn"))}>
                                <td class="mono">{ &sh.shard_id }</td>
                                <td class="num mono">{ thousands(sh.waiting) }</td>
                                <td class="num mono">{ sh.in_flight }</td>
                                <td class="num mono">{ sh.retries }</td>
                                <td class="num mono">{ thousands(sh.processed) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
                <table class="sql-table" data-testid={format!("lambda-{i}-log")}>
                    <caption class="muted small">{"Newest invocations"}</caption>
                    <thead><tr><th>{"at"}</th><th>{"shard"}</th><th class="num">{"records"}</th><th class="num">{"ms"}</th><th class="num">{"try"}</th><th>{"result"}</th></tr></thead>
                    <tbody>
                        { for m.log.iter().rev().map(|l| html! {
                            <tr class={classes!((l.result != "Ok").then_some("bad"))}>
                                <td class="mono">{ elapsed(l.at_ms.saturating_sub(SCENARIO_EPOCH_MS)) }</td>
                                <td class="mono">{ &l.shard_id }</td>
                                <td class="num mono">{ l.records }</td>
                                <td class="num mono">{ thousands(l.duration_ms) }</td>
                                <td class="num mono">{ l.attempt }</td>
                                <td class="small" title={l.result.clone()}>{ &l.result }{ if l.terminated_early { " (state over 1 MB: window ended early)" } else { "" } }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
            { function_editor(i, &s.function, app, ctx) }
            if let Some(d) = latest_failure {
                <details class="small" data-testid={format!("lambda-{i}-failure")}>
                    <summary>{ format!(
                        "Newest discarded batch: {} record{} of {} ({}){}",
                        d.records,
                        if d.records == 1 { "" } else { "s" },
                        d.shard_id,
                        d.condition,
                        if s.on_failure.is_some() { ", as sent to the destination" } else { "" }
                    ) }</summary>
                    <pre class="mono">{ &d.document }</pre>
                </details>
            }
        </div>
    }
}

/// The function's code as JavaScript for Lambda's Node.js runtime (a
/// built-in as the Node.js function Move to AWS writes for it), editable,
/// and Deploy (UpdateFunctionCode): its next invocations run the new code,
/// in a worker of its own.
fn function_editor(i: usize, function: &str, app: &App, ctx: &Context<App>) -> Html {
    let current = app.function_code(function);
    let Some(code) = current else {
        return html! {};
    };
    let builtin = !matches!(code, FunctionCode::Javascript(_));
    let source = app
        .function_draft(function)
        .unwrap_or_else(|| shardlab_sim::export::lambda_source(&code));
    let oninput = {
        let function = function.to_string();
        ctx.link().callback(move |e: InputEvent| {
            let area = e.target_unchecked_into::<HtmlTextAreaElement>();
            Msg::FunctionDraft(function.clone(), area.value())
        })
    };
    let deploy = {
        let (function, source) = (function.to_string(), source.clone());
        ctx.link().batch_callback(move |_| {
            vec![
                Msg::FunctionDraft(function.clone(), source.clone()),
                Msg::DeployFunction(function.clone()),
            ]
        })
    };
    html! {
        <details class="small" data-testid={format!("lambda-{i}-code")}>
            <summary>{ format!(
                "Function {function}: {}",
                if builtin { "a built-in, shown as the Node.js function it is on AWS; edit it and Deploy to run your JavaScript" } else { "your JavaScript (Node.js runtime)" }
            ) }</summary>
            <textarea class="code" rows="16" spellcheck="false" value={source} {oninput} data-testid={format!("lambda-{i}-source")} />
            <div>
                <button class="secondary" onclick={deploy} data-testid={format!("lambda-{i}-deploy")}
                    title="UpdateFunctionCode: the next invocations run this code, in a Web Worker of its own with a 3 s limit">{"Deploy"}</button>
                <span class="muted">{" exports.handler receives Lambda's Kinesis event ({Records: [{kinesis: {data, partitionKey, sequenceNumber, ...}, eventID, ...}]}); throw to fail the batch, or return {batchItemFailures: [...]}."}</span>
            </div>
        </details>
    }
}
