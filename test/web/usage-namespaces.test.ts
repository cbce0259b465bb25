// The UI's usage bars and graphs follow the namespace shown, in real Chromium against a real
// `tidepool serve` (stub runtime, basic auth: the one person is an admin with a namespace
// picker). A workspace `dev` of namespace team-a gets its bar once the admin picks team-a (the
// page asks /api/v1/namespaces/team-a/usage), and its page's graphs read that namespace's
// figures; the person's own namespace's list keeps asking /api/v1/usage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { Serve, buildUi, closeBrowser, openBrowser, skipBrowserSuite, type Browsing } from './harness.js';

describe.skipIf(skipBrowserSuite())('usage of the namespace shown', () => {
  const serve = new Serve();
  let b: Browsing | undefined;
  let page: Page;
  const asked: string[] = [];

  beforeAll(async () => {
    await buildUi();
    await serve.start(['--usage-interval', '1s']);
    for (const [path, name] of [
      ['/api/v1/workspaces', 'alice'],
      ['/api/v1/namespaces/team-a/workspaces', 'dev'],
    ] as const) {
      await serve.api(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'tidepool/v1',
          kind: 'Workspace',
          metadata: { name },
          spec: { image: 'default', running: true, resources: { cpu: 1, memory: '1Gi' } },
        }),
      });
    }
    b = await openBrowser();
    page = b.page;
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.endsWith('/usage')) asked.push(`${u.pathname}${u.search}`);
    });
  });

  afterAll(async () => {
    await closeBrowser(b);
    await serve.close();
  });

  const meter = (name: string) => page.locator(`tr[data-name="${name}"] tp-usage-bar[label="CPU"] [role="meter"]`);

  it("shows the picked namespace's bars, asking that namespace's usage", async () => {
    await page.goto(`${serve.base}/app/`);
    await meter('alice').waitFor({ timeout: 20_000 });
    expect(asked).toContain('/api/v1/usage');
    await page.locator('tp-namespace-bar select').selectOption('team-a');
    await meter('dev').waitFor({ timeout: 20_000 });
    expect(await meter('dev').getAttribute('aria-valuetext')).toBe('0.00 of 1 cores');
    expect(asked).toContain('/api/v1/namespaces/team-a/usage');
    expect(await page.locator('tr[data-name="alice"]').count()).toBe(0);

    await page.locator('tr[data-name="dev"] a.name').click();
    const line = page.locator('tp-usage-graph[heading="CPU"] polyline');
    await line.waitFor({ state: 'attached', timeout: 20_000 });
    expect(asked).toContain('/api/v1/namespaces/team-a/usage?workspace=dev&history=true');
    expect(b!.errors).toEqual([]);
  });
});
