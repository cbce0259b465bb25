// The data plane outlives the control plane: a driver closed with keepRunning (or a Tidepool
// killed) leaves Caddy and dnsmasq serving; the next driver on the same state dir adopts both
// (same pids, no second Caddy beside the first), an established WebSocket stays up, and a
// changed server setting is loaded into the adopted Caddy instead of starting another.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import bcrypt from 'bcryptjs';
import { createCaddyProxy, type CaddyProxy } from '../../drivers/proxy/caddy/index.js';
import { passwordHashesIn } from '../../drivers/proxy/caddy/config.js';
import type { RouteTable } from '../../drivers/proxy/types.js';
import {
  alive,
  echo,
  fakeServer,
  get,
  openSocket,
  startHarness,
  waitFor,
  type FakeServer,
  type Harness,
} from './helpers.js';

describe('caddy driver: adopting a data plane left running', () => {
  let h: Harness;
  let ide: FakeServer, api: FakeServer;
  const drivers: CaddyProxy[] = [];
  let caddyPid: number | undefined;
  const table: RouteTable = { workspaces: [{ name: 'alice', upstream: '127.78.6.10:8080' }], ports: [] };

  beforeAll(async () => {
    ide = await fakeServer('alice-ide', '127.78.6.10', 8080);
    api = await fakeServer('api', '127.0.0.1');
    h = await startHarness({ apiUpstream: api.upstream });
    await h.proxy.apply(table);
  }, 30_000);

  afterAll(async () => {
    for (const d of drivers) await d.close();
    await h?.close();
    await Promise.all([ide, api].map((s) => s?.close()));
  });

  it('a second driver adopts both processes; the WebSocket opened before stays up; routes need no apply', async () => {
    const pids = { caddy: h.proxy.pid!, dnsmasq: h.proxy.dnsmasqPid! };
    const socket = await openSocket(`${h.workspaceUrl}/workspace/alice/term`);
    await h.proxy.close({ keepRunning: true });
    expect(alive(pids.caddy) && alive(pids.dnsmasq)).toBe(true);
    expect(await echo(socket, 'between')).toBe('alice-ide:between');

    const next = createCaddyProxy(h.options);
    drivers.push(next);
    await next.start();
    expect(next.adopted).toEqual({ caddy: true, dnsmasq: true });
    expect({ caddy: next.pid, dnsmasq: next.dnsmasqPid }).toEqual(pids);
    expect(next.loads).toBe(0);
    expect(await next.read()).toEqual(table);
    expect(await echo(socket, 'after')).toBe('alice-ide:after');
    expect((await get(`${h.workspaceUrl}/workspace/alice/`)).status).toBe(200);
    socket.terminate();

    // Adopted processes are supervised too: killed, they are started again.
    process.kill(pids.dnsmasq, 'SIGKILL');
    await waitFor('a new dnsmasq', async () => next.dnsmasqPid !== undefined && next.dnsmasqPid !== pids.dnsmasq);
    await waitFor('routes back', async () => (await get(`${h.workspaceUrl}/workspace/alice/`)).status === 200);
    caddyPid = next.pid;
    await next.close({ keepRunning: true });
  });

  it('a changed server setting (the password) is loaded into the adopted Caddy, not a second Caddy', async () => {
    const pid = caddyPid;
    const next = createCaddyProxy({ ...h.options, credentials: { username: 'tidepool', password: 'a new password' } });
    drivers.push(next);
    await next.start();
    expect(next.adopted.caddy).toBe(true);
    expect(next.loads).toBe(1);
    expect(next.pid).toBe(pid);
    // The API checks logins (the fake one here knows the old password); Caddy holds the new
    // password's hash for when the API is away (auth.ts).
    const hashes = passwordHashesIn(await next.admin().getConfig(), 'tidepool');
    expect(hashes.length).toBeGreaterThan(0);
    for (const hash of hashes) expect(await bcrypt.compare('a new password', hash)).toBe(true);
    expect((await get(`${h.workspaceUrl}/workspace/alice/`, false)).status).toBe(401);
    await next.close({ keepRunning: true });
  });

  it('a pid file naming a process that is not ours (a reused pid) is not adopted, and that process is left alone', async () => {
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      // The Caddy we left running must go first (a stranger holds its pid file now, so nothing else would end it).
      const ours = createCaddyProxy(h.options);
      await ours.start();
      expect(ours.pid).toBe(caddyPid);
      await ours.close();
      expect(alive(caddyPid!)).toBe(false);
      await writeFile(
        join(h.stateDir, 'caddy.pid'),
        JSON.stringify({ pid: stranger.pid, argv: ['caddy', 'run', '--config', join(h.stateDir, 'caddy.json')] }),
      );
      const next = createCaddyProxy(h.options);
      drivers.push(next);
      await next.start();
      expect(next.adopted.caddy).toBe(false);
      expect(next.pid).not.toBe(stranger.pid);
      expect(alive(stranger.pid!)).toBe(true);
      expect((await get(`${h.workspaceUrl}/workspace/alice/`)).status).toBe(200);
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});
