// A supervised process that answers its probe and then exits is not started: Caddy, given a
// config that fails (a port taken), can answer its admin API in the moment before it exits.
// A new process counts as serving once its log says it started (Caddy: "serving initial
// configuration"), so the failure is reported instead of supervised into a restart loop.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { Daemon } from '../../drivers/proxy/daemon.js';
import { freeLoopbackPort } from '../../drivers/proxy/caddy/process.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** A process that answers HTTP on `port`, logs `says` (if any), and exits with 1 after `exitAfterMs`. */
const script = (port: number, says: string, exitAfterMs: number) =>
  `const s = require('node:http').createServer((q, r) => r.end('{}')); s.listen(${port}, '127.0.0.1', () => {` +
  ` if (${JSON.stringify(says)}) console.log(${JSON.stringify(says)});` +
  ` if (${exitAfterMs} > 0) setTimeout(() => process.exit(1), ${exitAfterMs}); });`;

describe('daemon start-up', () => {
  const dirs: string[] = [];
  const daemons: Daemon[] = [];
  afterAll(async () => {
    for (const d of daemons) await d.stop(500);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function daemon(says: string, exitAfterMs: number, startedWhen?: string): Promise<Daemon> {
    const dir = await mkdtemp(join(tmpdir(), 'tp-daemon-'));
    dirs.push(dir);
    const port = await freeLoopbackPort();
    const d = new Daemon({
      name: 'fake',
      binary: process.execPath,
      args: ['-e', script(port, says, exitAfterMs)],
      env: {},
      pidFile: join(dir, 'fake.pid'),
      logFile: join(dir, 'fake.log'),
      accept: () => false,
      probe: async () => {
        const r = await request(`http://127.0.0.1:${port}/`);
        await r.body.text();
      },
      onRestart: () => {},
      logger: quiet,
      readyTimeoutMs: 3_000,
      ...(startedWhen ? { startedWhen } : {}),
    });
    daemons.push(d);
    return d;
  }

  it('one that answers and then exits without saying it started fails its start', async () => {
    const d = await daemon('', 400, 'serving initial configuration');
    await expect(d.start()).rejects.toThrow(/fake exited during start-up \(exit code 1\)/);
  });

  it('one that says it started is started', async () => {
    const d = await daemon('serving initial configuration', 0, 'serving initial configuration');
    await d.start();
    expect(d.pid).toBeGreaterThan(0);
  });

  it('without startedWhen, an answer is enough (dnsmasq)', async () => {
    const d = await daemon('', 0);
    await d.start();
    expect(d.pid).toBeGreaterThan(0);
  });
});
