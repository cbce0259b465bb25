// Shared fixtures for the Caddy driver tests: a driver running its own Caddy and dnsmasq on
// free loopback ports, fake workspaces (HTTP, slow streams, WebSocket echo) on 127.78.x.y (the
// stub runtime takes 127.77.x.y), a fake API.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import {
  createCaddyProxy,
  freeLoopbackPort,
  type CaddyProxy,
  type CaddyProxyOptions,
} from '../../drivers/proxy/caddy/index.js';
import { poll } from '../poll.js';

export const USER = 'tidepool';
export const PASSWORD = 'correct horse battery staple';
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** Installs Caddy through scripts/ensure-caddy.sh when it is not on PATH. */
export function ensureCaddy(): void {
  try {
    execFileSync('caddy', ['version'], { stdio: 'ignore' });
  } catch {
    const script = fileURLToPath(new URL('../../scripts/ensure-caddy.sh', import.meta.url));
    execFileSync('sh', [script], { stdio: 'inherit' });
  }
}

export interface SeenRequest {
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface FakeServer {
  name: string;
  host: string;
  port: number;
  /** host:port, what a RouteTable entry points at. */
  upstream: string;
  seen: SeenRequest[];
  /** Requests for the API's waking page (api/sleep.ts), apart from `seen`. */
  waking: SeenRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP server answering JSON {server, url, prefix} and echoing WebSocket messages as
 * "<name>:<msg>"; `/stream?lines=N&ms=M` streams N lines "<name> i", one every M ms.
 */
export async function fakeServer(
  name: string,
  host: string,
  port = 0,
  extraHeaders: Record<string, string> = {},
): Promise<FakeServer> {
  const seen: SeenRequest[] = [];
  const waking: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    // The fake API answers Caddy's forward auth as the real one does (api/auth.ts), without
    // its throttle; the login check is not a request of its own in `seen`.
    if (name === 'api' && u.pathname === '/authz') {
      if (req.headers.authorization === AUTH) res.writeHead(204).end();
      else res.writeHead(401, { 'www-authenticate': 'Basic realm="tidepool"' }).end('{"kind":"Status","code":401}');
      return;
    }
    // The waking page (api/sleep.ts): a workspace named sleepy* sleeps and is woken, as the real
    // API answers; "nobody" finds the API away (the connection drops); any other is not one to
    // wake (404). In both of those Caddy's own pages answer.
    const wake = name === 'api' ? /^\/api\/v1\/workspaces\/([^/]+)\/waking$/.exec(u.pathname) : null;
    if (wake) {
      waking.push({ url: req.url ?? '', headers: req.headers });
      if (wake[1] === 'nobody') return void req.socket.destroy();
      if (!wake[1]!.startsWith('sleepy')) return void res.writeHead(404).end('{"kind":"Status","code":404}');
      const auth = req.headers.authorization === AUTH ? 'ok' : 'missing';
      res.writeHead(503, { 'retry-after': '2', 'content-type': 'text/plain' });
      return void res.end(`503: waking ${wake[1]} ${u.searchParams.get('kind')} ${req.method} auth=${auth}\n`);
    }
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (u.pathname === '/stream') {
      const lines = Math.min(Number(u.searchParams.get('lines') ?? 10), 1000),
        ms = Math.min(Number(u.searchParams.get('ms') ?? 50), 1000);
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const timer = setInterval(() => {
        res.write(`${name} ${i++}\n`);
        if (i >= lines) {
          clearInterval(timer);
          res.end();
        }
      }, ms);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', ...extraHeaders });
    res.end(JSON.stringify({ server: name, url: req.url, prefix: req.headers['x-forwarded-prefix'] ?? null }));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (sock, req) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    // Caddy 2.6 closes proxied WebSockets on reload with an unmasked close frame, which ws rejects.
    sock.on('error', () => sock.terminate());
    sock.on('message', (data) => sock.send(`${name}:${data.toString()}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as { port: number };
  return {
    name,
    host,
    port: addr.port,
    upstream: `${host}:${addr.port}`,
    seen,
    waking,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Harness {
  proxy: CaddyProxy;
  stateDir: string;
  appUrl: string;
  workspaceUrl: string;
  previewUrl: string;
  /** The options the driver was made with (a second driver on the same state dir adopts with them). */
  options: CaddyProxyOptions;
  close(): Promise<void>;
}

/** A driver that runs its own Caddy and dnsmasq, the three servers on free 127.0.0.1 ports. */
export async function startHarness(over: Partial<CaddyProxyOptions> & { apiUpstream: string }): Promise<Harness> {
  ensureCaddy();
  const stateDir = over.stateDir ?? (await mkdtemp(join(tmpdir(), 'tp-caddy-test-')));
  const options: CaddyProxyOptions = {
    appListen: `127.0.0.1:${await freeLoopbackPort()}`,
    workspaceListen: `127.0.0.1:${await freeLoopbackPort()}`,
    previewListen: `127.0.0.1:${await freeLoopbackPort()}`,
    credentials: { username: USER, password: PASSWORD },
    stateDir,
    ...over,
  };
  const proxy = createCaddyProxy(options);
  await proxy.start();
  return {
    proxy,
    stateDir,
    options,
    appUrl: `http://${options.appListen}`,
    workspaceUrl: `http://${options.workspaceListen}`,
    previewUrl: `http://${options.previewListen}`,
    async close() {
      await proxy.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Reads a streamed response to its end; resolves with its lines and whether it ended cleanly. */
export async function readStream(url: string): Promise<{ status: number; lines: string[]; complete: boolean }> {
  const res = await request(url, { dispatcher: agent, headers: { authorization: AUTH }, reset: true });
  let text = '';
  let complete = true;
  try {
    for await (const chunk of res.body) text += chunk.toString();
  } catch {
    complete = false;
  }
  return { status: res.statusCode, lines: text.split('\n').filter(Boolean), complete };
}

/** True when `pid` is a live process (not a zombie). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const agent = new Agent({ connect: { timeout: 3_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request, redirects not followed; auth: true = the right credentials, a string = that header, false = none.
 * Each on a fresh connection (reset): a Caddy reload closes idle keep-alive connections, and a
 * pooled one picked up right after a load fails with "other side closed".
 */
export async function get(
  url: string,
  auth: boolean | string = true,
  extra: Record<string, string> = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...extra };
  if (auth !== false) headers.authorization = auth === true ? AUTH : auth;
  const res = await request(url, { dispatcher: agent, headers, reset: true });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** Opens a WebSocket through Caddy (with credentials) and resolves once it is open. */
export function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers: { authorization: AUTH } });
    ws.once('open', () => resolve(ws));
    ws.on('error', reject); // after open, errors show up as 'close'
    ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket upgrade answered ${res.statusCode}`)));
  });
}

/** Sends `msg` and resolves with the next message (rejects if the socket closes or nothing comes in 5 s). */
export function echo(ws: WebSocket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    const onMessage = (data: unknown) => {
      done();
      resolve(String(data));
    };
    const onClose = () => {
      done();
      reject(new Error('socket closed'));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('no echo within 5 s'));
    }, 5_000);
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(msg);
  });
}

/** Resolves true when the socket closes within `ms`, false otherwise. */
export function closesWithin(ws: WebSocket, ms: number): Promise<boolean> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** How many config loads Caddy has done, its boot included ("load complete" lines in its log). */
export async function reloadCount(stateDir: string): Promise<number> {
  const log = await readFile(join(stateDir, 'caddy.log'), 'utf8');
  return log.split('\n').filter((l) => l.includes('"msg":"load complete"')).length;
}

/** A port on `host` that nothing listens on (bound once, then freed). */
export const freePortOn = (host: string) => freeLoopbackPort(host);

export const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> =>
  poll(what, fn, timeoutMs) as Promise<T>;
