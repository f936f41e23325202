//! The form's other producers: each with a name, a rate, partition keys
//! and a record template of its own, added and removed before the stream
//! is created.

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::{App, Msg, ProducerForm, StreamForm};

/// A change to producer `i` of the form.
fn edit<E>(
    form: &StreamForm,
    ctx: &Context<App>,
    i: usize,
    set: fn(&mut ProducerForm, String),
    value: fn(E) -> String,
) -> Callback<Event>
where
    E: JsCast + AsRef<web_sys::EventTarget> + 'static,
{
    let base = form.clone();
    ctx.link().callback(move |e: Event| {
        let mut next = base.clone();
        if let Some(p) = next.producers.get_mut(i) {
            set(p, value(e.target_unchecked_into::<E>()));
        }
        Msg::EditForm(Box::new(next))
    })
}

pub fn fields(form: &StreamForm, ctx: &Context<App>) -> Html {
    let base = form.clone();
    let onadd = ctx.link().callback(move |_| {
        let mut next = base.clone();
        // The first free name of the form producer-N.
        let name = (1..)
            .map(|n| format!("producer-{n}"))
            .find(|n| !next.producers.iter().any(|p| &p.name == n))
            .unwrap_or_default();
        next.producers.push(ProducerForm {
            name,
            rate_per_sec: "100".into(),
            keys: Default::default(),
            rate_shape: Default::default(),
            record_template: String::new(),
            record_size_bytes: None,
        });
        Msg::EditForm(Box::new(next))
    });
    let full = form.producers.len() + 1 >= shardlab_sim::simulation::MAX_PRODUCERS;
    let summary = match form.producers.len() {
        0 => "More producers (none)".to_string(),
        n => format!("More producers ({n})"),
    };
    html! {
        <details class="template" open={!form.producers.is_empty()} data-testid="producers">
            <summary>{ summary }</summary>
            <p class="hint">{"Other applications writing to the same stream, each with its own rate, partition keys and records, and PutRecords calls of its own (after the form's producer, producer-0, in each tick). A noisy neighbour with one hot key is one way to see a shard throttle while the others are fine."}</p>
            { for form.producers.iter().enumerate().map(|(i, p)| row(form, ctx, i, p)) }
            <button type="button" class="secondary" onclick={onadd} disabled={full} data-testid="producer-add">{"Add a producer"}</button>
        </details>
    }
}

fn row(form: &StreamForm, ctx: &Context<App>, i: usize, p: &ProducerForm) -> Html {
    let input_value = |e: HtmlInputElement| e.value();
    let onname = edit(form, ctx, i, |p, v| p.name = v, input_value);
    let onrate = edit(form, ctx, i, |p, v| p.rate_per_sec = v, input_value);
    let ontemplate = edit(
        form,
        ctx,
        i,
        |p, v| p.record_template = v,
        |e: HtmlTextAreaElement| e.value(),
    );
    let onkeys = edit(
        form,
        ctx,
        i,
        |p, v| {
            if let Some((_, _, k)) = crate::view::key_choices()
                .into_iter()
                .find(|(id, _, _)| *id == v)
            {
                p.keys = k;
            }
        },
        |e: HtmlSelectElement| e.value(),
    );
    let base = form.clone();
    let onremove = ctx.link().callback(move |_| {
        let mut next = base.clone();
        if i < next.producers.len() {
            next.producers.remove(i);
        }
        Msg::EditForm(Box::new(next))
    });
    let standard = crate::view::key_choices()
        .iter()
        .any(|(id, _, k)| crate::view::is_key_choice(id, k, &p.keys));
    html! {
        <div class="producer-row" data-testid={format!("producer-{i}")}>
            <div class="field-row">
                <label class="field">
                    <span class="field-label">{"Name"}</span>
                    <input type="text" value={p.name.clone()} onchange={onname} data-testid={format!("producer-name-{i}")} />
                </label>
                <label class="field">
                    <span class="field-label">{"Records/s"}</span>
                    <input type="number" min="0" value={p.rate_per_sec.clone()} onchange={onrate} data-testid={format!("producer-rate-{i}")} />
                </label>
                <label class="field">
                    <span class="field-label">{"Partition keys"}</span>
                    <select onchange={onkeys} data-testid={format!("producer-keys-{i}")}>
                        { for crate::view::key_choices().into_iter().map(|(id, label, k)| html! {
                            <option value={id} selected={crate::view::is_key_choice(id, &k, &p.keys)}>{ label }</option>
                        }) }
                        if !standard {
                            <option value="preset" selected=true>{ format!("From the preset: {}", p.keys.describe()) }</option>
                        }
                    </select>
                </label>
                <button type="button" class="secondary" onclick={onremove} data-testid={format!("producer-remove-{i}")}>{"Remove"}</button>
            </div>
            <label class="field">
                <span class="field-label">{"Record template"}</span>
                <textarea class="mono" rows="2" value={p.record_template.clone()} onchange={ontemplate} placeholder="empty: clickstream events; or a template such as {\"sensor\": {{random.number(50)}}}" data-testid={format!("producer-template-{i}")} />
            </label>
        </div>
    }
}
