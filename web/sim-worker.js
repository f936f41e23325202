// The simulation worker: coordinator, producers and tick loop, off the UI
// thread. It starts the shard workers itself (see shard-worker.js).
import init, { simulation_worker_start } from './pkg/shardlab_worker.js';

await init();
simulation_worker_start();
