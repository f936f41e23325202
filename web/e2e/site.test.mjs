// End-to-end: the built site, served under a sub-path (SHARDLAB_URL, e.g.
// http://127.0.0.1:PORT/shardlab/), driven in headless Chromium.
// `cargo xtask test` builds, serves and runs this; a screenshot of the
// running stream lands in web/e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, siteUrl } from './chromium.mjs';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
const TIMEOUT = 60_000;

let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  await page.goto(siteUrl());
  await page.getByTestId('create').and(page.locator(':enabled')).waitFor();
});

after(async () => {
  await browser?.close();
});

const int = (text) => Number(text.replace(/[^0-9]/g, ''));
const text = (testId) => page.getByTestId(testId).innerText();
const shardCounts = () =>
  page.$$eval('[data-testid^="records-"]', (cells) =>
    cells.map((c) => Number(c.textContent.replace(/[^0-9]/g, ''))),
  );
// "0:00:03.2" -> 3200 ms of virtual time
const clockMs = async () => {
  const [h, m, s] = (await text('clock')).split(':');
  return Math.round(((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000);
};

async function createStream({ shards, rate, seed, consumerPollMs = 0, keys = 'random', setup = async () => {} }) {
  const before = (await page.getByTestId('stream-name').count()) ? await text('digest') : null;
  await page.fill('#stream-name', 'clickstream');
  await page.fill('#shard-count', String(shards));
  await page.fill('#rate', String(rate));
  await page.fill('#seed', String(seed));
  await page.fill('#consumer-poll', String(consumerPollMs));
  await page.getByTestId('keys').selectOption(keys);
  // No record template, agent file or aggregation, whatever a preset loaded before.
  if (await page.getByTestId('template').inputValue()) await page.getByTestId('template').fill('');
  if (await page.getByTestId('agent-remove').count()) await page.getByTestId('agent-remove').click();
  await page.getByTestId('aggregation').setChecked(false);
  await setup();
  await page.getByTestId('create').click();
  await page.locator(`[data-shard="${shards - 1}"]`).waitFor();
  await page.waitForFunction(
    ([n, old]) =>
      document.querySelectorAll('[data-shard]').length === n &&
      document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
      document.querySelector('[data-testid="digest"]')?.textContent !== old,
    [shards, before],
  );
}

test('the page loads from the sub-path with every asset', async () => {
  const url = new URL(page.url());
  assert.equal(url.pathname, new URL(siteUrl()).pathname);
  assert.match(await page.title(), /Shardlab/);
  assert.match(await page.locator('header').innerText(), /Shardlab/);
});

test('a 4-shard stream runs with each shard in its own worker; counts rise, pause stops them', async () => {
  await createStream({ shards: 4, rate: 2000, seed: 42 });

  // One simulation worker and four shard workers, all loaded from the sub-path.
  const base = new URL(siteUrl()).pathname;
  const workerUrls = page.workers().map((w) => new URL(w.url()).pathname);
  assert.ok(workerUrls.includes(`${base}sim-worker.js`), `workers: ${workerUrls}`);
  assert.equal(workerUrls.filter((u) => u === `${base}shard-worker.js`).length, 4, `workers: ${workerUrls}`);
  for (let i = 0; i < 4; i++) assert.equal(await text(`host-${i}`), `worker ${i}`);
  assert.deepEqual(await shardCounts(), [0, 0, 0, 0]);

  await page.getByTestId('toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Running');
  // Counts rise on every shard, and keep rising.
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid^="records-"]')].every(
      (c) => Number(c.textContent.replace(/[^0-9]/g, '')) > 0,
    ),
  );
  const first = await shardCounts();
  await page.waitForFunction(
    (prev) =>
      [...document.querySelectorAll('[data-testid^="records-"]')].every(
        (c, i) => Number(c.textContent.replace(/[^0-9]/g, '')) > prev[i],
      ),
    first,
  );
  for (let i = 0; i < 4; i++) assert.match(await text(`seq-${i}`), /^\d{56}$/);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'running-stream.png'), fullPage: true });

  await page.getByTestId('toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  const paused = { clock: await clockMs(), counts: await shardCounts(), produced: int(await text('stat-produced')) };

  // Paused means frozen: the only way forward is a step, which advances
  // the virtual clock by exactly one 100 ms tick (2,000 records/s -> 200).
  const pausedClock = await text('clock');
  await page.getByTestId('step').click();
  await page.waitForFunction(
    (t) => document.querySelector('[data-testid="clock"]')?.textContent !== t,
    pausedClock,
  );
  assert.equal(await clockMs(), paused.clock + 100);
  assert.equal(int(await text('stat-produced')), paused.produced + 200);
  const stepped = await shardCounts();
  assert.ok(
    stepped.every((n, i) => n >= paused.counts[i]),
    `${stepped} vs ${paused.counts}`,
  );
  assert.ok(stepped.reduce((a, b) => a + b) - paused.counts.reduce((a, b) => a + b) <= 200);
  assert.equal(await text('status'), 'Paused');
});

test('same seed, same numbers: five steps match the native engine', async () => {
  for (let run = 0; run < 2; run++) {
    await createStream({ shards: 4, rate: 2000, seed: 42 });
    for (let i = 0; i < 5; i++) await page.getByTestId('step').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.5');
    // The same figures `pinned_default_stream_after_five_steps` pins in
    // crates/sim/tests/run.rs.
    assert.deepEqual(await shardCounts(), [257, 251, 231, 261]);
    assert.equal(await text('digest'), '099ec34aa352fcc2');
  }
});

