//! The data streams a SQL application writes to (KinesisStreamsOutput):
//! their shards and the newest records written.

use shardlab_sim::output_stream::OutputStreamView;
use yew::prelude::*;

use crate::format::{bytes, thousands};

pub fn panel(streams: &[OutputStreamView]) -> Html {
    if streams.is_empty() {
        return html! {};
    }
    html! {
        <section class="output-streams" aria-label="Output streams">
            { for streams.iter().map(stream) }
        </section>
    }
}

fn stream(s: &OutputStreamView) -> Html {
    html! {
        <div data-testid={format!("output-stream-{}", s.name)}>
            <h3>{ format!("Output stream {}", s.name) }</h3>
            <p class="muted small">
                { format!("The SQL application writes its output here with PutRecords, a random partition key per row; a refused record waits and goes again, in order. {} records. Read them in the SDK console with StreamName '{}' (ARN {}).", thousands(s.records()), s.name, s.arn) }
            </p>
            <div class="table-scroll">
                <table class="sql-table">
                    <thead><tr>
                        <th>{"shard"}</th>
                        <th class="num">{"records"}</th>
                        <th class="num">{"bytes"}</th>
                        <th class="num" title="refused over the shard's write limits, sent again">{"throttled"}</th>
                        <th>{"latest sequence number"}</th>
                    </tr></thead>
                    <tbody>
                        { for s.shards.iter().map(|shard| html! {
                            <tr>
                                <td class="mono">{ &shard.shard_id }</td>
                                <td class="num">{ thousands(shard.records) }</td>
                                <td class="num">{ bytes(shard.bytes) }</td>
                                <td class="num">{ thousands(shard.throttled) }</td>
                                <td class="mono small">{ shard.latest_sequence_number.clone().unwrap_or_else(|| "—".into()) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
            if !s.newest.is_empty() {
                <div class="table-scroll">
                    <table class="sql-table" data-testid={format!("output-records-{}", s.name)}>
                        <thead><tr>
                            <th>{"shard"}</th>
                            <th>{"sequence number"}</th>
                            <th>{"partition key"}</th>
                            <th>{"data"}</th>
                        </tr></thead>
                        <tbody>
                            { for s.newest.iter().rev().map(|r| html! {
                                <tr>
                                    <td class="mono small">{ &r.shard_id }</td>
                                    <td class="mono small">{ &r.sequence_number }</td>
                                    <td class="mono small">{ &r.partition_key }</td>
                                    <td class="mono small">{ &r.data }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                </div>
            }
        </div>
    }
}
