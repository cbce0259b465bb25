// A real server process, killed with SIGKILL in the middle of a stream of writes: every
// write it acknowledged is there after a restart, and the store file parses.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { readStoreState } from '../../store/index.js';
import { AUTH, PASSWORD, USER, workspace } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/serve.ts', import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function serve(dataDir: string): {
  child: ChildProcess;
  ready: Promise<string>;
  exited: Promise<{ code: number | null; signal: string | null; stderr: string }>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dataDir], {
    cwd: ROOT,
    env: { ...process.env, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '',
    stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) resolve(JSON.parse(line!).address);
    });
    void exited.then((e) => reject(new Error(`server exited (${e.code ?? e.signal}): ${e.stderr}`)));
  });
  return { child, ready, exited };
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/api/v1/workspaces`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const patch = (url: string, name: string, body: unknown) =>
  fetch(`${url}/api/v1/workspaces/${name}`, {
    method: 'PATCH',
    headers: { authorization: AUTH, 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify(body),
  });

describe('durability', () => {
  it('keeps every acknowledged write across kill -9', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tp-kill-'));
    dirs.push(dataDir);
    const first = serve(dataDir);
    const url = await first.ready;

    const created: string[] = [];
    const patched: string[] = [];
    let n = 0;
    let killed = false;
    const KILL_AFTER = 120;
    const worker = async () => {
      // Bounded: at most 2000 attempts in all, and it stops once the server is gone.
      while (!killed && n < 2000) {
        const name = `w-${n++}`;
        try {
          const r = await post(url, workspace(name, {}, { labels: { v: '1' } }));
          await r.text();
          if (r.status !== 201) throw new Error(`POST ${name}: ${r.status}`);
          created.push(name);
          if (n % 3 === 0) {
            const p = await patch(url, name, { metadata: { labels: { v: '2' } } });
            await p.text();
            if (p.status === 200) patched.push(name);
          }
        } catch (err) {
          if (killed) return;
          throw err;
        }
        if (created.length >= KILL_AFTER && !killed) {
          killed = true;
          first.child.kill('SIGKILL'); // other workers still have requests in flight
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(created.length).toBeGreaterThanOrEqual(KILL_AFTER);

    const file = await readStoreState(join(dataDir, 'store.json'));
    expect(file.format).toBe('tidepool.store/v1');

    const second = serve(dataDir);
    const url2 = await second.ready;
    const list = (await (await fetch(`${url2}/api/v1/workspaces`, { headers: { authorization: AUTH } })).json()) as any;
    const byName = new Map<string, any>(list.items.map((o: any) => [o.metadata.name, o]));
    const missing = created.filter((name) => !byName.has(name));
    expect(missing).toEqual([]);
    const unpatched = patched.filter((name) => byName.get(name)?.metadata.labels?.v !== '2');
    expect(unpatched).toEqual([]);
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThanOrEqual(created.length + patched.length);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 60_000);

  it('refuses to start on a store file it cannot read, and leaves the file alone', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tp-bad-'));
    dirs.push(dataDir);
    const garbage = Buffer.from('{"format": "tidepool.store/v1", "objects": {"Workspace": {"a": ');
    await writeFile(join(dataDir, 'store.json'), garbage);
    const s = serve(dataDir);
    await expect(s.ready).rejects.toThrow(/cannot be read/);
    const exit = await s.exited;
    expect(exit.code).not.toBe(0);
    expect((await readFile(join(dataDir, 'store.json'))).equals(garbage)).toBe(true);
  }, 30_000);
});
