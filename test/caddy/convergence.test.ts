// One load when the table changes, none when it does not; drift is seen by read() and repaired by apply().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaddyProxy, IDS } from '../../controller/drivers/proxy/caddy/index.js';
import { ProxyError, type RouteTable } from '../../controller/drivers/proxy/types.js';
import { closesWithin, echo, fakeServer, get, openSocket, PASSWORD, reloadCount, startHarness, USER, type FakeServer, type Harness } from './helpers.js';

describe('caddy driver: convergence and drift', () => {
  let h: Harness;
  let ide: FakeServer, dev: FakeServer, api: FakeServer;
  let table: RouteTable;

  beforeAll(async () => {
    ide = await fakeServer('alice-ide', '127.77.2.10');
    dev = await fakeServer('alice-3000', '127.77.2.10');
    api = await fakeServer('api', '127.0.0.1');
    h = await startHarness({ apiUpstream: api.upstream });
    table = {
      workspaces: [{ name: 'alice', upstream: ide.upstream }, { name: 'bob', upstream: '127.77.2.11:8080' }],
      ports: [{ workspace: 'alice', port: 3000, upstream: dev.upstream }, { workspace: 'bob', port: 8000, upstream: '127.77.2.11:8000' }],
    };
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([ide, dev, api].map((s) => s?.close()));
  });

  it('reads null from a freshly started Caddy, then the applied table', async () => {
    expect(await h.proxy.read()).toBeNull();
    await h.proxy.apply(table);
    expect(await h.proxy.read()).toEqual(table);
  });

  it('does not reload for an unchanged table (in any order), and reloads once for a change', async () => {
    const ws = await openSocket(`${h.workspaceUrl}/workspace/alice/port/3000/live`);
    try {
      const reloads = await reloadCount(h.stateDir);
      await h.proxy.apply({ workspaces: [...table.workspaces].reverse(), ports: [...table.ports].reverse() });
      await h.proxy.apply(table);
      expect(await echo(ws, 'still there')).toBe('alice-3000:still there');
      expect(await closesWithin(ws, 500)).toBe(false);
      expect(await reloadCount(h.stateDir)).toBe(reloads);

      // A real change reloads Caddy, and Caddy 2.6 closes proxied WebSockets on reload.
      const changed = { ...table, workspaces: [...table.workspaces, { name: 'carol', upstream: '127.77.2.12:8080' }] };
      await h.proxy.apply(changed);
      expect(await reloadCount(h.stateDir)).toBe(reloads + 1);
      expect(await closesWithin(ws, 5_000)).toBe(true);
      expect(await h.proxy.read()).toEqual(changed);
      await h.proxy.apply(table);
    } finally {
      ws.terminate();
    }
  });

  it('sees a route deleted through the admin API and puts it back on apply', async () => {
    await h.proxy.apply(table);
    const url = `${h.workspaceUrl}/workspace/alice/port/3000/x`;
    expect(JSON.parse((await get(url)).body).server).toBe('alice-3000');

    await h.proxy.admin().call('DELETE', `/id/${IDS.portRoute}`);
    // Without the port route the IDE route takes the request: the table is broken.
    expect(JSON.parse((await get(url)).body).server).toBe('alice-ide');
    expect(await h.proxy.read()).toBeNull();

    await h.proxy.apply(table);
    expect(await h.proxy.read()).toEqual(table);
    expect(JSON.parse((await get(url)).body).server).toBe('alice-3000');
  });

  it('reads a different table when one map entry is removed by hand, and apply restores it', async () => {
    await h.proxy.apply(table);
    await h.proxy.admin().call('DELETE', `/id/${IDS.workspaceMap}/mappings/0`);
    const drifted = await h.proxy.read();
    expect(drifted).toEqual({ ...table, workspaces: table.workspaces.slice(1) });
    expect((await get(`${h.workspaceUrl}/workspace/alice/`)).status).toBe(404);
    await h.proxy.apply(table);
    expect(await h.proxy.read()).toEqual(table);
    expect((await get(`${h.workspaceUrl}/workspace/alice/`)).status).toBe(200);
  });

  it('reads null when the live config differs outside the maps (auth, listen address)', async () => {
    await h.proxy.apply(table);
    // Same Caddy, driven by another driver with other credentials or another workspace listener.
    const otherPassword = createCaddyProxy({ adminUrl: h.proxy.adminUrl!, apiUpstream: api.upstream, credentials: { username: USER, password: 'other' }, appListen: 'x', workspaceListen: 'y' });
    const otherListen = createCaddyProxy({ adminUrl: h.proxy.adminUrl!, apiUpstream: api.upstream, credentials: { username: USER, password: PASSWORD }, appListen: '127.0.0.1:1', workspaceListen: '127.0.0.1:2' });
    try {
      expect(await otherPassword.read()).toBeNull();
      expect(await otherListen.read()).toBeNull();
    } finally {
      await otherPassword.close();
      await otherListen.close();
    }
  });

  it('reuses a live password hash that still matches, so a second driver does not reload', async () => {
    await h.proxy.apply(table);
    const reloads = await reloadCount(h.stateDir);
    const listen = (u: string) => u.replace('http://', '');
    const second = createCaddyProxy({
      adminUrl: h.proxy.adminUrl!, apiUpstream: api.upstream, credentials: { username: USER, password: PASSWORD },
      appListen: listen(h.appUrl), workspaceListen: listen(h.workspaceUrl),
    });
    try {
      expect(await second.read()).toEqual(table);
      await second.apply(table);
      expect(await reloadCount(h.stateDir)).toBe(reloads);
    } finally {
      await second.close();
    }
  });

  it('rejects a table with conflicting duplicates before calling Caddy, naming the duplicate', async () => {
    const reloads = await reloadCount(h.stateDir);
    const dupWorkspace = { workspaces: [...table.workspaces, { name: 'alice', upstream: '127.77.2.99:8080' }], ports: [] };
    await expect(h.proxy.apply(dupWorkspace)).rejects.toThrow(ProxyError);
    await expect(h.proxy.apply(dupWorkspace)).rejects.toThrow(/duplicate workspace route alice/);
    const dupPort = { workspaces: [], ports: [table.ports[0]!, { ...table.ports[0]!, upstream: '127.77.2.99:1' }] };
    await expect(h.proxy.apply(dupPort)).rejects.toThrow(/duplicate port route alice\/3000/);
    await expect(h.proxy.apply({ workspaces: [{ name: 'x', upstream: '{http.request.host}:80' }], ports: [] })).rejects.toThrow(ProxyError);
    expect(await reloadCount(h.stateDir)).toBe(reloads);
    // Exact repeats are harmless and collapse.
    await h.proxy.apply({ workspaces: [...table.workspaces, table.workspaces[0]!], ports: [...table.ports, table.ports[0]!] });
    expect(await h.proxy.read()).toEqual(table);
  });
});
