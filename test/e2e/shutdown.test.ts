// SIGTERM ends a real `tidepool serve` (Incus runtime, the busybox `minimal` image) while it
// holds every kind of session a client can keep open: two exec sessions (one with a terminal)
// running `sleep`, a `logs -f` follower and a watch stream. Serve ends each of them, logs
// "stopped" and exits by itself with code 0 (the bound is this test's own wait, not a timing
// claim), without an error logged on the way (`logs -f` added a Fastify hook per request, after
// listening, which Fastify refused with an error each time). Instances carry a Tidepool id
// written before serve starts; afterAll deletes them and their homes by it and ends serve by its pid.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanEnv, startServe, tp, type Served } from '../cli/helpers.js';
import { deleteByTidepoolId, deleteVolumesByTidepoolId, INCUS_SOCKET, requireOrSkip, sleep } from '../incus/helpers.js';
import { records } from './caddy-helpers.js';
import { presetId } from './incus-helpers.js';

const run = await requireOrSkip('test/e2e/shutdown');
let scratch: string;
let served: Served | undefined;
let env: NodeJS.ProcessEnv;
let id: string;
const AUTH = `Basic ${Buffer.from('e2e:shutdown-pw').toString('base64')}`;
const cli = (args: string[], input?: string) =>
  tp(args, { env, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-shutdown-'));
  const dataDir = join(scratch, 'data');
  id = await presetId(dataDir, 'shutdown');
  const base = cleanEnv({
    XDG_DATA_HOME: join(scratch, 'xdg'),
    TIDEPOOL_USER: 'e2e',
    TIDEPOOL_PASSWORD: 'shutdown-pw',
  });
  served = await startServe(
    dataDir,
    base,
    ['--runtime', 'incus', '--incus-socket', INCUS_SOCKET, '--proxy', 'memory', '--cpu-budget', '64'],
    60_000,
  );
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
  const manifest =
    'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: sd}\nspec: {image: minimal, resources: {cpu: 1, memory: 256Mi}}\n';
  expect((await cli(['apply', '-f', '-'], manifest)).code).toBe(0);
  const w = await cli(['wait', 'workspace/sd', '--for=condition=Ready', '--timeout=90s']);
  expect(w.stderr).toBe('');
}, 150_000);

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (run && id) {
    await deleteByTidepoolId(id);
    await deleteVolumesByTidepoolId(id);
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** An exec session of `sleep 600` (as root), open once its output says the command runs. */
async function openExec(tty: boolean): Promise<{ ws: WebSocket; closed: Promise<number>; status: () => string }> {
  const url = new URL(`${served!.address.replace(/^http/, 'ws')}/api/v1/workspaces/sd/exec`);
  for (const c of ['sh', '-c', 'echo started; exec sleep 600']) url.searchParams.append('command', c);
  url.searchParams.set('user', 'root');
  if (tty) url.searchParams.set('tty', 'true');
  const ws = new WebSocket(url, { headers: { authorization: AUTH }, perMessageDeflate: false });
  ws.on('error', () => undefined); // 'close' says how it ended
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  let status = '';
  await new Promise<void>((resolve, reject) => {
    let out = '';
    ws.on('message', (d: Buffer) => {
      if (d[0] === 1) out += d.subarray(1).toString('utf8');
      if (d[0] === 3) status += d.subarray(1).toString('utf8');
      if (out.includes('started')) resolve();
    });
    void closed.then(() => reject(new Error(`the exec session closed before its command ran: ${out}`)));
  });
  return { ws, closed, status: () => status };
}

/** A streaming GET (logs -f, a watch); `ended` resolves when the server ends the body, however it ends. */
async function openStream(path: string): Promise<{ first: string; ended: Promise<void> }> {
  const res = await fetch(`${served!.address}${path}`, { headers: { authorization: AUTH } });
  expect(res.status, path).toBe(200);
  const reader = res.body!.getReader();
  const chunk = await reader.read();
  const first = new TextDecoder().decode(chunk.value);
  const ended = (async () => {
    for (let i = 0; i < 10_000; i++) if ((await reader.read().catch(() => ({ done: true }))).done) return;
  })();
  return { first, ended };
}

describe.runIf(run)('SIGTERM with sessions open', () => {
  it('ends every exec session, logs -f follower and watch, and exits with code 0', async () => {
    const shell = await openExec(true);
    const plain = await openExec(false);
    const follower = await openStream('/api/v1/workspaces/sd/log?follow=true');
    expect(follower.first).toMatch(/Normal \w+:/);
    const watch = await openStream('/api/v1/workspaces?watch=true');
    expect(JSON.parse(watch.first.split('\n')[0]!)).toMatchObject({
      type: 'ADDED',
      object: { metadata: { name: 'sd' } },
    });

    const proc = served!.proc;
    process.kill(proc.pid, 'SIGTERM');
    // The bound: this wait. Serve forces itself out after 15 s with code 1 when closing hangs.
    const exit = await Promise.race([proc.exited, sleep(12_000).then(() => undefined)]);
    expect(exit, `serve still runs 12 s after SIGTERM:\n${proc.stdout.slice(-3000)}`).toEqual({
      code: 0,
      signal: null,
    });
    const log = records(proc);
    expect(log.some((r) => r.msg === 'stopped')).toBe(true);
    const errors = log.filter((r) => typeof r.level === 'number' && r.level >= 50);
    expect(errors, JSON.stringify(errors)).toEqual([]);

    // Every session was ended by the server, not left to hang.
    expect([await shell.closed, await plain.closed]).toEqual([1001, 1001]);
    for (const session of [shell, plain])
      expect(JSON.parse(session.status())).toEqual({ error: 'Tidepool is shutting down: the command was ended' });
    await follower.ended;
    await watch.ended;
  }, 60_000);
});
