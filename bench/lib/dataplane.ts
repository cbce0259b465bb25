// Fixtures of bench/dataplane.ts: the Caddy driver on free loopback ports, fast upstreams on
// 127.78.200.x:8080 (and :3000), long-lived connections that report whether they were dropped,
// a static reverse_proxy Caddy as the floor, and wrk runs. Loopback only; every loop is
// bounded by a count and a deadline.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { accessLogging } from '../../drivers/proxy/caddy/config.js';
import {
  createCaddyProxy,
  freeLoopbackPort,
  type CaddyProxy,
  type CaddyProxyOptions,
} from '../../drivers/proxy/caddy/index.js';

const run = promisify(execFile);

export const USER = 'tidepool';
export const PASSWORD = 'bench password';
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Tiny HTTP + WebSocket upstream; `/stream?lines=N&ms=M` streams lines. */
export async function upstream(host: string, port: number): Promise<{ close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/stream') {
      const lines = Math.min(Number(u.searchParams.get('lines') ?? 10), 2000),
        ms = Math.min(Number(u.searchParams.get('ms') ?? 50), 1000);
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const t = setInterval(() => {
        res.write(`line ${i++}\n`);
        if (i >= lines) {
          clearInterval(t);
          res.end();
        }
      }, ms);
      res.on('close', () => clearInterval(t));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' });
    res.end('ok\n');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (s) => {
    s.on('error', () => s.terminate());
    s.on('message', (d) => s.send(d.toString()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Driver {
  proxy: CaddyProxy;
  stateDir: string;
  workspaceUrl: string;
  previewUrl: string;
  appUrl: string;
}

export async function startDriver(over: Partial<CaddyProxyOptions> = {}): Promise<Driver> {
  const stateDir = await mkdtemp(join(tmpdir(), 'tp-bench-dataplane-'));
  const opts: CaddyProxyOptions = {
    appListen: `127.0.0.1:${await freeLoopbackPort()}`,
    workspaceListen: `127.0.0.1:${await freeLoopbackPort()}`,
    previewListen: `127.0.0.1:${await freeLoopbackPort()}`,
    apiUpstream: '127.0.0.1:9',
    credentials: { username: USER, password: PASSWORD },
    stateDir,
    ...over,
  };
  const proxy = createCaddyProxy(opts);
  await proxy.start();
  return {
    proxy,
    stateDir,
    workspaceUrl: `http://${opts.workspaceListen}`,
    previewUrl: `http://${opts.previewListen}`,
    appUrl: `http://${opts.appListen}`,
  };
}

/** "load complete" lines in a Caddy log: every config load, the boot included. */
export async function loadsInLog(stateDir: string): Promise<number> {
  return (await readFile(join(stateDir, 'caddy.log'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.includes('"msg":"load complete"')).length;
}

/** A long-lived connection through Caddy; `dropped()` tells whether it broke before the end. */
export interface LongLived {
  kind: 'websocket' | 'stream';
  dropped(): boolean;
  end(): Promise<void>;
}

export async function openWebSocket(url: string): Promise<LongLived> {
  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const s = new WebSocket(url.replace(/^http/, 'ws'), { headers: { authorization: AUTH } });
    s.once('open', () => resolve(s));
    s.once('error', reject);
  });
  let closed = false;
  ws.on('close', () => {
    closed = true;
  });
  ws.on('error', () => {
    closed = true;
  });
  // Keep it busy: a message every 100 ms, each answered.
  let unanswered = 0;
  ws.on('message', () => {
    unanswered = 0;
  });
  const t = setInterval(() => {
    if (!closed) {
      unanswered++;
      ws.send('ping');
    }
  }, 100);
  return {
    kind: 'websocket',
    dropped: () => closed || unanswered > 20,
    async end() {
      clearInterval(t);
      ws.terminate();
    },
  };
}

/** A slow streamed response of `lines` lines: dropped when it fails or ends short (a reload can cut it with a clean end). */
export function openStream(url: string, lines: number): LongLived {
  let broken = false;
  const p = request(url, { headers: { authorization: AUTH } })
    .then(async (res) => {
      let text = '';
      for await (const chunk of res.body) text += chunk.toString();
      if (res.statusCode !== 200 || text.split('\n').filter(Boolean).length !== lines) broken = true;
    })
    .catch(() => {
      broken = true;
    });
  return {
    kind: 'stream',
    dropped: () => broken,
    async end() {
      await p;
    },
  };
}

/**
 * A Caddy with one static reverse_proxy (basic auth, prefix strip, fixed dial): the floor.
 * `accessLog` ("udp/127.0.0.1:port") streams its access log exactly the way ours does, so that
 * the ratio against it is the cost of the name lookups alone; without it, nothing is logged.
 */
export async function startFloor(dial: string, accessLog?: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-bench-floor-'));
  const port = await freeLoopbackPort();
  const { PasswordHash } = await import('../../drivers/proxy/caddy/auth.js');
  const hash = await new PasswordHash(PASSWORD).pick([]);
  const config = {
    admin: { disabled: true, config: { persist: false } },
    ...(accessLog ? { logging: accessLogging(accessLog) } : {}),
    apps: {
      http: {
        servers: {
          floor: {
            listen: [`127.0.0.1:${port}`],
            automatic_https: { disable: true },
            ...(accessLog ? { logs: {} } : {}),
            routes: [
              {
                handle: [
                  {
                    handler: 'authentication',
                    providers: {
                      http_basic: {
                        accounts: [{ username: USER, password: hash }],
                        hash: { algorithm: 'bcrypt' },
                        hash_cache: {},
                      },
                    },
                  },
                ],
              },
              {
                match: [{ path_regexp: { pattern: '^/workspace/[a-z0-9-]{1,63}/' } }],
                handle: [
                  { handler: 'vars', tp_prefix: '/workspace/{http.request.uri.path.1}' },
                  { handler: 'rewrite', strip_path_prefix: '{http.vars.tp_prefix}' },
                  {
                    handler: 'reverse_proxy',
                    upstreams: [{ dial }],
                    flush_interval: -1,
                    headers: { request: { delete: ['Authorization'] } },
                  },
                ],
              },
            ],
          },
        },
      },
    },
  };
  await writeFile(join(dir, 'floor.json'), JSON.stringify(config));
  await mkdir(join(dir, 'data'), { recursive: true });
  const log = await open(join(dir, 'caddy.log'), 'a');
  const child: ChildProcess = spawn('caddy', ['run', '--config', join(dir, 'floor.json')], {
    stdio: ['ignore', log.fd, log.fd],
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'data') },
  });
  await log.close();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ok = await request(`${url}/`, { headers: { authorization: AUTH } }).then(
      (r) => {
        void r.body.dump();
        return true;
      },
      () => false,
    );
    if (ok) break;
    await sleep(25);
  }
  return {
    url,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) {
          r();
          return;
        }
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Requests per second of `paths` on `base` (round robin), `seconds` long, by `wrk` (Debian's
 * `wrk`): a process of its own, so that the load does not share this process's event loop
 * with the upstreams and the access-log listeners it measures.
 */
export async function throughput(
  base: string,
  paths: string[],
  seconds: number,
  connections = 32,
): Promise<{ rps: number; errors: number; non2xx: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-bench-wrk-'));
  try {
    const script = join(dir, 'paths.lua');
    await writeFile(
      script,
      `local paths = {${paths.map((p) => JSON.stringify(p)).join(',')}}\nlocal i = 0\n` +
        `wrk.headers["Authorization"] = ${JSON.stringify(AUTH)}\n` +
        'request = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n',
    );
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, base];
    const { stdout } = await run('wrk', args, { timeout: (seconds + 30) * 1000 });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
    if (!Number.isFinite(rps)) throw new Error(`wrk printed no Requests/sec:\n${stdout}`);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    const errors = socket ? socket.slice(1).reduce((n, x) => n + Number(x), 0) : 0;
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
    return { rps, errors, non2xx };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Fails at once, with what to do, when `wrk` is not installed. */
export async function requireWrk(): Promise<void> {
  await run('wrk', ['-v']).catch((err: NodeJS.ErrnoException & { stdout?: string }) => {
    // `wrk -v` prints its version and exits 1.
    if (err.code === 'ENOENT') throw new Error('bench/dataplane part 4 needs wrk: apt-get install wrk');
  });
}
