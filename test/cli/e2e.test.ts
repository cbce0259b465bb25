// End to end through the real `tidepool` binary: a user applies the examples, waits for them,
// and sees them run; then stops, starts and deletes one. `tidepool serve` runs the whole
// system with the stub runtime (each running VM is a real HTTP server on 127.77.x.y:8080)
// and the memory proxy, so every phase below was written by the controller.
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';

let served: Served | undefined;
let env: NodeJS.ProcessEnv;
let scratch: string;

/** How long each `tidepool wait` may take; the tests allow for a few of them in a row. */
const WAIT_MS = 30_000;
const run = (args: string[]) => tp(args, { env, timeoutMs: WAIT_MS + 10_000 });
const lines = (s: string) => s.split('\n').filter(Boolean);

/** `get TYPE -o wide` as rows keyed by name, each a map from header to cell. */
async function table(type: string): Promise<Map<string, Record<string, string>>> {
  const r = await run(['get', type, '-o', 'wide']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const [header, ...rows] = lines(r.stdout);
  // The headers of these tables are single words, and no cell has a space.
  const cols = header!.trim().split(/ +/);
  const out = new Map<string, Record<string, string>>();
  for (const row of rows) {
    const cells = row.trim().split(/ +/);
    expect(cells).toHaveLength(cols.length);
    out.set(cells[0]!, Object.fromEntries(cols.map((c, i) => [c, cells[i]!])));
  }
  return out;
}

/** What answers on http://ip:8080/ (the stub IDE of a running VM), or the error code when nothing does. */
function ide(ip: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port: 8080, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

const STUB_IP = /^127\.77\.\d{1,3}\.\d{1,3}$/;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-e2e-'));
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
});

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the examples, end to end', { timeout: 4 * WAIT_MS }, () => {
  const workspaces = ['alice', 'bob', 'carol'];
  const ports = ['alice-3000', 'carol-8000'];
  let carolIp = '';

  it('apply -f examples/ creates every object', async () => {
    const r = await run(['apply', '-f', 'examples/']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout).sort()).toEqual([
      'port/alice-3000 created',
      'port/carol-8000 created',
      'workspace/alice created',
      'workspace/bob created',
      'workspace/carol created',
    ]);
  });

  it('wait --for=condition=Ready returns once every workspace and port is Ready', async () => {
    const ws = await run(['wait', '--for=condition=Ready', 'workspace', ...workspaces, `--timeout=${WAIT_MS / 1000}s`]);
    expect(ws.stderr).toBe('');
    expect(ws.code).toBe(0);
    expect(lines(ws.stdout)).toEqual(workspaces.map((n) => `workspace/${n} condition met`));
    const p = await run([
      'wait',
      '--for=condition=Ready',
      ...ports.map((n) => `port/${n}`),
      `--timeout=${WAIT_MS / 1000}s`,
    ]);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    expect(lines(p.stdout)).toEqual(ports.map((n) => `port/${n} condition met`));
  });

  it('get workspaces -o wide: each Running and Ready, with its own stub IP where its IDE answers', async () => {
    const rows = await table('workspaces');
    expect([...rows.keys()]).toEqual(workspaces);
    const ips = new Set<string>();
    for (const name of workspaces) {
      const row = rows.get(name)!;
      expect(row).toMatchObject({ PHASE: 'Running', READY: 'True', RUNNING: 'true', URL: `/workspace/${name}/` });
      expect(row.IP).toMatch(STUB_IP);
      ips.add(row.IP!);
      // The IP is the VM's own: the stub IDE there names this workspace.
      expect(await ide(row.IP!)).toBe(`stub IDE of workspace ${name}: GET /\n`);
    }
    expect(ips.size).toBe(workspaces.length);
    carolIp = rows.get('carol')!.IP!;
  });

  it('get ports: each Ready, with its URL under its workspace', async () => {
    const rows = await table('ports');
    expect([...rows.keys()]).toEqual(ports);
    expect(rows.get('alice-3000')).toMatchObject({
      WORKSPACE: 'alice',
      PORT: '3000',
      READY: 'True',
      URL: '/workspace/alice/port/3000/',
    });
    expect(rows.get('carol-8000')).toMatchObject({
      WORKSPACE: 'carol',
      PORT: '8000',
      READY: 'True',
      URL: '/workspace/carol/port/8000/',
    });
  });

  it('stop: the workspace goes Stopped without an IP, its VM is off, and its port is no longer Ready', async () => {
    const r = await run(['stop', 'carol']);
    expect(r.stdout.trim()).toBe('workspace/carol stopped');
    expect(r.code).toBe(0);
    const w = await run(['wait', 'ws/carol', '--for=jsonpath={.status.phase}=Stopped', `--timeout=${WAIT_MS / 1000}s`]);
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);

    const carol = (await table('workspaces')).get('carol')!;
    expect(carol).toMatchObject({ PHASE: 'Stopped', READY: 'False', IP: '<none>', RUNNING: 'false' });
    expect(await ide(carolIp)).toBe('ECONNREFUSED');
    // The others are untouched.
    expect((await table('workspaces')).get('alice')).toMatchObject({ PHASE: 'Running', READY: 'True' });

    const p = await run(['wait', 'port/carol-8000', '--for=condition=Ready=False', `--timeout=${WAIT_MS / 1000}s`]);
    expect(p.code).toBe(0);
    const port = JSON.parse((await run(['get', 'port', 'carol-8000', '-o', 'json'])).stdout);
    expect(port.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'WorkspaceStopped',
    });
  });

  it('start --wait: Running and Ready again, with an IP where its IDE answers, and its port Ready', async () => {
    const r = await run(['start', 'carol', '--wait', `--timeout=${WAIT_MS / 1000}s`]);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual(['workspace/carol started', 'workspace/carol ready']);
    expect(r.code).toBe(0);

    const carol = (await table('workspaces')).get('carol')!;
    expect(carol).toMatchObject({ PHASE: 'Running', READY: 'True', RUNNING: 'true' });
    expect(carol.IP).toMatch(STUB_IP);
    expect(await ide(carol.IP!)).toBe('stub IDE of workspace carol: GET /\n');
    carolIp = carol.IP!;

    const p = await run(['wait', 'port/carol-8000', '--for=condition=Ready', `--timeout=${WAIT_MS / 1000}s`]);
    expect(p.code).toBe(0);
  });

  it('describe shows what the controller did, as events', async () => {
    // Events are written in batches: give them a moment, bounded.
    let out = '';
    for (let i = 0; i < 50; i++) {
      out = (await run(['describe', 'workspace', 'carol'])).stdout;
      if (/\bStarted\b/.test(out.slice(out.indexOf('Events:')))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const events = out.slice(out.indexOf('Events:'));
    for (const reason of ['Created', 'IDEReady', 'Stopped', 'Started'])
      expect(events).toMatch(new RegExp(`\\b${reason}\\b`));
    expect(out).toMatch(/^ {2}Phase: +Running$/m);
  });

  it('delete: the workspace and its port are gone, its VM with them, and the rest stays', async () => {
    const r = await run(['delete', 'workspace', 'carol']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('workspace "carol" deleted');
    expect(r.code).toBe(0);
    // The controller's finalizer deletes the VM; then the store removes the workspace and its port.
    const w = await run(['wait', 'ws/carol', 'port/carol-8000', '--for=delete', `--timeout=${WAIT_MS / 1000}s`]);
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);

    const get = await run(['get', 'workspace', 'carol']);
    expect(get.code).toBe(1);
    expect(get.stderr.trim()).toBe('Error from server (NotFound): workspaces "carol" not found');
    expect(await ide(carolIp)).toBe('ECONNREFUSED');

    const rows = await table('workspaces');
    expect([...rows.keys()]).toEqual(['alice', 'bob']);
    for (const row of rows.values()) expect(row).toMatchObject({ PHASE: 'Running', READY: 'True' });
    expect([...(await table('ports')).keys()]).toEqual(['alice-3000']);
  });
});
