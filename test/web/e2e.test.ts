// End to end: the built UI in real headless Chromium against a real `tidepool serve` on loopback,
// the whole system: the controller with the stub runtime (each running workspace is a real HTTP
// server on 127.77.x.y) and the memory proxy, and a GitOps sync folder. Every phase, IP and sync
// error the page shows was written by the controller or the sync, never by the test. The UI is
// built into web/dist (serve's default webRoot) unless TIDEPOOL_SKIP_BUILD is set and a build is there.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const WEB_DIST = join(ROOT, 'web', 'dist');
const CHROMIUM = process.env.TIDEPOOL_CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, 'docs', 'screenshot.png');
const USER = 'e2e';
const PASSWORD = 'e2e-password-not-secret';
const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value, at most `ms`. */
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe.skipIf(!existsSync(CLI) || !existsSync(CHROMIUM))('status UI in Chromium against tidepool serve', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tp-web-e2e-'));
  const dataDir = join(tmp, 'data');
  const syncDir = join(tmp, 'sync');
  const env = { ...process.env, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD, TIDEPOOL_LOG_LEVEL: 'warn' };
  let base = '';
  let serveArgs: string[] = [];
  let serve: ChildProcess | undefined;
  let serveLog = '';
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, { ...init, headers: { authorization: auth, accept: 'application/json', ...(init.headers ?? {}) } });
    const body = await res.json();
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body as Record<string, any>;
  };
  const cli = (...args: string[]) => run(process.execPath, [CLI, '--server', base, ...args], { env, cwd: tmp });

  async function startServe(): Promise<void> {
    serve = spawn(process.execPath, [CLI, 'serve', ...serveArgs], { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    serve.stdout?.on('data', (d: Buffer) => (serveLog += d.toString()));
    serve.stderr?.on('data', (d: Buffer) => (serveLog += d.toString()));
    const child = serve;
    await until(
      `tidepool serve on ${base}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${serveLog}`);
        return (await fetch(`${base}/healthz`)).ok;
      },
      20_000,
    );
  }

  async function stopServe(): Promise<void> {
    const child = serve;
    serve = undefined;
    if (!child || child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(child.pid, 'SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }

  const row = (name: string) => page.locator(`tp-workspaces tr[data-name="${name}"]`);
  const connection = () => page.locator('tp-connection');

  function workspaceYaml(name: string, port?: number): string {
    return [
      'apiVersion: tidepool/v1',
      'kind: Workspace',
      `metadata: {name: ${name}, labels: {suite: web-e2e}}`,
      'spec: {image: default, running: true, resources: {cpu: 1, memory: 512Mi}}',
      ...(port ? ['---', 'apiVersion: tidepool/v1', 'kind: Port', `metadata: {name: ${name}-${port}}`, `spec: {workspace: ${name}, port: ${port}}`] : []),
      '',
    ].join('\n');
  }

  beforeAll(async () => {
    if (!(process.env.TIDEPOOL_SKIP_BUILD && existsSync(join(WEB_DIST, 'index.html')))) {
      const { build } = await import('vite');
      await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    mkdirSync(syncDir, { recursive: true });
    writeFileSync(join(syncDir, 'synced.yaml'), workspaceYaml('from-git'));
    serveArgs = ['--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--runtime', 'stub', '--proxy', 'memory', '--sync-dir', `e2e=${syncDir}`];
    await startServe();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD }, viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(String(err)));
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await stopServe();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is small: the built JS is under 60 KB gzipped', () => {
    const assets = join(WEB_DIST, 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    const gzipped = js.reduce((n, f) => n + gzipSync(readFileSync(join(assets, f)), { level: 9 }).length, 0);
    expect(gzipped).toBeLessThan(60 * 1024);
  });

  it('refuses the page without credentials and loads it with them', async () => {
    expect((await fetch(`${base}/app/`)).status).toBe(401);
    const res = await page.goto(`${base}/app/`);
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

  it('shows a Workspace applied through the CLI within 2 s, with its IDE and port links', async () => {
    writeFileSync(join(tmp, 'alice.yaml'), workspaceYaml('web-alice', 3000));
    await cli('apply', '-f', join(tmp, 'alice.yaml'));
    // Live: no reload, no polling; the watch brings it.
    await row('web-alice').waitFor({ timeout: 2000 });
    const ide = row('web-alice').locator('a.ide');
    expect(await ide.getAttribute('href')).toBe('http://127.0.0.1:8081/workspace/web-alice/');
    expect(await ide.getAttribute('target')).toBe('_blank');
    await row('web-alice').locator('a.port').waitFor({ timeout: 2000 });
    expect(await row('web-alice').locator('a.port').getAttribute('href')).toBe('http://127.0.0.1:8081/workspace/web-alice/port/3000/');
  });

  it('shows the workspace Running once the controller has started it, with the IP where its IDE answers', async () => {
    await row('web-alice').locator('tp-badge[tone="ok"]', { hasText: 'Running' }).waitFor({ timeout: 15_000 });
    const ip = (await row('web-alice').locator('td.ip').textContent())?.replace(/^\s*IP/, '').trim() ?? '';
    expect(ip).toMatch(/^127\.77\.\d{1,3}\.\d{1,3}$/);
    expect(ip).toBe((await api('/api/v1/workspaces/web-alice')).status.ip);
    // The stub runtime's IDE of this very workspace is there.
    expect(await (await fetch(`http://${ip}:8080/`)).text()).toBe('stub IDE of workspace web-alice: GET /\n');
    expect(await row('web-alice').locator('td.ready .reason').textContent()).toBe('Running');
  });

  it('Stop sets spec.running to false through the API and the badge follows the status', async () => {
    const stop = page.getByRole('button', { name: 'Stop web-alice' });
    await stop.focus();
    await page.keyboard.press('Enter');
    await until('spec.running=false', async () => (await api('/api/v1/workspaces/web-alice')).spec.running === false);
    await page.getByRole('button', { name: 'Start web-alice' }).waitFor({ timeout: 5000 });

    // The controller stops the VM and says so in status; the row follows.
    await row('web-alice').locator('tp-badge[tone="neutral"]', { hasText: 'Stopped' }).waitFor({ timeout: 15_000 });
    expect(await row('web-alice').locator('td.ready .reason').textContent()).toBe('Stopped');
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
    writeFileSync(join(syncDir, 'broken.yaml'), ['apiVersion: tidepool/v1', 'kind: Workspace', 'metadata: {name: broken}', 'spec:', '  running: maybe', ''].join('\n'));
    const errors = page.locator('tp-syncs li.sync[data-name="e2e"] ul.errors li');
    await errors.first().waitFor({ timeout: 15_000 });
    const text = (await errors.allTextContents()).join('\n');
    // broken.yaml:LINE:COLUMN, the field path and the message.
    expect(text).toMatch(/broken\.yaml:5(:\d+)?/);
    expect(text).toContain('spec.running');
    await page.locator('tp-syncs li.sync[data-name="e2e"] tp-badge[tone="error"]', { hasText: 'Stalled' }).waitFor({ timeout: 5000 });
    // Nothing of the broken revision was applied; the previous one stays in force.
    expect((await api('/api/v1/workspaces/from-git')).spec.running).toBe(true);
    expect((await fetch(`${base}/api/v1/workspaces/broken`, { headers: { authorization: auth } })).status).toBe(404);
    expect(await row('from-git').isVisible()).toBe(true);
  });

  it('saves a screenshot of the page (docs/screenshot.png)', async () => {
    // Taken before the restart below: the stub runtime keeps its VMs in memory, so after a
    // restart the controller finds them gone and makes them again, with VMNotFound warnings
    // that are about the stub, not something a reader of the docs should see.
    await page.locator('tp-connection[state="live"]').waitFor();
    await page.mouse.move(0, 0);
    await sleep(300);
    // The page down to the end of its content.
    const bottom = await page.evaluate(() => document.querySelector('tp-app')?.shadowRoot?.querySelector('main')?.getBoundingClientRect().bottom ?? 0);
    const width = page.viewportSize()?.width ?? 1280;
    await page.screenshot({ path: SCREENSHOT, fullPage: true, clip: { x: 0, y: 0, width, height: Math.max(200, Math.ceil(bottom)) } });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('shows that it is reconnecting when the server goes, and resumes when it is back', async () => {
    await stopServe();
    await page.locator('tp-connection[state="reconnecting"]').waitFor({ timeout: 10_000 });
    await startServe();
    await page.locator('tp-connection[state="live"]').waitFor({ timeout: 20_000 });
    writeFileSync(join(tmp, 'bob.yaml'), workspaceYaml('web-bob', 8000));
    await cli('apply', '-f', join(tmp, 'bob.yaml'));
    await row('web-bob').waitFor({ timeout: 2000 });
    // The restarted controller runs it.
    await row('web-bob').locator('tp-badge[tone="ok"]', { hasText: 'Running' }).waitFor({ timeout: 15_000 });
  });

  it('threw no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
