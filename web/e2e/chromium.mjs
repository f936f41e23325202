// Launches Debian's Chromium, headless, for the end-to-end tests and the
// browser benchmarks. The background-networking flags matter: this kind of
// machine has a closed network and Chromium otherwise keeps trying Google's
// hosts. Every launch gets a fresh, empty profile.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.SHARDLAB_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'shardlab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

export function siteUrl() {
  const url = process.env.SHARDLAB_URL;
  if (!url) throw new Error('SHARDLAB_URL is not set; run the tests with `cargo xtask test`');
  return url;
}
