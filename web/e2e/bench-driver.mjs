// Opens the built site's bench.html in headless Chromium, waits for the
// figures and prints them as JSON on stdout (read by `cargo xtask bench`).
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
  const browser = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
  console.log(JSON.stringify({ browser, results, errors }));
} finally {
  await close();
}
