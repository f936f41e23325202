// One shard's data plane. The first message is the compiled wasm module,
// sent by the simulation worker so that it is compiled once, not once per
// shard; every later message is one tick's batch of bytes.
import init, { shard_worker_start } from './pkg/shardlab_worker.js';

self.onmessage = async (event) => {
  self.onmessage = null;
  await init({ module_or_path: event.data });
  shard_worker_start();
};
