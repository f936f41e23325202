//! The scenario's SQS queues and SNS topic, next to the stream.

use shardlab_sim::queues::MessagingView;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::format::thousands;
use crate::{App, Msg};

pub fn panel(messaging: Option<&MessagingView>, ctx: &Context<App>) -> Html {
    let Some(m) = messaging else {
        return html! {};
    };
    let subscribers: Vec<&str> = m
        .queues
        .iter()
        .filter(|q| q.from_topic)
        .map(|q| q.name.as_str())
        .collect();
    html! {
        <section class="queues" data-testid="queues" aria-label="Queues and topics">
            <h3>{"Queues and topics"}</h3>
            <p class="muted small">{"The producer sends each record to these SQS queues too. A queue's consumers compete: each message goes to one of them, who deletes it once processed; a message not deleted comes back after the visibility timeout. A FIFO queue keeps each message group (the partition key) in order; a standard queue only tries, and delivers at least once."}</p>
            if let Some(topic) = &m.topic {
                <p class="small" data-testid="topic">
                    <strong>{ format!("SNS topic {topic}") }</strong>
                    { format!(": {} published, each pushed to {}", thousands(m.published), if subscribers.is_empty() { "no queue".to_string() } else { subscribers.join(" and ") }) }
                </p>
            }
            <div class="table-scroll">
                <table class="sql-table">
                    <thead><tr>
                        <th>{"queue"}</th>
                        <th title="percent of messages the consumers fail to process (not deleted)">{"fail %"}</th>
                        <th class="num" title="waiting to be received">{"visible"}</th>
                        <th class="num" title="received, not yet deleted: hidden for the visibility timeout">{"in flight"}</th>
                        <th class="num" title="DelaySeconds: not visible yet">{"delayed"}</th>
                        <th class="num">{"sent"}</th><th class="num">{"received"}</th><th class="num">{"deleted"}</th>
                        <th class="num" title="received again after the visibility timeout ran out">{"redelivered"}</th>
                        <th class="num" title="extra copies (standard queues deliver at least once)">{"duplicates"}</th>
                        <th class="num" title="processed after a message sent later (of the same group, for FIFO)">{"out of order"}</th>
                        <th title="messages each competing consumer received">{"consumers"}</th>
                    </tr></thead>
                    <tbody>
                        { for m.queues.iter().map(|q| {
                            let name = q.name.clone();
                            let onchange = ctx.link().callback(move |e: Event| {
                                let input: HtmlInputElement = e.target_unchecked_into();
                                Msg::SetQueueFailures(name.clone(), input.value())
                            });
                            let c = &q.counts;
                            html! {
                                <tr data-testid={format!("queue-{}", q.name)}>
                                    <td><span class="mono">{ &q.name }</span>
                                        <div class="muted small">{ format!(
                                            "{}{}{}",
                                            if q.fifo { "FIFO" } else { "standard" },
                                            if q.from_topic { ", from the topic" } else { "" },
                                            if q.delay_ms > 0 { format!(", {} s delay", q.delay_ms / 1000) } else { String::new() },
                                        ) }</div>
                                    </td>
                                    <td><input type="number" min="0" max="100" class="narrow" aria-label={format!("fail percent of {}", q.name)}
                                        key={format!("fail-{}-{}", q.name, q.fail_percent)} ~defaultValue={q.fail_percent.to_string()} {onchange}
                                        data-testid={format!("queue-{}-fail", q.name)} /></td>
                                    <td class="num mono">{ thousands(q.visible) }</td>
                                    <td class="num mono">{ thousands(q.in_flight) }</td>
                                    <td class="num mono">{ thousands(q.delayed) }</td>
                                    <td class="num mono">{ thousands(c.sent) }</td>
                                    <td class="num mono">{ thousands(c.received) }</td>
                                    <td class="num mono" data-testid={format!("queue-{}-deleted", q.name)}>{ thousands(c.deleted) }</td>
                                    <td class="num mono" data-testid={format!("queue-{}-redelivered", q.name)}>{ thousands(c.redelivered) }</td>
                                    <td class="num mono">{ thousands(c.duplicates) }</td>
                                    <td class="num mono" data-testid={format!("queue-{}-out-of-order", q.name)}>{ thousands(c.out_of_order) }</td>
                                    <td class="mono">{ q.processed_per_consumer.iter().map(|n| thousands(*n)).collect::<Vec<_>>().join(" / ") }</td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}
