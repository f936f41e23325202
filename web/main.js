// Page bootstrap: load the UI's wasm and mount the app. Every URL here is
// relative, so the site works under any sub-path (e.g. GitHub Pages).
import init, { start_ui } from './pkg/shardlab_ui.js';

// Offline after the first visit (see sw.js). Not where service workers
// are unavailable (http: other than localhost, some private modes).
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((e) => console.warn(`Shardlab works online only here: ${e}`));
}

await init();
document.getElementById('app').replaceChildren();
start_ui();
// The SQL editor (CodeMirror, 147 KB gzipped) is fetched only once the
// SQL panel first appears; it then upgrades the panel's textarea.
const sqlPanel = new MutationObserver(() => {
  if (!document.getElementById('sql-code')) return;
  sqlPanel.disconnect();
  import('./sql-editor.js').then((m) => m.watch());
});
sqlPanel.observe(document.body, { childList: true, subtree: true });
