//! A KCL application's workers and lease table, under its consumer row.

use shardlab_sim::kcl::{KclView, FAILOVER_MS, RENEW_MS, TAKE_MS};
use yew::prelude::*;

use crate::format::thousands;
use crate::{App, Msg};

/// The workers, each with its leases and a Stop/Start button, a button to
/// add one, and the lease table with the KCL's attribute names.
pub fn panel(i: usize, app: &str, kcl: &KclView, ctx: &Context<App>) -> Html {
    let next = shardlab_sim::kcl::worker_name(kcl.workers.len() as u32);
    let add = {
        let (app, next) = (app.to_string(), next.clone());
        ctx.link()
            .callback(move |_| Msg::KclWorker(app.clone(), next.clone(), true))
    };
    let can_add = kcl.workers.len() < shardlab_sim::kcl::MAX_WORKERS as usize;
    let c = &kcl.counts;
    html! {
        <div class="kcl" data-testid={format!("kcl-{i}")}>
            <p class="muted small">
                { format!(
                    "A KCL application: each worker renews its leases every {:.1} s; a lease not renewed for {} s is expired, and each worker's lease taker (every {:.2} s) takes expired leases or steals one from the busiest worker. Record processors checkpoint every {} s.",
                    RENEW_MS as f64 / 1000.0,
                    FAILOVER_MS / 1000,
                    TAKE_MS as f64 / 1000.0,
                    thousands(kcl.checkpoint_ms / 1000),
                ) }
            </p>
            <div class="kcl-workers">
                { for kcl.workers.iter().map(|w| {
                    let onclick = {
                        let (app, id, start) = (app.to_string(), w.worker_id.clone(), !w.alive);
                        ctx.link().callback(move |_| Msg::KclWorker(app.clone(), id.clone(), start))
                    };
                    html! {
                        <div class={classes!("kcl-worker", (!w.alive).then_some("stopped"))} data-testid={format!("kcl-{i}-{}", w.worker_id)}>
                            <strong>{ &w.worker_id }</strong>
                            <span class={classes!("pill", "tiny", (!w.alive).then_some("bad"))}>{ if w.alive { "running" } else { "stopped" } }</span>
                            <span class="small">{ format!(" {} lease{}", w.leases, if w.leases == 1 { "" } else { "s" }) }</span>
                            <div class="small muted mono">
                                { if w.processing.is_empty() { "processing nothing".to_string() } else { w.processing.join(" ") } }
                            </div>
                            <button class="secondary" {onclick} data-testid={format!("kcl-{i}-{}-toggle", w.worker_id)}
                                title={ if w.alive { "Stop it as a crash would: it neither renews nor checkpoints" } else { "Start it again: it joins with no leases and takes or steals some" } }>
                                { if w.alive { "Stop" } else { "Start" } }
                            </button>
                        </div>
                    }
                }) }
                if can_add {
                    <button class="secondary" onclick={add} data-testid={format!("kcl-{i}-add")}>{ format!("Add {next}") }</button>
                }
            </div>
            <div class="table-scroll">
                <table class="sql-table" data-testid={format!("kcl-{i}-leases")}>
                    <caption class="muted small">{ format!(
                        "Lease table: {} taken, {} stolen, {} lost by their holder, {} checkpoints",
                        thousands(c.taken), thousands(c.stolen), thousands(c.lost), thousands(c.checkpoints)
                    ) }</caption>
                    <thead><tr>
                        <th>{"leaseKey"}</th><th>{"leaseOwner"}</th><th class="num">{"leaseCounter"}</th>
                        <th>{"checkpoint"}</th><th class="num" title="ownerSwitchesSinceCheckpoint">{"switches"}</th>
                        <th>{"parentShardId"}</th><th class="num">{"processed"}</th>
                    </tr></thead>
                    <tbody>
                        { for kcl.leases.iter().map(|l| html! {
                            <tr>
                                <td class="mono">{ &l.lease_key }</td>
                                <td class="mono">{ l.lease_owner.clone().unwrap_or_else(|| "—".into()) }
                                    if l.blocked_on_parents { <span class="muted" title="its processor waits until every parent's checkpoint is SHARD_END">{" (waiting for parents)"}</span> }
                                </td>
                                <td class="num mono">{ l.lease_counter }</td>
                                <td class="mono" title={l.checkpoint.clone()}>{ short_checkpoint(&l.checkpoint) }</td>
                                <td class="num mono">{ l.owner_switches_since_checkpoint }</td>
                                <td class="mono">{ l.parent_shard_ids.join(", ") }</td>
                                <td class="num mono">{ thousands(l.processed) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </div>
    }
}

/// A 56-digit sequence number shortened to its last digits (the whole one
/// is in the cell's title); sentinels as they are.
fn short_checkpoint(c: &str) -> String {
    if c.len() > 16 && c.bytes().all(|b| b.is_ascii_digit()) {
        format!("…{}", &c[c.len() - 12..])
    } else {
        c.to_string()
    }
}
