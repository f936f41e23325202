// Page bootstrap: load the UI's wasm and mount the app. Every URL here is
// relative, so the site works under any sub-path (e.g. GitHub Pages).
import init, { start_ui } from './pkg/shardlab_ui.js';

await init();
document.getElementById('app').replaceChildren();
start_ui();
