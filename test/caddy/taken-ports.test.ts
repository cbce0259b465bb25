// A port taken at Caddy's start: the internal pages port (remembered from the last boot) is
// Tidepool's to pick, so another one is tried; a port the user chose (--app-port) fails at
// once, after one Caddy start, since trying again could only fail the same way, slower.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCaddyProxy } from '../../drivers/proxy/caddy/index.js';
import { fakeServer, freePortOn, startHarness, type FakeServer } from './helpers.js';

const hold = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

/** How many times Caddy took a config at start-up, from its own log. */
async function caddyStarts(stateDir: string): Promise<number> {
  const log = await readFile(join(stateDir, 'caddy.log'), 'utf8');
  return log.split('\n').filter((l) => l.includes('"using provided configuration"')).length;
}

describe('caddy driver: a port taken at start', () => {
  let api: FakeServer;
  const held: Server[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  afterAll(async () => {
    await api?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('the last boot’s pages port taken: Caddy starts on another one', async () => {
    api = await fakeServer('api', '127.0.0.1');
    const first = await startHarness({ apiUpstream: api.upstream });
    const config = await readFile(join(first.stateDir, 'caddy.json'), 'utf8');
    const pagesPort = Number(/"tidepool_pages".*?"listen":\["127\.0\.0\.1:(\d+)"\]/s.exec(config)?.[1]);
    expect(pagesPort).toBeGreaterThan(0);
    await first.proxy.close();
    held.push(await hold(pagesPort));

    const next = createCaddyProxy(first.options);
    try {
      await next.start();
      const now = await readFile(join(first.stateDir, 'caddy.json'), 'utf8');
      expect(now).toMatch(/"tidepool_pages"/);
      expect(now).not.toContain(`"127.0.0.1:${pagesPort}"`);
      expect(await caddyStarts(first.stateDir)).toBe(3); // the first boot, the failed try, the retry
    } finally {
      await next.close();
      await first.close();
    }
  }, 60_000);

  it('the app port taken: the start fails after one Caddy start, naming the port', async () => {
    api ??= await fakeServer('api', '127.0.0.1');
    const stateDir = await mkdtemp(join(tmpdir(), 'tp-caddy-taken-'));
    dirs.push(stateDir);
    const appPort = await freePortOn('127.0.0.1');
    held.push(await hold(appPort));
    const proxy = createCaddyProxy({
      appListen: `127.0.0.1:${appPort}`,
      workspaceListen: `127.0.0.1:${await freePortOn('127.0.0.1')}`,
      previewListen: `127.0.0.1:${await freePortOn('127.0.0.1')}`,
      credentials: { username: 'tidepool', password: 'a password for this test' },
      stateDir,
      apiUpstream: api.upstream,
    });
    try {
      await expect(proxy.start()).rejects.toThrow(`127.0.0.1:${appPort}: bind: address already in use`);
    } finally {
      await proxy.close();
    }
    expect(await caddyStarts(stateDir)).toBe(1);
  }, 60_000);
});
