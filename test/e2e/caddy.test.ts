// Issues 4 and 12, end to end: a real `tidepool serve --runtime stub --proxy caddy` (the built
// binary) on loopback, driven only as a user would (the CLI, the REST API, HTTP and WebSockets
// through Caddy), with the stub runtime's real IDE servers on 127.77.x.y:8080. Caddy's config is
// fixed; routes are names in a dnsmasq serve supervises. Everything started here is ended here,
// by pid: the serves, our own Caddy, and every Caddy and dnsmasq pid a serve logged.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { cleanEnv, closedPort, type Proc } from '../cli/helpers.js';
import { echo, ensureCaddy, fakeServer, freePortOn, openSocket, waitFor, type FakeServer } from '../caddy/helpers.js';
import {
  adminSocketCall,
  alive,
  applyManifest,
  caddyLine,
  cmdline,
  condition,
  get,
  getObject,
  isCaddy,
  isDnsmasq,
  OwnCaddy,
  portYaml,
  records,
  startCaddyServe,
  waitObject,
  waitReady,
  workspaceYaml,
  type CaddyServe,
} from './caddy-helpers.js';

const started: Proc[] = [];
/** Every Caddy pid a serve logged. */
const caddyPids = new Set<number>();
/** Every dnsmasq pid a serve logged. */
const dnsmasqPids = new Set<number>();
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
  for (const pid of dnsmasqPids) {
    if (isDnsmasq(pid)) process.kill(pid, 'SIGKILL');
  }
  await Promise.all(servers.map((s) => s.close()));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const ideBody = (name: string, path: string) => `stub IDE of workspace ${name}: GET ${path}\n`;

