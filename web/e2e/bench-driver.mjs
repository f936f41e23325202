// Opens the built site's bench.html in headless Chromium, waits for the
// figures and prints them as JSON on stdout (read by `cargo xtask bench`).
import { readFileSync } from 'node:fs';
import { launch, siteUrl } from './chromium.mjs';

const { context, close } = await launch();
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(new URL('bench.html', siteUrl()).href);
  await page.waitForFunction(() => window.benchResults !== undefined, null, { timeout: 600_000 });
  const results = await page.evaluate(() => window.benchResults);
  const barrier = await page.evaluate(() => window.benchBarrier ?? null);
  const browser = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
  const ui = await uiFrames(context, errors);
  // The figure: the stream alone. Then with the form's consumer.
  const fastForward = await fastForwardHour(context, errors, 0);
  const fastForwardConsumer = await fastForwardHour(context, errors, 200);
  console.log(JSON.stringify({
    browser, results, barrier, ui,
    fast_forward: fastForward, fast_forward_consumer: fastForwardConsumer, errors,
  }));
} finally {
  await close();
}

// A new page of the playground with a stream of `shards` shards made by
// the form at `rate` records/s.
async function playground(context, errors, shards, rate, fields = {}) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(siteUrl());
  await page.getByTestId('create').and(page.locator(':enabled')).waitFor({ timeout: 60_000 });
  await page.fill('#shard-count', String(shards));
  await page.fill('#rate', String(rate));
  for (const [field, value] of Object.entries(fields)) await page.fill(field, value);
  await page.getByTestId('create').click();
  await page.locator(`[data-shard="${shards - 1}"]`).waitFor({ timeout: 60_000 });
  return page;
}

// The playground's "+1 h" on a 4-shard stream at 4,000 records/s (the
// form's defaults otherwise: random keys; consumers polling every `poll`
// ms, none for 0): the wall time until the hour is done, and the run digest, which
// `cargo xtask bench` checks against `shardlab run` of the same scenario
// (the workspace file the page downloads). A run that has not finished
// after LIMIT_S reports how far it got.
async function fastForwardHour(context, errors, poll) {
  const LIMIT_S = 600;
  const page = await playground(context, errors, 4, 4000, { '#consumer-poll': String(poll) });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('share-download').click()]);
  const scenario = JSON.parse(readFileSync(await download.path(), 'utf8')).scenario;
  const started = Date.now();
  await page.getByTestId('ff-hour').click();
  let finished = true;
  try {
    // Done, or stopped (the memory budget, a failure): whichever is first.
    await page.waitForFunction(
      () => !document.querySelector('[data-testid="status"]')?.textContent.startsWith('Fast-forward')
        || document.querySelector('[data-testid="error"]') !== null,
      null,
      { timeout: LIMIT_S * 1000, polling: 100 },
    );
  } catch {
    finished = false;
  }
  const wall_s = (Date.now() - started) / 1000;
  const stopped = await page.getByTestId('error').allInnerTexts();
  if (stopped.length) errors.push(`the fast-forward stopped: ${stopped.join(' ')}`);
  finished &&= (await page.getByTestId('clock').innerText()) === '1:00:00.0';
  const [h, m, sec] = (await page.getByTestId('clock').innerText()).split(':');
  const virtual_s = (Number(h) * 60 + Number(m)) * 60 + Number(sec);
  const digest = await page.getByTestId('digest').innerText();
  await page.close();
  return { scenario, finished, wall_s, virtual_s, digest };
}

// The UI thread while the playground simulates 32 shards at 1,000 records/s
// each (32,000 records/s) at 1x: per display frame, the time from the
// frame's requestAnimationFrame callback until the thread is free again
// (a task posted then runs after the frame's rendering and any snapshot
// handling queued before it), and the interval between frames.
async function uiFrames(context, errors) {
  const page = await playground(context, errors, 32, 32000);
  await page.getByTestId('toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Running');
  const clock = async () => {
    const [h, m, s] = (await page.getByTestId('clock').innerText()).split(':');
    return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000;
  };
  const virtualBefore = await clock();
  const wallBefore = Date.now();
  const measured = await page.evaluate(
    (seconds) =>
      new Promise((resolve) => {
        const work = [];
        const intervals = [];
        const channel = new MessageChannel();
        let frameStart = 0;
        let last = 0;
        const end = performance.now() + seconds * 1000;
        channel.port1.onmessage = () => work.push(performance.now() - frameStart);
        const frame = (t) => {
          frameStart = performance.now();
          if (last) intervals.push(t - last);
          last = t;
          channel.port2.postMessage(0);
          if (frameStart < end) requestAnimationFrame(frame);
          else resolve({ work, intervals, wall_ms: seconds * 1000 });
        };
        requestAnimationFrame(frame);
      }),
    8,
  );
  const virtualAfter = await clock();
  const wall = Date.now() - wallBefore;
  await page.close();
  const p95 = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? NaN;
  };
  return {
    shards: 32,
    records_per_sec: 32000,
    frames: measured.intervals.length,
    p95_frame_work_ms: p95(measured.work),
    p95_frame_interval_ms: p95(measured.intervals),
    virtual_ms_per_wall_ms: (virtualAfter - virtualBefore) / wall,
  };
}
