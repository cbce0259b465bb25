// Headless Chromium from Debian (`chromium`), launched the one way every browser test uses.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.TIDEPOOL_CHROMIUM || '/usr/bin/chromium';

const LAUNCH_TIMEOUT_MS = 60_000;

const launchOnce = () =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      // Shared memory in /tmp: a CI container's /dev/shm may be 64 MiB, too small for a workbench.
      '--disable-dev-shm-usage',
    ],
  });

/**
 * Chromium without the sandbox (tests run as root), the GPU or any traffic of its own. A launch
 * that fails is tried once more: a start of Chromium under a fully loaded machine has failed in
 * CI without a trace here, and the browser is the test's tool, not what it tests. The first
 * failure is printed whole (with Chromium's own log) so that it can still be read.
 */
export async function launchChromium(): Promise<Browser> {
  try {
    return await launchOnce();
  } catch (err) {
    console.error(`launchChromium: the first launch failed, trying once more: ${(err as Error).stack ?? err}`);
    return await launchOnce();
  }
}
