// A Tidepool killed with SIGKILL leaves its Caddy running. Caddy binds with SO_REUSEPORT, so a
// second Caddy on the same ports would share them with the orphan. The driver's start ends a
// Caddy of its state dir whose supervisor is gone, and leaves every other process alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCaddyProxy, freeLoopbackPort, type CaddyProxy } from '../../controller/drivers/proxy/caddy/index.js';
import { processInfo } from '../../controller/drivers/proxy/caddy/process.js';
import { ensureCaddy, PASSWORD, USER } from './helpers.js';

const spawned: ChildProcess[] = [];
const proxies: CaddyProxy[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});
afterAll(async () => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The status and body of GET / on a connection of its own (SO_REUSEPORT spreads connections, not requests). */
function fresh(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * A Caddy as a dead Tidepool would have left it: `caddy run --config <state>/caddy-boot.json`,
 * answering "orphan" on the workspace port, and caddy.pid naming it and `supervisor`.
 */
async function leftBehind(stateDir: string, workspacePort: number, supervisor: number): Promise<ChildProcess> {
  const adminPort = await freeLoopbackPort();
  const boot = join(stateDir, 'caddy-boot.json');
  await mkdir(stateDir, { recursive: true });
  await writeFile(boot, JSON.stringify({
    admin: { listen: `127.0.0.1:${adminPort}`, config: { persist: false } },
    apps: { http: { servers: { s: { listen: [`127.0.0.1:${workspacePort}`], automatic_https: { disable: true }, routes: [{ handle: [{ handler: 'static_response', body: 'orphan' }] }] } } } },
  }));
  const child = spawn('caddy', ['run', '--config', boot], {
    stdio: 'ignore', env: { ...process.env, XDG_DATA_HOME: join(stateDir, 'xdg'), XDG_CONFIG_HOME: join(stateDir, 'xdg') },
  });
  spawned.push(child);
  for (let i = 0; i < 200; i++) {
    if ((await fresh(workspacePort).catch(() => undefined))?.body === 'orphan') break;
    await sleep(25);
  }
  await writeFile(join(stateDir, 'caddy.pid'), `${child.pid} ${supervisor}\n`);
  return child;
}

async function driver(stateDir: string, workspacePort: number): Promise<{ proxy: CaddyProxy; warnings: string[] }> {
  const warnings: string[] = [];
  const proxy = createCaddyProxy({
    appListen: `127.0.0.1:${await freeLoopbackPort()}`, workspaceListen: `127.0.0.1:${workspacePort}`,
    apiUpstream: '127.0.0.1:9', credentials: { username: USER, password: PASSWORD }, stateDir,
    logger: { info() {}, error() {}, warn: (_o: object | string, msg?: string) => { warnings.push(msg ?? ''); } },
  });
  proxies.push(proxy);
  await proxy.start();
  return { proxy, warnings };
}

async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tp-caddy-orphan-'));
  dirs.push(d);
  return join(d, 'caddy');
}

describe('caddy driver: a Caddy left running by a dead Tidepool', () => {
  ensureCaddy();

  it('is ended at start, so the new Caddy alone serves the ports', async () => {
    const dir = await stateDir();
    const port = await freeLoopbackPort();
    // Its supervisor is gone: the pid file names one that is not its parent (this process is).
    const orphan = await leftBehind(dir, port, 2 ** 22 + 1);
    expect((await fresh(port)).body).toBe('orphan');

    const { proxy, warnings } = await driver(dir, port);
    expect(orphan.exitCode !== null || orphan.signalCode !== null || !(await processInfo(orphan.pid!))).toBe(true);
    expect(warnings.some((w) => /previous Tidepool left running/.test(w))).toBe(true);
    await proxy.apply({ workspaces: [], ports: [] });
    // Every connection reaches the new Caddy (401: it asks for the credentials), none the orphan.
    const answers = await Promise.all(Array.from({ length: 40 }, () => fresh(port)));
    expect(answers.filter((a) => a.status !== 401)).toEqual([]);
  });

  it('is left alone while the process that started it still runs', async () => {
    const dir = await stateDir();
    const port = await freeLoopbackPort();
    // This test process is its parent: another live Tidepool on the same state dir, as far as the driver can tell.
    const other = await leftBehind(dir, port, process.pid);
    const { warnings } = await driver(dir, port);
    expect(alive(other.pid!)).toBe(true);
    expect(warnings.some((w) => /run by another live process/.test(w))).toBe(true);
    other.kill('SIGKILL');
  });

  it('a pid file naming a process that is not our Caddy (a reused pid) kills nothing', async () => {
    const dir = await stateDir();
    await mkdir(dir, { recursive: true });
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    spawned.push(bystander);
    await writeFile(join(dir, 'caddy.pid'), `${bystander.pid} ${2 ** 22 + 1}\n`);
    const { warnings } = await driver(dir, await freeLoopbackPort());
    expect(alive(bystander.pid!)).toBe(true);
    expect(warnings).toEqual([]);
    bystander.kill('SIGKILL');
  });
});
