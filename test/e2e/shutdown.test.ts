import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Served } from '../cli/helpers.js';
import { requireOrSkip, sleep } from '../incus/helpers.js';
import { records } from './caddy-helpers.js';
import { oneWorkspace, type OneWorkspace } from './one-workspace.js';

const run = await requireOrSkip('test/e2e/shutdown');
let one: OneWorkspace | undefined;
let served: Served | undefined;
const AUTH = `Basic ${Buffer.from('e2e:shutdown-pw').toString('base64')}`;
const _cli = (args: string[], input?: string) => one!.cli(args, input);

beforeAll(async () => {
  if (!run) return;
  one = await oneWorkspace('shutdown', 'sd', { user: 'e2e', password: 'shutdown-pw' });
  served = one.served;
}, 150_000);

afterAll(async () => {
  await one?.close('SIGKILL');
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
