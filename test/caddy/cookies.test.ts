// Cookies ignore ports: whatever a Port's page sets is the host's, and goes with every request
// to the UI, the API and the IDEs. Through the real Caddy and real Chromium: a Port's
// Set-Cookie never reaches the browser; 30 cookies of 4 KB set by the page's own JavaScript
// (which used to make the UI, the API and the IDE answer 431 for a year) leave them answering
// 200, and none of them reaches the API or the IDE. A Port route on the IDE's port is refused
// by the preview server too (the API refuses such a Port; this is for one stored before).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDE_PORT } from '../../specs/index.js';
import { launchChromium } from '../chromium.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../api/helpers.js';
import { fakeServer, get, startHarness, type FakeServer, type Harness } from './helpers.js';

const PROXY_SECRET = 'cookies-test-secret-0123456789abcdefghij';
const HOST = '127.78.3.10';
const COOKIES = 30;
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** The dev server's page: a cookie by header, and COOKIES big ones by script. */
const PAGE = `<!doctype html><title>loading</title><script>
for (let i = 0; i < ${COOKIES}; i++) document.cookie = 'big' + i + '=' + 'x'.repeat(4000) + '; path=/; max-age=31536000';
document.title = 'cookies set: ' + document.cookie.length;
</script>`;

let api: TestServer;
let h: Harness;
let ide: FakeServer;
let dev: http.Server;
let webRoot: string;
let browser: Browser;

beforeAll(async () => {
  webRoot = await mkdtemp(join(tmpdir(), 'tp-cookies-web-'));
  await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>Tidepool</title>');
  // The real API (Node's own 16 KiB header limit, as code-server has): a real /authz, a real UI folder.
  api = await startTestServer({ webRoot, proxySecret: PROXY_SECRET, throttle: { floorMs: 10 } });
  ide = await fakeServer('alice-ide', HOST, IDE_PORT);
  dev = http.createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'set-cookie': ['from-port-header=1; Path=/; Max-Age=31536000', `big-by-header=${'y'.repeat(4000)}; Path=/`],
    });
    res.end(PAGE);
  });
  await new Promise<void>((r) => dev.listen(3000, HOST, r));
  h = await startHarness({
    apiUpstream: new URL(api.url).host,
    credentials: { username: USER, password: PASSWORD },
    proxySecret: PROXY_SECRET,
  });
  await h.proxy.apply({
    workspaces: [{ name: 'alice', upstream: `${HOST}:${IDE_PORT}` }],
    ports: [
      { workspace: 'alice', port: 3000, upstream: `${HOST}:3000` },
      // A Port on the IDE's port, as a store written before the API refused them could hold.
      { workspace: 'alice', port: IDE_PORT, upstream: `${HOST}:${IDE_PORT}` },
    ],
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await ide?.close();
  await new Promise((r) => dev?.close(r));
  await api?.close();
  if (webRoot) await rm(webRoot, { recursive: true, force: true });
});

describe("a Port's cookies", () => {
  it('never reach the browser by Set-Cookie; set by script, they break nothing and reach neither the API nor the IDE', async () => {
    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
    try {
      const page = await context.newPage();
      const port = await page.goto(`${h.previewUrl}/workspace/alice/port/3000/`);
      expect(port?.status()).toBe(200);
      expect(port?.headers()['set-cookie']).toBeUndefined();
      await page.waitForFunction(() => document.title.startsWith('cookies set'));
      const jar = await context.cookies();
      expect(jar.map((c) => c.name)).not.toContain('from-port-header');
      expect(jar.map((c) => c.name)).not.toContain('big-by-header');
      expect(jar.filter((c) => c.name.startsWith('big')).length).toBe(COOKIES);

      const ideSeen = ide.seen.length;
      for (const url of [
        `${h.appUrl}/app/`,
        `${h.appUrl}/api/v1/workspaces`,
        `${h.workspaceUrl}/workspace/alice/`,
        // Not the Ports: they get the cookies, theirs and every other Port's (one origin; only
        // a host name per Port would keep them apart), and a Node dev server answers 431 now.
      ]) {
        const r = await page.goto(url);
        expect(r?.status(), url).toBe(200);
      }
      const toIde = ide.seen.slice(ideSeen);
      expect(toIde.length).toBeGreaterThan(0);
      for (const s of toIde) expect(s.headers.cookie).toBeUndefined();
    } finally {
      await context.close();
    }
  });

  it('reach neither the UI, the API nor the IDE from a plain client either', async () => {
    const cookie = Array.from({ length: COOKIES }, (_, i) => `big${i}=${'x'.repeat(4000)}`).join('; ');
    for (const url of [`${h.appUrl}/app/`, `${h.appUrl}/api/v1/workspaces`, `${h.workspaceUrl}/workspace/alice/`]) {
      expect((await get(url, AUTH, { cookie })).status, url).toBe(200);
    }
    expect(ide.seen.at(-1)!.headers.cookie).toBeUndefined();
  });
});

describe("the IDE's port on the preview server", () => {
  it('is a page saying so, never the IDE, even with a route for it', async () => {
    const before = ide.seen.length;
    const r = await get(`${h.previewUrl}/workspace/alice/port/${IDE_PORT}/`, AUTH);
    expect(r.status).toBe(404);
    expect(r.body).toContain(`Port ${IDE_PORT} is the IDE's own port`);
    expect(r.body).toContain('/workspace/alice/');
    expect(ide.seen.length).toBe(before);
  });
});