test('killing a shard worker loses nothing: it is restored and the run is unchanged', async () => {
  await createStream({ shards: 4, rate: 2000, seed: 42 });
  // Terminate worker 1 abruptly; the coordinator only notices when it
  // misses its next deadline, then replaces and restores it.
  await page.getByTestId('kill-1').click();
  for (let i = 0; i < 5; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.5');
  // The same records, sequence numbers and digest as a run without the kill.
  assert.deepEqual(await shardCounts(), [257, 251, 231, 261]);
  assert.equal(await text('digest'), '099ec34aa352fcc2');
  assert.equal(await text('recoveries-1'), '1×');
  assert.equal(await text('recoveries-0'), '0×');
  assert.match(await text('recovery-1'), /no reply within \d+ ms.*restored/);
  const shardWorkers = page.workers().filter((w) => w.url().endsWith('/shard-worker.js'));
  assert.equal(shardWorkers.length, 4, 'the dead worker was replaced, not added to');
});

test('split and merge from the shard table', async () => {
  await createStream({ shards: 4, rate: 2000, seed: 42 });
  await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.1');
  await page.getByTestId('split-0').click();
  await page.getByTestId('step').click();
  await page.locator('[data-shard="5"]').waitFor();
  assert.equal(await text('open-shards'), '5 open shards · PROVISIONED');
  assert.equal(await text('closed-0'), 'CLOSED');
  // Children are placed on workers by shard index: shard 5 on worker 1.
  assert.equal(await text('host-5'), 'worker 1');
  // The two children are adjacent: merge them back into one.
  await page.getByTestId('merge-4').click();
  await page.getByTestId('step').click();
  await page.locator('[data-shard="6"]').waitFor();
  assert.equal(await text('open-shards'), '4 open shards · PROVISIONED');
  // Three steps in all: commands run in the order they were sent.
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.3');
  const counts = await shardCounts();
  // Records flowed into each generation; closed parents keep theirs.
  assert.ok(counts[0] > 0 && counts[4] > 0 && counts[5] > 0 && counts[6] > 0, `${counts}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'resharded-stream.png'), fullPage: true });
});

test('a consumer application reads the stream and shows how far behind it is', async () => {
  await createStream({ shards: 2, rate: 1000, seed: 7, consumerPollMs: 200 });
  for (let i = 0; i < 10; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:01.0');
  const delivered = int(await text('consumer-delivered-0'));
  const accepted = int(await text('stat-accepted'));
  assert.ok(delivered > 0 && delivered <= accepted, `${delivered} of ${accepted}`);
  // MillisBehindLatest of its last read: a number of ms, within the one
  // virtual second the stream has run.
  const lag = await text('consumer-lag-0');
  assert.match(lag, /^\d[\d,]* ms$/);
  assert.ok(int(lag) <= 1000, lag);
  assert.match(await page.getByTestId('consumer-0').innerText(), /consumer-app\s*· GetRecords every 200 ms on each of 2 shards/);
  // Each shard's lane: what it keeps, the last second's records, and the
  // consumer's position on it.
  for (const id of ['shardId-000000000000', 'shardId-000000000001']) {
    const lane = page.getByTestId(`lane-${id}`);
    assert.match(await lane.locator('svg').getAttribute('aria-label'), new RegExp(`${id}: [\\d,]+ records kept, the oldest from 0:00:00`));
    assert.equal(await lane.locator('rect.reader').count(), 1);
    assert.ok(await lane.locator('rect.records').count() >= 1);
  }
});

// Loads a preset into the form and waits until it is there: the stream
// name is first set to something no preset has, so a form that already
// showed the preset cannot pass for the loaded one.
/** Down the bucket browser's prefix tree through `names`, then, with
 * `deepest`, into the first folder until there is none. */
async function openFolders(names, deepest = false) {
  for (const folder of names) {
    await page.getByTestId('folder').filter({ hasText: folder }).click();
    await page.locator('.crumbs').filter({ hasText: folder }).waitFor();
  }
  for (let i = 0; deepest && i < 8; i++) {
    const folder = page.getByTestId('folder');
    if (!(await folder.count())) break;
    const label = await folder.first().innerText();
    await folder.first().click();
    await page.locator('.crumbs').filter({ hasText: label }).waitFor();
  }
}

/** `n` clicks of +1 min from 0:00, each waited for. */
async function fastForwardMinutes(n) {
  for (let i = 1; i <= n; i++) {
    await page.getByTestId('ff-minute').click();
    await page.waitForFunction((t) => document.querySelector('[data-testid="clock"]')?.textContent === t, `0:0${i}:00.0`);
  }
}

async function selectPreset(file, streamName) {
  await page.fill('#stream-name', 'not-loaded-yet');
  await page.getByTestId('preset').selectOption(file);
  await page.waitForFunction((name) => document.querySelector('#stream-name')?.value === name, streamName);
}

// Loads the clickstream preset into the form and creates its stream.
async function createClickstreamPreset() {
  await selectPreset('clickstream.json', 'clickstream');
  await page.waitForFunction(() => document.querySelector('#consumer-poll')?.value === '200' &&
    document.querySelector('#rate')?.value === '2000' &&
    !document.querySelector('[data-testid="firehose-enabled"]')?.checked);
  await createFromForm();
}

// Creates the stream the form describes and waits for it.
async function createFromForm() {
  const before = (await page.getByTestId('digest').count()) ? await text('digest') : null;
  await page.getByTestId('create').click();
  await page.waitForFunction(
    (old) => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
      document.querySelector('[data-testid="digest"]')?.textContent !== old,
    before,
  );
}

test('a preset scenario gives the same digest in the browser as `shardlab run`', async () => {
  await createClickstreamPreset();
  for (let i = 0; i < 50; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:05.0');
  // `the_presets_run_and_report` in crates/server/tests/cli.rs pins the
  // native run of the same file for 5 s.
  assert.equal(await text('digest'), '29b4a1ffaeac05b7');
  assert.equal(await text('consumer-delivered-0'), '10,000');
  assert.match(await page.getByTestId('consumer-0').innerText(), /^analytics/);
});

test('Firehose buffers for its interval, then an object lands in the bucket and opens', async () => {
  await page.getByTestId('preset').selectOption('clicks-to-s3.json');
  await page.waitForFunction(() => document.querySelector('#fh-interval')?.value === '60');
  assert.ok(await page.getByTestId('firehose-enabled').isChecked());
  await page.getByTestId('create').click();
  await page.getByTestId('firehose').waitFor();
  // Two seconds in: the delivery stream has read what there is, and it
  // waits in the buffer, well short of its 60 s interval.
  for (let i = 0; i < 20; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:02.0');
  assert.match(await text('ds-buffer-0'), /^[1-9][\d,]* records · .* of 1\.0 MiB · seals in 5\d\.\d s \(interval\)$/);
  assert.equal(await text('ds-delivered-0'), '0');
  // The outage switch: on, then off again (the run goes on unharmed).
  await page.getByTestId('outage-0').click();
  await page.getByTestId('outage-0').filter({ hasText: 'End bucket outage' }).waitFor();
  await page.getByTestId('outage-0').click();
  await page.getByTestId('outage-0').filter({ hasText: 'Start bucket outage' }).waitFor();
  // Run fast until the interval has passed and the first object is there.
  await page.getByTestId('speed').selectOption('100');
  await page.getByTestId('toggle').click();
  await page.waitForFunction(() =>
    Number(document.querySelector('[data-testid="ds-delivered-0"]')?.textContent.replace(/[^0-9]/g, '') || 0) > 0);
  await page.getByTestId('toggle').click();
  assert.match(await page.getByTestId('ds-flushes-0').innerText(), /interval/);
  // A minute of CloudWatch metrics: 100 records/s in, about 6,000.
  await page.getByTestId('ds-metrics-0').locator('summary').click();
  assert.match(await page.getByTestId('ds-metrics-0').innerText(), /DeliveryToS3\.DataFreshness[\s\S]*00:00\s+5,\d{3}/);
  assert.match(await text('ds-compare-0'), /landed 6\d\.\d s after its oldest record arrived/);
  // Down the prefix tree to the object, and open it: GZIP undone, one
  // JSON record per line.
  await openFolders(['clicks/', 'year=2026/', 'month=01/', 'day=01/']);
  await page.getByTestId('object').first().click();
  const preview = page.getByTestId('object-preview');
  await preview.waitFor();
  const body = await preview.innerText();
  assert.match(body, /clicks\/year=2026\/month=01\/day=01\/clicks-to-s3-1-2026-01-01-00-00-00-[0-9a-f-]{36}\.gz/);
  assert.match(body, /GZIP: .* stored, .* original/);
  assert.match(body, /^\{"event_id":\d+,/m);
  // Download saves the object as stored: the GZIP file Firehose wrote.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
  assert.match(download.suggestedFilename(), /^clicks-to-s3-1-2026-01-01-00-00-00-[0-9a-f-]{36}\.gz$/);
  const saved = readFileSync(await download.path());
  assert.match(gunzipSync(saved).toString('utf8'), /^\{"event_id":\d+,/);
});

test('Firehose converts JSON to Parquet with a Glue table: the same bytes as natively, rows in the preview', async () => {
  await page.getByTestId('preset').selectOption('ticks-to-parquet.json');
  await page.waitForFunction(() => document.querySelector('#fh-size')?.value === '64');
  // The form shows the conversion: the preset's Glue table and its columns,
  // the object itself UNCOMPRESSED (Parquet compresses inside).
  assert.match(await page.locator('.firehose-fields').innerText(), /the AWS Glue table analytics\.stock_ticks/);
  assert.ok(await page.getByTestId('firehose-parquet').isChecked());
  assert.match(await page.getByTestId('firehose-columns').inputValue(), /^ticker_symbol string\nsector string\nchange double\nprice decimal\(10,2\)\nevent_time timestamp$/);
  assert.equal(await page.locator('#fh-compression').inputValue(), 'UNCOMPRESSED');
  await page.getByTestId('create').click();
  await page.getByTestId('firehose').waitFor();
  await fastForwardMinutes(2);
  // `the_parquet_preset...` in crates/server/tests/cli.rs: `shardlab run
  // ticks-to-parquet.json --for 2m` reaches this digest, which folds in every
  // object's bytes: the Parquet file is byte for byte the native one.
  assert.equal(await text('digest'), '4ddc752bbcf49584');
  assert.equal(await text('ds-delivered-0'), '12,040');
  await openFolders(['ticks/', 'year=2026/', 'month=01/', 'day=01/']);
  await page.getByTestId('object').first().click();
  const preview = page.getByTestId('object-preview');
  await preview.waitFor();
  const body = await preview.innerText();
  assert.match(body, /ticks-to-parquet-1-2026-01-01-00-00-00-[0-9a-f-]{36}\.parquet/);
  assert.match(body, /Apache Parquet: .* stored, 12,040 records; rows shown as JSON/);
  // Typed columns in the table's order: the JSON keys were upper case.
  assert.match(body, /^\{"ticker_symbol":"[A-Z]+","sector":"[A-Z]+","change":-?\d+(\.\d+)?,"price":"?\d+\.\d\d"?,"event_time":"2026-01-01 00:00:0\d/m);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
  const saved = readFileSync(await download.path());
  assert.equal(saved.subarray(0, 4).toString(), 'PAR1');
  assert.equal(saved.subarray(saved.length - 4).toString(), 'PAR1');
  // A column the records cannot fill: every record fails conversion and
  // is filed under format-conversion-failed/ with the reason.
  await page.getByTestId('firehose-columns').fill('ticker_symbol string\nsector int');
  await page.getByTestId('create').click();
  await page.getByTestId('firehose').waitFor();
  await fastForwardMinutes(2);
  assert.equal(await text('ds-delivered-0'), '0');
  await openFolders(['errors/', 'format-conversion-failed/'], true);
  await page.getByTestId('object').first().click();
  assert.match(await page.getByTestId('object-preview').innerText(),
    /"lastErrorCode":"DataFormatConversion\.MalformedData","lastErrorMessage":"Data does not match the schema\. For input string: \\"[A-Z]+\\""/);
  // Back to no conversion and no Firehose for the tests that follow.
  await page.getByTestId('firehose-parquet').uncheck();
  await page.getByTestId('firehose-enabled').uncheck();
});

test('a JavaScript transform runs in its own worker and shapes what lands in S3', async () => {
  await createStream({ shards: 2, rate: 1000, seed: 11 });
  await page.getByTestId('firehose-enabled').check();
  await page.fill('#fh-interval', '0');
  await page.getByTestId('firehose-transform').selectOption('javascript');
  // The form starts from AWS's blueprint shape: drop views, slim the rest.
  assert.match(await page.getByTestId('firehose-js').inputValue(), /exports\.handler = async \(event\)/);
  await page.getByTestId('create').click();
  await page.getByTestId('ds-transform-0').waitFor();
  await page.getByTestId('speed').selectOption('100');
  await page.getByTestId('toggle').click();
  await page.waitForFunction(() =>
    Number(document.querySelector('[data-testid="ds-delivered-0"]')?.textContent.replace(/[^0-9]/g, '') || 0) > 0);
  await page.getByTestId('toggle').click();
  assert.ok(page.workers().some((w) => w.url().endsWith('/lambda-worker.js')), 'the function has a worker of its own');
  assert.match(await text('ds-transform-0'), /Lambda transform: .* [1-9][\d,]* Ok, [1-9][\d,]* dropped, 0 failed/);
  await openFolders([], true);
  await page.getByTestId('object').first().click();
  const body = await page.getByTestId('object-preview').innerText();
  assert.match(body, /^\{"user":"user-\d+","action":"(click|purchase|add_to_cart)","page":/m);
  assert.doesNotMatch(body, /"action":"view"/);
  // Back to no Firehose for the tests that follow.
  await page.getByTestId('firehose-enabled').uncheck();
});

test('Firehose to OpenSearch: documents land in hourly indices and can be searched', async () => {
  await page.getByTestId('preset').selectOption('clicks-to-opensearch.json');
  await page.waitForFunction(() => document.querySelector('#rate')?.value === '200');
  await page.getByTestId('create').click();
  await page.getByTestId('opensearch').waitFor();
  await page.getByTestId('speed').selectOption('100');
  await page.getByTestId('toggle').click();
  await page.waitForFunction(() =>
    Number(document.querySelector('[data-testid="ds-delivered-0"]')?.textContent.replace(/[^0-9]/g, '') || 0) > 0);
  await page.getByTestId('toggle').click();
  assert.match(await page.getByTestId('opensearch').innerText(), /clicks-2026-01-01-00: [\d,]+ documents/);
  await page.fill('[data-testid="search-query"]', 'action:purchase');
  await page.getByTestId('search').click();
  const results = page.getByTestId('search-results');
  await results.waitFor();
  const text = await results.innerText();
  assert.match(text, /[1-9][\d,]* documents in clicks-2026-01-01-00 match "action:purchase"/);
  assert.match(text, /"action":"purchase"/);
  assert.doesNotMatch(text, /"action":"view"/);
});

test('Firehose to an HTTP endpoint: the browser POSTs batches to a receiver, retrying a failure', async () => {
  // A receiver in this process, answering as Firehose's request and
  // response specification asks (like `shardlab receive --fail 1 --status 503`).
  const received = [];
  let failures = 1;
  const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': '*',
    'Access-Control-Allow-Methods': 'POST, OPTIONS' };
  const server = createServer((req, res) => {
    if (req.method === 'OPTIONS') { res.writeHead(204, cors); res.end(); return; }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const status = failures-- > 0 ? 503 : 200;
      received.push({ status, id: body.requestId, headers: req.headers,
        records: body.records.map((r) => Buffer.from(r.data, 'base64').toString('utf8')) });
      res.writeHead(status, { ...cors, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ requestId: body.requestId, timestamp: Date.now(),
        ...(status === 200 ? {} : { errorMessage: 'busy' }) }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/firehose`;
  try {
    await page.getByTestId('preset').selectOption('clicks-to-http.json');
    await page.waitForFunction(() => document.querySelector('#rate')?.value === '50');
    assert.equal(await page.getByTestId('firehose-destination').inputValue(), 'http');
    assert.equal(await page.getByTestId('firehose-http-url').inputValue(), 'http://localhost:9000/firehose');
    await page.fill('[data-testid="firehose-http-url"]', url);
    await page.getByTestId('create').click();
    await page.getByTestId('http-endpoint-0').waitFor();
    await page.getByTestId('speed').selectOption('100');
    await page.getByTestId('toggle').click();
    await page.waitForFunction(() =>
      Number(document.querySelector('[data-testid="ds-delivered-0"]')?.textContent.replace(/[^0-9]/g, '') || 0) > 0);
    await page.getByTestId('toggle').click();
    // The first attempt failed and went again with the same request id.
    assert.deepEqual(received.slice(0, 2).map((r) => r.status), [503, 200]);
    assert.equal(received[1].id, received[0].id);
    const h = received[0].headers;
    assert.equal(h['x-amz-firehose-protocol-version'], '1.0');
    assert.equal(h['x-amz-firehose-request-id'], received[0].id);
    assert.equal(h['x-amz-firehose-common-attributes'], '{"commonAttributes":{"source":"shardlab"}}');
    assert.equal(h['x-amz-firehose-source-arn'], 'arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks-to-http');
    assert.match(received[1].records[0], /"user_id":"user-\d+"/);
    // What the panel counts is what the endpoint took (the last answer may
    // wait for the next tick, which applies it).
    const ok = received.filter((r) => r.status === 200);
    const taken = ok.reduce((n, r) => n + r.records.length, 0);
    const delivered = int(await text('ds-delivered-0'));
    assert.ok(delivered <= taken && delivered >= taken - ok.at(-1).records.length, `${delivered} of ${taken}`);
    assert.match(await text('http-error-0'), /HttpEndpoint\.DestinationException: The following response was received from the endpoint destination\. 503: .*busy.*attempt 1 failed; trying again/);
  } finally {
    server.close();
    // The receiver's 503 is part of the lesson, not a problem of the page.
    for (let i = problems.length - 1; i >= 0; i--) {
      if (problems[i].includes('503') || problems[i].includes(url)) problems.splice(i, 1);
    }
  }
});

test('Firehose to Redshift: objects staged in S3, then COPY into a table; a cluster outage fails the COPY, retried in 5 minutes', async () => {
  await page.getByTestId('preset').selectOption('clicks-to-redshift.json');
  await page.waitForFunction(() => document.querySelector('#rate')?.value === '100');
  await page.getByTestId('create').click();
  await page.getByTestId('redshift-0').waitFor();
  // The scenario's CREATE TABLE made the table; nothing is staged yet.
  assert.match(await text('redshift-0'), /lab\.dev\.clicks · 0 rows[\s\S]*No COPY yet/);
  await fastForwardMinutes(2);
  // `the_redshift_preset_...` in crates/server/tests/cli.rs: the same run natively.
  assert.equal(await text('digest'), 'bf7a933d78f6ab02');
  assert.match(await text('redshift-0'), /lab\.dev\.clicks · 6,020 rows · COPY loaded 6,020 rows from 6,020 records/);
  assert.match(await text('redshift-copy-0'),
    /COPY clicks FROM 's3:\/\/shardlab-staging\/clicks\/manifests\/2026\/01\/01\/00\/clicks-to-redshift-1-.*' CREDENTIALS 'aws_iam_role=arn:aws:iam::123456789012:role\/firehose-delivery' MANIFEST JSON 'auto' GZIP TIMEFORMAT 'auto';\s+6020 rows loaded/);
  const rows = await page.getByTestId('redshift-rows-0').innerText();
  assert.match(rows, /event_id\s+user_id\s+page\s+action\s+event_time/);
  assert.match(rows, /\d+\s+user-\d+\s+\/\S*\s+\w+\s+2026-01-01 00:0\d:\d\d/);
  // The query box runs SQL on the cluster: the loaded rows, grouped.
  const runSql = async (sql) => {
    await page.getByTestId('redshift-sql-0').fill(sql);
    await page.getByTestId('redshift-run-0').click();
    await page.waitForFunction((q) => document.querySelector('[data-testid="redshift-answer-0"]')?.dataset.sql === q, sql);
  };
  assert.equal(await page.getByTestId('redshift-sql-0').inputValue(), 'SELECT COUNT(*) FROM clicks;');
  await runSql("SELECT action, COUNT(*) AS n FROM clicks WHERE event_time < '2026-01-01 00:01:00' GROUP BY action ORDER BY n DESC");
  const answer = await text('redshift-answer-0');
  assert.match(answer, /^action\s+n\n/);
  const counts = [...answer.matchAll(/^\w+\t(\d+)$/gm)].map((m) => Number(m[1]));
  assert.ok(counts.length >= 2, answer);
  assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'ordered by n, descending');
  // The same total another way; then a mistake, answered as Redshift does.
  await runSql("SELECT COUNT(*) FROM clicks WHERE event_time < '2026-01-01 00:01:00'");
  assert.match(await text('redshift-answer-0'), new RegExp(`^count\\s+${counts.reduce((a, b) => a + b, 0)}\\s+\\(1 row\\)`));
  await runSql('SELECT nope FROM clicks');
  assert.match(await text('redshift-answer-0'), /^ERROR: Column nope is not in this query's input \(its columns: event_id, user_id, page, action, event_time\)\. \(line 1, column 8\)/);
  // The bucket browser opens the intermediate bucket: the staged objects
  // and the manifests COPY read.
  await page.getByTestId('folder').filter({ hasText: 'clicks/' }).click();
  await page.getByTestId('folder').filter({ hasText: 'manifests/' }).waitFor();
  // The cluster down: the next COPY cannot connect, and waits 5 minutes.
  await page.getByTestId('cluster-outage-0').click();
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:03:00.0');
  assert.match(await text('redshift-copy-0'),
    /Redshift\.ConnectionFailed: Failed to establish a connection to the cluster \(the outage switch is on\)\. — attempt 1 failed; COPY runs again in 5 minutes \(retry duration 3600 s\)/);
  assert.match(await text('redshift-0'), /6,020 rows · COPY loaded 6,020 rows from 6,020 records; 6,100 records waiting for COPY/);
  // Back to no Firehose for the tests that follow.
  await page.getByTestId('firehose-enabled').uncheck();
});

test('fast-forward runs a minute as fast as it can, with the same result as `shardlab run`', async () => {
  await createClickstreamPreset();
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:01:00.0' &&
    document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  // `the_presets_run_and_report` pins the native run of the same file for 1 min.
  assert.equal(await text('digest'), '962298fdc969d0dc');
});

test('creating a stream stops the previous stream\'s fast-forward', async () => {
  await createClickstreamPreset();
  await page.getByTestId('ff-hour').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent !== '0:00:00.0');
  await createFromForm();
  // The new stream stays where it was created: one step is 100 ms.
  await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.1');
  assert.equal(await text('status'), 'Paused');
});

test('continuous SQL: a tumbling window over the stream, its rows, chart and window ends', async () => {
  await createClickstreamPreset();
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:01:00.0' &&
    document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  // A mistake first: the error names the line, the column and the columns there are.
  // The editor is CodeMirror (bundled from npm), with SQL highlighting.
  const editor = page.locator('#sql-editor .cm-content');
  await editor.fill('SELECT STREAM actoin\nFROM "SOURCE_SQL_STREAM_001"');
  assert.ok(await page.locator('#sql-editor .cm-line span').count() > 0, 'keywords are highlighted');
  await page.getByTestId('sql-run').click();
  const error = page.getByTestId('sql-error');
  await error.waitFor();
  assert.match(await error.innerText(), /Line 1, column 15: Column ACTOIN is not in this query's input \(its columns: event_id, user_id, page, action, event_time\)/);
  // ... and the editor marks the token.
  await page.locator('#sql-editor .cm-error-mark').waitFor();
  assert.equal(await page.locator('#sql-editor .cm-error-mark').innerText(), 'actoin');
  // Then the first example, from TRIM_HORIZON: the minute already in the stream is read too.
  await page.getByTestId('sql-examples').selectOption('0');
  await page.waitForFunction(() => document.querySelector('#sql-editor .cm-content')?.textContent.includes('STEP('));
  assert.equal(await page.locator('#sql-editor .cm-error-mark').count(), 0);
  // The same application for Flink, as AWS's migration guide maps it.
  await page.getByTestId('sql-to-flink').click();
  const flink = page.getByTestId('sql-flink');
  await flink.waitFor();
  const flinkText = await flink.innerText();
  assert.match(flinkText, /'stream' = 'clickstream'/);
  assert.match(flinkText, /FROM TABLE\(TUMBLE\(TABLE `SOURCE_SQL_STREAM_001`, DESCRIPTOR\(`proc_time`\), INTERVAL '10' SECOND\)\)/);
  assert.match(flinkText, /GROUP BY window_start, window_end, `action`/);
  // Move to AWS carries the same Flink SQL, to download.
  await page.getByTestId('aws-flink').locator('summary').click();
  assert.equal(await page.getByTestId('aws-flink-text').innerText(), await page.locator('[data-testid="sql-flink"] pre').innerText());
  const [flinkFile] = await Promise.all([page.waitForEvent('download'), page.getByTestId('aws-flink-download').click()]);
  assert.equal(flinkFile.suggestedFilename(), 'clickstream-flink.sql');
  await page.getByTestId('sql-start').selectOption('TRIM_HORIZON');
  await page.getByTestId('sql-run').click();
  await page.getByTestId('sql-schema').waitFor();
  assert.equal(await page.getByTestId('sql-error').count(), 0);
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:02:00.0' &&
    document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  const rows = await page.$$eval('[data-testid="sql-rows"] tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.ok(rows.length >= 6, `rows: ${JSON.stringify(rows)}`);
  // Each row: ROWTIME at a 10-second boundary, an action, a count.
  for (const [rowtime, action, clicks] of rows) {
    assert.match(rowtime, /^\d\d:\d\d:\d0$/);
    assert.ok(action.length > 0);
    assert.ok(Number(clicks) > 0);
  }
  assert.ok(await page.locator('[data-testid="sql-timeline"] line.window-end').count() >= 3);
  assert.ok(await page.locator('[data-testid="sql-chart"] polyline').count() >= 3);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.getByTestId('sql-panel').screenshot({ path: join(ARTIFACTS, 'sql.png') });
  // Reference data: the panel's CSV of page categories, joined.
  await page.getByTestId('sql-examples').selectOption('6');
  await page.waitForFunction(() => document.querySelector('#sql-editor .cm-content')?.textContent.includes('"PAGES"'));
  await page.getByTestId('sql-start').selectOption('NOW');
  await page.getByTestId('sql-run').click();
  await page.getByText('Reference table PAGES: 5 rows').waitFor();
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:03:00.0' &&
    document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  const categories = await page.$$eval('[data-testid="sql-rows"] tbody tr', (trs) => trs.map((tr) => tr.cells[1].textContent));
  assert.deepEqual([...new Set(categories)].sort(), ['NULL', 'catalog', 'checkout', 'home']);
  await page.getByTestId('sql-stop').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="sql-schema"]'));
});

// A second of the ticker preset's records, then a SQL application averaging
// each symbol's price over 10-second windows into DESTINATION_SQL_STREAM,
// which the preset's output writes somewhere (started from NOW).
async function startTickerAverages() {
  for (let i = 0; i < 10; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:01.0');
  await page.locator('#sql-editor .cm-content').fill(
    'CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(4), avg_price DOUBLE);\n' +
    'CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"\n' +
    'SELECT STREAM ticker_symbol, AVG(price) FROM "SOURCE_SQL_STREAM_001"\n' +
    'GROUP BY ticker_symbol, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL \'10\' SECOND);');
  await page.getByTestId('sql-start').selectOption('NOW');
  await page.getByTestId('sql-run').click();
  await page.getByTestId('sql-output-0').waitFor();
}

test('a SQL application writes its output stream to a Firehose delivery stream, one JSON line per row in S3', async () => {
  await page.getByTestId('preset').selectOption('ticker-averages-to-s3.json');
  await page.waitForFunction(() => document.querySelector('#fh-name')?.value === 'ticker-averages');
  // The form shows the preset's output: its source, in-application stream
  // and format; switched to the producer and back, it is KDA's default.
  assert.equal(await page.getByTestId('firehose-source').inputValue(), 'sql');
  assert.equal(await page.getByTestId('firehose-sql-stream').inputValue(), 'DESTINATION_SQL_STREAM');
  await page.getByTestId('firehose-source').selectOption('direct');
  await page.waitForFunction(() => !document.querySelector('[data-testid="firehose-sql-stream"]'));
  await page.getByTestId('firehose-source').selectOption('sql');
  await page.getByTestId('firehose-sql-stream').waitFor();
  assert.equal(await page.getByTestId('firehose-sql-format').inputValue(), 'JSON');
  await page.getByTestId('create').click();
  await page.getByTestId('firehose').waitFor();
  await startTickerAverages();
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:01:01.0');
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:02:01.0');
  const output = await text('sql-output-0');
  const [, sent, waiting] = output.match(/DESTINATION_SQL_STREAM → Firehose ticker-averages \(JSON, concatenated as KDA writes it\): ([\d,]+) rows sent, ([\d,]+) waiting/);
  assert.ok(int(sent) > 50, output);
  assert.equal(waiting, '0');
  // Only the application's rows went in (not the producer's records).
  assert.equal(int(await text('ds-incoming-0')), int(sent));
  await openFolders(['averages/'], true);
  await page.getByTestId('object').first().click();
  assert.match(await page.getByTestId('object-preview').innerText(), /^\{"TICKER_SYMBOL":"[A-Z]+","AVG_PRICE":[\d.]+\}$/m);
  await page.getByTestId('sql-stop').click();
  await page.getByTestId('firehose-enabled').uncheck();
});

test('a preset shows its partition keys and rate shape in words', async () => {
  await page.getByTestId('preset').selectOption('iot-sensors.json');
  await page.waitForFunction(() => document.querySelector('#rate')?.value === '1800');
  assert.equal(await page.locator('#keys option:checked').innerText(),
    'From the preset: 500 entities (user-0 … user-499)');
  assert.equal(await page.locator('label[for="rate"] .hint').innerText(),
    'records per second, varied over time: Poisson arrivals around the rate');
  assert.equal(await page.locator('#rate-shape').inputValue(), 'poisson');
});

test('the rate over time is set in the form: a preset\'s bursts, then a ramp of our own', async () => {
  await selectPreset('flash-sale.json', 'checkout');
  assert.equal(await page.locator('#rate-shape').inputValue(), 'bursts');
  assert.deepEqual(
    [await page.locator('#burst-every').inputValue(), await page.locator('#burst-for').inputValue(), await page.locator('#burst-factor').inputValue()],
    ['30', '5', '4']);
  await page.locator('#rate-shape').selectOption('ramp');
  await page.locator('#ramp-to').fill('300');
  await page.waitForFunction(() => document.querySelector('label[for="rate"] .hint')?.textContent.includes('300'));
  await createFromForm();
  // The stream was made with the ramp: the workspace file says so.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('share-download').click()]);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(saved.scenario.rate_shape, { type: 'Ramp', from_percent: 10, to_percent: 300, over_ms: 60000 });
  // One step, so that the next stream's digest differs from this one's
  // (createFromForm waits for the digest to change).
  await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.1');
});

test('a record template: test it, fix it, and the browser makes what `shardlab run` makes', async () => {
  await page.getByTestId('preset').selectOption('stock-ticker.json');
  await page.waitForFunction(() => document.querySelector('#rate')?.value === '200');
  // "Test template" shows the first five records the stream will get.
  await page.getByTestId('test-template').click();
  await page.getByTestId('template-samples').waitFor();
  const samples = await page.$$eval('[data-testid="template-samples"] pre', (ps) => ps.map((p) => p.textContent));
  assert.equal(samples.length, 5);
  for (const s of samples) {
    const r = JSON.parse(s);
    assert.deepEqual(Object.keys(r), ['TICKER_SYMBOL', 'SECTOR', 'CHANGE', 'PRICE']);
    assert.ok(r.PRICE >= 10 && r.PRICE <= 150.01, s);
  }
  // A mistake gets its line, column and the methods there are.
  const good = await page.getByTestId('template').inputValue();
  await page.getByTestId('template').fill(good.replace('random.number', 'random.nuber'));
  assert.equal(await page.getByTestId('template-samples').count(), 0);
  await page.getByTestId('test-template').click();
  await page.getByTestId('template-error').waitFor();
  assert.match(await text('template-error'), /^Line 1, column \d+: random has no method "nuber"; it has number, arrayElement/);
  await page.getByTestId('template').fill(good);
  await createFromForm();
  for (let i = 0; i < 50; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:05.0');
  // `the_template_presets_run_and_the_ticker_is_pinned` in
  // crates/server/tests/cli.rs pins the native run of the same file.
  assert.equal(await text('digest'), '3037e8f62943bcbc');
});

test('the agent: a CSV file streamed as JSON records, the same as `shardlab run`; a file of our own', async () => {
  await selectPreset('agent-orders.json', 'orders-file');
  await page.waitForFunction(() => document.querySelector('[data-testid="agent-samples"]')?.textContent.includes('{"order_id":"1001","customer":"Ada Lovelace"'));
  assert.match(await text('agent-samples'), /orders\.csv: 13 lines, 12 records, sent over and over/);
  await createFromForm();
  for (let i = 0; i < 50; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:05.0');
  // `shardlab run static/scenarios/agent-orders.json --for 5s` (crates/server/tests/cli.rs).
  assert.equal(await text('digest'), 'e9f095c251aa2cb8');
  // A JSON-lines file of our own, each line as it is, sent once.
  await page.getByTestId('agent-file').setInputFiles({
    name: 'events.jsonl', mimeType: 'application/x-ndjson',
    buffer: Buffer.from('{"e":1}\n{"e":2}\n\n{"e":3}\n'),
  });
  await page.getByTestId('agent-format').selectOption('lines');
  await page.getByTestId('agent-repeat').setChecked(false);
  await page.waitForFunction(() => /events\.jsonl: 4 lines, 3 records, sent once/.test(document.querySelector('[data-testid="agent-samples"]')?.textContent ?? ''));
  await createFromForm();
  for (let i = 0; i < 20; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:02.0');
  assert.equal(int(await text('stat-accepted')), 3);
  // A syslog file as JSON (LOGTOJSON SYSLOG): the line in no format is skipped.
  await page.getByTestId('agent-file').setInputFiles({
    name: 'messages.log', mimeType: 'text/plain',
    buffer: Buffer.from('Mar 12 12:01:02 server4 snort: Ports to be scanned\nnot a syslog line\nMar 12 12:01:03 server4 sshd[42]: Accepted\n'),
  });
  await page.getByTestId('agent-format').selectOption('syslog');
  await page.waitForFunction(() => /messages\.log: 3 lines, 2 records/.test(document.querySelector('[data-testid="agent-samples"]')?.textContent ?? ''));
  assert.match(await text('agent-samples'),
    /\{"timestamp":"Mar 12 12:01:02","hostname":"server4","program":"snort","processid":null,"message":"Ports to be scanned"\}/);
  // The agent's matchPattern: two groups, which need two customFieldNames.
  const pattern = page.getByTestId('agent-match-pattern');
  await pattern.fill('^(\\w{3} \\d+) [\\d:]+ (\\S+) ');
  await pattern.dispatchEvent('change');
  await page.waitForFunction(() => document.querySelector('[data-testid="agent-error"]')?.textContent
    .includes('a matchPattern needs customFieldNames, one per group of the pattern (2)'));
  const names = page.getByTestId('agent-field-names');
  await names.fill('day, host');
  await names.dispatchEvent('change');
  await page.waitForFunction(() => (document.querySelector('[data-testid="agent-samples"]')?.textContent ?? '')
    .includes('{"day":"Mar 12","host":"server4"}'));
  assert.equal(await page.getByTestId('agent-error').count(), 0);
  // A file that is not text is refused, saying why; then the agent is removed.
  await page.getByTestId('agent-file').setInputFiles({ name: 'blank.log', mimeType: 'text/plain', buffer: Buffer.from('\n \n') });
  await page.waitForFunction(() => document.body.textContent.includes('The agent cannot send this file: blank.log has no records to send'));
  await page.getByTestId('agent-remove').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="agent-samples"]'));
});

test('KPL aggregation: 3,000 small records/s fit one shard, and the consumer unpacks them', async () => {
  await page.getByTestId('preset').selectOption('kpl-aggregation.json');
  await page.waitForFunction(() => document.querySelector('#rate')?.value === '3000' &&
    document.querySelector('[data-testid="aggregation"]')?.checked);
  // The KPL's own settings show, in place of the retries control.
  assert.equal(await page.locator('#kpl-rate-limit').inputValue(), '150');
  assert.equal(await page.locator('#kpl-record-ttl').inputValue(), '30000');
  assert.equal(await page.getByTestId('retries').count(), 0);
  await createFromForm();
  for (let i = 0; i < 20; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:02.0');
  assert.equal(await text('stat-produced'), '6,000');
  assert.equal(await text('stat-kinesis-records'), '20');
  assert.equal(await text('stat-throttled'), '0');
  assert.equal(await text('consumer-user-records-0'), '6,000');
  // `the_aggregation_preset_packs_small_records`' scenario, run natively
  // for 2 s, gives this digest.
  assert.equal(await text('digest'), '443860b4524a6fa5');
  // At a 30% rate limit (315 KB/s of the shard's 1 MiB/s, against about
  // 480 KB/s made) the KPL holds records back instead of being throttled.
  await page.fill('#kpl-rate-limit', '30');
  await createFromForm();
  for (let i = 0; i < 50; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:05.0');
  assert.equal(await text('stat-throttled'), '0');
  assert.ok(int(await text('stat-held')) > 0, await text('stat-held'));
});

test('a hot partition key makes one hot shard', async () => {
  // 3,000 records/s, half on one key: its shard is offered ~1,875/s, the
  // others ~375/s; after its one-second burst it is throttled, alone.
  await createStream({ shards: 4, rate: 3000, seed: 3, keys: 'hot' });
  for (let i = 0; i < 20; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:02.0');
  const throttled = await page.$$eval('[data-testid^="throttled-"]', (cells) =>
    cells.map((c) => Number(c.textContent.replace(/[^0-9]/g, ''))));
  assert.equal(throttled.filter((t) => t > 0).length, 1, `${throttled}`);
  // The metrics: two datapoints a second apart; the stream's refused writes,
  // and one shard's chart with its throttled line above zero.
  await page.getByTestId('metrics').waitFor();
  const legend = await page.getByTestId('metric-incoming-records').innerText();
  assert.match(legend, /limit 4,000\/s/);
  assert.match(legend, /WriteProvisionedThroughputExceeded [1-9][\d,]*\/s/);
  const shardCharts = await page.$$eval('[data-testid^="metric-shardId-"]', (figs) =>
    figs.map((f) => /throttled ([\d,]+)\/s/.exec(f.textContent)?.[1] ?? '0'));
  assert.equal(shardCharts.length, 4);
  assert.equal(shardCharts.filter((t) => t !== '0').length, 1, `${shardCharts}`);
  // Over the shards' bar, where the last second's records hashed: the hot
  // key's 256th of the space got about half of them.
  const label = await page.getByTestId('key-histogram').getAttribute('aria-label');
  const [, all, busiest] = /: ([\d,]+) in all, .*\) ([\d,]+)$/.exec(label) ?? [];
  assert.ok(int(busiest) * 5 >= int(all) * 2, label);
});

test('a record size of 2 KB meets the 1 MiB/s limit at 600 records/s; a fixed set of keys', async () => {
  await createStream({
    shards: 1, rate: 600, seed: 4, keys: 'fixed',
    setup: async () => {
      await page.fill('#record-size', '2000');
      await page.getByTestId('fixed-keys').fill('store-a, store-b');
      await page.getByTestId('fixed-keys').dispatchEvent('change');
    },
  });
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:01:00.0' &&
    document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  // 36,000 records of 2,000 bytes and a key: 1 MiB/s (and a second's
  // burst) gets in, the rest is throttled. `shardlab run` of the same
  // scenario ({"stream_name": "clickstream", "shard_count": 1, "seed": 4,
  // "rate_per_sec": 600, "record_size_bytes": 2000, "keys": {"type":
  // "Fixed", "keys": ["store-a", "store-b"]}}) --for 1m gives the same.
  assert.equal(await text('stat-produced'), '36,000');
  assert.equal(await text('stat-accepted'), '31,817');
  assert.equal(await text('stat-throttled'), '4,183');
  assert.equal(await text('digest'), '319d38cfb544c4c7');
  // The keys stay as typed (selecting "fixed" again would reset them).
  assert.equal(await page.getByTestId('fixed-keys').inputValue(), 'store-a, store-b');
  await page.fill('#record-size', '');
});

test('more producers: a noisy neighbour on one hot key throttles one shard', async () => {
  await page.getByTestId('producers').locator('summary').click();
  await page.getByTestId('producer-add').click();
  const set = async (testId, value) => {
    await page.getByTestId(testId).fill(value);
    await page.getByTestId(testId).dispatchEvent('change');
  };
  await set('producer-name-0', 'noisy');
  await set('producer-rate-0', '2500');
  await page.getByTestId('producer-keys-0').selectOption('hot');
  await createStream({ shards: 4, rate: 200, seed: 11 });
  for (let i = 0; i < 20; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:02.0');
  // Each producer's records, and their sum.
  assert.equal(await text('stat-produced-0'), '400');
  assert.equal(await text('stat-produced-1'), '5,000');
  assert.equal(await text('stat-produced'), '5,400');
  // Half of the neighbour's 2,500/s on one key: its shard is over 1,000/s.
  const throttled = await page.$$eval('[data-testid^="throttled-"]', (cells) =>
    cells.map((c) => Number(c.textContent.replace(/[^0-9]/g, ''))));
  assert.equal(throttled.filter((t) => t > 0).length, 1, `${throttled}`);
  // The neighbour stopped by hand: its count stays while producer-0's grows.
  await set('producer-live-rate-1', '0');
  for (let i = 0; i < 10; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:03.0');
  assert.equal(await text('stat-produced-1'), '5,000');
  assert.equal(await text('stat-produced-0'), '600');
  await page.getByTestId('producer-remove-0').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="producer-0"]'));
});

test('a lesson: its stream, a hint, a step done by hand and the rest done for me', async () => {
  const picker = page.getByTestId('lesson-picker');
  await picker.and(page.locator(':enabled')).waitFor();
  await picker.selectOption('throughput-limits.md');
  await page.getByTestId('lesson-title').filter({ hasText: 'Throughput limits and throttling' }).waitFor();
  // The lesson created its one-shard stream, paused at 0.
  await page.locator('[data-shard="0"]').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 1 &&
    document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0');
  const state = (i) => page.getByTestId(`lesson-step-${i}`).getAttribute('data-state');
  assert.equal(await state(0), 'current');
  assert.match(await text('lesson-check'), /records_throttled > 0 \(now 0\)/);
  await page.getByTestId('lesson-hint').click();
  assert.match(await text('lesson-hint-text'), /accepted and throttled/);
  // Step 1, done for me: 5 s pass and the shard throttles.
  await page.getByTestId('lesson-solve').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-0"]')?.dataset.state === 'done');
  assert.equal(await state(1), 'current');
  // Step 2 by hand: a rate under the limit, then Run until the playground sees it.
  await page.getByTestId('rate').fill('900');
  await page.getByTestId('rate').dispatchEvent('change');
  await page.getByTestId('toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-1"]')?.dataset.state === 'done');
  await page.getByTestId('toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  // Step 3, done for me: a faster rate and a split.
  await page.getByTestId('lesson-solve').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-2"]')?.dataset.state === 'done');
  assert.equal(await page.locator('[data-shard]').count(), 3);
  await page.screenshot({ path: join(ARTIFACTS, 'lesson.png'), fullPage: true });
  // Step 4, done for me: a producer that retries with backoff gets a burst
  // through; then the lesson is complete.
  await page.getByTestId('lesson-solve').click();
  await page.getByTestId('lesson-complete').waitFor();
  assert.ok(int(await text('stat-retried')) > 100);
  assert.equal(await text('stat-failed'), '0');
});

test('a lesson whose solution creates the stream again from another scenario', async () => {
  await page.getByTestId('lesson-picker').and(page.locator(':enabled')).waitFor();
  await page.getByTestId('lesson-picker').selectOption('kpl-aggregation.md');
  await page.getByTestId('lesson-title').filter({ hasText: 'Small records' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
    document.querySelector('[data-testid="lesson-step-0"]')?.dataset.state === 'current');
  await page.getByTestId('lesson-solve').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-0"]')?.dataset.state === 'done');
  assert.ok(int(await text('stat-throttled')) > 0);
  // Step 2's solution: the KPL preset, then 5 s: aggregated, nothing throttled.
  await page.getByTestId('lesson-solve').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-1"]')?.dataset.state === 'done');
  assert.equal(int(await text('stat-throttled')), 0);
  assert.ok(await page.getByTestId('aggregation').isChecked());
  await page.getByTestId('lesson-solve').click();
  await page.getByTestId('lesson-complete').waitFor();
  assert.ok(int(await text('consumer-user-records-0')) >= 25000);
});

test('several applications: poll intervals and a replay set by hand', async () => {
  await page.getByTestId('lesson-picker').and(page.locator(':enabled')).waitFor();
  await page.getByTestId('lesson-picker').selectOption('consumer-apps.md');
  await page.getByTestId('lesson-title').filter({ hasText: 'Several applications' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
    document.querySelectorAll('[data-testid^="consumer-poll-"]').length === 3);
  // Step 1 done for me: three applications at 200 ms share one shard's 5 reads/s.
  await page.getByTestId('lesson-solve').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-0"]')?.dataset.state === 'done');
  // Step 2 by hand: each polls once a second, then a minute passes.
  for (const i of [0, 1, 2]) {
    await page.getByTestId(`consumer-poll-${i}`).fill('1000');
    await page.getByTestId(`consumer-poll-${i}`).dispatchEvent('change');
  }
  await page.waitForFunction(() => [0, 1, 2].every((i) =>
    document.querySelector(`[data-testid="consumer-${i}"]`)?.textContent.includes('every 1000 ms')));
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-1"]')?.dataset.state === 'done');
  // A replay time that is not a time is refused with a clear message.
  await page.getByTestId('consumer-replay-from-1').fill('soon');
  await page.getByTestId('consumer-replay-from-1').dispatchEvent('change');
  await page.getByTestId('consumer-replay-1').click();
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').innerText(), /Replay from:.*TRIM_HORIZON/s);
  await page.getByTestId('error').getByText('Dismiss').click();
  // Step 3 by hand: the archiver replays from TRIM_HORIZON; the others carry on.
  await page.getByTestId('consumer-replay-from-1').fill('');
  await page.getByTestId('consumer-replay-from-1').dispatchEvent('change');
  await page.getByTestId('consumer-replay-1').click();
  await page.getByTestId('ff-minute').click();
  await page.getByTestId('lesson-complete').waitFor();
  assert.ok(int(await text('consumer-redelivered-1')) > 9000);
  assert.equal(await page.getByTestId('consumer-redelivered-0').count(), 0);
  assert.ok(int(await text('stat-retained')) > 0);
});

test('a KCL application: leases balanced, a worker stopped by hand, failover with duplicates, started again', async () => {
  await page.getByTestId('lesson-picker').and(page.locator(':enabled')).waitFor();
  await page.getByTestId('lesson-picker').selectOption('kcl-failover.md');
  await page.getByTestId('lesson-title').filter({ hasText: 'KCL leases' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
    document.querySelector('[data-testid="kcl-0"]'));
  // Step 1 done for me: 30 s, the four leases two and two.
  await page.getByTestId('lesson-solve').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-0"]')?.dataset.state === 'done');
  const owners = async () => (await page.getByTestId('kcl-0-leases').locator('tbody tr td:nth-child(2)').allInnerTexts())
    .map((t) => t.trim());
  assert.deepEqual((await owners()).sort(), ['worker-1', 'worker-1', 'worker-2', 'worker-2']);
  // The same 30 s as `shardlab run kcl-app.json --for 30s` (crates/server/tests/cli.rs):
  // the leases' random choices are seeded, the same in wasm as natively.
  assert.equal(await text('digest'), '5d29060099735a54');
  // Step 2 by hand: stop worker-1, then 5 s in 100 ms steps.
  await page.getByTestId('kcl-0-worker-1-toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="kcl-0-worker-1"]')?.textContent.includes('stopped'));
  for (let i = 0; i < 50; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-1"]')?.dataset.state === 'done');
  // The table still names the stopped worker; nobody processes its shards.
  assert.equal((await owners()).filter((o) => o === 'worker-1').length, 2);
  assert.match(await text('kcl-0-worker-1'), /processing nothing/);
  // Step 3: a minute on, worker-2 has taken them and processed some records twice.
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-2"]')?.dataset.state === 'done');
  assert.ok(int(await text('consumer-redelivered-0')) > 0);
  // Step 4 by hand: start worker-1 again; it steals its share back.
  await page.getByTestId('kcl-0-worker-1-toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="kcl-0-worker-1"]')?.textContent.includes('running'));
  await page.getByTestId('ff-minute').click();
  await page.getByTestId('lesson-complete').waitFor();
  assert.deepEqual((await owners()).sort(), ['worker-1', 'worker-1', 'worker-2', 'worker-2']);
  // A third worker joins with Add.
  await page.getByTestId('kcl-0-add').click();
  await page.getByTestId('kcl-0-worker-3').waitFor();
});

test('enhanced fan-out: two applications registered by hand stop sharing the shard, one moved back', async () => {
  await page.getByTestId('lesson-picker').and(page.locator(':enabled')).waitFor();
  await page.getByTestId('lesson-picker').selectOption('enhanced-fan-out.md');
  await page.getByTestId('lesson-title').filter({ hasText: 'Enhanced fan-out' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
    document.querySelectorAll('[data-testid^="consumer-fan-out-"]').length === 3);
  // Step 1 done for me: three polling applications are throttled.
  await page.getByTestId('lesson-solve').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-0"]')?.dataset.state === 'done');
  // Step 2 by hand: the dashboard and the alerts use enhanced fan-out.
  for (const i of [0, 2]) {
    await page.getByTestId(`consumer-fan-out-${i}`).click();
    await page.waitForFunction((i) => document.querySelector(`[data-testid="consumer-mode-${i}"]`)?.textContent.includes('SubscribeToShard'), i);
  }
  assert.equal(await page.getByTestId('consumer-poll-0').count(), 0, 'no poll interval when records are pushed');
  assert.match(await text('consumer-mode-1'), /GetRecords every 1000 ms/);
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-1"]')?.dataset.state === 'done');
  // Step 3 by hand: the dashboard goes back to GetRecords.
  await page.getByTestId('consumer-fan-out-0').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="consumer-mode-0"]')?.textContent.includes('GetRecords every'));
  await page.getByTestId('ff-minute').click();
  await page.getByTestId('lesson-complete').waitFor();
  // Nothing was read twice across the switches.
  assert.equal(await page.getByTestId('consumer-redelivered-0').count(), 0);
  assert.equal(await page.getByTestId('consumer-redelivered-2').count(), 0);
});

test('a Lambda event source mapping: a bad record blocks its shard, retries and bisect set by hand, then your JavaScript deployed', async () => {
  await page.getByTestId('lesson-picker').and(page.locator(':enabled')).waitFor();
  await page.getByTestId('lesson-picker').selectOption('lambda-esm.md');
  await page.getByTestId('lesson-title').filter({ hasText: 'Lambda reading a stream' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
    document.querySelector('[data-testid="lambda-0"]'));
  // Step 1 done for me: 30 s, a shard blocked by a corrupt order.
  await page.getByTestId('lesson-solve').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-0"]')?.dataset.state === 'done');
  // The same 30 s as `shardlab run lambda-orders.json --for 30s` (crates/server/tests/cli.rs),
  // once the 30 s have run (the step's check holds before the end).
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:30.0');
  assert.equal(await text('digest'), 'b6c481a3ab7cf303');
  const retries = await page.getByTestId('lambda-0-shards').locator('tbody tr td:nth-child(4)').allInnerTexts();
  assert.ok(retries.some((r) => Number(r) > 0), `a shard is retrying: ${retries}`);
  assert.match(await text('lambda-0-log'), /record \d+ has status = "corrupt"/);
  // Step 2 by hand: two retries, then the whole batch is discarded to the queue.
  await page.getByTestId('lambda-0-retries').selectOption('2');
  await page.waitForFunction(() => document.querySelector('[data-testid="lambda-0-retries"]')?.value === '2' &&
    document.querySelector('[data-testid="lambda-0"]')?.textContent.includes('2'));
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-1"]')?.dataset.state === 'done');
  assert.match(await page.getByTestId('lambda-0-failure').locator('pre').textContent(), /"condition": "RetryAttemptsExhausted"/);
  // Step 3 by hand: bisect isolates the corrupt order.
  await page.getByTestId('lambda-0-bisect').selectOption('true');
  await page.waitForFunction(() => document.querySelector('[data-testid="lambda-0-bisect"]')?.value === 'true');
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="lesson-step-2"]')?.dataset.state === 'done');
  assert.match(await page.getByTestId('lambda-0-failure').locator('summary').textContent(), /Newest discarded batch: 1 record of/);
  // Step 4 done for me: parallelization 4 drains the backlog.
  await page.getByTestId('lesson-solve').click();
  await page.getByTestId('lesson-complete').waitFor();
  assert.equal(await page.getByTestId('lambda-0-parallelization').inputValue(), '4');
  // Your JavaScript: the built-in shows as Node.js; a handler that throws is
  // deployed, runs in its own worker, and fails every batch with its message.
  await page.getByTestId('lambda-0-code').locator('summary').click();
  assert.match(await page.getByTestId('lambda-0-source').inputValue(), /exports\.handler = async \(event\)/);
  await page.getByTestId('lambda-0-source').fill("exports.handler = async (event) => {\n  throw new Error(`boom from JS on ${event.Records.length} records`);\n};\n");
  await page.getByTestId('lambda-0-deploy').click();
  const errors = int(await text('lambda-0-errors'));
  for (let i = 0; i < 30; i++) await page.getByTestId('step').click();
  await page.waitForFunction(() => /boom from JS on \d+ records/.test(document.querySelector('[data-testid="lambda-0-log"]')?.textContent ?? ''));
  assert.ok(int(await text('lambda-0-errors')) > errors);
  // One that succeeds: the shards move again.
  await page.getByTestId('lambda-0-source').fill('exports.handler = async (event) => ({ batchItemFailures: [] });\n');
  await page.getByTestId('lambda-0-deploy').click();
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => {
    const log = document.querySelector('[data-testid="lambda-0-log"]');
    const results = [...(log?.querySelectorAll('tbody tr td:last-child') ?? [])].map((td) => td.textContent);
    return results.length > 0 && results.every((r) => r === 'Ok');
  });
});

test('Kinesis vs SQS vs SNS: queues consume and delete, FIFO keeps order, failures come back after the visibility timeout', async () => {
  await page.getByTestId('lesson-picker').and(page.locator(':enabled')).waitFor();
  await page.getByTestId('lesson-picker').selectOption('kinesis-sqs-sns.md');
  await page.getByTestId('lesson-title').filter({ hasText: 'Kinesis vs SQS' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
    document.querySelector('[data-testid="queue-work.fifo"]'));
  // Steps 1 to 3 done for me.
  for (const step of [0, 1, 2]) {
    await page.getByTestId('lesson-solve').click();
    await page.waitForFunction((s) => document.querySelector(`[data-testid="lesson-step-${s}"]`)?.dataset.state === 'done', step);
  }
  assert.ok(int(await text('queue-work-out-of-order')) > 0);
  assert.equal(await text('queue-work.fifo-out-of-order'), '0');
  assert.match(await text('topic'), /SNS topic order-events: [\d,]+ published, each pushed to email and billing/);
  // Step 4 by hand: the work queue's consumers fail 30%; a minute later, failed messages came back.
  await page.getByTestId('queue-work-fail').fill('30');
  await page.getByTestId('queue-work-fail').dispatchEvent('change');
  await page.waitForFunction(() => document.querySelector('[data-testid="queue-work-fail"]')?.value === '30');
  await page.getByTestId('ff-minute').click();
  await page.getByTestId('lesson-complete').waitFor();
  assert.ok(int(await text('queue-work-redelivered')) > 100);
});

test('the form makes a KCL application with the workers asked for', async () => {
  await selectPreset('clickstream.json', 'clickstream');
  await page.locator('#kcl-workers').fill('3');
  await page.locator('#kcl-checkpoint').fill('5000');
  await createFromForm();
  await page.getByTestId('kcl-1').waitFor();
  assert.equal(await page.getByTestId('kcl-1').locator('.kcl-worker').count(), 3);
  assert.match(await text('kcl-1'), /checkpoint every 5 s/);
  // Back to none for the tests that follow.
  await page.locator('#kcl-workers').fill('0');
});

test('move to AWS: the CLI script and CloudFormation template of the stream, to download', async () => {
  await page.getByTestId('preset').selectOption('purchases-to-s3.json');
  await page.waitForFunction(() => document.querySelector('#fh-name')?.value === 'purchases-to-s3');
  await page.getByTestId('create').click();
  await page.getByTestId('aws').waitFor();
  await page.getByTestId('aws-cli').locator('summary').click();
  const script = await page.getByTestId('aws-cli-text').innerText();
  assert.match(script, /^#!\/bin\/sh\n/);
  assert.match(script, /^aws kinesis create-stream --stream-name clickstream --shard-count 2 --stream-mode-details StreamMode=PROVISIONED$/m);
  assert.match(script, /^aws lambda create-function --function-name transform --runtime nodejs24\.x /m);
  assert.match(script, /^aws firehose create-delivery-stream --cli-input-json "\{\\"DeliveryStreamName\\":\\"purchases-to-s3\\"/m);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('aws-cli-download').click()]);
  assert.equal(download.suggestedFilename(), 'clickstream-create.sh');
  assert.equal(readFileSync(await download.path(), 'utf8').trim(), script.trim());
  await page.getByTestId('aws-cloudformation').locator('summary').click();
  const template = JSON.parse(await page.getByTestId('aws-cloudformation-text').innerText());
  assert.equal(template.Resources.Stream.Type, 'AWS::Kinesis::Stream');
  assert.equal(template.Resources.DeliveryStreamPurchasesToS3.Type, 'AWS::KinesisFirehose::DeliveryStream');
  assert.match(template.Resources.FunctionTransform.Properties.Code.ZipFile, /exports\.handler/);
});

test('share a workspace: a link and a file open the same stream and SQL; a damaged link says so', async () => {
  await selectPreset('clickstream.json', 'clickstream');
  await page.fill('#shard-count', '3');
  await page.fill('#seed', '4242');
  await page.getByTestId('create').click();
  await page.getByTestId('share').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 3);
  await page.getByTestId('share-link-make').click();
  const link = await page.getByTestId('share-link').inputValue();
  assert.match(link, /\/shardlab\/#w=1\.[A-Za-z0-9_-]+$/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('share-download').click()]);
  assert.equal(download.suggestedFilename(), 'clickstream.shardlab.json');
  const file = await download.path();
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(saved.version, 1);
  assert.equal(saved.scenario.seed, 4242);

  const other = await browser.context.newPage();
  try {
    // The link: the same stream, created.
    await other.goto(link);
    await other.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 3 &&
      document.querySelector('[data-testid="stream-name"]')?.textContent === 'clickstream');
    assert.match(await other.locator('.badges').innerText(), /seed 4242/);
    // A damaged link is refused, saying why.
    await other.goto(link.slice(0, link.length - 20));
    await other.reload();
    await other.getByTestId('error').waitFor();
    assert.match(await other.getByTestId('error').innerText(), /This link could not be opened: this link is damaged/);
    // The file, opened from the share card of another stream.
    await other.goto(siteUrl());
    await other.getByTestId('create').and(other.locator(':enabled')).waitFor();
    await other.getByTestId('create').click();
    await other.getByTestId('share').waitFor();
    await other.getByTestId('share-open').setInputFiles(file);
    await other.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 3 &&
      document.querySelector('.badges')?.textContent.includes('seed 4242'));
  } finally {
    await other.close();
  }
});

test('a graded exercise: opened from its link, failed, solved, graded by replay, the result downloaded; a file shared as a packed link', async () => {
  const other = await browser.context.newPage();
  other.setDefaultTimeout(TIMEOUT);
  try {
    await other.goto(`${siteUrl()}#exercise=no-throttling.md`);
    await other.getByTestId('exercise-title').waitFor();
    assert.equal(await other.getByTestId('exercise-title').innerText(), 'No throttling at 3,000 records per second');
    // The exercise's stream: one shard, the exercise's seed.
    await other.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 1 &&
      document.querySelector('.badges')?.textContent.includes('seed 3000'));
    await other.fill('#exercise-student', 'Ada Lovelace');
    await other.getByTestId('exercise-grade').click();
    await other.waitForFunction(() => document.querySelector('[data-testid="exercise-verdict"]')?.textContent === 'Not passed yet: 1 of 3');
    assert.match(await other.getByTestId('exercise-result').innerText(), /records_throttled == 0 — now 119100/);
    // The rate is not the student's to change: a lower one is graded at 3,000/s.
    await other.fill('#shard-count', '3');
    await other.fill('#rate', '100');
    await other.getByTestId('create').click();
    await other.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 3);
    await other.getByTestId('exercise-grade').click();
    await other.waitForFunction(() => document.querySelector('[data-testid="exercise-verdict"]')?.textContent === 'Passed: 3 of 3');
    const [download] = await Promise.all([other.waitForEvent('download'), other.getByTestId('exercise-download').click()]);
    assert.equal(download.suggestedFilename(), 'no-throttling-at-3-000-records-per-second-ada-lovelace.result.json');
    const result = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(result.format, 'shardlab-exercise-result');
    assert.equal(result.student, 'Ada Lovelace');
    assert.equal(result.report.passed, true);
    assert.equal(result.submission.scenario.shard_count, 3);
    // The same replay as cargo test's (crates/lessons/tests/exercises.rs).
    assert.equal(result.report.run_digest, '254dfd33be938a9f');
    await other.getByTestId('exercise-share').click();
    assert.match(await other.getByTestId('exercise-link').inputValue(), /\/shardlab\/#exercise=no-throttling\.md$/);

    // An instructor's own exercise file: opened from disk, shared as a link
    // that carries the whole file.
    const mine = readFileSync(new URL('../../static/exercises/no-throttling.md', import.meta.url), 'utf8')
      .replace('title: No throttling at 3,000 records per second', 'title: Class 3B, week 2')
      .replace('grade: shards_open <= 3', 'grade: shards_open <= 2');
    const path = join(mkdtempSync(join(tmpdir(), 'shardlab-')), 'week2.md');
    writeFileSync(path, mine);
    await other.getByTestId('exercise-open').setInputFiles(path);
    await other.waitForFunction(() => document.querySelector('[data-testid="exercise-title"]')?.textContent === 'Class 3B, week 2');
    await other.getByTestId('exercise-share').click();
    const link = await other.getByTestId('exercise-link').inputValue();
    // Shown to copy, not put in the address bar.
    assert.equal(new URL(other.url()).hash, '');
    assert.match(link, /\/shardlab\/#x=1\.[A-Za-z0-9_-]+$/);
    const third = await browser.context.newPage();
    try {
      await third.goto(link);
      await third.waitForFunction(() => document.querySelector('[data-testid="exercise-title"]')?.textContent === 'Class 3B, week 2');
      assert.match(await third.locator('.exercise-grading').textContent(), /shards_open <= 2/);
      await third.goto(link.slice(0, link.length - 12));
      await third.reload();
      await third.getByTestId('error').waitFor();
      assert.match(await third.getByTestId('error').innerText(), /Exercise: this link is damaged/);
      // A lesson's link opens the lesson.
      await third.goto(`${siteUrl()}#lesson=ordering.md`);
      await third.reload();
      await third.getByTestId('lesson-title').filter({ hasText: 'Ordering within a shard' }).waitFor();
      // The link was read, then taken out of the address bar, so a reload
      // brings back saved work rather than the link; the lesson card makes
      // the link again.
      assert.equal(new URL(third.url()).hash, '');
      await third.getByTestId('lesson-link-make').click();
      assert.match(await third.getByTestId('lesson-link').inputValue(), /\/shardlab\/#lesson=ordering\.md$/);
    } finally {
      await third.close();
    }
  } finally {
    await other.close();
  }
});

test('work in progress survives a reload, and the site works offline: the lesson at its step, the SQL, an exercise with its grade', async () => {
  // A browser of its own: what it saves does not reach the other tests' pages.
  const own = await launch();
  try {
    const p = own.context.pages()[0] ?? (await own.context.newPage());
    p.setDefaultTimeout(TIMEOUT);
    const saved = () => p.waitForFunction(() => document.querySelector('[data-testid="saved"]')?.textContent === 'Saved in this browser');
    await p.goto(siteUrl());
    const picker = p.getByTestId('lesson-picker');
    await picker.and(p.locator(':enabled')).waitFor();
    await picker.selectOption('hot-shards.md');
    await p.getByTestId('lesson-solve').and(p.locator(':enabled')).waitFor();
    await p.getByTestId('lesson-solve').click();
    await p.waitForFunction(() => document.querySelector('[data-testid="lesson-step-1"]')?.dataset.state === 'current');
    await p.getByTestId('lesson-hint').click();
    await p.locator('#sql-editor .cm-content').fill('SELECT STREAM "partition_key" FROM "SOURCE_SQL_STREAM_001"');
    const sql = await p.locator('#sql-editor .cm-content').textContent();
    assert.match(sql, /partition_key/);
    await saved();
    await p.reload();
    await p.getByTestId('notice').waitFor();
    assert.match(await p.getByTestId('notice').innerText(), /Restored from this browser: the stream orders, your SQL, your lesson at step 2/);
    await p.getByTestId('lesson-title').filter({ hasText: 'Partition keys and hot shards' }).waitFor();
    await p.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 4);
    assert.equal(await p.getByTestId('lesson-step-0').getAttribute('data-state'), 'done');
    assert.equal(await p.getByTestId('lesson-step-1').getAttribute('data-state'), 'current');
    assert.equal(await p.getByTestId('lesson-hint-text').count(), 1);
    await p.waitForFunction((code) => document.querySelector('#sql-editor .cm-content')?.textContent === code, sql);

    // An exercise, its student and grade.
    await p.getByTestId('exercise-picker').selectOption('no-throttling.md');
    await p.getByTestId('exercise-title').waitFor();
    await p.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 1);
    await p.fill('#exercise-student', 'Grace Hopper');
    await p.fill('#shard-count', '3');
    await p.getByTestId('create').click();
    await p.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 3);
    await p.getByTestId('exercise-grade').click();
    await p.waitForFunction(() => document.querySelector('[data-testid="exercise-verdict"]')?.textContent === 'Passed: 3 of 3');
    await saved();
    await p.reload();
    await p.getByTestId('exercise-title').waitFor();
    assert.equal(await p.getByTestId('lesson').count() && await p.getByTestId('lesson-title').count(), 0);
    await p.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 3);
    assert.equal(await p.locator('#exercise-student').inputValue(), 'Grace Hopper');
    assert.equal(await p.getByTestId('exercise-verdict').innerText(), 'Passed: 3 of 3');
    const [download] = await Promise.all([p.waitForEvent('download'), p.getByTestId('exercise-download').click()]);
    assert.equal(JSON.parse(readFileSync(await download.path(), 'utf8')).student, 'Grace Hopper');

    // Offline: after the first visit the service worker has the whole site.
    await p.evaluate(() => navigator.serviceWorker.ready);
    await p.waitForFunction(() => navigator.serviceWorker.controller !== null);
    const files = await p.evaluate(async () => (await (await caches.open((await caches.keys())[0])).keys()).length);
    assert.ok(files > 40, `${files} files cached`);
    await own.context.setOffline(true);
    await p.reload();
    await p.getByTestId('exercise-title').waitFor();
    await p.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 3);
    assert.equal(await p.locator('#exercise-student').inputValue(), 'Grace Hopper');
    // It runs: the shard workers came from the cache too.
    await p.getByTestId('ff-minute').click();
    await p.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:01:00.0');
    // A lesson it had never opened, from the cache.
    await p.getByTestId('lesson-picker').selectOption('firehose-buffering.md');
    await p.getByTestId('lesson-title').filter({ hasText: 'Firehose buffering' }).waitFor();
    await own.context.setOffline(false);
  } finally {
    await own.close();
  }
});

test('accessibility: no serious axe-core violations, keyboard use, projector mode', async () => {
  // A browser of its own, so the page starts from nothing saved.
  const own = await launch();
  const axe = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
  try {
    const p = own.context.pages()[0] ?? (await own.context.newPage());
    p.setDefaultTimeout(TIMEOUT);
    // axe-core is injected through the DevTools protocol, which the
    // page's Content-Security-Policy does not govern.
    const serious = async (state) => {
      await p.evaluate(axe);
      const result = await p.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
      const bad = result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${state}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      assert.deepEqual(bad, []);
    };
    await p.goto(siteUrl());
    await p.getByTestId('create').and(p.locator(':enabled')).waitFor();
    await serious('the empty playground');

    // Keyboard only: the skip link, the form (Enter creates the stream), a
    // button by Space.
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement?.textContent), 'Skip to the playground');
    await p.keyboard.press('Enter');
    assert.equal(await p.evaluate(() => document.activeElement?.id), 'main-content');
    await p.locator('#shard-count').focus();
    await p.keyboard.press('Control+A');
    await p.keyboard.type('2');
    await p.keyboard.press('Enter');
    await p.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 2);
    await p.getByTestId('toggle').focus();
    await p.keyboard.press('Space');
    await p.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Running');
    await p.keyboard.press('Space');
    await p.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Paused');

    // A stream with Firehose, SQL with its chart, a lesson and a graded exercise.
    await p.getByTestId('preset').selectOption('clicks-to-s3.json');
    await p.waitForFunction(() => document.querySelector('#stream-name')?.value === 'clickstream');
    await p.getByTestId('create').click();
    await p.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0');
    await p.getByTestId('ff-minute').click();
    await p.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:01:00.0' &&
      document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
    await p.getByTestId('sql-examples').selectOption('0');
    await p.getByTestId('sql-run').click();
    await p.getByTestId('ff-minute').click();
    await p.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:02:00.0' &&
      document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
    await p.locator('#sql-editor .cm-content').waitFor();
    await serious('a stream with Firehose and SQL');
    await p.getByTestId('lesson-picker').selectOption('hot-shards.md');
    await p.getByTestId('lesson-hint').and(p.locator(':enabled')).waitFor();
    await p.getByTestId('lesson-hint').click();
    await p.getByTestId('exercise-picker').selectOption('no-throttling.md');
    await p.getByTestId('exercise-grade').and(p.locator(':enabled')).waitFor();
    await p.getByTestId('exercise-grade').click();
    await p.getByTestId('exercise-result').waitFor();
    await serious('a lesson and a graded exercise');

    // Projector mode: larger, and kept across a reload.
    const size = async () => p.evaluate(() => document.querySelector('[data-testid="exercise-title"]').getBoundingClientRect().height);
    const before = await size();
    await p.getByTestId('projector').click();
    assert.equal(await p.getByTestId('projector').getAttribute('aria-pressed'), 'true');
    assert.ok((await size()) > before * 1.2, 'projector mode makes text larger');
    await serious('projector mode');
    await p.reload();
    await p.getByTestId('exercise-title').waitFor();
    assert.equal(await p.getByTestId('projector').getAttribute('aria-pressed'), 'true');
    await p.screenshot({ path: join(ARTIFACTS, 'projector.png') });
  } finally {
    await own.close();
  }
});

