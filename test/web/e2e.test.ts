// End to end: the built UI in real headless Chromium against a real `tidepool serve` on loopback,
// the whole system: the controller with the stub runtime (each running workspace is a real HTTP
// server on 127.77.x.y) and the memory proxy, and a GitOps sync folder. Every phase, IP and sync
// error the page shows was written by the controller or the sync, never by the test.
// The flows of managing workspaces (create, delete, ports, the workspace page) are in manage.test.ts.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  AUTH,
  CLI,
  Serve,
  WEB_DIST,
  buildUi,
  closeBrowser,
  openBrowser,
  skipBrowserSuite,
  sleep,
  workspaceYaml,
  type Browsing,
} from './harness.js';

const run = promisify(execFile);

describe.skipIf(skipBrowserSuite())('status UI in Chromium against tidepool serve', () => {
  const serve = new Serve();
  const tmp = serve.tmp;
  const syncDir = join(tmp, 'sync');
  let b: Browsing | undefined;
  let page: Page;
  const api = (path: string, init: RequestInit = {}) => serve.api(path, init);
  const cli = (...args: string[]) =>
    run(process.execPath, [CLI, '--server', serve.base, ...args], { env: serve.env, cwd: tmp });

  const row = (name: string) => page.locator(`tp-workspaces tr[data-name="${name}"]`);
  const connection = () => page.locator('tp-connection');

  beforeAll(async () => {
    await buildUi();
    mkdirSync(syncDir, { recursive: true });
    writeFileSync(join(syncDir, 'synced.yaml'), workspaceYaml('from-git'));
    await serve.start(['--sync-dir', `e2e=${syncDir}`]);
    b = await openBrowser();
    page = b.page;
  });

  afterAll(async () => {
    await closeBrowser(b);
    await serve.close();
  });

  it('is small: the built JS is under 60 KB gzipped', () => {
    const assets = join(WEB_DIST, 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    const gzipped = js.reduce((n, f) => n + gzipSync(readFileSync(join(assets, f)), { level: 9 }).length, 0);
    expect(gzipped).toBeLessThan(60 * 1024);
  });

  it('refuses the page without credentials and loads it with them', async () => {
    expect((await fetch(`${serve.base}/app/`)).status).toBe(401);
    const res = await page.goto(`${serve.base}/app/`);
    expect(res?.status()).toBe(200);
    await page.locator('tp-connection[state="live"]').waitFor({ timeout: 10_000 });
    expect(await connection().textContent()).not.toBeNull();
    expect(await page.locator('tp-connection').evaluate((el) => el.shadowRoot?.textContent?.trim())).toBe('Live');
    await page.getByRole('heading', { name: /Workspaces/ }).waitFor();
  });

  it('does not poll: while nothing changes, the page sends no request', async () => {
    const requests: string[] = [];
    const onRequest = (r: { url(): string }) => requests.push(r.url());
    page.on('request', onRequest);
    await sleep(2500);
    page.off('request', onRequest);
    expect(requests).toEqual([]);
  });

  it('shows a Workspace applied through the CLI within 2 s, and its IDE and port links once it is Ready', async () => {
    writeFileSync(join(tmp, 'alice.yaml'), workspaceYaml('web-alice', 3000));
    await cli('apply', '-f', join(tmp, 'alice.yaml'));
    // Live: no reload, no polling; the watch brings it.
    await row('web-alice').waitFor({ timeout: 2000 });
    const ide = row('web-alice').locator('a.ide');
    await ide.waitFor({ timeout: 15_000 });
    expect(await ide.getAttribute('href')).toBe('http://127.0.0.1:8081/workspace/web-alice/');
    expect(await ide.getAttribute('target')).toBe('_blank');
    await row('web-alice').locator('a.port').waitFor({ timeout: 2000 });
    expect(await row('web-alice').locator('a.port').getAttribute('href')).toBe(
      'http://127.0.0.1:8081/workspace/web-alice/port/3000/',
    );
  });

  it('shows the workspace Running once the controller has started it, with the IP where its IDE answers', async () => {
    await row('web-alice').locator('tp-badge[tone="ok"]', { hasText: 'Running' }).waitFor({ timeout: 15_000 });
    const ip = (await row('web-alice').locator('td.ip').textContent())?.replace(/^\s*IP/, '').trim() ?? '';
    expect(ip).toMatch(/^127\.77\.\d{1,3}\.\d{1,3}$/);
    expect(ip).toBe((await api('/api/v1/workspaces/web-alice')).status.ip);
    // The stub runtime's IDE of this very workspace is there.
    expect(await (await fetch(`http://${ip}:8080/`)).text()).toBe('stub IDE of workspace web-alice: GET /\n');
    expect(await row('web-alice').locator('td.ready').textContent()).toContain('Ready: the IDE answers.');
  });

  it('Stop sets spec.running to false through the API and the badge follows the status', async () => {
    const stop = page.getByRole('button', { name: 'Stop web-alice' });
    await stop.focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => (await api('/api/v1/workspaces/web-alice')).spec.running, { timeout: 10_000 })
      .toBe(false);
    await page.getByRole('button', { name: 'Start web-alice' }).waitFor({ timeout: 15_000 });

    // The controller stops the VM and says so in status; the row follows, in words, and the IDE link goes.
    await row('web-alice').locator('tp-badge[tone="neutral"]', { hasText: 'Stopped' }).waitFor({ timeout: 15_000 });
    expect(await row('web-alice').locator('td.ready').textContent()).toContain(
      'Stopped. Its disk and home are kept; Start runs it again.',
    );
    expect(await row('web-alice').locator('a.ide').count()).toBe(0);
    expect(await row('web-alice').locator('.ide-off').textContent()).toBe('IDE: stopped');
    expect((await row('web-alice').locator('td.ip').textContent())?.replace(/^\s*IP/, '').trim()).toBe('—');

    expect(await page.getByRole('button', { name: 'Start web-alice' }).isEnabled()).toBe(true);
  });

  it('shows the sync folder Ready, and the workspace it declares Running', async () => {
    const sync = page.locator('tp-syncs li.sync[data-name="e2e"]');
    await sync.waitFor({ timeout: 10_000 });
    await sync.locator('tp-badge[tone="ok"]', { hasText: /^Ready$/ }).waitFor({ timeout: 10_000 });
    expect(await sync.locator('.path').textContent()).toBe(syncDir);
    await row('from-git').locator('tp-badge[tone="ok"]', { hasText: 'Running' }).waitFor({ timeout: 15_000 });
  });

  it('shows the error of an invalid file in a sync folder, with file and line', async () => {
    writeFileSync(
      join(syncDir, 'broken.yaml'),
      ['apiVersion: tidepool/v1', 'kind: Workspace', 'metadata: {name: broken}', 'spec:', '  running: maybe', ''].join(
        '\n',
      ),
    );
    const errors = page.locator('tp-syncs li.sync[data-name="e2e"] ul.errors li');
    await errors.first().waitFor({ timeout: 15_000 });
    const text = (await errors.allTextContents()).join('\n');
    // broken.yaml:LINE:COLUMN, the field path and the message.
    expect(text).toMatch(/broken\.yaml:5(:\d+)?/);
    expect(text).toContain('spec.running');
    await page
      .locator('tp-syncs li.sync[data-name="e2e"] tp-badge[tone="error"]', { hasText: 'Stalled' })
      .waitFor({ timeout: 5000 });
    // Nothing of the broken revision was applied; the previous one stays in force.
    expect((await api('/api/v1/workspaces/from-git')).spec.running).toBe(true);
    expect((await fetch(`${serve.base}/api/v1/workspaces/broken`, { headers: { authorization: AUTH } })).status).toBe(
      404,
    );
    expect(await row('from-git').isVisible()).toBe(true);
  });

  it('shows that it is reconnecting when the server goes, and resumes when it is back', async () => {
    await serve.stop();
    await page.locator('tp-connection[state="reconnecting"]').waitFor({ timeout: 10_000 });
    await serve.restart();
    await page.locator('tp-connection[state="live"]').waitFor({ timeout: 20_000 });
    writeFileSync(join(tmp, 'bob.yaml'), workspaceYaml('web-bob', 8000));
    await cli('apply', '-f', join(tmp, 'bob.yaml'));
    await row('web-bob').waitFor({ timeout: 2000 });
    // The restarted controller runs it.
    await row('web-bob').locator('tp-badge[tone="ok"]', { hasText: 'Running' }).waitFor({ timeout: 15_000 });
  });

  it('threw no error in the page', () => {
    expect(b?.errors).toEqual([]);
  });
});
