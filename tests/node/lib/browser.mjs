// Headless Chromium for the browser tests, driven by playwright-core (which downloads
// no browser of its own): the system's Chromium, from $VARCO_CHROMIUM or
// /usr/bin/chromium (Debian's `chromium` package; `.ci/run` installs it).
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Launches the headless browser; the caller closes it (`await browser.close()`). */
export async function launch() {
  const executablePath = process.env.VARCO_CHROMIUM || '/usr/bin/chromium';
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** A page in a fresh context: 1280x900 viewport, Italian locale. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'it-IT' });
  return context.newPage();
}
