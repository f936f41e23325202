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
    /// Runs the journal's request in flight.
    fn run(&mut self) -> Result<ShardBatchReply, SimError> {
        let mut again: Option<Vec<u8>> = None;
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
                    again = self.journal.resend_request();
                    self.server.insert(fresh)
                }
            };
            let request = match &again {
                Some(bytes) => &bytes[..],
                None => self
                    .journal
                    .in_flight()
                    .ok_or_else(|| SimError::Host("no batch in flight".into()))?,
            };
            match server.handle_bytes(request) {
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
                slot.journal.run_request(&batch);
                slot.run()
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

/// At most this many ticks go to the hosts in one exchange (one message
/// per worker): 4 virtual seconds. In the browser each exchange costs a
/// round trip through every shard worker whatever it carries (0.38 ms
/// with 4 workers on 2 cores, measured: 13.6 s of an empty hour's
/// fast-forward), and posting a message costs the simulation worker about
/// 100 µs besides its bytes (measured in Chromium with a timer around
/// each post, a build without wasm-opt: the hour of 4 shards at 1,000
/// records/s took 19.4 s in groups of 10 ticks, 14.2 s in groups of 40,
/// and 14.2 s in groups of 100), so ticks that may be planned ahead
/// travel together.
pub const MAX_TICKS_PER_EXCHANGE: usize = 40;

/// A group takes no more ticks once its puts hold this many bytes (keys
/// and data), so that a fast stream's messages stay a few MiB.
pub const MAX_BYTES_PER_EXCHANGE: u64 = 8 << 20;

/// Ticks planned ahead and sent together: one exchange's batches (each
/// host's ticks, concatenated in tick order) and how to split the replies
/// back into ticks.
pub struct TickGroup {
    pub batches: Vec<(u32, ShardBatch)>,
    pub split: TickSplit,
}

/// How a [`TickGroup`]'s replies split into its ticks.
pub struct TickSplit {
    /// Per host (in the batches' order): its operations in each tick.
    ops_per_tick: Vec<Vec<usize>>,
    ticks: usize,
}

impl TickGroup {
    /// Joins ticks planned by `Simulation::begin_tick`, oldest first.
    fn join(ticks: Vec<Vec<(u32, ShardBatch)>>) -> TickGroup {
        let count = ticks.len();
        let mut batches: Vec<(u32, ShardBatch)> = Vec::new();
        let mut ops_per_tick: Vec<Vec<usize>> = Vec::new();
        for (t, tick) in ticks.into_iter().enumerate() {
            for (host, batch) in tick {
                let slot = match batches.iter().position(|(h, _)| *h == host) {
                    Some(slot) => slot,
                    None => {
                        batches.push((host, ShardBatch::default()));
                        ops_per_tick.push(vec![0; count]);
                        batches.len() - 1
                    }
                };
                ops_per_tick[slot][t] = batch.ops.len();
                batches[slot].1.ops.extend(batch.ops);
            }
        }
        TickGroup {
            batches,
            split: TickSplit {
                ops_per_tick,
                ticks: count,
            },
        }
    }
}

impl TickSplit {
    /// Splits the hosts' replies to `batches` into each tick's replies (one
    /// per host, as `Simulation::finish_tick` takes them), oldest first.
    pub fn split(
        &self,
        replies: Vec<ShardBatchReply>,
    ) -> Result<Vec<Vec<ShardBatchReply>>, SimError> {
        if replies.len() != self.ops_per_tick.len() {
            return Err(SimError::Host(format!(
                "expected {} replies, one per host, got {}",
                self.ops_per_tick.len(),
                replies.len()
            )));
        }
        let mut ticks: Vec<Vec<ShardBatchReply>> = (0..self.ticks)
            .map(|_| Vec::with_capacity(replies.len()))
            .collect();
        for (reply, counts) in replies.into_iter().zip(&self.ops_per_tick) {
            match reply {
                ShardBatchReply::Results(results) => {
                    let expected: usize = counts.iter().sum();
                    if results.len() != expected {
                        return Err(SimError::Host(format!(
                            "a host answered {} results for {expected} operations",
                            results.len()
                        )));
                    }
                    let mut results = results.into_iter();
                    for (tick, &n) in ticks.iter_mut().zip(counts) {
                        tick.push(ShardBatchReply::Results(results.by_ref().take(n).collect()));
                    }
                }
                ShardBatchReply::Failed { reason } => {
                    for tick in &mut ticks {
                        tick.push(ShardBatchReply::Failed {
                            reason: reason.clone(),
                        });
                    }
                }
            }
        }
        Ok(ticks)
    }
}

/// Plans `ticks` ticks of `dt_ms` in groups of up to
/// [`MAX_TICKS_PER_EXCHANGE`]: a tick joins the group (or the next group
/// is planned while one is with the hosts) whenever
/// `Simulation::can_plan_ahead` allows, so the coordinator's work overlaps
/// the shards' and a fast-forward pays one round trip per group rather
/// than per tick. `before(t, sim)` runs just before tick `t` is planned.
/// The results are exactly those of `run_tick` in a loop; both hosts drive
/// it the same way (see `run_ticks_planning_ahead`).
pub struct TickPipeline {
    ticks: u32,
    dt_ms: u64,
    /// Ticks whose `before` has run.
    hooked: u32,
    /// Ticks planned so far.
    planned: u32,
    next: Vec<Vec<(u32, ShardBatch)>>,
    /// Bytes of the puts in `next`.
    next_bytes: u64,
}

impl TickPipeline {
    pub fn new(ticks: u32, dt_ms: u64) -> TickPipeline {
        TickPipeline {
            ticks,
            dt_ms,
            hooked: 0,
            planned: 0,
            next: Vec::new(),
            next_bytes: 0,
        }
    }

    /// Plans more ticks into the next group, as far as allowed. With
    /// `must` (nothing is in flight), one tick is planned in any case, and
    /// only that one: it goes at once, and the ticks after it are planned
    /// while the shards run it. (A tick that must wait for replies, after
    /// a consumer's read, would otherwise join the next group and take
    /// the overlap with it: measured slower in Chromium.)
    pub fn plan(
        &mut self,
        sim: &mut Simulation,
        must: bool,
        before: &mut impl FnMut(u32, &mut Simulation),
    ) -> Result<(), SimError> {
        while self.planned < self.ticks
            && self.next.len() < MAX_TICKS_PER_EXCHANGE
            && self.next_bytes < MAX_BYTES_PER_EXCHANGE
        {
            let forced = must && self.next.is_empty();
            if !forced && !sim.can_plan_ahead() {
                break;
            }
            if self.hooked <= self.planned {
                before(self.planned, sim);
                self.hooked = self.planned + 1;
                if !forced && !sim.can_plan_ahead() {
                    break;
                }
            }
            let tick = sim.begin_tick(self.dt_ms)?;
            self.next_bytes += tick.iter().map(|(_, b)| b.put_bytes()).sum::<u64>();
            self.next.push(tick);
            self.planned += 1;
            if forced {
                break;
            }
        }
        Ok(())
    }

    /// The next group to send, if any tick is planned.
    pub fn take(&mut self) -> Option<TickGroup> {
        self.next_bytes = 0;
        (!self.next.is_empty()).then(|| TickGroup::join(std::mem::take(&mut self.next)))
    }

    /// Whether no tick is planned and unsent.
    pub fn is_empty(&self) -> bool {
        self.next.is_empty()
    }
}

/// Runs `ticks` ticks of `dt_ms` through a [`TickPipeline`], as the
/// browser's worker host does: while a group is with the shards (here: just
/// before it is exchanged) the next one is planned. `before(t, sim)` runs
/// before tick `t` is planned (which may be before earlier ticks' replies
/// are in). The results are exactly those of `run_tick` in a loop.
pub fn run_ticks_planning_ahead(
    sim: &mut Simulation,
    host: &mut impl ShardHost,
    ticks: u32,
    dt_ms: u64,
    before: impl FnMut(u32, &mut Simulation),
) -> Result<(), SimError> {
    run_ticks_with(sim, host, ticks, dt_ms, before, |_| {})
}

/// [`run_ticks_planning_ahead`], with `after(sim)` run after each tick
/// finishes, before the next one does: where the host answers what the
/// tick asked of the outside world (HTTP endpoint requests), as the
/// browser's worker host does.
pub fn run_ticks_with(
    sim: &mut Simulation,
    host: &mut impl ShardHost,
    ticks: u32,
    dt_ms: u64,
    mut before: impl FnMut(u32, &mut Simulation),
    mut after: impl FnMut(&mut Simulation),
) -> Result<(), SimError> {
    let mut pipeline = TickPipeline::new(ticks, dt_ms);
    pipeline.plan(sim, true, &mut before)?;
    while let Some(group) = pipeline.take() {
        // In the browser the batches are posted here and the shards work
        // while the coordinator plans the next group.
        pipeline.plan(sim, false, &mut before)?;
        let replies = host.exchange(group.batches)?;
        for replies in group.split.split(replies)? {
            sim.finish_tick(replies)?;
            after(sim);
        }
        let must = pipeline.is_empty();
        pipeline.plan(sim, must, &mut before)?;
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
