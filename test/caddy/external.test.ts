// Driving a Caddy that someone else started, through its admin URL (our config is loaded into
// it once; routes still go to our own dnsmasq); admin-API failures.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaddyProxy, freeLoopbackPort, type CaddyProxy } from '../../drivers/proxy/caddy/index.js';
import { ProxyError, type RouteTable } from '../../drivers/proxy/types.js';
import { ensureCaddy, fakeServer, get, PASSWORD, USER, waitFor, type FakeServer } from './helpers.js';

describe('caddy driver: an existing Caddy through adminUrl', () => {
  let dir: string;
  let caddy: ChildProcess | undefined;
  let adminUrl: string;
  let ide: FakeServer, api: FakeServer;
  let appListen: string, workspaceListen: string, previewListen: string;
  const drivers: CaddyProxy[] = [];

  const driver = (over: Partial<Parameters<typeof createCaddyProxy>[0]> = {}) => {
    const d = createCaddyProxy({
      adminUrl,
      apiUpstream: api.upstream,
      credentials: { username: USER, password: PASSWORD },
      appListen,
      workspaceListen,
      previewListen,
      stateDir: join(dir, `driver-${drivers.length}`),
      ...over,
    });
    drivers.push(d);
    return d;
  };

  beforeAll(async () => {
    ensureCaddy();
    ide = await fakeServer('alice-ide', '127.78.4.10', 8080);
    api = await fakeServer('api', '127.0.0.1');
    dir = await mkdtemp(join(tmpdir(), 'tp-caddy-ext-'));
    const adminPort = await freeLoopbackPort();
    appListen = `127.0.0.1:${await freeLoopbackPort()}`;
    workspaceListen = `127.0.0.1:${await freeLoopbackPort()}`;
    previewListen = `127.0.0.1:${await freeLoopbackPort()}`;
    adminUrl = `http://127.0.0.1:${adminPort}`;
    await writeFile(
      join(dir, 'boot.json'),
      JSON.stringify({ admin: { listen: `127.0.0.1:${adminPort}`, config: { persist: false } } }),
    );
    caddy = spawn('caddy', ['run', '--config', join(dir, 'boot.json')], {
      stdio: 'ignore',
      env: { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
    await waitFor('the external caddy admin API', async () => (await fetch(`${adminUrl}/config/`)).ok);
  }, 30_000);

  afterAll(async () => {
    for (const d of drivers) await d.close();
    if (caddy?.pid && caddy.exitCode === null) {
      const gone = new Promise((r) => caddy!.once('exit', r));
      process.kill(caddy.pid, 'SIGKILL');
      await gone;
    }
    await Promise.all([ide, api].map((s) => s?.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('applies and reads the table on a Caddy it did not start, and leaves it running on close', async () => {
    const d = driver();
    await d.start();
    expect(d.pid).toBeUndefined();
    expect(d.loads).toBe(1); // our config, once
    const table: RouteTable = { workspaces: [{ name: 'alice', upstream: ide.upstream }], ports: [] };
    await d.apply(table);
    expect(await d.read()).toEqual(table);
    const r = await get(`http://${workspaceListen}/workspace/alice/hello`);
    expect(JSON.parse(r.body)).toMatchObject({ server: 'alice-ide', url: '/hello', prefix: '/workspace/alice' });
    await d.apply({ workspaces: [], ports: [] });
    expect(d.loads).toBe(1); // route changes never load
    await d.close();
    expect((await fetch(`${adminUrl}/config/`)).ok).toBe(true);
    expect(caddy!.exitCode).toBeNull();
  });

  it("reports a config Caddy rejects with Caddy's own message, and Caddy keeps its admin endpoint", async () => {
    const d = driver({ appListen: '127.0.0.1:notaport' });
    const err = await d.apply({ workspaces: [], ports: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).reason).toBe('ProxyConfigRejected');
    expect((err as Error).message).toMatch(/loading (new )?config/);
    expect((err as Error).message).toMatch(/notaport/);
    expect((await fetch(`${adminUrl}/config/`)).ok).toBe(true);
  });

  it('fails with a ProxyError naming the admin URL when the admin API refuses connections', async () => {
    const closed = `http://127.0.0.1:${await freeLoopbackPort()}`;
    const d = driver({ adminUrl: closed });
    for (const op of [() => d.read(), () => d.apply({ workspaces: [], ports: [] })]) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as Error).message).toContain(closed);
      expect((err as Error).message).toMatch(/ECONNREFUSED/);
    }
  });
});
