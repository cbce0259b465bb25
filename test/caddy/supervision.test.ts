// The driver supervises the Caddy and dnsmasq it started, and repairs drift: a process killed
// comes back serving the same routes; a hosts file removed or a Caddy emptied behind its back is
// read as such and put back by the next apply. The admin API is private, and neither process
// holds a Tidepool secret in its environment.
import { readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaddyProxy, type Json } from '../../drivers/proxy/caddy/index.js';
import { ProxyError, type RouteTable } from '../../drivers/proxy/types.js';
import {
  alive,
  echo,
  fakeServer,
  get,
  openSocket,
  PASSWORD,
  startHarness,
  USER,
  waitFor,
  type FakeServer,
  type Harness,
} from './helpers.js';

describe('caddy driver: supervision and drift', () => {
  let h: Harness;
  let ide: FakeServer, dev: FakeServer, api: FakeServer;
  let table: RouteTable;
  let changes = 0;
  const secret = 'tidepool-test-secret-in-the-environment';

  beforeAll(async () => {
    ide = await fakeServer('alice-ide', '127.78.3.10', 8080);
    dev = await fakeServer('alice-3000', '127.78.3.10', 3000);
    api = await fakeServer('api', '127.0.0.1');
    // Tidepool's own environment holds its credentials; Caddy's and dnsmasq's must not.
    process.env.TIDEPOOL_PASSWORD = secret;
    h = await startHarness({ apiUpstream: api.upstream });
    delete process.env.TIDEPOOL_PASSWORD;
    h.proxy.subscribe(() => {
      changes++;
    });
    table = {
      workspaces: [{ name: 'alice', upstream: '127.78.3.10:8080' }],
      ports: [{ workspace: 'alice', port: 3000, upstream: '127.78.3.10:3000' }],
    };
    await h.proxy.apply(table);
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([ide, dev, api].map((s) => s?.close()));
  });

  const routed = async () =>
    (await get(`${h.workspaceUrl}/workspace/alice/`)).status === 200 &&
    (await get(`${h.previewUrl}/workspace/alice/port/3000/`)).status === 200;

  it('keeps the admin API on a 0600 unix socket in a 0700 directory', async () => {
    expect(h.proxy.adminUrl).toMatch(/^unix\/\/.+\/admin\.sock$/);
    const socket = h.proxy.adminUrl!.slice('unix/'.length);
    const s = await stat(socket);
    expect(s.isSocket()).toBe(true);
    expect(s.mode & 0o777).toBe(0o600);
    expect((await stat(dirname(socket))).mode & 0o777).toBe(0o700);
    // Nothing listens for the admin API on TCP: the config names only the socket.
    const config = (await h.proxy.admin().getConfig()) as { admin: { listen: string } };
    expect(config.admin.listen).toBe(h.proxy.adminUrl);
  });

  it("holds no Tidepool secret in Caddy's or dnsmasq's environment", async () => {
    for (const pid of [h.proxy.pid!, h.proxy.dnsmasqPid!]) {
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
      expect(environ).not.toContain(secret);
      expect(environ).not.toContain(PASSWORD);
      expect(environ.split('\0').filter((e) => e.startsWith('TIDEPOOL'))).toEqual([]);
    }
  });

  it('kill -9 of dnsmasq: a new one answers from the same file, subscribers are told, routes work without an apply', async () => {
    const pid = h.proxy.dnsmasqPid!;
    const before = changes;
    const socket = await openSocket(`${h.workspaceUrl}/workspace/alice/ws`);
    process.kill(pid, 'SIGKILL');
    await waitFor(
      'a new dnsmasq',
      async () => h.proxy.dnsmasqPid !== undefined && h.proxy.dnsmasqPid !== pid && changes > before,
    );
    expect(alive(pid)).toBe(false);
    await waitFor('routes back', routed);
    expect(await h.proxy.read()).toEqual(table);
    // The connection was made before: the resolver going away never touched it.
    expect(await echo(socket, 'still')).toBe('alice-ide:still');
    socket.terminate();
  });

  it('kill -9 of Caddy: a new one boots with the whole config, subscribers are told, routes work without a load', async () => {
    const pid = h.proxy.pid!;
    const before = changes;
    process.kill(pid, 'SIGKILL');
    await waitFor('a new caddy', async () => h.proxy.pid !== undefined && h.proxy.pid !== pid && changes > before);
    await waitFor('routes back', routed);
    expect(await h.proxy.read()).toEqual(table);
    expect(h.proxy.loads).toBe(0);
  });

  it('the hosts file removed: read() says so, the names are gone, and apply puts them back', async () => {
    await rm(h.proxy.hostsPath);
    expect(await h.proxy.read()).toBeNull();
    await waitFor('names gone', async () => (await get(`${h.workspaceUrl}/workspace/alice/`)).status === 503);
    await h.proxy.apply(table);
    expect(await h.proxy.read()).toEqual(table);
    await waitFor('routes back', routed);
  });

  it('Caddy emptied behind our back (as a Caddy restarted with another config): read() says so, apply loads the config once', async () => {
    const config = (await h.proxy.admin().getConfig()) as { admin: Json };
    await h.proxy.admin().load({ admin: config.admin });
    expect(await h.proxy.read()).toBeNull();
    await h.proxy.apply(table);
    expect(h.proxy.loads).toBe(1);
    expect(await h.proxy.read()).toEqual(table);
    await waitFor('routes back', routed);
    await h.proxy.apply(table);
    expect(h.proxy.loads).toBe(1);
  });

  it('close() ends the Caddy and the dnsmasq it runs', async () => {
    const other = await startHarness({ apiUpstream: api.upstream });
    const pids = [other.proxy.pid!, other.proxy.dnsmasqPid!];
    expect(pids.every(alive)).toBe(true);
    await other.close();
    await waitFor('both gone', async () => !pids.some(alive));
  });

  it('fails with a ProxyError naming the executable when caddy or dnsmasq cannot run', async () => {
    for (const over of [{ caddyBinary: '/nonexistent/caddy' }, { dnsmasqBinary: '/nonexistent/dnsmasq' }]) {
      const d = createCaddyProxy({
        apiUpstream: api.upstream,
        credentials: { username: USER, password: PASSWORD },
        appListen: '127.0.0.1:0',
        workspaceListen: '127.0.0.1:0',
        previewListen: '127.0.0.1:0',
        stateDir: `${h.stateDir}-bad`,
        ...over,
      });
      const err = await d.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as Error).message).toContain('/nonexistent/');
      await d.close();
    }
    await rm(`${h.stateDir}-bad`, { recursive: true, force: true });
  });
});
