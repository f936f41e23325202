//! Where shards live.
//!
//! A shard host delivers one tick's encoded requests to the shards and hands
//! back their encoded replies. `InProcessHost` keeps the shards in this
//! thread (native, tests, the server); the browser's host keeps each shard in
//! a Web Worker and is driven through `Simulation::begin_tick` and
//! `finish_tick` directly, because its replies arrive asynchronously.

use std::collections::BTreeMap;

use shardlab_engine::protocol::ShardServer;

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

    /// The server of host `host_index` (see `Simulation::host_of`).
    pub fn server(&self, host_index: u32) -> Option<&ShardServer> {
        self.servers.get(&host_index)
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

/// Opens every shard of `sim` on `host` and checks each answered.
pub fn open_shards(sim: &mut Simulation, host: &mut impl ShardHost) -> Result<(), SimError> {
    let replies = host.exchange(sim.open_requests_encoded())?;
    sim.check_opened(&replies)
}

/// Runs one tick of `dt_ms` with the shards on `host`.
pub fn run_tick(
    sim: &mut Simulation,
    host: &mut impl ShardHost,
    dt_ms: u64,
) -> Result<(), SimError> {
    let replies = host.exchange(sim.begin_tick_encoded(dt_ms)?)?;
    sim.finish_tick_encoded(&replies)
}
