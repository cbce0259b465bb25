// The driver supervises the Caddy it started: killed, it comes back, and the table with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaddyProxy } from '../../controller/drivers/proxy/caddy/index.js';
import { ProxyError, type RouteTable } from '../../controller/drivers/proxy/types.js';
import { echo, fakeServer, get, openSocket, PASSWORD, startHarness, USER, waitFor, type FakeServer, type Harness } from './helpers.js';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe('caddy driver: process supervision', () => {
  let h: Harness;
  let ide: FakeServer, dev: FakeServer, api: FakeServer;
  let table: RouteTable;

  beforeAll(async () => {
    ide = await fakeServer('alice-ide', '127.77.3.10');
    dev = await fakeServer('alice-3000', '127.77.3.10');
    api = await fakeServer('api', '127.0.0.1');
    h = await startHarness({ apiUpstream: api.upstream });
    table = { workspaces: [{ name: 'alice', upstream: ide.upstream }], ports: [{ workspace: 'alice', port: 3000, upstream: dev.upstream }] };
    await h.proxy.apply(table);
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([ide, dev, api].map((s) => s?.close()));
  });

  it('restarts Caddy after kill -9, tells subscribers, and every route works after the next apply', async () => {
    const pid = h.proxy.pid!;
    const adminUrl = h.proxy.adminUrl;
    expect(alive(pid)).toBe(true);
    let notified = 0;
    const unsubscribe = h.proxy.subscribe(() => { notified++; });
    try {
      process.kill(pid, 'SIGKILL');
      await waitFor('the subscriber to hear of the restart', async () => notified > 0);
      const newPid = h.proxy.pid;
      expect(newPid).toBeDefined();
      expect(newPid).not.toBe(pid);
      expect(alive(newPid!)).toBe(true);
      expect(h.proxy.adminUrl).toBe(adminUrl);

      // A restarted Caddy has only its boot config: the table must be applied again.
      expect(await h.proxy.read()).toBeNull();
      await h.proxy.apply(table);
      expect(await h.proxy.read()).toEqual(table);
      expect(JSON.parse((await get(`${h.workspaceUrl}/workspace/alice/x`)).body)).toMatchObject({ server: 'alice-ide', url: '/x' });
      expect(JSON.parse((await get(`${h.workspaceUrl}/workspace/alice/port/3000/y`)).body)).toMatchObject({ server: 'alice-3000', url: '/y' });
      expect((await get(`${h.workspaceUrl}/workspace/alice/`, false)).status).toBe(401);
      const ws = await openSocket(`${h.workspaceUrl}/workspace/alice/port/3000/ws`);
      try { expect(await echo(ws, 'back')).toBe('alice-3000:back'); } finally { ws.terminate(); }
    } finally {
      unsubscribe();
    }
  });

  it('close() ends the Caddy it started', async () => {
    const other = await startHarness({ apiUpstream: api.upstream });
    const pid = other.proxy.pid!;
    expect(alive(pid)).toBe(true);
    await other.close();
    expect(alive(pid)).toBe(false);
    expect(other.proxy.pid).toBeUndefined();
  });

  it('fails with a ProxyError when the caddy binary cannot run', async () => {
    const proxy = createCaddyProxy({
      caddyBinary: '/nonexistent/caddy', apiUpstream: api.upstream, credentials: { username: USER, password: PASSWORD },
      stateDir: `${h.stateDir}/missing-binary`,
    });
    try {
      const err = await proxy.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as Error).message).toMatch(/cannot run \/nonexistent\/caddy/);
    } finally {
      await proxy.close();
    }
  });
});