test('the SDK console: AWS SDK v3 code runs unchanged against the stream, errors as on AWS, Stop', async () => {
  // A stream of its own (the form, not createStream: a fresh stream's
  // digest is the previous fresh stream's, which that helper waits past).
  await page.fill('#stream-name', 'clickstream');
  await page.fill('#shard-count', '2');
  await page.fill('#rate', '100');
  await page.fill('#consumer-poll', '0');
  await page.getByTestId('create').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 2 &&
    document.querySelector('[data-testid="clock"]')?.textContent === '0:00:00.0' &&
    document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  const output = () => page.getByTestId('console-output').innerText();
  const runUntil = async (pattern) => {
    await page.getByTestId('console-run').click();
    await page.waitForFunction((p) => new RegExp(p).test(document.querySelector('[data-testid="console-output"]')?.textContent ?? ''), pattern.source);
  };
  // The example: PutRecord, GetShardIterator, GetRecords, with the stream paused.
  await page.getByTestId('console').waitFor();
  assert.match(await page.getByTestId('console-code').inputValue(), /const StreamName = 'clickstream';/);
  await runUntil(/✓ Done\./);
  assert.match(await output(), /PutRecord: shardId-00000000000[01] \d{56}/);
  assert.match(await output(), /\d{56} user-42 \{"page":"\/checkout","action":"click"\}/);
  // The shard's row counts the console's record as it counts the producer's.
  const accepted = (await shardCounts()).reduce((a, b) => a + b, 0);
  assert.equal(accepted, 1);
  // Errors are the SDK's exceptions with AWS's names and messages; the
  // playground's own controls are not the console's.
  await page.getByTestId('console-code').fill(`
const { KinesisClient, DescribeStreamSummaryCommand, SplitShardCommand, ListShardsCommand } = require('@aws-sdk/client-kinesis');
const client = new KinesisClient({});
const { Shards } = await client.send(new ListShardsCommand({ StreamName: 'clickstream' }));
console.log(Shards.map((s) => s.ShardId).join(','));
try {
  await client.send(new DescribeStreamSummaryCommand({ StreamName: 'nope' }));
} catch (e) {
  console.log(e.name, e.message, e.$metadata.httpStatusCode);
}
await client.send(new SplitShardCommand({ StreamName: 'clickstream', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '1' }));`);
  await runUntil(/InvalidArgumentException/);
  assert.match(await output(), /shardId-000000000000,shardId-000000000001/);
  assert.match(await output(), /ResourceNotFoundException Stream nope under account \d+ not found\. 400/);
  assert.match(await output(), /✗ InvalidArgumentException: SplitShard is not open to the in-page console/);
  // While the stream runs, calls are answered at the next tick.
  await page.getByTestId('toggle').click();
  await page.getByTestId('console-code').fill(`
import * as k from '@aws-sdk/client-kinesis';
const client = new k.KinesisClient({ region: 'eu-west-1' });
const out = await client.send(new k.PutRecordsCommand({ StreamName: 'clickstream', Records: [
  { PartitionKey: 'a', Data: Buffer.from('one') }, { PartitionKey: 'b', Data: Buffer.from('two') } ] }));
console.log('FailedRecordCount', out.FailedRecordCount, out.Records.length);`);
  await runUntil(/FailedRecordCount 0 2/);
  await page.getByTestId('toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  // A loop that never ends is stopped.
  await page.getByTestId('console-code').fill('while (true) {}');
  await page.getByTestId('console-run').click();
  await page.getByTestId('console-stop').and(page.locator(':enabled')).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="console-output"]')?.textContent.endsWith('Stopped.'));
  await page.getByTestId('console-code').fill("import { x } from 'left-pad';");
  await runUntil(/only @aws-sdk\/client-kinesis can be imported/);
});

