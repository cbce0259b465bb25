// The UI's usage graphs and bars in real Chromium against a real `tidepool serve` (stub
// runtime): first with the server's own samples (the stub reports 0 CPU and memory, so the
// graphs show zeros), then with an hour of samples given to the page (the stub has no load
// to show), to check what is drawn — one point per sample, the figures in words for screen
// readers, a bar per running workspace and the host's budget — in light and dark, on a phone
// without sideways scrolling. It makes the README's usage screenshots.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { UsageList } from '../../specs/usage.js';
import { Serve, buildUi, closeBrowser, openBrowser, skipBrowserSuite, type Browsing } from './harness.js';
import { screenshotPath } from '../screenshots.js';

const GiB = 2 ** 30;
const HOUR = 3_600_000;

/** An hour of 10 s samples: a build that takes most of two cores for 20 minutes, then quiet; memory climbing with it. */
function hourOf(now: number) {
  const t: number[] = [];
  const cpu: number[] = [];
  const memory: number[] = [];
  for (let i = 0; i < 360; i++) {
    const at = now - HOUR + i * 10_000;
    const building = i >= 150 && i < 270;
    t.push(at);
    cpu.push(building ? 1.5 + 0.4 * Math.sin(i / 4) : 0.05 + 0.03 * Math.sin(i / 7));
    memory.push((building ? 2.2 : 0.9) * GiB + i * 2 ** 20);
  }
  cpu[359] = 1.5;
  return { t, cpu, memory };
}

function fixture(now: number): UsageList {
  const history = hourOf(now);
  return {
    apiVersion: 'tidepool/v1',
    kind: 'UsageList',
    intervalSeconds: 10,
    host: {
      cpuBudget: 8,
      memoryBudgetBytes: 16 * GiB,
      cpuAllocated: 3,
      memoryAllocatedBytes: 6 * GiB,
      cpuCores: 1.6,
      memoryBytes: 3 * GiB,
    },
    items: [
      {
        name: 'alice',
        sampledAt: new Date(now).toISOString(),
        cpuCores: 1.5,
        cpuLimit: 2,
        memoryBytes: history.memory[359]!,
        memoryLimitBytes: 4 * GiB,
        history,
      },
      {
        name: 'bob',
        sampledAt: new Date(now).toISOString(),
        cpuCores: 0.1,
        cpuLimit: 1,
        memoryBytes: 0.4 * GiB,
        memoryLimitBytes: 2 * GiB,
      },
    ],
  };
}

describe.skipIf(skipBrowserSuite())('usage graphs and bars in Chromium', () => {
  const serve = new Serve();
  let b: Browsing | undefined;
  let page: Page;
  const url = (path: string) => `${serve.base}${path}`;
  const svgLabel = (heading: string) =>
    page.locator(`tp-usage-graph[heading="${heading}"] svg`).getAttribute('aria-label');

  beforeAll(async () => {
    await buildUi();
    await serve.start(['--usage-interval', '1s']);
    for (const [name, cpu, memory] of [
      ['alice', 2, '4Gi'],
      ['bob', 1, '2Gi'],
    ] as const) {
      await serve.api('/api/v1/workspaces', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'tidepool/v1',
          kind: 'Workspace',
          metadata: { name },
          spec: { image: 'default', running: true, resources: { cpu, memory } },
        }),
      });
    }
    b = await openBrowser();
    page = b.page;
  });

  afterAll(async () => {
    await closeBrowser(b);
    await serve.close();
  });

  it("draws the server's own samples on a workspace's page", async () => {
    await page.goto(url('/app/workspaces/alice'));
    await page.locator('tp-usage-graph[heading="CPU"] polyline').waitFor({ state: 'attached', timeout: 20_000 });
    expect(await svgLabel('CPU')).toMatch(
      /^CPU over the last \d+ s: now 0\.00 cores, peak 0\.00 cores, of 2\.00 cores$/,
    );
    expect(await svgLabel('Memory')).toMatch(/^Memory over the last \d+ s: now 0 B, peak 0 B, of 4\.0 GiB$/);
    expect(b!.errors).toEqual([]);
  });

  it('draws an hour, a bar per running workspace and the host budget, in light and dark and on a phone', async () => {
    const now = Date.now();
    await page.route('**/api/v1/usage**', (route) => {
      const u = new URL(route.request().url());
      const list = fixture(now);
      const one = u.searchParams.get('workspace');
      if (one) list.items = list.items.filter((i) => i.name === one);
      if (u.searchParams.get('history') !== 'true') for (const i of list.items) delete i.history;
      return route.fulfill({ json: list });
    });
    await page.goto(url('/app/'));
    const meter = (name: string, label: string) =>
      page.locator(`tr[data-name="${name}"] tp-usage-bar[label="${label}"] [role="meter"]`);
    await meter('alice', 'CPU').waitFor({ timeout: 15_000 });
    expect(await meter('alice', 'CPU').getAttribute('aria-valuenow')).toBe('75');
    expect(await meter('alice', 'CPU').getAttribute('aria-valuetext')).toBe('1.50 of 2 cores');
    expect(await meter('bob', 'Mem').getAttribute('aria-valuenow')).toBe('20');
    const host = page.locator('tp-workspaces .host tp-usage-bar[label="CPU"] [role="meter"]');
    expect(await host.getAttribute('aria-valuenow')).toBe('38');
    expect(await host.getAttribute('aria-valuetext')).toBe(
      '3 of 8 vCPUs held by running workspaces; 1.60 cores in use',
    );
    await page.locator('tp-workspaces').screenshot({ path: screenshotPath('usage-list.png') });

    await page.goto(url('/app/workspaces/alice'));
    const line = page.locator('tp-usage-graph[heading="CPU"] polyline');
    await line.waitFor({ timeout: 15_000 });
    expect((await line.getAttribute('points'))?.split(' ')).toHaveLength(360);
    expect(await svgLabel('CPU')).toBe('CPU over the last 1 h: now 1.50 cores, peak 1.90 cores, of 2.00 cores');
    await page.locator('section[aria-labelledby="h-usage"]').screenshot({ path: screenshotPath('usage.png') });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.reload();
    await line.waitFor({ timeout: 15_000 });
    const widths = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ]);
    expect(widths[0]).toBeLessThanOrEqual(widths[1]!);
    await page
      .locator('section[aria-labelledby="h-usage"]')
      .screenshot({ path: screenshotPath('usage-phone-dark.png') });
    expect(b!.errors).toEqual([]);
  });
});