describe('through Caddy, run and supervised by tidepool serve', () => {
  let s: CaddyServe;
  let caddyPid: number;
  let dnsmasqPid: number;
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
    dnsmasqPid = line.dnsmasqPid!;
    dnsmasqPids.add(dnsmasqPid);
    expect(isDnsmasq(dnsmasqPid)).toBe(true);
    expect(adminUrl).toMatch(/^unix\/\/.+admin\.sock$/);
    // The pid is read from a log: make sure it is the Caddy serve runs before anything signals it.
    expect(caddyPid).not.toBe(s.proc.pid);
    expect(isCaddy(caddyPid)).toBe(true);

    expect(await applyManifest(s, scratch, 'alice.yaml', workspaceYaml('alice'))).toContain('workspace/alice created');
    await waitReady(s, 'workspace/alice');
    const alice = await getObject(s, 'workspaces', 'alice');
    ip = alice.status!.ip!;
    expect(ip).toMatch(/^127\.77\.\d+\.\d+$/);
  }, 120_000);

  it("a request through Caddy moves the workspace's status.lastAccessTime (Caddy's access log reaches serve)", async () => {
    const before = Date.now() - 1_000; // timestamps have second precision
    expect((await getObject(s, 'workspaces', 'alice')).status).not.toHaveProperty('lastAccessTime');
    expect((await get(`${s.workspaceUrl}/workspace/alice/touch`)).status).toBe(200);
    const o = await waitObject(
      s,
      'workspaces',
      'alice',
      'lastAccessTime',
      (x) => typeof (x.status as { lastAccessTime?: string }).lastAccessTime === 'string',
    );
    expect(Date.parse((o.status as { lastAccessTime: string }).lastAccessTime)).toBeGreaterThanOrEqual(before);
  });

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
    for (const url of [
      `${s.workspaceUrl}/workspace/alice/`,
      `${s.workspaceUrl}/nope`,
      `${s.appUrl}/api/v1/workspaces`,
    ]) {
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
    expect(
      (JSON.parse(api.body) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name),
    ).toEqual(['alice']);
  });

  it('answers 404 pages for unknown paths, workspaces and ports, naming them', async () => {
    expect((await get(`${s.workspaceUrl}/workspace/ghost`)).headers.location).toBe('/workspace/ghost/');
    for (const path of ['/', '/nope', '/workspace/', '/workspace/ghost/', '/workspace/Ghost/']) {
      const r = await get(`${s.workspaceUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('stub IDE');
    }
    expect((await get(`${s.workspaceUrl}/workspace/ghost/`)).body).toMatch(
      /^404: There is no workspace "ghost" on this Tidepool\./,
    );
    for (const path of ['/workspace/alice/port/65000/', '/workspace/ghost/port/3000/x']) {
      const r = await get(`${s.previewUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.body, path).toMatch(/^404: Workspace "(alice|ghost)" has no Port (65000|3000) registered/);
    }
    expect((await get(`${s.appUrl}/nope`)).status).toBe(404);
  });

  it('the app port sends the browser protections', async () => {
    for (const path of ['/api/v1/workspaces', '/app/', '/nope']) {
      const r = await get(`${s.appUrl}${path}`);
      expect(String(r.headers['content-security-policy']), path).toContain("frame-ancestors 'none'");
      expect(String(r.headers['content-security-policy']), path).toContain("script-src 'self'");
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
    }
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
    expect(await applyManifest(s, scratch, 'alice-dev.yaml', portYaml('alice-dev', 'alice', devPort))).toContain(
      'port/alice-dev created',
    );
    await waitReady(s, 'port/alice-dev');
    const port = await getObject(s, 'ports', 'alice-dev');
    expect(condition(port, 'Ready')!.message).toContain(`${ip}:${devPort}`);

    const url = `${s.previewUrl}/workspace/alice/port/${devPort}/api/items?page=2`;
    const before = await get(url);
    expect(before.status).toBe(502);
    expect(before.body).toMatch(
      new RegExp(`^502: Port ${devPort} of workspace "alice" is registered, but nothing answers on port ${devPort}`),
    );

    dev = await fakeServer('alice-dev', ip, devPort);
    servers.push(dev);
    const r = await get(url);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      server: 'alice-dev',
      url: '/api/items?page=2',
      prefix: `/workspace/alice/port/${devPort}`,
    });
    const seen = dev.seen.find((x) => x.url === '/api/items?page=2');
    expect(seen).toBeDefined();
    expect(seen!.headers.authorization).toBeUndefined();

    const redirect = await get(`${s.previewUrl}/workspace/alice/port/${devPort}`);
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe(`/workspace/alice/port/${devPort}/`);
    // The workspace port does not serve Ports (a dev server's page must not share the IDEs' origin): it redirects.
    const old = await get(`${s.workspaceUrl}/workspace/alice/port/${devPort}/api/items?page=2`);
    expect(old.status).toBe(308);
    expect(old.headers.location).toBe(url);

    const ws = await openSocket(`${s.previewUrl}/workspace/alice/port/${devPort}/hmr`);
    sockets.push(ws);
    try {
      expect(await echo(ws, 'hello')).toBe('alice-dev:hello');
      expect(await echo(ws, 'again')).toBe('alice-dev:again');
    } finally {
      ws.terminate();
    }
    expect(dev.seen.some((x) => x.url === '/hmr')).toBe(true);
  });

  const ideWorks = async () => {
    const r = await get(`${s.workspaceUrl}/workspace/alice/x`);
    return r.status === 200 && r.body === ideBody('alice', '/x');
  };
  const portWorks = async () => {
    const r = await get(`${s.previewUrl}/workspace/alice/port/${devPort}/y`);
    return (
      r.status === 200 && r.body.startsWith('{') && (JSON.parse(r.body) as { server: string }).server === 'alice-dev'
    );
  };
  const loaded = () => records(s.proc).filter((r) => String(r.msg).startsWith('caddy config loaded')).length;

  it('a stopped workspace answers 503 saying so, a started one its IDE again; no Caddy load either way', async () => {
    const loads = loaded();
    expect(
      await applyManifest(
        s,
        scratch,
        'alice-stop.yaml',
        workspaceYaml('alice').replace('running: true', 'running: false'),
      ),
    ).toContain('configured');
    await waitFor('alice 503', async () => (await get(`${s.workspaceUrl}/workspace/alice/`)).status === 503);
    expect((await get(`${s.workspaceUrl}/workspace/alice/`)).body).toMatch(
      /^503: Workspace "alice" exists but is not running/,
    );
    // Each name is looked up on its own with a 1 s refresh: the Port's may answer for up to that
    // long after the workspace's (the data plane's documented "stopped → 503 page" time).
    await waitFor(
      'the Port 503 too',
      async () => (await get(`${s.previewUrl}/workspace/alice/port/${devPort}/`)).status === 503,
    );
    expect(await applyManifest(s, scratch, 'alice.yaml', workspaceYaml('alice'))).toContain('configured');
    await waitReady(s, 'workspace/alice');
    ip = (await getObject(s, 'workspaces', 'alice')).status!.ip!;
    if (dev.host !== ip) {
      // the stub may hand out another address: the dev server follows it
      await dev.close();
      dev = await fakeServer('alice-dev', ip, devPort);
      servers.push(dev);
    }
    await waitFor('alice back', ideWorks);
    await waitFor('port back', portWorks);
    expect(loaded()).toBe(loads);
  }, 60_000);

  it("Caddy emptied behind Tidepool's back (a Caddy restarted with another config): the resync loads the config again", async () => {
    const loads = loaded();
    const config = JSON.parse((await adminSocketCall(adminUrl, 'GET', '/config/')).body) as { admin: unknown };
    expect((await adminSocketCall(adminUrl, 'POST', '/load', JSON.stringify({ admin: config.admin }))).status).toBe(
      200,
    );
    await waitFor('the config put back', async () => (await ideWorks()) && (await portWorks()), 30_000);
    expect(loaded()).toBe(loads + 1);
  }, 60_000);

  it('kill -9 of dnsmasq: serve starts a new one and every route is back', async () => {
    expect(isDnsmasq(dnsmasqPid)).toBe(true);
    process.kill(dnsmasqPid, 'SIGKILL');
    const newPid = await waitFor(
      'serve to log a restarted dnsmasq',
      async () => {
        const rec = records(s.proc).find(
          (r) => r.msg === 'dnsmasq restarted' && typeof r.dnsmasqPid === 'number' && r.dnsmasqPid !== dnsmasqPid,
        );
        return rec?.dnsmasqPid as number | undefined;
      },
      30_000,
    );
    dnsmasqPids.add(newPid);
    expect(isDnsmasq(newPid)).toBe(true);
    await waitFor('routes back', async () => (await ideWorks()) && (await portWorks()), 30_000);
    dnsmasqPid = newPid;
  }, 60_000);

  it("the hosts file removed behind Tidepool's back: the resync writes it again", async () => {
    const { rm } = await import('node:fs/promises');
    await rm(join(s.dataDir, 'caddy', 'hosts', 'routes'));
    await waitFor('routes back', async () => (await ideWorks()) && (await portWorks()), 30_000);
  }, 60_000);

  it('kill -9 of Caddy: Tidepool starts a new one and every route is back', async () => {
    expect(isCaddy(caddyPid)).toBe(true);
    process.kill(caddyPid, 'SIGKILL');
    const newPid = await waitFor(
      'serve to log a restarted Caddy',
      async () => {
        const rec = records(s.proc).find(
          (r) => r.msg === 'caddy restarted' && typeof r.caddyPid === 'number' && r.caddyPid !== caddyPid,
        );
        return rec?.caddyPid as number | undefined;
      },
      30_000,
    );
    caddyPids.add(newPid);
    expect(newPid).not.toBe(s.proc.pid);
    expect(isCaddy(newPid)).toBe(true);
    expect(alive(caddyPid)).toBe(false);

    await waitFor('the IDE route after the restart', ideWorks, 30_000);
    expect(await portWorks()).toBe(true);
    expect(loaded()).toBe(1); // the new Caddy booted with the whole config; nothing was loaded
    expect((await get(`${s.workspaceUrl}/workspace/alice?q=1`)).headers.location).toBe('/workspace/alice/?q=1');
    expect((await get(`${s.workspaceUrl}/workspace/alice/`, false)).status).toBe(401);
    expect((await get(`${s.workspaceUrl}/workspace/ghost/`)).status).toBe(404);
    expect((await get(`${s.workspaceUrl}/api/v1/workspaces`)).status).toBe(404);
    expect((await get(`${s.appUrl}/api/v1/workspaces/alice`)).status).toBe(200);
    const ws = await openSocket(`${s.previewUrl}/workspace/alice/port/${devPort}/hmr`);
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

  it('SIGTERM stops serve, and the Caddy and dnsmasq it runs with it', async () => {
    expect(isCaddy(caddyPid)).toBe(true);
    const exit = await s.proc.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    for (const pid of caddyPids) expect(alive(pid), `caddy pid ${pid} (${cmdline(pid)})`).toBe(false);
    for (const pid of dnsmasqPids) expect(alive(pid), `dnsmasq pid ${pid} (${cmdline(pid)})`).toBe(false);
    expect(
      await get(`${s.workspaceUrl}/workspace/alice/`).then(
        () => 'answered',
        () => 'refused',
      ),
    ).toBe('refused');
  }, 30_000);
});