test('a SQL application writes its output stream to a Kinesis data stream, read back with the SDK console', async () => {
  await page.getByTestId('preset').selectOption('ticker-to-stream.json');
  await page.waitForFunction(() => document.querySelector('#output-stream')?.value === 'ticker-averages');
  assert.equal(await page.locator('#output-stream-shards').inputValue(), '1');
  await page.getByTestId('create').click();
  await page.getByTestId('output-stream-ticker-averages').waitFor();
  await startTickerAverages();
  await page.getByTestId('ff-minute').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]')?.textContent === '0:01:01.0' &&
    document.querySelector('[data-testid="status"]')?.textContent === 'Paused');
  const output = await text('sql-output-0');
  const [, written, waiting] = output.match(/DESTINATION_SQL_STREAM → Kinesis stream ticker-averages \(JSON, a record per row, random partition keys\): ([\d,]+) rows written, ([\d,]+) waiting/);
  assert.ok(int(written) > 30, output);
  assert.equal(waiting, '0');
  // The stream's panel: its shard counts what was written, and the newest
  // records are KDA's JSON.
  const panel = page.getByTestId('output-stream-ticker-averages');
  assert.equal(int(await panel.locator('tbody tr').first().locator('td').nth(1).innerText()), int(written));
  assert.match(await page.getByTestId('output-records-ticker-averages').locator('tbody tr').first().innerText(),
    /shardId-000000000000\s+\d{56}\s+[0-9a-f-]{36}\s+\{"TICKER_SYMBOL":"[A-Z]+","AVG_PRICE":[\d.]+\}/);
  // The SDK console reads the same records from the stream, in order.
  await page.getByRole('button', { name: 'Clear the output' }).click();
  await page.getByTestId('console-code').fill(`
import * as k from '@aws-sdk/client-kinesis';
const client = new k.KinesisClient({ region: 'us-east-1' });
const { ShardIterator } = await client.send(new k.GetShardIteratorCommand({
  StreamName: 'ticker-averages', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
const { Records } = await client.send(new k.GetRecordsCommand({ ShardIterator, Limit: 10000 }));
const rows = Records.map((r) => JSON.parse(new TextDecoder().decode(r.Data)));
console.log('read', Records.length, 'first', Object.keys(rows[0]).join(','));`);
  await page.getByTestId('console-run').click();
  await page.waitForFunction(() => /read \d+ first/.test(document.querySelector('[data-testid="console-output"]')?.textContent ?? ''));
  const [, read, keys] = (await page.getByTestId('console-output').innerText()).match(/read (\d+) first (\S+)/);
  assert.equal(Number(read), int(written));
  assert.equal(keys, 'TICKER_SYMBOL,AVG_PRICE');
  await page.getByTestId('sql-stop').click();
  await page.fill('#output-stream', '');
});

