// Issue 4, end to end: a real `tidepool serve --runtime stub --proxy caddy` (the built binary)
// on loopback, driven only as a user would (the CLI, the REST API, HTTP and WebSockets through
// Caddy), with the stub runtime's real IDE servers on 127.77.x.y:8080. Everything that is
// started here is ended here, by pid: the serves, our own Caddy, and every Caddy pid a serve
// logged is checked to be gone.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { cleanEnv, closedPort, type Proc } from '../cli/helpers.js';
import { echo, ensureCaddy, fakeServer, freePortOn, openSocket, waitFor, type FakeServer } from '../caddy/helpers.js';
import {
  adminCall, alive, applyManifest, caddyLine, cmdline, condition, countMsg, get, getObject, isCaddy, OwnCaddy, portYaml, records,
  startCaddyServe, waitObject, waitReady, workspaceYaml, type CaddyServe,
} from './caddy-helpers.js';

const started: Proc[] = [];
/** Every Caddy pid a serve logged. */
const caddyPids = new Set<number>();
const servers: FakeServer[] = [];
const sockets: WebSocket[] = [];
let scratch: string;

beforeAll(async () => {
  ensureCaddy();
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-caddy-'));
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  for (const p of started) {
    // SIGTERM first: serve's shutdown stops the Caddy it runs. SIGKILL only if it hangs.
    const timer = setTimeout(() => void p.stop('SIGKILL').catch(() => undefined), 20_000);
    await p.stop('SIGTERM').catch(() => undefined);
    clearTimeout(timer);
  }
  // A serve that was SIGKILLed leaves its Caddy behind: end it too, by the pid it logged.
  for (const pid of caddyPids) {
    if (isCaddy(pid)) process.kill(pid, 'SIGKILL');
  }
  await Promise.all(servers.map((s) => s.close()));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const ideBody = (name: string, path: string) => `stub IDE of workspace ${name}: GET ${path}\n`;

describe('through Caddy, run and supervised by tidepool serve', () => {
  let s: CaddyServe;
  let caddyPid: number;
  let adminUrl: string;
  let ip: string;
  let devPort: number;
  let dev: FakeServer;

  beforeAll(async () => {
    const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
    s = await startCaddyServe(join(scratch, 'main'), base, started);
    const line = caddyLine(s.proc);
    expect(line.pid).toBeDefined();
    caddyPid = line.pid!;
    adminUrl = line.admin;
    caddyPids.add(caddyPid);
    // The pid is read from a log: make sure it is the Caddy serve runs before anything signals it.
    expect(caddyPid).not.toBe(s.proc.pid);
    expect(isCaddy(caddyPid)).toBe(true);

    expect(await applyManifest(s, scratch, 'alice.yaml', workspaceYaml('alice'))).toContain('workspace/alice created');
    await waitReady(s, 'workspace/alice');
    const alice = await getObject(s, 'workspaces', 'alice');
    ip = alice.status!.ip!;
    expect(ip).toMatch(/^127\.77\.\d+\.\d+$/);
  }, 120_000);

  it('Ready says the route is live, and the IDE route serves the workspace with the prefix stripped', async () => {
    const alice = await getObject(s, 'workspaces', 'alice');
    expect(condition(alice, 'RouteReady')).toMatchObject({ status: 'True', reason: 'Routed' });
    expect(condition(alice, 'RouteReady')!.message).toContain(`${ip}:8080`);

    const root = await get(`${s.workspaceUrl}/workspace/alice/`);
    expect(root.status).toBe(200);
    expect(root.body).toBe(ideBody('alice', '/'));
    const deep = await get(`${s.workspaceUrl}/workspace/alice/static/app.js?v=1&x=%2F`);
    expect(deep.status).toBe(200);
    expect(deep.body).toBe(ideBody('alice', '/static/app.js?v=1&x=%2F'));
  });

  it('redirects /workspace/alice to /workspace/alice/, keeping the query', async () => {
    const r = await get(`${s.workspaceUrl}/workspace/alice?folder=/src`);
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('/workspace/alice/?folder=/src');
    const bare = await get(`${s.workspaceUrl}/workspace/alice`);
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe('/workspace/alice/');
  });

  it('answers 401 without credentials or with wrong ones, on the workspace and the app port', async () => {
    for (const url of [`${s.workspaceUrl}/workspace/alice/`, `${s.workspaceUrl}/nope`, `${s.appUrl}/api/v1/workspaces`]) {
      const none = await get(url, false);
      expect(none.status, url).toBe(401);
      expect(String(none.headers['www-authenticate'])).toMatch(/^Basic /);
      expect(none.body).not.toContain('stub IDE');
      const wrong = await get(url, `Basic ${Buffer.from('tidepool:not the password').toString('base64')}`);
      expect(wrong.status, url).toBe(401);
    }
    // With them, the app port is the API.
    const api = await get(`${s.appUrl}/api/v1/workspaces`);
    expect(api.status).toBe(200);
    expect((JSON.parse(api.body) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name)).toEqual(['alice']);
  });

  it('answers 404 for unknown paths, workspaces and ports', async () => {
    for (const path of ['/', '/nope', '/workspace/', '/workspace/ghost/', '/workspace/ghost', '/workspace/alice/port/65000/', '/workspace/ghost/port/3000/x']) {
      const r = await get(`${s.workspaceUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('stub IDE');
    }
    expect((await get(`${s.appUrl}/nope`)).status).toBe(404);
  });

  it('does not reach the API on the workspace port, even with credentials', async () => {
    for (const path of ['/api/v1/workspaces', '/api/v1/workspaces/alice', '/api/', '/openapi.json', '/app/']) {
      const r = await get(`${s.workspaceUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('alice');
      expect(r.body, path).not.toContain('tidepool/v1');
    }
  });

  it('a Port: 502 while nothing listens, 200 once something does; prefix stripped, credentials kept from it; WebSocket echo', async () => {
    devPort = await freePortOn(ip);
    expect(await applyManifest(s, scratch, 'alice-dev.yaml', portYaml('alice-dev', 'alice', devPort))).toContain('port/alice-dev created');
    await waitReady(s, 'port/alice-dev');
    const port = await getObject(s, 'ports', 'alice-dev');
    expect(condition(port, 'Ready')!.message).toContain(`${ip}:${devPort}`);

    const url = `${s.workspaceUrl}/workspace/alice/port/${devPort}/api/items?page=2`;
    const before = await get(url);
    expect(before.status).toBe(502);

    dev = await fakeServer('alice-dev', ip, devPort);
    servers.push(dev);
    const r = await get(url);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ server: 'alice-dev', url: '/api/items?page=2', prefix: `/workspace/alice/port/${devPort}` });
    const seen = dev.seen.find((x) => x.url === '/api/items?page=2');
    expect(seen).toBeDefined();
    expect(seen!.headers.authorization).toBeUndefined();

    const redirect = await get(`${s.workspaceUrl}/workspace/alice/port/${devPort}`);
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe(`/workspace/alice/port/${devPort}/`);

    const ws = await openSocket(`${s.workspaceUrl}/workspace/alice/port/${devPort}/hmr`);
    sockets.push(ws);
    try {
      expect(await echo(ws, 'hello')).toBe('alice-dev:hello');
      expect(await echo(ws, 'again')).toBe('alice-dev:again');
    } finally {
      ws.terminate();
    }
    expect(dev.seen.some((x) => x.url === '/hmr')).toBe(true);
  });

  /**
   * Breaks the live config through Caddy's admin API, checks it is broken (unless Tidepool
   * already reloaded, which its log shows), then waits for Tidepool to repair it.
   */
  async function breakAndAwaitRepair(what: string, breakIt: () => Promise<void>, broken: () => Promise<boolean>, works: () => Promise<boolean>) {
    const loads = countMsg(s.proc, 'caddy config loaded');
    await breakIt();
    if (!(await broken())) {
      // Only acceptable if Tidepool has already put it back in between.
      expect(countMsg(s.proc, 'caddy config loaded'), `${what}: not broken right after, and Tidepool did not reload`).toBeGreaterThan(loads);
    }
    await waitFor(`${what} to be repaired`, works, 30_000);
    expect(countMsg(s.proc, 'caddy config loaded')).toBeGreaterThan(loads);
  }

  const ideWorks = async () => {
    const r = await get(`${s.workspaceUrl}/workspace/alice/x`);
    return r.status === 200 && r.body === ideBody('alice', '/x');
  };
  const portWorks = async () => {
    const r = await get(`${s.workspaceUrl}/workspace/alice/port/${devPort}/y`);
    // Without the port route, the IDE route takes the path and the stub IDE answers instead.
    return r.status === 200 && r.body.startsWith('{') && (JSON.parse(r.body) as { server: string }).server === 'alice-dev';
  };

  it("puts back a workspace map entry deleted behind Tidepool's back (resync)", async () => {
    await breakAndAwaitRepair('the workspace map entry', async () => {
      const list = await adminCall(adminUrl, 'GET', '/id/tidepool_workspace_map/mappings');
      expect(list.status).toBe(200);
      const i = (JSON.parse(list.body) as { input: string }[]).findIndex((m) => m.input === 'alice');
      expect(i).toBeGreaterThanOrEqual(0);
      const del = await adminCall(adminUrl, 'DELETE', `/id/tidepool_workspace_map/mappings/${i}`);
      expect(del.status, del.body).toBe(200);
    }, async () => (await get(`${s.workspaceUrl}/workspace/alice/x`)).status === 404, ideWorks);
    expect(await portWorks()).toBe(true);
  }, 60_000);

  it("puts back the whole port route deleted behind Tidepool's back (resync)", async () => {
    await breakAndAwaitRepair('the port route', async () => {
      const del = await adminCall(adminUrl, 'DELETE', '/id/tidepool_port_route');
      expect(del.status, del.body).toBe(200);
    }, async () => !(await portWorks()), portWorks);
    expect(await ideWorks()).toBe(true);
  }, 60_000);

  it('kill -9 of Caddy: Tidepool starts a new one and every route is back', async () => {
    expect(isCaddy(caddyPid)).toBe(true);
    process.kill(caddyPid, 'SIGKILL');
    const newPid = await waitFor('serve to log a restarted Caddy', async () => {
      const rec = records(s.proc).find((r) => r.msg === 'caddy restarted' && typeof r.caddyPid === 'number' && r.caddyPid !== caddyPid);
      return rec?.caddyPid as number | undefined;
    }, 30_000);
    caddyPids.add(newPid);
    expect(newPid).not.toBe(s.proc.pid);
    expect(isCaddy(newPid)).toBe(true);
    expect(alive(caddyPid)).toBe(false);

    await waitFor('the IDE route after the restart', ideWorks, 30_000);
    expect(await portWorks()).toBe(true);
    expect((await get(`${s.workspaceUrl}/workspace/alice?q=1`)).headers.location).toBe('/workspace/alice/?q=1');
    expect((await get(`${s.workspaceUrl}/workspace/alice/`, false)).status).toBe(401);
    expect((await get(`${s.workspaceUrl}/workspace/ghost/`)).status).toBe(404);
    expect((await get(`${s.workspaceUrl}/api/v1/workspaces`)).status).toBe(404);
    expect((await get(`${s.appUrl}/api/v1/workspaces/alice`)).status).toBe(200);
    const ws = await openSocket(`${s.workspaceUrl}/workspace/alice/port/${devPort}/hmr`);
    sockets.push(ws);
    try {
      expect(await echo(ws, 'back')).toBe('alice-dev:back');
    } finally {
      ws.terminate();
    }
    // The statuses agree with what is served.
    await waitObject(s, 'workspaces', 'alice', 'alice Ready', (o) => condition(o, 'Ready')?.status === 'True');
    await waitObject(s, 'ports', 'alice-dev', 'alice-dev Ready', (o) => condition(o, 'Ready')?.status === 'True');
    caddyPid = newPid;
  }, 90_000);

  it('SIGTERM stops serve, and the Caddy it runs with it', async () => {
    expect(isCaddy(caddyPid)).toBe(true);
    const exit = await s.proc.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    for (const pid of caddyPids) expect(alive(pid), `caddy pid ${pid} (${cmdline(pid)})`).toBe(false);
    expect(await get(`${s.workspaceUrl}/workspace/alice/`).then(() => 'answered', () => 'refused')).toBe('refused');
  }, 30_000);
});

describe('Caddy errors on the Workspace and Port conditions (tidepool serve --caddy-admin)', () => {
  let s: CaddyServe;
  let adminPort: number;
  let workspacePort: number;
  let ours: OwnCaddy;
  let blocker: Server | undefined;

  beforeAll(async () => {
    adminPort = await closedPort();
    workspacePort = await closedPort();
    ours = new OwnCaddy(join(scratch, 'own-caddy'), adminPort);
    const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
    // Nothing listens on the admin port yet: serve must come up anyway.
    s = await startCaddyServe(join(scratch, 'errors'), base, started, {
      workspacePort, extra: ['--caddy-admin', `http://127.0.0.1:${adminPort}`],
    });
    // It drives the Caddy at --caddy-admin and runs none of its own.
    expect(caddyLine(s.proc)).toEqual({ pid: undefined, admin: `http://127.0.0.1:${adminPort}` });
    const out = await applyManifest(s, scratch, 'bob.yaml', `${workspaceYaml('bob')}---\n${portYaml('bob-dev', 'bob', 3000)}`);
    expect(out).toContain('workspace/bob created');
    expect(out).toContain('port/bob-dev created');
  }, 120_000);

  afterAll(async () => {
    await ours?.stop();
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  });

  const unreachable = (m: string | undefined) =>
    !!m && m.includes(`Caddy admin API at http://127.0.0.1:${adminPort} unreachable`) && m.includes('ECONNREFUSED') && m.includes('Retrying with backoff');

  it('admin API down (ProxyUnreachable): Caddy\'s error on RouteReady/Ready of the Workspace and Ready of the Port, retried with backoff', async () => {
    expect(records(s.proc).some((r) => r.level === 40 && String(r.msg).includes(`Caddy admin API at http://127.0.0.1:${adminPort} does not answer yet`))).toBe(true);
    const bob = await waitObject(s, 'workspaces', 'bob', 'bob to show the unreachable admin API',
      (o) => condition(o, 'VMReady')?.status === 'True' && unreachable(condition(o, 'RouteReady')?.message));
    expect(condition(bob, 'RouteReady')).toMatchObject({ status: 'False', reason: 'ProxyUnreachable' });
    expect(condition(bob, 'Ready')).toMatchObject({ status: 'False', reason: 'ProxyUnreachable' });
    expect(unreachable(condition(bob, 'Ready')!.message)).toBe(true);
    const port = await waitObject(s, 'ports', 'bob-dev', 'bob-dev to show the unreachable admin API', (o) => unreachable(condition(o, 'Ready')?.message));
    expect(condition(port, 'Ready')).toMatchObject({ status: 'False', reason: 'ProxyUnreachable' });

    // Retried: the routes key fails again and again, its backoff counter rising.
    const failures = () => records(s.proc).filter((r) => r.key === 'routes' && r.msg === 'reconcile failed; retrying');
    await waitFor('three failed route reconciles', async () => failures().length >= 3, 30_000);
    const retries = failures().map((r) => r.retries as number);
    for (let i = 1; i < retries.length; i++) expect(retries[i]).toBeGreaterThan(retries[i - 1]!);
    expect(String(failures()[0]!.err)).toContain('ECONNREFUSED');
  }, 60_000);

  it('a config Caddy rejects: its message on the conditions; once the cause is gone, the retry loads it', async () => {
    // Something else holds the workspace port, so Caddy cannot load a config that listens there.
    blocker = createServer();
    await new Promise<void>((resolve, reject) => { blocker!.once('error', reject); blocker!.listen(workspacePort, '127.0.0.1', () => resolve()); });
    await ours.start();
    const rejected = (m: string | undefined) =>
      !!m && m.includes('Caddy POST /load (400)') && m.includes(`127.0.0.1:${workspacePort}`) && m.includes('address already in use');
    const bob = await waitObject(s, 'workspaces', 'bob', 'bob to show the rejected config', (o) => rejected(condition(o, 'RouteReady')?.message));
    expect(condition(bob, 'Ready')).toMatchObject({ status: 'False', reason: 'ProxyConfigRejected' });
    expect(rejected(condition(bob, 'Ready')!.message)).toBe(true);
    await waitObject(s, 'ports', 'bob-dev', 'bob-dev to show the rejected config', (o) => rejected(condition(o, 'Ready')?.message));

    await new Promise<void>((r) => blocker!.close(() => r()));
    blocker = undefined;
    await waitObject(s, 'workspaces', 'bob', 'bob Ready once Caddy takes the config', (o) => condition(o, 'Ready')?.status === 'True');
    await waitObject(s, 'ports', 'bob-dev', 'bob-dev Ready', (o) => condition(o, 'Ready')?.status === 'True');
    const r = await get(`${s.workspaceUrl}/workspace/bob/z`);
    expect(r.status).toBe(200);
    expect(r.body).toBe(ideBody('bob', '/z'));
  }, 90_000);

  it('the admin API going down later shows again, and a Caddy back on it gets the whole table again', async () => {
    await ours.stop('SIGKILL');
    await waitObject(s, 'workspaces', 'bob', 'bob to show the admin API down', (o) => unreachable(condition(o, 'Ready')?.message));
    await waitObject(s, 'ports', 'bob-dev', 'bob-dev to show the admin API down', (o) => unreachable(condition(o, 'Ready')?.message));

    // A fresh Caddy on the same admin port has an empty config: Tidepool loads everything again.
    await ours.start();
    await waitObject(s, 'workspaces', 'bob', 'bob Ready again', (o) => condition(o, 'Ready')?.status === 'True');
    await waitObject(s, 'ports', 'bob-dev', 'bob-dev Ready again', (o) => condition(o, 'Ready')?.status === 'True');
    const r = await get(`${s.workspaceUrl}/workspace/bob/again`);
    expect(r.status).toBe(200);
    expect(r.body).toBe(ideBody('bob', '/again'));
    expect((await get(`${s.workspaceUrl}/workspace/bob/port/3000/`)).status).toBe(502);
  }, 90_000);
});
