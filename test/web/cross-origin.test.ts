// A dev server's page must not drive the API with the user's credentials. Real Chromium, a
// real `tidepool serve --runtime stub --proxy caddy` (its Caddy on free loopback ports): the
// user signs in on the app origin, then opens a Port's page (the preview origin, served through
// Caddy from a server of this test on the workspace's 127.77.x.y address). That page's script
// opens the exec WebSocket of the API as root and sends a state-changing POST with the
// browser's credentials, and the API refuses both with 403 (read from Chromium's own network
// log). The same requests from a page of the app origin still go through, Chromium attaching
// the cached credentials.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCaddy, freePortOn } from '../caddy/helpers.js';
import { launchChromium } from '../chromium.js';
import { cleanEnv, type Proc } from '../cli/helpers.js';
import {
  PASSWORD,
  USER,
  applyManifest,
  getObject,
  isCaddy,
  isDnsmasq,
  portYaml,
  records,
  startCaddyServe,
  waitReady,
  workspaceYaml,
  type CaddyServe,
} from '../e2e/caddy-helpers.js';
import { skipBrowserSuite } from './harness.js';

const skip = skipBrowserSuite();
const started: Proc[] = [];
let scratch: string;
let browser: Browser | undefined;

/** The Port's page: what any dev server's JavaScript can do. Results go to window.attack. */
const attackPage = (app: string) => `<!doctype html><title>dev server</title><script>
window.attack = {};
const ws = new WebSocket(${JSON.stringify(`${app.replace(/^http/, 'ws')}/api/v1/workspaces/alice/exec?command=id&user=root`)});
ws.onopen = () => (window.attack.ws = 'open');
ws.onclose = (ev) => (window.attack.wsClosed = ev.code);
fetch(${JSON.stringify(`${app}/api/v1/apply`)}, {
  method: 'POST', mode: 'no-cors', credentials: 'include', headers: {'content-type': 'text/plain'},
  body: 'apiVersion: tidepool/v1\\nkind: Workspace\\nmetadata: {name: mallory}\\nspec: {}\\n',
}).then(() => (window.attack.post = 'sent'), (e) => (window.attack.post = String(e)));
</script>`;

beforeAll(async () => {
  if (skip) return;
  ensureCaddy();
  scratch = await mkdtemp(join(tmpdir(), 'tp-web-xorigin-'));
  browser = await launchChromium();
}, 60_000);

// Every serve started here (even one whose set-up failed half way), then its Caddy and dnsmasq, by the pids it logged.
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  for (const proc of started) {
    const pids = records(proc)
      .flatMap((r) => [r.caddyPid, r.dnsmasqPid])
      .filter((p): p is number => typeof p === 'number');
    await proc.stop('SIGTERM').catch(() => undefined);
    for (const pid of pids) if (isCaddy(pid) || isDnsmasq(pid)) process.kill(pid, 'SIGKILL');
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A serve with Caddy (plain HTTP or --tls internal), workspace alice Running, and a Port of it serving the attack page. */
interface Setup {
  s: CaddyServe;
  /** The three origins as the browser reaches them (https with --tls). */
  app: string;
  preview: string;
  devPort: number;
  page: Server;
}

async function setUp(mode: string, extra: string[], scheme: 'http' | 'https'): Promise<Setup> {
  const s = await startCaddyServe(
    join(scratch, mode),
    cleanEnv({ XDG_DATA_HOME: join(scratch, `xdg-${mode}`) }),
    started,
    {
      extra,
    },
  );
  const as = (url: string) => url.replace(/^http:/, `${scheme}:`);
  const dir = join(scratch, mode);
  expect(await applyManifest(s, dir, 'alice.yaml', workspaceYaml('alice'))).toContain('workspace/alice created');
  await waitReady(s, 'workspace/alice');
  const ip = (await getObject(s, 'workspaces', 'alice')).status!.ip!;
  const devPort = await freePortOn(ip);
  const html = attackPage(as(s.appUrl));
  const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
  await new Promise<void>((r) => page.listen(devPort, ip, r));
  await applyManifest(s, dir, 'dev.yaml', portYaml('alice-dev', 'alice', devPort));
  await waitReady(s, 'port/alice-dev');
  return { s, app: as(s.appUrl), preview: as(s.previewUrl), devPort, page };
}

async function tearDown(x: Setup | undefined): Promise<void> {
  if (x) await new Promise((r) => x.page.close(r));
}

/** What Chromium's network log says of the requests to the API: WebSocket handshakes and responses. */
interface Seen {
  handshakes: { status: number; authorization: boolean }[];
  responses: { url: string; method: string; status: number }[];
}

async function watchNetwork(p: Page, app: string): Promise<Seen> {
  const cdp: CDPSession = await p.context().newCDPSession(p);
  const seen: Seen = { handshakes: [], responses: [] };
  const methods = new Map<string, string>();
  const sentAuth = new Map<string, boolean>();
  cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
    sentAuth.set(
      e.requestId,
      Object.keys(e.request.headers).some((h) => h.toLowerCase() === 'authorization'),
    );
  });
  const handshake = (requestId: string, status: number) =>
    seen.handshakes.push({ status, authorization: !!sentAuth.get(requestId) });
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => handshake(e.requestId, e.response.status));
  // A refused handshake is reported as an error naming the status, not as a response.
  cdp.on('Network.webSocketFrameError', (e) => {
    const m = /Unexpected response code: (\d+)/.exec(e.errorMessage);
    if (m) handshake(e.requestId, Number(m[1]));
  });
  cdp.on('Network.requestWillBeSent', (e) => methods.set(e.requestId, e.request.method));
  cdp.on('Network.responseReceived', (e) => {
    if (e.response.url.startsWith(app))
      seen.responses.push({ url: e.response.url, method: methods.get(e.requestId) ?? '?', status: e.response.status });
  });
  await cdp.send('Network.enable');
  return seen;
}

