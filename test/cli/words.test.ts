// Words that are true, through the real binary against a real `tidepool serve` (stub runtime):
// `explain` describes every object field of a Workspace's spec; no condition, event or --help
// calls a workspace's container a "VM" unless it can be one; `stop --wait` says "stopped" once;
// `wait TYPE --all` waits for every object of the type, as kubectl's does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';

let served: Served | undefined;
let scratch: string;
let env: NodeJS.ProcessEnv;
const run = (args: string[]) => tp(args, { env, timeoutMs: 60_000 });
const ws = (name: string) =>
  `apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: ${name}}\nspec: {resources: {cpu: 1, memory: 256Mi}}\n`;
/** Where "VM" is right: about something that is or can be one (a Tart VM, an Incus container or VM). */
const allowedVm = /Tart VMs?(\/OCI)?|containers? or VMs?/g;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-words-'));
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
}, 60_000);

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('explain', () => {
  for (const path of [
    'workspace.spec',
    'workspace.spec.resources',
    'workspace.spec.source',
    'workspace.spec.source.git',
  ]) {
    it(`${path} has a description, and so has each of its fields`, async () => {
      const r = await run(['explain', path]);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('<empty>');
      // Every field line ("   name\t<type>") is followed by its description, indented two more.
      const lines = r.stdout.split('\n');
      const fields = lines.map((l, i) => [l, lines[i + 1] ?? ''] as const).filter(([l]) => /^ {3}\S+\t</.test(l));
      for (const [field, next] of fields)
        expect({ field, described: /^ {5}\S/.test(next) }).toEqual({ field, described: true });
    });
  }
});

describe('words about instances', () => {
  it('--help of every command says container, instance or Tart VM, not "VM" alone', async () => {
    const top = await run(['--help']);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]+)(?: |\[|$)/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(10);
    for (const args of [['--help'], ...commands.map((c) => [c, '--help'])]) {
      const help = (await run(args)).stdout.replace(/\s+/g, ' ').replace(allowedVm, '');
      const m = /\bVMs?\b/.exec(help);
      const around = m ? help.slice(Math.max(0, m.index - 60), m.index + 20) : undefined;
      expect({ args, around }).toEqual({ args, around: undefined });
    }
  }, 120_000);

  it('conditions and events of a workspace started, stopped and started again never say "VM"', async () => {
    const applied = await tp(['apply', '-f', '-'], { env, input: ws('wendy') });
    expect(applied.code).toBe(0);
    expect((await run(['wait', 'ws/wendy', '--for=condition=Ready', '--timeout=30s'])).code).toBe(0);
    expect((await run(['stop', 'wendy', '--wait', '--timeout=30s'])).code).toBe(0);
    expect((await run(['start', 'wendy', '--wait', '--timeout=30s'])).code).toBe(0);
    const yaml = (await run(['get', 'ws', 'wendy', '-o', 'yaml'])).stdout;
    const events = (await run(['get', 'events', '-o', 'yaml'])).stdout;
    const messages = [...`${yaml}\n${events}`.matchAll(/^\s*(?:message|note): (.*)$/gm)].map((m) => m[1]!);
    expect(messages.length).toBeGreaterThan(3);
    expect(messages.filter((m) => /\bVMs?\b/.test(m))).toEqual([]);
  }, 90_000);
});

describe('stop --wait and wait --all', () => {
  it('stop --wait says "stopping" and then "stopped", once', async () => {
    expect((await tp(['apply', '-f', '-'], { env, input: ws('sam') })).code).toBe(0);
    expect((await run(['wait', 'ws/sam', '--for=condition=Ready', '--timeout=30s'])).code).toBe(0);
    const r = await run(['stop', 'sam', '--wait', '--timeout=30s']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['workspace/sam stopping', 'workspace/sam stopped']);
  }, 60_000);

  it('wait workspaces --all --for=condition=Ready waits for every workspace', async () => {
    for (const n of ['all-a', 'all-b']) expect((await tp(['apply', '-f', '-'], { env, input: ws(n) })).code).toBe(0);
    const r = await run(['wait', 'workspaces', '--all', '--for=jsonpath={.kind}=Workspace', '--timeout=30s']);
    expect(r.code).toBe(0);
    const names = (await run(['get', 'ws', '-o', 'name'])).stdout.trim().split('\n').sort();
    expect(r.stdout.trim().split('\n').sort()).toEqual(names.map((n) => `${n} condition met`));
    expect(names).toEqual(expect.arrayContaining(['workspace/all-a', 'workspace/all-b']));
    const ready = await run(['wait', 'ws', '--all', '--for=condition=Ready', '--timeout=3s']);
    // sam is stopped: not Ready, so waiting for all of them to be Ready times out naming it.
    expect(ready.code).not.toBe(0);
    expect(ready.stdout).toContain('workspace/all-a condition met');
    expect(ready.stderr).toContain('sam');
    const none = await run(['wait', 'workspaces', '--for=condition=Ready']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('--all');
  }, 90_000);
});
