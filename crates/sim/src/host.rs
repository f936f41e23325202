//! Where shards live.
//!
//! A shard host delivers one tick's encoded requests to the shards and hands
//! back their encoded replies. `InProcessHost` keeps the shards in this
//! thread (native, tests, the server); the browser's host keeps each shard in
//! a Web Worker and is driven through `Simulation::begin_tick` and
//! `finish_tick` directly, because its replies arrive asynchronously.

use std::collections::BTreeMap;

use shardlab_engine::protocol::{ShardReply, ShardServer};

use crate::simulation::Simulation;
use crate::SimError;

pub trait ShardHost {
    /// Delivers each `(shard index, request bytes)` and returns the reply
    /// bytes, one per request, in any order.
    fn exchange(&mut self, requests: Vec<(u32, Vec<u8>)>) -> Result<Vec<Vec<u8>>, SimError>;
}

/// Every shard in this thread, served from the same bytes a worker gets.
#[derive(Default)]
pub struct InProcessHost {
    servers: BTreeMap<u32, ShardServer>,
}

impl InProcessHost {
    pub fn new() -> Self {
        InProcessHost::default()
    }

    pub fn server(&self, shard_index: u32) -> Option<&ShardServer> {
        self.servers.get(&shard_index)
    }
}

impl ShardHost for InProcessHost {
    fn exchange(&mut self, requests: Vec<(u32, Vec<u8>)>) -> Result<Vec<Vec<u8>>, SimError> {
        Ok(requests
            .into_iter()
            .map(|(i, bytes)| self.servers.entry(i).or_default().handle_bytes(&bytes))
            .collect())
    }
}

fn decode_all(replies: Vec<Vec<u8>>) -> Result<Vec<ShardReply>, SimError> {
    replies
        .iter()
        .map(|b| {
            ShardReply::decode(b)
                .map_err(|e| SimError::Host(format!("undecodable shard reply: {e}")))
        })
        .collect()
}

/// Opens every shard of `sim` on `host` and checks each answered.
pub fn open_shards(sim: &Simulation, host: &mut impl ShardHost) -> Result<(), SimError> {
    let requests = sim
        .open_requests()
        .into_iter()
        .map(|(i, r)| (i, r.encode()))
        .collect();
    let mut opened: Vec<u32> = Vec::new();
    for reply in decode_all(host.exchange(requests)?)? {
        match reply {
            ShardReply::Opened { shard_index } => opened.push(shard_index),
            ShardReply::Failed { reason } => return Err(SimError::Host(reason)),
            other => {
                return Err(SimError::Host(format!(
                    "unexpected reply to Open: {other:?}"
                )))
            }
        }
    }
    opened.sort_unstable();
    if opened != (0..sim.shard_count()).collect::<Vec<_>>() {
        return Err(SimError::Host(format!("shards opened: {opened:?}")));
    }
    Ok(())
}

/// Runs one tick of `dt_ms` with the shards on `host`.
pub fn run_tick(
    sim: &mut Simulation,
    host: &mut impl ShardHost,
    dt_ms: u64,
) -> Result<(), SimError> {
    let requests = sim
        .begin_tick(dt_ms)
        .into_iter()
        .map(|(i, r)| (i, r.encode()))
        .collect();
    let replies = decode_all(host.exchange(requests)?)?;
    sim.finish_tick(replies)
}
