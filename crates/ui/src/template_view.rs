//! The producer's record template on the page: a textarea in the Kinesis
//! Data Generator's syntax, a few starters, and "Test template", which asks
//! the simulation worker for the first records the stream would get (the
//! fake data lives in the worker's wasm, not the page's).

use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::format::thousands;
use crate::{App, Msg};

/// Templates to start from: (label, template). The first two are the
/// KDG help page's own examples.
pub const STARTERS: &[(&str, &str)] = &[
    (
        "KDG help: a CSV person",
        "{{name.firstName}},{{name.lastName}},{{random.number(70)}},{{internet.ip}}",
    ),
    (
        "KDG help: a temperature sensor",
        r#"{
    "sensorId": {{random.number(50)}},
    "currentTemperature": {{random.number(
        {
            "min":10,
            "max":150
        }
    )}},
    "status": "{{random.arrayElement(
        ["OK","FAIL","WARN"]
    )}}"
}"#,
    ),
    (
        "Stock ticker (the KDA demo stream)",
        r#"{
    "TICKER_SYMBOL": "{{random.arrayElement(["AAPL","AMZN","MSFT","INTC","TBV","NFLX","QXZ"])}}",
    "SECTOR": "{{random.arrayElement(["TECHNOLOGY","RETAIL","HEALTHCARE","ENERGY","FINANCIAL"])}}",
    "CHANGE": {{random.number({"min":-5,"max":5,"precision":0.01})}},
    "PRICE": {{random.number({"min":10,"max":150,"precision":0.01})}}
}"#,
    ),
    (
        "Weighted choices and the virtual clock",
        r#"{
    "pet": "{{random.weightedArrayElement({"weights":[0.3,0.2,0.5],"data":["cat","fish","dog"]})}}",
    "owner": "{{name.findName}}",
    "city": "{{address.city}}",
    "seen_at": "{{date.now("YYYY-MM-DD HH:mm:ss")}}"
}"#,
    ),
];

/// The answer to the last "Test template".
#[derive(Clone, Debug, PartialEq)]
pub enum Samples {
    Records(Vec<(String, String)>),
    /// Line, column and what is wrong.
    Error(u64, u64, String),
}

pub fn fields(app: &App, ctx: &Context<App>) -> Html {
    let form = app.form.clone();
    let base = form.clone();
    let oninput = ctx.link().callback(move |e: InputEvent| {
        let area: HtmlTextAreaElement = e.target_unchecked_into();
        let mut next = base.clone();
        next.record_template = area.value();
        Msg::EditForm(Box::new(next))
    });
    let base = form.clone();
    let onstarter = ctx.link().callback(move |e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        let mut next = base.clone();
        next.record_template = select
            .value()
            .parse::<usize>()
            .ok()
            .and_then(|i| STARTERS.get(i))
            .map(|(_, t)| t.to_string())
            .unwrap_or_default();
        Msg::EditForm(Box::new(next))
    });
    let ontest = ctx.link().callback(|_| Msg::TestTemplate);
    let samples = match &app.template_samples {
        None => html! {},
        Some(Samples::Records(records)) => html! {
            <div class="template-samples" data-testid="template-samples">
                <p class="muted">{ format!("The first {} records this stream will get (partition key, then data):", records.len()) }</p>
                { for records.iter().map(|(key, data)| html! {
                    <div class="sample">
                        <span class="mono muted sample-key">{ key.clone() }</span>
                        <pre class="mono">{ data.clone() }</pre>
                    </div>
                }) }
            </div>
        },
        Some(Samples::Error(line, column, message)) => html! {
            <p class="template-error" data-testid="template-error">
                { format!("Line {line}, column {column}: {message}") }
            </p>
        },
    };
    html! {
        <details class="template" open={!form.record_template.is_empty()}>
            <summary>{ if form.record_template.trim().is_empty() {
                "Record template: clickstream events (built in)".to_string()
            } else {
                "Record template: your own".to_string()
            } }</summary>
            <label class="field" for="template">
                <span class="field-label">{"Template"}</span>
                <textarea id="template" class="code" rows="9" spellcheck="false"
                    value={form.record_template.clone()} {oninput} data-testid="template"
                    placeholder={"{\"id\": {{random.number(100)}}, \"name\": \"{{name.firstName}}\"}  (empty: built-in clickstream events)"} />
                <span class="hint">{"Amazon Kinesis Data Generator syntax: {{name.firstName}}, {{internet.ip}}, {{random.number({\"min\":1,\"max\":100})}}, {{random.arrayElement([...])}}, {{random.weightedArrayElement({...})}}, {{date.now(\"...\")}}. Seeded, and dates come from the virtual clock. Line breaks are removed, as the KDG removes them."}</span>
            </label>
            <div class="field-row">
                <label class="field" for="template-starter">
                    <span class="field-label">{"Start from"}</span>
                    <select id="template-starter" onchange={onstarter} data-testid="template-starter">
                        <option value="" selected={form.record_template.trim().is_empty()}>{"Built-in clickstream events (no template)"}</option>
                        { for STARTERS.iter().enumerate().map(|(i, (label, t))| html! {
                            <option value={i.to_string()} selected={form.record_template == *t}>{ *label }</option>
                        }) }
                        if !form.record_template.trim().is_empty() && !STARTERS.iter().any(|(_, t)| form.record_template == *t) {
                            <option value="own" selected=true disabled=true>{"Your template (or the preset's)"}</option>
                        }
                    </select>
                </label>
                <button type="button" onclick={ontest} disabled={!app.ready || form.record_template.trim().is_empty()} data-testid="test-template">{"Test template"}</button>
            </div>
            { samples }
        </details>
    }
}

