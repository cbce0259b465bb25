// Shared fixtures for the Caddy driver tests: a driver running its own Caddy on free
// loopback ports, fake workspaces (HTTP + WebSocket echo) on 127.77.x.y, a fake API.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { createCaddyProxy, freeLoopbackPort, type CaddyProxy, type CaddyProxyOptions } from '../../controller/drivers/proxy/caddy/index.js';

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

export interface SeenRequest { url: string; headers: http.IncomingHttpHeaders }

export interface FakeServer {
  name: string;
  host: string;
  port: number;
  /** host:port, what a RouteTable entry points at. */
  upstream: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** An HTTP server answering JSON {server, url, prefix} and echoing WebSocket messages as "<name>:<msg>". */
export async function fakeServer(name: string, host: string, port = 0, extraHeaders: Record<string, string> = {}): Promise<FakeServer> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
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
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()); });
  const addr = server.address() as { port: number };
  return {
    name, host, port: addr.port, upstream: `${host}:${addr.port}`, seen,
    close: () => new Promise<void>((resolve) => {
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
  close(): Promise<void>;
}

/** A driver that runs its own Caddy, both servers on free 127.0.0.1 ports. */
export async function startHarness(over: Partial<CaddyProxyOptions> & { apiUpstream: string }): Promise<Harness> {
  ensureCaddy();
  const stateDir = await mkdtemp(join(tmpdir(), 'tp-caddy-test-'));
  const appPort = await freeLoopbackPort();
  const wsPort = await freeLoopbackPort();
  const proxy = createCaddyProxy({
    appListen: `127.0.0.1:${appPort}`,
    workspaceListen: `127.0.0.1:${wsPort}`,
    credentials: { username: USER, password: PASSWORD },
    stateDir,
    ...over,
  });
  await proxy.start();
  return {
    proxy, stateDir,
    appUrl: `http://127.0.0.1:${appPort}`,
    workspaceUrl: `http://127.0.0.1:${wsPort}`,
    async close() {
      await proxy.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

const agent = new Agent({ connect: { timeout: 3_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });

export interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/**
 * One request, redirects not followed; auth: true = the right credentials, a string = that header, false = none.
 * Each on a fresh connection (reset): a Caddy reload closes idle keep-alive connections, and a
 * pooled one picked up right after a load fails with "other side closed".
 */
export async function get(url: string, auth: boolean | string = true): Promise<Reply> {
  const headers: Record<string, string> = {};
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
    const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5_000);
    ws.once('message', (data) => { clearTimeout(timer); resolve(data.toString()); });
    ws.once('close', () => { clearTimeout(timer); reject(new Error('socket closed')); });
    ws.send(msg);
  });
}

/** Resolves true when the socket closes within `ms`, false otherwise. */
export function closesWithin(ws: WebSocket, ms: number): Promise<boolean> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    ws.once('close', () => { clearTimeout(timer); resolve(true); });
  });
}

/** How many config reloads Caddy has done ("load complete" lines in its log). */
export async function reloadCount(stateDir: string): Promise<number> {
  const log = await readFile(join(stateDir, 'caddy.log'), 'utf8');
  return log.split('\n').filter((l) => l.includes('"msg":"load complete"')).length;
}

/** A port on `host` that nothing listens on (bound once, then freed). */
export const freePortOn = (host: string) => freeLoopbackPort(host);

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
