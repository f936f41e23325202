// The service worker: after the first visit the whole site is in this
// browser's cache, so Shardlab opens and runs offline. `cargo xtask dist`
// writes the list of files and a version (a hash of every file) into this
// script; a new deploy is a new script, which the browser installs beside
// the old one and switches to once no tab uses the old one any more (a
// page and its workers always come from one version).
const VERSION = '__SHARDLAB_VERSION__';
const FILES = __SHARDLAB_FILES__;
const CACHE = `shardlab-${VERSION}`;
const PREFIX = 'shardlab-';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // `reload`: the network's copy, not the HTTP cache's.
    await cache.addAll(FILES.map((file) => new Request(file, { cache: 'reload' })));
    // The first version takes over at once; later ones wait (see above).
    if (!self.registration.active) await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // The site's page, with or without index.html, is the cached page (its
    // routes are in the fragment); anything else is itself, cached or not.
    const scope = new URL(self.registration.scope).pathname;
    const path = new URL(request.url).pathname;
    const page = request.mode === 'navigate' && (path === scope || path === `${scope}index.html`);
    const key = page ? new URL('index.html', self.registration.scope).href : request;
    const cached = await cache.match(key, { ignoreSearch: true });
    if (cached) return cached;
    return fetch(request);
  })());
});