const poll = async <T>(fn: () => Promise<T | undefined>, what: string): Promise<T> => {
  for (let i = 0; i < 100; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const MODES = [
  { mode: 'plain HTTP', dir: 'plain', extra: [] as string[], scheme: 'http' as const },
  { mode: '--tls internal', dir: 'tls', extra: ['--tls', 'internal'], scheme: 'https' as const },
];

describe.skipIf(skip).each(MODES)('a Port page against the API, in Chromium through Caddy ($mode)', (m) => {
  let x: Setup | undefined;
  beforeAll(async () => {
    x = await setUp(m.dir, m.extra, m.scheme);
  }, 120_000);
  afterAll(async () => {
    await tearDown(x);
  });
  /** The test's credentials; Caddy's own CA is not trusted here, so its certificates are accepted for this context. */
  const newContext = () =>
    browser!.newContext({ httpCredentials: { username: USER, password: PASSWORD }, ignoreHTTPSErrors: true });

  it("cannot open exec or POST with the user's cached credentials: both get 403", async () => {
    const { s, app, preview, devPort } = x!;
    const context = await newContext();
    try {
      const p = await context.newPage();
      // The user signs in on the app origin: Chromium caches the credentials for the API.
      expect((await p.goto(`${app}/api/v1/workspaces`))!.status()).toBe(200);
      const seen = await watchNetwork(p, app);
      const port = await p.goto(`${preview}/workspace/alice/port/${devPort}/`);
      expect(port!.status()).toBe(200);
      const attack = await poll(
        () =>
          p.evaluate(() => {
            const a = (window as unknown as { attack: { wsClosed?: number; post?: string } }).attack;
            return a.wsClosed !== undefined && a.post !== undefined ? a : undefined;
          }),
        'the page to finish its attempts',
      );
      expect(attack).toEqual({ wsClosed: 1006, post: 'sent' });
      // Refused before any login: Chromium has no challenge to answer with the cached credentials.
      expect(seen.handshakes.map((h) => h.status)).toEqual([403]);
      expect(seen.responses.filter((r) => r.url.endsWith('/api/v1/apply'))).toEqual([
        { url: `${app}/api/v1/apply`, method: 'POST', status: 403 },
      ]);
      const mallory = await fetch(`${s.address}/api/v1/workspaces/mallory`, {
        headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
      });
      expect(mallory.status).toBe(404);
    } finally {
      await context.close();
    }
  });

  it('lets a page of the app origin make the same requests', async () => {
    const { app } = x!;
    const context = await newContext();
    try {
      const p = await context.newPage();
      expect((await p.goto(`${app}/api/v1/workspaces`))!.status()).toBe(200);
      const seen = await watchNetwork(p, app);
      const created = await p.evaluate(async () => {
        const res = await fetch('/api/v1/workspaces', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name: 'bob' }, spec: {} }),
        });
        return res.status;
      });
      expect(created).toBe(201);
      const deleted = await p.evaluate(
        async () => (await fetch('/api/v1/workspaces/bob', { method: 'DELETE' })).status,
      );
      expect(deleted).toBe(200);
      // The stub runtime cannot exec: 501 says the request got past the origin check and the login.
      await p.evaluate(
        (url) => {
          const ws = new WebSocket(url);
          ws.onclose = () => undefined;
        },
        `${app.replace(/^http/, 'ws')}/api/v1/workspaces/alice/exec?command=id`,
      );
      await poll(async () => (seen.handshakes.length ? true : undefined), 'the handshake');
      expect(seen.handshakes).toEqual([{ status: 501, authorization: true }]);
    } finally {
      await context.close();
    }
  });
});
