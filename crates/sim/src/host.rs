//! Where shards live.
//!
//! A shard host runs one tick's batch of shard operations for the shards it
//! keeps and hands back the results. `InProcessHost` keeps the shards in
//! this thread (native, tests, benchmarks); the browser's host keeps them in
//! Web Workers and is driven through `Simulation::begin_tick` and
//! `finish_tick` directly, because its replies arrive asynchronously. Both
//! speak the byte protocol of `shardlab_engine::protocol` and keep a
//! [`Journal`] per host, so both survive a lost host the same way.

use shardlab_engine::protocol::{ShardBatch, ShardBatchReply, ShardServer};

use crate::durability::{Journal, JournalStats};
use crate::simulation::{ReadBackShard, Scenario, Simulation};
use crate::SimError;

/// A lost host is replaced at most this many times for one batch; losing
/// it once more ends the run.
pub const MAX_RECOVERY_ATTEMPTS: u32 = 3;

pub trait ShardHost {
    /// Runs each host's batch (one per host, in host order) and returns
    /// their replies in the same order.
    fn exchange(
        &mut self,
        batches: Vec<(u32, ShardBatch)>,
    ) -> Result<Vec<ShardBatchReply>, SimError>;
}

struct Slot {
    /// None after the host was killed, until it is replaced.
    server: Option<ShardServer>,
    journal: Journal,
}

/// Every shard in this thread, served from the same bytes a worker gets.
#[derive(Default)]
pub struct InProcessHost {
    slots: Vec<Slot>,
}

impl InProcessHost {
    pub fn new() -> Self {
        InProcessHost::default()
    }

    fn slot(&mut self, index: u32) -> &mut Slot {
        let i = index as usize;
        while self.slots.len() <= i {
            self.slots.push(Slot {
                server: Some(ShardServer::new()),
                journal: Journal::new(),
            });
        }
        &mut self.slots[i]
    }

    /// The server of host `host_index` (see `Simulation::host_of`), if alive.
    pub fn server(&self, host_index: u32) -> Option<&ShardServer> {
        self.slots.get(host_index as usize)?.server.as_ref()
    }

    /// Loses host `host_index` and everything in it, as a crashed worker
    /// would; the next batch for it finds it gone and restores it.
    pub fn kill(&mut self, host_index: u32) {
        self.slot(host_index).server = None;
    }

    pub fn journal_stats(&self, host_index: u32) -> Option<JournalStats> {
        Some(self.slots.get(host_index as usize)?.journal.stats())
    }
}

impl Slot {
    fn run(&mut self, request: Vec<u8>) -> Result<ShardBatchReply, SimError> {
        let mut request = request;
        for _ in 0..=MAX_RECOVERY_ATTEMPTS {
            let server = match &mut self.server {
                Some(server) => server,
                None => {
                    // Replace the lost host: restore, then resend.
                    let mut fresh = ShardServer::new();
                    let reply = fresh
                        .handle_bytes(&self.journal.restore_request())
                        .map_err(|_| SimError::Host("a restoring host crashed".into()))?;
                    self.journal.check_restored(&reply)?;
                    if let Some(again) = self.journal.resend_request() {
                        request = again;
                    }
                    self.server.insert(fresh)
                }
            };
            match server.handle_bytes(&request) {
                Ok(reply) => return self.journal.accept(&reply),
                Err(_crash) => self.server = None,
            }
        }
        Err(SimError::Host(format!(
            "a shard host was lost {} times in a row",
            MAX_RECOVERY_ATTEMPTS + 1
        )))
    }
}

impl ShardHost for InProcessHost {
    fn exchange(
        &mut self,
        batches: Vec<(u32, ShardBatch)>,
    ) -> Result<Vec<ShardBatchReply>, SimError> {
        batches
            .into_iter()
            .map(|(i, batch)| {
                let slot = self.slot(i);
                let request = slot.journal.run_request(&batch);
                slot.run(request)
            })
            .collect()
    }
}

/// Opens every shard of `sim` on `host` and checks each answered.
pub fn open_shards(sim: &mut Simulation, host: &mut impl ShardHost) -> Result<(), SimError> {
    let replies = host.exchange(sim.open_requests())?;
    sim.check_opened(replies)
}

/// A simulation of `scenario` with every shard in this thread, opened:
/// what tests, benchmarks, graders and `shardlab run` start from.
pub fn start_in_process(scenario: Scenario) -> Result<(Simulation, InProcessHost), SimError> {
    let mut sim = Simulation::new(scenario)?;
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host)?;
    Ok((sim, host))
}

/// Runs one tick of `dt_ms` with the shards on `host`.
pub fn run_tick(
    sim: &mut Simulation,
    host: &mut impl ShardHost,
    dt_ms: u64,
) -> Result<(), SimError> {
    let replies = host.exchange(sim.begin_tick(dt_ms)?)?;
    sim.finish_tick(replies)
}

/// Runs `ticks` ticks of `dt_ms`, planning each tick before the previous
/// one's replies are in whenever `Simulation::can_plan_ahead` allows, as
/// the browser's worker host does to overlap the coordinator's work with
/// the shards'. `before(t, sim)` runs before tick `t` is planned (and, when
/// it is planned ahead, before its predecessor's replies are in). The
/// results are exactly those of `run_tick` in a loop.
pub fn run_ticks_planning_ahead(
    sim: &mut Simulation,
    host: &mut impl ShardHost,
    ticks: u32,
    dt_ms: u64,
    mut before: impl FnMut(u32, &mut Simulation),
) -> Result<(), SimError> {
    if ticks == 0 {
        return Ok(());
    }
    before(0, sim);
    let mut next = Some(sim.begin_tick(dt_ms)?);
    for t in 0..ticks {
        let batches = next
            .take()
            .ok_or_else(|| SimError::Host("no tick planned".into()))?;
        // In the browser the batches are posted here and the shards work
        // while the coordinator plans the next tick.
        let ahead = t + 1 < ticks && sim.can_plan_ahead();
        if ahead {
            before(t + 1, sim);
            if sim.can_plan_ahead() {
                next = Some(sim.begin_tick(dt_ms)?);
            }
        }
        let replies = host.exchange(batches)?;
        sim.finish_tick(replies)?;
        if t + 1 < ticks && next.is_none() {
            if !ahead {
                before(t + 1, sim);
            }
            next = Some(sim.begin_tick(dt_ms)?);
        }
    }
    Ok(())
}

/// Reads every shard back from `host` and checks it holds exactly what was
/// acknowledged; returns what was read.
pub fn read_back(
    sim: &Simulation,
    host: &mut impl ShardHost,
) -> Result<Vec<ReadBackShard>, SimError> {
    let mut reading = sim.read_back();
    while let Some(batches) = reading.requests() {
        let replies = host.exchange(batches)?;
        reading.absorb(replies)?;
    }
    let shards = reading.shards().to_vec();
    sim.verify_read_back(&shards)?;
    Ok(shards)
}