/// The agent: a file dropped or chosen, whose lines the producer sends as
/// records (as the Kinesis Agent tails a file), with the conversion, a
/// repeat switch, and the first records it makes.
pub fn agent_fields(app: &App, ctx: &Context<App>) -> Html {
    use shardlab_sim::agent::AgentFormat;
    let form = app.form.clone();
    let onfile = ctx.link().batch_callback(|e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        input
            .files()
            .filter(|f| f.length() > 0)
            .map(|_| Msg::OpenAgentFile(input))
    });
    let onformat = ctx.link().callback(|e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        Msg::AgentFormat(match select.value().as_str() {
            "csv" => AgentFormat::CsvToJson,
            "common" => AgentFormat::CommonApacheLog,
            "combined" => AgentFormat::CombinedApacheLog,
            "error" => AgentFormat::ApacheErrorLog,
            "syslog" => AgentFormat::Syslog,
            _ => AgentFormat::Lines,
        })
    });
    let base = form.clone();
    let onrepeat = ctx.link().callback(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let mut next = base.clone();
        if let Some(a) = next.agent.as_mut() {
            a.repeat = input.checked();
        }
        Msg::EditForm(Box::new(next))
    });
    let base = form.clone();
    let onremove = ctx.link().callback(move |_| {
        let mut next = base.clone();
        next.agent = None;
        Msg::EditForm(Box::new(next))
    });
    let summary = match &form.agent {
        None => "Agent: stream a file's lines (off)".to_string(),
        Some(a) => format!("Agent: streaming {}", a.name),
    };
    let check = form.agent.as_ref().map(|a| agent_check(app, a));
    html! {
        <details class="template" open={form.agent.is_some()} data-testid="agent">
            <summary>{ summary }</summary>
            <label class="field" for="agent-file">
                <span class="field-label">{"File"}</span>
                <input id="agent-file" type="file" accept=".log,.txt,.csv,.json,.jsonl,.ndjson,text/*" onchange={onfile} data-testid="agent-file" />
                <span class="hint">{ format!(
                    "A log, CSV or JSON-lines file (up to {} lines, {} MiB): each line becomes a record, sent in order at the producer's rate with its partition keys, as the Amazon Kinesis Agent sends a file's lines. It stays in this browser and in the stream's scenario.",
                    thousands(shardlab_sim::agent::MAX_LINES as u64),
                    shardlab_sim::agent::MAX_BYTES / (1024 * 1024)
                ) }</span>
            </label>
            if let Some(a) = &form.agent {
                <div class="field-row">
                    <label class="field" for="agent-format">
                        <span class="field-label">{"Each line"}</span>
                        <select id="agent-format" onchange={onformat} data-testid="agent-format">
                            <option value="lines" selected={a.format == AgentFormat::Lines}>{"as it is (SINGLELINE)"}</option>
                            <option value="csv" selected={a.format == AgentFormat::CsvToJson}>{"CSV to JSON: the first line names the columns (CSVTOJSON)"}</option>
                            <option value="common" selected={a.format == AgentFormat::CommonApacheLog}>{"Apache common log to JSON (LOGTOJSON COMMONAPACHELOG)"}</option>
                            <option value="combined" selected={a.format == AgentFormat::CombinedApacheLog}>{"Apache combined log to JSON (LOGTOJSON COMBINEDAPACHELOG)"}</option>
                            <option value="error" selected={a.format == AgentFormat::ApacheErrorLog}>{"Apache error log to JSON (LOGTOJSON APACHEERRORLOG)"}</option>
                            <option value="syslog" selected={a.format == AgentFormat::Syslog}>{"Syslog to JSON (LOGTOJSON SYSLOG); lines in no format are skipped"}</option>
                        </select>
                    </label>
                    <label class="check">
                        <input type="checkbox" checked={a.repeat} onchange={onrepeat} data-testid="agent-repeat" />
                        {" From the first line again after the last"}
                    </label>
                    <button type="button" class="secondary" onclick={onremove} data-testid="agent-remove">{"Remove the file"}</button>
                </div>
                { agent_options(a, &form, ctx) }
                if let Some(Err(e)) = &check {
                    <p class="template-error" data-testid="agent-error">{ e }</p>
                }
                if let Some(Ok((count, records))) = &check {
                    <div class="template-samples" data-testid="agent-samples">
                        <p class="muted">{ format!(
                            "{}: {} lines, {} records{}. The first ones:",
                            a.name,
                            thousands(a.lines.len() as u64),
                            thousands(*count as u64),
                            if a.repeat { ", sent over and over" } else { ", sent once" }
                        ) }</p>
                        { for records.iter().map(|r| html! {
                            <pre class="mono">{ r }</pre>
                        }) }
                    </div>
                }
            }
        </details>
    }
}