describe('the data plane outlives serve: kill -9 or --keep-data-plane, then the next serve adopts it', () => {
  let s: CaddyServe;
  let pids: { caddy: number; dnsmasq: number };
  let ports: { app: number; workspace: number; preview: number };
  let dataDir: string;
  // The API's address is part of Caddy's config: a fixed one (as the default --listen is) keeps it the same across restarts.
  let listen: string[];

  beforeAll(async () => {
    dataDir = join(scratch, 'adopt');
    listen = ['--listen', `127.0.0.1:${await closedPort()}`];
    const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
    s = await startCaddyServe(dataDir, base, started, { extra: listen });
    const line = caddyLine(s.proc);
    pids = { caddy: line.pid!, dnsmasq: line.dnsmasqPid! };
    caddyPids.add(pids.caddy);
    dnsmasqPids.add(pids.dnsmasq);
    ports = {
      app: Number(new URL(s.appUrl).port),
      workspace: Number(new URL(s.workspaceUrl).port),
      preview: Number(new URL(s.previewUrl).port),
    };
    await applyManifest(s, scratch, 'erin.yaml', workspaceYaml('erin'));
    await waitReady(s, 'workspace/erin');
    // The stub's IDEs live inside serve; a dev server of the test's own stands for what keeps
    // running in a workspace while Tidepool restarts.
    const ip = (await getObject(s, 'workspaces', 'erin')).status!.ip!;
    devPort = await freePortOn(ip);
    dev = await fakeServer('erin-dev', ip, devPort);
    servers.push(dev);
    await applyManifest(s, scratch, 'erin-dev.yaml', portYaml('erin-dev', 'erin', devPort));
    await waitReady(s, 'port/erin-dev');
  }, 120_000);

  let devPort: number;
  let dev: FakeServer;
  const devUrl = () => `${s.previewUrl}/workspace/erin/port/${devPort}/`;

  const restart = async (extra: string[] = []) => {
    const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
    s = await startCaddyServe(dataDir, base, started, { ports, extra: [...listen, ...extra] });
    return caddyLine(s.proc);
  };

  /** The stub runtime of a new serve may give erin another address: the dev server follows it. */
  const followErin = async () => {
    await waitReady(s, 'workspace/erin');
    const ip = (await getObject(s, 'workspaces', 'erin')).status!.ip!;
    if (ip === dev.host) return;
    await dev.close();
    dev = await fakeServer('erin-dev', ip, devPort);
    servers.push(dev);
  };

  it('kill -9 of serve: an established WebSocket stays up, and the restarted serve adopts Caddy and dnsmasq', async () => {
    const ws = await openSocket(`${devUrl()}hmr`);
    sockets.push(ws);
    expect(await echo(ws, 'before')).toBe('erin-dev:before');
    await s.proc.stop('SIGKILL');
    expect(isCaddy(pids.caddy) && isDnsmasq(pids.dnsmasq)).toBe(true);
    // Nobody runs the control plane now: the connection is still up, new requests are still served.
    expect(await echo(ws, 'nobody home')).toBe('erin-dev:nobody home');
    expect((await get(devUrl())).status).toBe(200);
    const line = await restart();
    expect(line).toMatchObject({ pid: pids.caddy, dnsmasqPid: pids.dnsmasq, adopted: { caddy: true, dnsmasq: true } });
    expect(await echo(ws, 'after restart')).toBe('erin-dev:after restart');
    await waitReady(s, 'workspace/erin');
    await waitReady(s, 'port/erin-dev');
    expect(await echo(ws, 'still')).toBe('erin-dev:still');
    expect(records(s.proc).filter((r) => String(r.msg).startsWith('caddy config loaded'))).toEqual([]);
    await followErin();
    await waitFor('erin served', async () => (await get(`${s.workspaceUrl}/workspace/erin/`)).status === 200);
  }, 120_000);

  it('SIGTERM with --keep-data-plane leaves both running for the next serve; SIGTERM without it stops both', async () => {
    await s.proc.stop('SIGTERM');
    // That serve ran without the flag: both are gone.
    await waitFor('both gone', async () => !alive(pids.caddy) && !alive(pids.dnsmasq));
    const first = await restart(['--keep-data-plane']);
    expect(first.adopted).toEqual({ caddy: false, dnsmasq: false });
    caddyPids.add(first.pid!);
    dnsmasqPids.add(first.dnsmasqPid!);
    await followErin();
    await waitReady(s, 'port/erin-dev');
    await waitFor('the dev server through the preview port', async () => (await get(devUrl())).status === 200);
    expect(await s.proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(isCaddy(first.pid!) && isDnsmasq(first.dnsmasqPid!)).toBe(true);
    expect((await get(devUrl())).status).toBe(200);
    const next = await restart();
    expect(next).toMatchObject({
      pid: first.pid,
      dnsmasqPid: first.dnsmasqPid,
      adopted: { caddy: true, dnsmasq: true },
    });
    await s.proc.stop('SIGTERM');
    await waitFor('both gone', async () => !alive(first.pid!) && !alive(first.dnsmasqPid!));
  }, 120_000);
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
      workspacePort,
      extra: ['--caddy-admin', `http://127.0.0.1:${adminPort}`],
    });
    // It drives the Caddy at --caddy-admin and runs none of its own.
    expect(caddyLine(s.proc)).toMatchObject({ pid: undefined, admin: `http://127.0.0.1:${adminPort}` });
    dnsmasqPids.add(caddyLine(s.proc).dnsmasqPid!);
    const out = await applyManifest(
      s,
      scratch,
      'bob.yaml',
      `${workspaceYaml('bob')}---\n${portYaml('bob-dev', 'bob', 3000)}`,
    );
    expect(out).toContain('workspace/bob created');
    expect(out).toContain('port/bob-dev created');
  }, 120_000);

  afterAll(async () => {
    await ours?.stop();
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  });

  const unreachable = (m: string | undefined) =>
    !!m &&
    m.includes(`Caddy admin API at http://127.0.0.1:${adminPort} unreachable`) &&
    m.includes('ECONNREFUSED') &&
    m.includes('Retrying with backoff');

  it("admin API down (ProxyUnreachable): Caddy's error on RouteReady/Ready of the Workspace and Ready of the Port, retried with backoff", async () => {
    expect(
      records(s.proc).some(
        (r) =>
          r.level === 40 &&
          String(r.msg).includes(`Caddy admin API at http://127.0.0.1:${adminPort} does not answer yet`),
      ),
    ).toBe(true);
    const bob = await waitObject(
      s,
      'workspaces',
      'bob',
      'bob to show the unreachable admin API',
      (o) => condition(o, 'VMReady')?.status === 'True' && unreachable(condition(o, 'RouteReady')?.message),
    );
    expect(condition(bob, 'RouteReady')).toMatchObject({ status: 'False', reason: 'ProxyUnreachable' });
    expect(condition(bob, 'Ready')).toMatchObject({ status: 'False', reason: 'ProxyUnreachable' });
    expect(unreachable(condition(bob, 'Ready')!.message)).toBe(true);
    const port = await waitObject(s, 'ports', 'bob-dev', 'bob-dev to show the unreachable admin API', (o) =>
      unreachable(condition(o, 'Ready')?.message),
    );
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
    await new Promise<void>((resolve, reject) => {
      blocker!.once('error', reject);
      blocker!.listen(workspacePort, '127.0.0.1', () => resolve());
    });
    await ours.start();
    const rejected = (m: string | undefined) =>
      !!m &&
      m.includes('Caddy POST /load (400)') &&
      m.includes(`127.0.0.1:${workspacePort}`) &&
      m.includes('address already in use');
    const bob = await waitObject(s, 'workspaces', 'bob', 'bob to show the rejected config', (o) =>
      rejected(condition(o, 'RouteReady')?.message),
    );
    expect(condition(bob, 'Ready')).toMatchObject({ status: 'False', reason: 'ProxyConfigRejected' });
    expect(rejected(condition(bob, 'Ready')!.message)).toBe(true);
    await waitObject(s, 'ports', 'bob-dev', 'bob-dev to show the rejected config', (o) =>
      rejected(condition(o, 'Ready')?.message),
    );

    await new Promise<void>((r) => blocker!.close(() => r()));
    blocker = undefined;
    await waitObject(
      s,
      'workspaces',
      'bob',
      'bob Ready once Caddy takes the config',
      (o) => condition(o, 'Ready')?.status === 'True',
    );
    await waitObject(s, 'ports', 'bob-dev', 'bob-dev Ready', (o) => condition(o, 'Ready')?.status === 'True');
    const r = await get(`${s.workspaceUrl}/workspace/bob/z`);
    expect(r.status).toBe(200);
    expect(r.body).toBe(ideBody('bob', '/z'));
  }, 90_000);

  it('the admin API going down later shows again, and a Caddy back on it gets the whole table again', async () => {
    await ours.stop('SIGKILL');
    await waitObject(s, 'workspaces', 'bob', 'bob to show the admin API down', (o) =>
      unreachable(condition(o, 'Ready')?.message),
    );
    await waitObject(s, 'ports', 'bob-dev', 'bob-dev to show the admin API down', (o) =>
      unreachable(condition(o, 'Ready')?.message),
    );

    // A fresh Caddy on the same admin port has an empty config: Tidepool loads everything again.
    await ours.start();
    await waitObject(s, 'workspaces', 'bob', 'bob Ready again', (o) => condition(o, 'Ready')?.status === 'True');
    await waitObject(s, 'ports', 'bob-dev', 'bob-dev Ready again', (o) => condition(o, 'Ready')?.status === 'True');
    const r = await get(`${s.workspaceUrl}/workspace/bob/again`);
    expect(r.status).toBe(200);
    expect(r.body).toBe(ideBody('bob', '/again'));
    expect((await get(`${s.previewUrl}/workspace/bob/port/3000/`)).status).toBe(502);
  }, 90_000);
});
