// kubectl's namespace flags through the real binary against a real `tidepool serve` (stub
// runtime, memory proxy, no sign-in: the CLI is the local admin): apply, get, delete with
// -n/--namespace, -A/--all-namespaces with a NAMESPACE column, kubectl's conflict rule when
// -n disagrees with a manifest, and a single-user install's output unchanged without them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';

let served: Served | undefined;
let env: NodeJS.ProcessEnv;
let scratch: string;
const run = (args: string[], input?: string) =>
  tp(args, { env, timeoutMs: 40_000, ...(input !== undefined ? { input } : {}) });
const rows = (s: string) =>
  s
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s{2,}/));

const DEV = 'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: dev}\nspec: {running: false}\n';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-ns-'));
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
}, 90_000);

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('namespaces in the CLI', () => {
  it('applies into -n, and without it into the default namespace, with today’s output', async () => {
    const plain = await run(['apply', '-f', '-'], DEV);
    expect(plain).toMatchObject({ code: 0, stdout: 'workspace/dev created\n', stderr: '' });
    const a = await run(['apply', '-n', 'team-a', '-f', '-'], DEV);
    expect(a).toMatchObject({ code: 0, stdout: 'workspace/dev created\n' });
    const again = await run(['apply', '--namespace=team-a', '-f', '-'], DEV);
    expect(again.stdout).toBe('workspace/dev unchanged\n');
    // A manifest's own namespace is honoured without -n.
    const b = await run(['apply', '-f', '-'], DEV.replace('{name: dev}', '{name: dev, namespace: team-b}'));
    expect(b).toMatchObject({ code: 0, stdout: 'workspace/dev created\n' });
  });

  it('gets one namespace at a time, or every one with -A and a NAMESPACE column', async () => {
    const plain = await run(['get', 'ws']);
    expect(plain.code).toBe(0);
    expect(rows(plain.stdout).map((r) => r[0])).toEqual(['NAME', 'dev']);
    const a = await run(['get', 'ws', '-n', 'team-a', '-o', 'jsonpath={.items[*].metadata.namespace}']);
    expect(a.stdout.trim()).toBe('team-a');
    const all = await run(['get', 'workspaces', '-A']);
    expect(all.code).toBe(0);
    const table = rows(all.stdout);
    expect(table[0]!.slice(0, 2)).toEqual(['NAMESPACE', 'NAME']);
    expect(table.slice(1).map((r) => `${r[0]}/${r[1]}`)).toEqual(['default/dev', 'team-a/dev', 'team-b/dev']);
    const one = await run(['get', 'ws', 'dev', '-n', 'team-b', '-o', 'jsonpath={.metadata.namespace}']);
    expect(one.stdout.trim()).toBe('team-b');
    const missing = await run(['get', 'ws', 'dev', '-n', 'team-c']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
  });

  it('refuses, as kubectl does, a manifest naming another namespace than -n', async () => {
    const r = await run(
      ['apply', '-n', 'team-c', '-f', '-'],
      DEV.replace('{name: dev}', '{name: dev, namespace: team-a}'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/namespace "team-c"/);
    expect(r.stderr).toMatch(/--namespace=team-a/);
    expect((await run(['get', 'ws', '-n', 'team-c'])).stderr).toMatch(/No resources found/);
  });

  it('deletes in -n only, and refuses a namespace that is no DNS label', async () => {
    const d = await run(['delete', 'ws', 'dev', '-n', 'team-a']);
    expect(d).toMatchObject({ code: 0, stdout: 'workspace "dev" deleted\n' });
    const left = await run(['get', 'ws', '-A', '-o', 'name']);
    expect(left.stdout).toBe('workspace/dev\nworkspace/dev\n');
    expect((await run(['get', 'ws', 'dev', '-o', 'jsonpath={.metadata.name}'])).stdout.trim()).toBe('dev');
    const bad = await run(['get', 'ws', '-n', 'Team_A']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--namespace must be a DNS label/);
  });
});
