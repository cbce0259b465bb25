// What a sync folder manages, as a user meets it through the real binary and a real `tidepool
// serve --sync-dir`: deleting a synced workspace is refused with the sync, folder and file
// named; --force deletes it, and the sync creates it again (a new object: a new uid).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';

let served: Served | undefined;
let env: NodeJS.ProcessEnv;
let scratch: string;
let folder: string;
const run = (args: string[]) => tp(args, { env, timeoutMs: 40_000 });

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const uidOf = async (name: string) => {
  const r = await run(['get', 'ws', name, '-o', 'jsonpath={.metadata.uid}']);
  return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-owned-'));
  folder = join(scratch, 'team');
  await mkdir(folder);
  await writeFile(join(folder, 'dana.yaml'), 'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: dana}\nspec: {resources: {cpu: 1, memory: 512Mi}}\n');
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base, ['--runtime', 'stub', '--proxy', 'memory', '--sync-dir', `team=${folder}`, '--sync-interval', '1s']);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
  await until('dana synced', () => uidOf('dana'));
}, 60_000);

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('deleting what a sync manages', () => {
  it('is refused (exit 1) with the sync, folder and file named, and nothing is deleted', async () => {
    const before = await uidOf('dana');
    const r = await run(['delete', 'ws', 'dana']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error from server (Conflict): workspaces "dana" is managed by sync "team"');
    expect(r.stderr).toContain(`folder ${folder}`);
    expect(r.stderr).toContain('with an empty home');
    expect(r.stderr).toContain('--force');
    expect(await uidOf('dana')).toBe(before);
  });

  it('--force deletes it, and the sync creates it again as a new object', async () => {
    const before = await uidOf('dana');
    const r = await run(['delete', 'ws', 'dana', '--force', '--wait', '--timeout', '30s']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('workspace "dana" deleted');
    const after = await until('dana re-created by the sync', async () => {
      const u = await uidOf('dana');
      return u && u !== before ? u : undefined;
    });
    expect(after).not.toBe(before);
  });

  it('what no sync manages is deleted without --force', async () => {
    expect((await tp(['apply', '-f', '-'], { env, input: 'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: mine}\nspec: {}\n' })).code).toBe(0);
    const r = await run(['delete', 'ws', 'mine']);
    expect(r.code).toBe(0);
  });
});
