// Headless Chromium from Debian (`chromium`), launched the one way every browser test uses.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.TIDEPOOL_CHROMIUM || '/usr/bin/chromium';

/** Chromium without the sandbox (tests run as root), the GPU or any traffic of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
