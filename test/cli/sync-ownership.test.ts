// What a sync folder manages, as a user meets it through the real binary and a real `tidepool
// serve --sync-dir`: deleting a synced workspace is refused with the sync, folder and file
// named; --force deletes it, and the sync creates it again (a new object: a new uid).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';
import { poll } from '../poll.js';

let served: Served | undefined;
let env: NodeJS.ProcessEnv;
let scratch: string;
let folder: string;
const run = (args: string[]) => tp(args, { env, timeoutMs: 40_000 });
const ELI =
  'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: eli, labels: {team: web}}\nspec: {resources: {cpu: 2, memory: 512Mi}}\n';
const field = async (name: string, path: string) =>
  (await run(['get', 'ws', name, '-o', `jsonpath={${path}}`])).stdout.trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const until = <T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> =>
  poll(what, f, ms, 200) as Promise<T>;
const uidOf = async (name: string) => {
  const r = await run(['get', 'ws', name, '-o', 'jsonpath={.metadata.uid}']);
  return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-owned-'));
  folder = join(scratch, 'team');
  await mkdir(folder);
  await writeFile(
    join(folder, 'dana.yaml'),
    'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: dana}\nspec: {resources: {cpu: 1, memory: 512Mi}}\n',
  );
  await writeFile(join(folder, 'eli.yaml'), ELI);
  await writeFile(
    join(folder, 'fay.yaml'),
    'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: fay}\nspec: {running: true, resources: {cpu: 1, memory: 512Mi}}\n',
  );
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base, [
    '--runtime',
    'stub',
    '--proxy',
    'memory',
    '--sync-dir',
    `team=${folder}`,
    '--sync-interval',
    '1s',
  ]);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
  for (const n of ['dana', 'eli', 'fay']) await until(`${n} synced`, () => uidOf(n));
}, 60_000);

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('field ownership: the sync puts back only the fields its files set', () => {
  it('stop of a workspace whose file does not set spec.running stays stopped across sync intervals', async () => {
    const r = await run(['stop', 'eli']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('workspace/eli stopped');
    await sleep(4000); // the sync interval is 1 s: several drift repairs
    expect(await field('eli', '.spec.running')).toBe('false');
    await until('eli Stopped', async () => ((await field('eli', '.status.phase')) === 'Stopped' ? true : undefined));
  });

  it('stop of a workspace whose file sets spec.running is refused, naming the sync and the file', async () => {
    const r = await run(['stop', 'fay']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^Error from server \(Conflict\): workspace\/fay is managed by sync team \(.*sets spec\.running\): the sync will start it again; edit the file$/m,
    );
    expect(await field('fay', '.spec.running')).toBe('true');
  });

  it('get -o yaml shows the managers: the sync applied its fields, start/stop owns spec.running', async () => {
    const y = (await run(['get', 'ws', 'eli', '-o', 'yaml'])).stdout;
    expect(y).toContain('managedFields:');
    const mf = JSON.parse((await run(['get', 'ws', 'eli', '-o', 'jsonpath={.metadata.managedFields}'])).stdout) as {
      manager: string;
      operation: string;
      fields: string[];
    }[];
    const sync = mf.find((e) => e.manager === 'sync:team');
    expect(sync).toMatchObject({ operation: 'Apply' });
    expect(sync!.fields).toEqual(
      expect.arrayContaining(['spec.resources.cpu', 'spec.resources.memory', 'metadata.labels[team]']),
    );
    expect(sync!.fields).not.toContain('spec.running');
    expect(mf.find((e) => e.manager === 'tidepool-power')).toMatchObject({
      operation: 'Update',
      fields: ['spec.running'],
    });
  });

  it('a field the file sets is put back after a change by hand; a label added by hand stays', async () => {
    expect((await run(['patch', 'ws', 'eli', '-p', '{"spec":{"resources":{"cpu":3}}}'])).code).toBe(0);
    expect((await run(['label', 'ws', 'eli', 'extra=yes'])).code).toBe(0);
    await until('cpu put back to 2 by the sync', async () =>
      (await field('eli', '.spec.resources.cpu')) === '2' ? true : undefined,
    );
    await sleep(2000);
    expect(await field('eli', '.metadata.labels.extra')).toBe('yes');
  });

  it('a field taken out of the file goes back to its default; a label taken out goes', async () => {
    await writeFile(
      join(folder, 'eli.yaml'),
      'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: eli}\nspec: {resources: {cpu: 2}}\n',
    );
    await until('memory back to the default', async () =>
      (await field('eli', '.spec.resources.memory')) === '4Gi' ? true : undefined,
    );
    expect(await field('eli', '.metadata.labels.team')).toBe('');
    expect(await field('eli', '.metadata.labels.extra')).toBe('yes');
    expect(await field('eli', '.spec.running')).toBe('false');
  });

  it('re-applying an unchanged folder writes nothing (the resourceVersion stays)', async () => {
    const rv = await field('dana', '.metadata.resourceVersion');
    await sleep(3000);
    expect(await field('dana', '.metadata.resourceVersion')).toBe(rv);
  });
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
    expect(
      (
        await tp(['apply', '-f', '-'], {
          env,
          input: 'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: mine}\nspec: {}\n',
        })
      ).code,
    ).toBe(0);
    const r = await run(['delete', 'ws', 'mine']);
    expect(r.code).toBe(0);
  });
});

describe('admission that tells the truth', () => {
  it('an unknown image template is a 422 at apply naming spec.image and the known templates; nothing is stored', async () => {
    const r = await tp(['apply', '-f', '-'], {
      env,
      input: 'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: odd}\nspec: {image: ubuntu-99}\n',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.image');
    expect(r.stderr).toMatch(/Unsupported value: "ubuntu-99": supported values: .*"default".*"minimal"/);
    expect(await uidOf('odd')).toBeUndefined();
    const patched = await run(['patch', 'ws', 'dana', '-p', '{"spec":{"image":"nope"}}']);
    expect(patched.code).toBe(1);
    expect(patched.stderr).toContain('spec.image');
  });
});
