// Runs the benchmark workloads in this browser and publishes the figures
// on `window.benchResults` (read by `cargo xtask bench`) and on the page.
import init, { bench_barrier, bench_engine, bench_ingest_in_process, bench_ingest_on_workers } from './pkg/shardlab_worker.js';

const out = document.getElementById('results');

async function timed(run) {
  const started = performance.now();
  const summary = await run();
  return { ...summary, seconds: (performance.now() - started) / 1000 };
}

// One warm-up run, then the best of three, as in the native run.
async function best(run) {
  await run();
  let best = null;
  for (let i = 0; i < 3; i++) {
    const r = await timed(run);
    if (!best || r.seconds < best.seconds) best = r;
  }
  return best;
}

// Engine workloads time themselves inside wasm (only the measured phase).
function bestOf(run) {
  run();
  let best = null;
  for (let i = 0; i < 3; i++) {
    const r = run();
    if (!best || r.seconds < best.seconds) best = r;
  }
  return best;
}

const ENGINE_RECORDS = 500000;
// Firehose: 50,000 records of 1,000 bytes (50 MB) buffered, GZIP'd, written.
const FIREHOSE_RECORDS = 50000;
// SQL: 2,000,000 rows through a 10-second tumbling GROUP BY over 10,000 keys.
const SQL_ROWS = 2000000;

try {
  await init();
  const engine = ['put-records-typed', 'put-records-json', 'get-records-json'].map((name) => ({
    host: 'wasm-in-process',
    ...bestOf(() => bench_engine(name, ENGINE_RECORDS)),
  }));
  engine.push({ host: 'wasm-in-process', ...bestOf(() => bench_engine('firehose-gzip-s3', FIREHOSE_RECORDS)) });
  engine.push({ host: 'wasm-in-process', ...bestOf(() => bench_engine('sql-tumbling-10k-keys', SQL_ROWS)) });
  const shardScript = new URL('./shard-worker.js', document.baseURI).href;
  const inProcess = await best(async () => bench_ingest_in_process());
  const results = [...engine, { host: 'wasm-in-process', ...inProcess }];
  for (const n of [1, 2, 4, 8]) {
    results.push({ host: `wasm-workers-${n}`, ...(await best(() => bench_ingest_on_workers(shardScript, n))) });
  }
  // Barrier overhead: 8 workers, empty batches; the best of three.
  let barrier = Infinity;
  for (let i = 0; i < 3; i++) barrier = Math.min(barrier, await bench_barrier(shardScript, 8, 2000));
  window.benchBarrier = { workers: 8, ticks: 2000, micros_per_tick: barrier };
  out.textContent = results
    .map((r) => `${r.name} on ${r.host}: ${r.records} records in ${r.seconds.toFixed(3)} s ` +
      `(${Math.round(r.records / r.seconds)} records/s), digest ${r.digest}`)
    .join('\n') + `\nbarrier: ${barrier.toFixed(1)} µs per tick with 8 workers and empty batches`;
  window.benchResults = results;
} catch (e) {
  out.textContent = `benchmark failed: ${e}`;
  window.benchResults = { error: String(e) };
}
