// What the UI's Chromium tests share: a real `tidepool serve` (stub runtime: each running
// workspace is a real HTTP server on 127.77.x.y; memory proxy) on a free loopback port, the
// built UI (web/dist, built here unless TIDEPOOL_SKIP_BUILD is set and a build is there), and a
// real headless Chromium. Where Chromium or the built CLI is missing the suites skip, unless
// TIDEPOOL_REQUIRE_INCUS or CI is set (make test, CI): there that is a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { vi } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
export const WEB_DIST = join(ROOT, 'web', 'dist');
export { CHROMIUM } from '../chromium.js';
import { CHROMIUM, launchChromium } from '../chromium.js';
export const USER = 'e2e';
export const PASSWORD = 'e2e-password-not-secret';
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** What is missing for the Chromium suites, if anything. */
export function missingForBrowserTests(): string | undefined {
  if (!existsSync(CLI)) return `${CLI} is not built (npm run build)`;
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (scripts/setup-host.sh --with-chromium)`;
  return undefined;
}

/** True when the suites must run: make test and CI set TIDEPOOL_REQUIRE_INCUS (CI sets CI). */
export const browserTestsRequired = Boolean(process.env.TIDEPOOL_REQUIRE_INCUS || process.env.CI);

/** Skip the suite here (a developer machine without Chromium), never where it is required. */
export function skipBrowserSuite(): boolean {
  const missing = missingForBrowserTests();
  if (!missing) return false;
  if (browserTestsRequired) return false; // beforeAll fails with the reason
  console.warn(`SKIPPING the UI's Chromium tests: ${missing}. Set TIDEPOOL_REQUIRE_INCUS=1 to make this a failure.`);
  return true;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Newest modification time of the UI's sources. */
function newestSource(dir = join(ROOT, 'web')): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds the UI into web/dist unless told a build is there (make test builds it first) or the
 * build is newer than every source. Test files run in parallel: a lock directory makes the
 * second one wait for the first one's build instead of emptying web/dist under its server.
 */
export async function buildUi(): Promise<void> {
  const index = join(WEB_DIST, 'index.html');
  if (process.env.TIDEPOOL_SKIP_BUILD && existsSync(index)) return;
  const lock = join(tmpdir(), `tidepool-web-build-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);
  // A lock left by a killed run (older than any build takes) is not waited for.
  if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
  await vi.waitFor(() => mkdirSync(lock), { timeout: 120_000, interval: 200 });
  try {
    if (existsSync(index) && statSync(index).mtimeMs > newestSource()) return;
    const { build } = await import('vite');
    await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** One `tidepool serve --runtime stub --proxy memory` in a temporary folder; restartable. */
export class Serve {
  readonly tmp = mkdtempSync(join(tmpdir(), 'tp-web-'));
  readonly dataDir = join(this.tmp, 'data');
  readonly env = { ...process.env, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD, TIDEPOOL_LOG_LEVEL: 'warn' };
  base = '';
  log = '';
  private args: string[] = [];
  private child: ChildProcess | undefined;

  /** Picks a port and starts; `extra` are more serve flags (say --sync-dir). */
  async start(extra: string[] = []): Promise<void> {
    const missing = missingForBrowserTests();
    if (missing) throw new Error(`the UI's Chromium tests cannot run: ${missing}`);
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    mkdirSync(this.dataDir, { recursive: true });
    this.args = [
      '--data-dir',
      this.dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--runtime',
      'stub',
      '--proxy',
      'memory',
      ...extra,
    ];
    await this.restart();
  }

  /** Starts again with the same flags (after stop). */
  async restart(): Promise<void> {
    const child = spawn(process.execPath, [CLI, 'serve', ...this.args], {
      env: this.env,
      cwd: this.tmp,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    await vi.waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${this.log}`);
        if (!(await fetch(`${this.base}/healthz`)).ok) throw new Error('not healthy yet');
      },
      { timeout: 20_000, interval: 100 },
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(child.pid, 'SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.tmp, { recursive: true, force: true });
  }

  /** A JSON API call with the test's credentials; a non-2xx reply throws with its Status. */
  async api(path: string, init: RequestInit = {}): Promise<Record<string, any>> {
    const res = await fetch(`${this.base}${path}`, {
      ...init,
      headers: { authorization: AUTH, accept: 'application/json', ...(init.headers ?? {}) },
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body as Record<string, any>;
  }
}

export interface Browsing {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors in the page. */
  errors: string[];
}

/** Headless Chromium with the test's credentials, one page of the given size. */
export async function openBrowser(viewport = { width: 1280, height: 860 }): Promise<Browsing> {
  const browser = await launchChromium();
  const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD }, viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  return { browser, context, page, errors };
}

export async function closeBrowser(b: Browsing | undefined): Promise<void> {
  await b?.context.close().catch(() => undefined);
  await b?.browser.close().catch(() => undefined);
}

/** A Workspace (and optionally one Port of it) as YAML for `tidepool apply`. */
export function workspaceYaml(name: string, port?: number): string {
  return [
    'apiVersion: tidepool/v1',
    'kind: Workspace',
    `metadata: {name: ${name}, labels: {suite: web-e2e}}`,
    'spec: {image: default, running: true, resources: {cpu: 1, memory: 512Mi}}',
    ...(port
      ? [
          '---',
          'apiVersion: tidepool/v1',
          'kind: Port',
          `metadata: {name: ${name}-${port}}`,
          `spec: {workspace: ${name}, port: ${port}}`,
        ]
      : []),
    '',
  ].join('\n');
}