/// What an agent's file makes: how many records and the first three, or
/// what is wrong with it.
pub type AgentPreview = Result<(usize, Vec<String>), String>;

/// The file the preview was worked out for, and the preview.
pub type AgentCheck = (shardlab_sim::agent::AgentFile, AgentPreview);

/// The agent's file checked and converted (up to 20,000 lines): once per
/// change of the file or its options, kept in the app, not once per frame.
fn agent_check(app: &App, a: &shardlab_sim::agent::AgentFile) -> AgentPreview {
    let mut cache = app.agent_check.borrow_mut();
    if let Some((file, preview)) = cache.as_ref() {
        if file == a {
            return preview.clone();
        }
    }
    let preview = a.validate().and_then(|()| a.records()).map(|records| {
        let first = records
            .iter()
            .take(3)
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        (records.len(), first)
    });
    *cache = Some((a.clone(), preview.clone()));
    preview
}

/// The agent's options for the chosen conversion: CSVTOJSON's
/// `customFieldNames` and `delimiter`, LOGTOJSON's `customFieldNames` and
/// `matchPattern`. Each applies when the input changes; the panel says
/// what is wrong with them, and the stream cannot be created until it is
/// mended.
fn agent_options(
    a: &shardlab_sim::agent::AgentFile,
    form: &crate::StreamForm,
    ctx: &Context<App>,
) -> Html {
    use shardlab_sim::agent::{AgentFile, AgentFormat};
    let edit = |set: fn(&mut AgentFile, String)| {
        let base = form.clone();
        ctx.link().callback(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut next = base.clone();
            if let Some(a) = next.agent.as_mut() {
                set(a, input.value());
            }
            Msg::EditForm(Box::new(next))
        })
    };
    let names_text = a
        .custom_field_names
        .as_ref()
        .map(|n| n.join(", "))
        .unwrap_or_default();
    let set_names: fn(&mut AgentFile, String) = |a, v| {
        let names: Vec<String> = v.split(',').map(|n| n.trim().to_string()).collect();
        a.custom_field_names = (!v.trim().is_empty()).then_some(names);
    };
    let names = |hint: &'static str| {
        html! {
            <label class="field" for="agent-field-names">
                <span class="field-label">{"Field names (customFieldNames)"}</span>
                <input id="agent-field-names" type="text" value={names_text.clone()} onchange={edit(set_names)} data-testid="agent-field-names" placeholder="e.g. id, name, amount" />
                <span class="hint">{ hint }</span>
            </label>
        }
    };
    if a.format == AgentFormat::CsvToJson {
        let delimiter = match a.delimiter.as_deref() {
            Some("\t") => "\\t".to_string(),
            Some(d) => d.to_string(),
            None => String::new(),
        };
        html! {
            <div class="field-row">
                { names("comma-separated; given, every line is a row and these name its columns (the agent's CSVTOJSON needs them); empty, the first line names them") }
                <label class="field" for="agent-delimiter">
                    <span class="field-label">{"Delimiter"}</span>
                    <input id="agent-delimiter" type="text" size="3" value={delimiter} placeholder="," onchange={edit(|a, v| {
                        a.delimiter = match v.as_str() {
                            "" => None,
                            "\\t" | "tab" => Some("\t".into()),
                            _ => Some(v),
                        };
                    })} data-testid="agent-delimiter" />
                    <span class="hint">{"one character; \\t for a tab"}</span>
                </label>
            </div>
        }
    } else if let Some(format) = a.format.log_format() {
        html! {
            <div class="field-row">
                { names("comma-separated: the format's fields renamed in order, or one per group of the match pattern") }
                <label class="field" for="agent-match-pattern">
                    <span class="field-label">{"Match pattern (matchPattern)"}</span>
                    <input id="agent-match-pattern" type="text" class="mono" value={a.match_pattern.clone().unwrap_or_default()} onchange={edit(|a, v| {
                        a.match_pattern = (!v.is_empty()).then_some(v);
                    })} data-testid="agent-match-pattern" placeholder={format!("{format}'s own pattern")} />
                    <span class="hint">{"a regular expression whose groups are the fields, for a format of your own; lines it does not match are skipped"}</span>
                </label>
            </div>
        }
    } else {
        html! {}
    }
}