test('a stream that outgrows the browser stops with a message, and nothing is lost', async () => {
  // The page's ?memory-limit-mb= lowers the simulation's heap budget, and a
  // shard worker's (2.5 GiB on the site), so that a few virtual minutes
  // reach it.
  const other = await browser.context.newPage();
  try {
    other.setDefaultTimeout(TIMEOUT);
    await other.goto(`${siteUrl()}?memory-limit-mb=48`);
    await other.getByTestId('create').and(other.locator(':enabled')).waitFor();
    await other.fill('#stream-name', 'big');
    await other.fill('#shard-count', '4');
    await other.fill('#rate', '2000');
    await other.getByTestId('create').click();
    await other.waitForFunction(() => document.querySelectorAll('[data-shard]').length === 4);
    await other.getByTestId('ff-hour').click();
    const error = other.getByTestId('error');
    await error.waitFor({ timeout: 120_000 });
    const message = await error.innerText();
    // The simulation's journal or a shard worker's records, whichever
    // fills first (the journal logs the records' recipes, a fifth of them).
    assert.match(message, /Stopped at 0:\d\d:\d\d: (this stream's records and their journal fill \d+ MiB of the simulation's memory|shard worker \d's records, with room to checkpoint them, fill \d+ MiB of its memory), its limit in a browser \(48 MiB;.*Nothing is lost/s);
    await other.waitForFunction(() => !document.querySelector('[data-testid="status"]')?.textContent.startsWith('Fast-forward'));
    const [h, m] = (await other.getByTestId('clock').innerText()).split(':').map(Number);
    assert.ok(h === 0 && m >= 1, `stopped at ${h}:${m}`);
    // The stream is still there (before, the worker died and took it with
    // it): its counts stand, every record sent was accepted, and it runs a step.
    const accepted = int(await other.getByTestId('stat-accepted').innerText());
    assert.ok(accepted > 100_000, `${accepted} accepted`);
    assert.equal(int(await other.getByTestId('stat-produced').innerText()), accepted);
    const before = await other.getByTestId('clock').innerText();
    await error.getByText('Dismiss').click();
    await other.getByTestId('step').click();
    await other.waitForFunction((b) => document.querySelector('[data-testid="clock"]')?.textContent !== b, before);
  } finally {
    await other.close();
  }
});

test('bad input gets a clear error', async () => {
  await page.fill('#shard-count', '33');
  await page.getByTestId('create').click();
  const error = page.getByTestId('error');
  await error.waitFor();
  assert.match(await error.innerText(), /ValidationException.*shardCount/s);
});

test('the Content-Security-Policy refuses inline scripts', async () => {
  // A page of its own, so that the refusal it provokes is not one of the
  // shared page's problems.
  const other = await browser.context.newPage();
  try {
    await other.goto(siteUrl());
    await other.getByTestId('create').and(other.locator(':enabled')).waitFor();
    const policy = await other.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'/);
    assert.doesNotMatch(policy, /unsafe-inline'[^;]*;.*script-src|script-src[^;]*unsafe-inline/);
    const outcome = await other.evaluate(() => new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(`refused: ${e.violatedDirective}`), { once: true });
      const s = document.createElement('script');
      s.textContent = 'window.inlineRan = true;';
      document.head.append(s);
      setTimeout(() => resolve(window.inlineRan ? 'ran' : 'not run, no report'), 2000);
    }));
    assert.match(outcome, /^refused: script-src/);
    assert.equal(await other.evaluate(() => window.inlineRan), undefined);
  } finally {
    await other.close();
  }
});

test('no console errors, page errors or failed requests', () => {
  assert.deepEqual(problems, []);
});
