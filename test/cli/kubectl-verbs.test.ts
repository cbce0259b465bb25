// The kubectl habits a user reaches for, through the real binary against a real `tidepool
// serve` (stub runtime): output formats (jsonpath, custom-columns, --show-labels, --sort-by,
// --field-selector), label/annotate, patch, edit, explain, version, completion and logs.
// Expected outputs follow what kubectl prints for the same shape, exit codes included.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, Proc, startServe, tp, type Served } from './helpers.js';

let served: Served | undefined;
let env: NodeJS.ProcessEnv;
let scratch: string;
const run = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  tp(args, { env: { ...env, ...extra }, timeoutMs: 40_000 });
const lines = (s: string) => s.split('\n').filter(Boolean);

const MANIFESTS = `apiVersion: tidepool/v1
kind: Workspace
metadata: {name: alice, labels: {team: web}}
spec: {resources: {cpu: 3, memory: 512Mi}}
---
apiVersion: tidepool/v1
kind: Workspace
metadata: {name: bob, labels: {team: api, tier: back}}
spec: {resources: {cpu: 1, memory: 512Mi}, running: false}
`;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-verbs-'));
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
  const r = await tp(['apply', '-f', '-'], { env, input: MANIFESTS });
  expect(r.stderr).toBe('');
  const w = await run(['wait', '--for=condition=Ready', 'workspace/alice', '--timeout=30s']);
  expect(w.code).toBe(0);
  for (let i = 0; i < 120; i++) {
    const g = await run(['get', 'ws', 'bob', '-o', 'jsonpath={.status.phase}']);
    if (g.stdout.trim() === 'Stopped') break;
    await new Promise((res) => setTimeout(res, 250));
  }
}, 90_000);

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('get output formats', () => {
  it('-o jsonpath over a list, a single object, a range and a filter', async () => {
    const names = await run(['get', 'ws', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(names.code).toBe(0);
    expect(names.stdout.trim()).toBe('alice bob');
    const cpu = await run(['get', 'ws', 'alice', '-o', 'jsonpath={.spec.resources.cpu}']);
    expect(cpu.stdout.trim()).toBe('3');
    const range = await run([
      'get',
      'ws',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}:{.spec.running}{"\\n"}{end}',
    ]);
    expect(lines(range.stdout)).toEqual(['alice:true', 'bob:false']);
    const ready = await run(['get', 'ws', 'alice', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    expect(ready.stdout.trim()).toBe('True');
    const labels = await run(['get', 'ws', 'bob', '-o', 'jsonpath={.metadata.labels}']);
    expect(JSON.parse(labels.stdout)).toEqual({ team: 'api', tier: 'back' });
  });

  it('a bad jsonpath template is an error with exit code 1', async () => {
    const r = await run(['get', 'ws', '-o', 'jsonpath={.items[*']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: error parsing jsonpath/);
  });

  it('-o custom-columns', async () => {
    const r = await run([
      'get',
      'ws',
      '-o',
      'custom-columns=NAME:.metadata.name,CPU:.spec.resources.cpu,TEAM:.metadata.labels.team,MISSING:.status.nothing',
    ]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => l.trim().split(/ +/))).toEqual([
      ['NAME', 'CPU', 'TEAM', 'MISSING'],
      ['alice', '3', 'web', '<none>'],
      ['bob', '1', 'api', '<none>'],
    ]);
    const bad = await run(['get', 'ws', '-o', 'custom-columns=NAME']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('expected <header>:<json-path-expr>');
  });

  it('--chunk-size pages the list and still shows every object; a bad size is an error', async () => {
    const r = await run(['get', 'ws', '--chunk-size', '1', '-o', 'name']);
    expect(lines(r.stdout)).toEqual(['workspace/alice', 'workspace/bob']);
    const bad = await run(['get', 'ws', '--chunk-size', 'many']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--chunk-size');
  });

  it('--show-labels adds a LABELS column', async () => {
    const r = await run(['get', 'ws', '--show-labels']);
    const [header, ...rows] = lines(r.stdout);
    expect(header!.trim().split(/ +/).at(-1)).toBe('LABELS');
    expect(rows.map((l) => l.trim().split(/ +/).at(-1))).toEqual(['team=web', 'team=api,tier=back']);
  });

  it('--sort-by a JSONPath', async () => {
    const r = await run(['get', 'ws', '--sort-by', '.spec.resources.cpu', '-o', 'name']);
    expect(lines(r.stdout)).toEqual(['workspace/bob', 'workspace/alice']);
  });

  it('--field-selector on metadata.name and status.phase, and an unknown field', async () => {
    const byName = await run(['get', 'ws', '--field-selector', 'metadata.name=bob', '-o', 'name']);
    expect(lines(byName.stdout)).toEqual(['workspace/bob']);
    const running = await run(['get', 'ws', '--field-selector', 'status.phase!=Stopped', '-o', 'name']);
    expect(lines(running.stdout)).toEqual(['workspace/alice']);
    const events = await run([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=alice',
      '-o',
      'jsonpath={.items[*].regarding.name}',
    ]);
    expect(events.code).toBe(0);
    const seen = new Set(events.stdout.trim().split(' ').filter(Boolean));
    expect([...seen]).toEqual(['alice']);
    const bad = await run(['get', 'ws', '--field-selector', 'spec.nothing=1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('field label not supported for Workspace: "spec.nothing"');
  });
});

describe('label, annotate, patch', () => {
  it('label adds, refuses to overwrite without --overwrite, overwrites with it, and removes', async () => {
    expect((await run(['label', 'ws', 'alice', 'tier=front'])).stdout.trim()).toBe('workspace/alice labeled');
    const refused = await run(['label', 'ws', 'alice', 'team=api']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe("error: 'team' already has a value (web), and --overwrite is false");
    expect((await run(['label', 'ws', 'alice', 'team=api', '--overwrite'])).code).toBe(0);
    expect((await run(['label', 'workspace/alice', 'tier-'])).code).toBe(0);
    const l = await run(['get', 'ws', 'alice', '-o', 'jsonpath={.metadata.labels}']);
    expect(JSON.parse(l.stdout)).toEqual({ team: 'api' });
    const bad = await run(['label', 'ws', 'alice', 'Bad Key=x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Invalid|invalid/);
  });

  it('annotate sets and removes annotations', async () => {
    expect((await run(['annotate', 'ws', 'alice', 'note=hello world'])).stdout.trim()).toBe(
      'workspace/alice annotated',
    );
    const a = await run(['get', 'ws', 'alice', '-o', 'jsonpath={.metadata.annotations.note}']);
    expect(a.stdout.trim()).toBe('hello world');
    await run(['annotate', 'ws', 'alice', 'note-']);
    const gone = await run(['get', 'ws', 'alice', '-o', 'jsonpath={.metadata.annotations.note}']);
    expect(gone.stdout.trim()).toBe('');
  });

  it('patch --type merge changes a field; a json patch type and an invalid value are errors', async () => {
    const r = await run(['patch', 'ws', 'bob', '--type', 'merge', '-p', '{"spec":{"resources":{"cpu":2}}}']);
    expect(r.stdout.trim()).toBe('workspace/bob patched');
    expect((await run(['get', 'ws', 'bob', '-o', 'jsonpath={.spec.resources.cpu}'])).stdout.trim()).toBe('2');
    const json = await run(['patch', 'ws', 'bob', '--type', 'json', '-p', '[]']);
    expect(json.code).toBe(1);
    const invalid = await run(['patch', 'ws', 'bob', '-p', '{"spec":{"resources":{"cpu":0}}}']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('spec.resources.cpu');
    const missing = await run(['patch', 'ws', 'nobody', '-p', '{"spec":{"running":true}}']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): workspaces "nobody" not found');
  });
});

describe('edit', () => {
  /** An "editor": a script that edits the file it is given with sed, as a user would by hand. */
  async function editor(name: string, body: string): Promise<string> {
    const f = join(scratch, name);
    await writeFile(f, `#!/bin/sh\n${body}\n`);
    await chmod(f, 0o755);
    return f;
  }

  it('saves what the editor changed', async () => {
    const ed = await editor('ed-cpu.sh', `sed -i 's/cpu: 3/cpu: 4/' "$1"`);
    const r = await run(['edit', 'ws', 'alice'], { EDITOR: ed });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('workspace/alice edited');
    expect((await run(['get', 'ws', 'alice', '-o', 'jsonpath={.spec.resources.cpu}'])).stdout.trim()).toBe('4');
  });

  it('an unchanged file cancels the edit', async () => {
    const r = await run(['edit', 'ws', 'alice'], { EDITOR: 'true' });
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe('Edit cancelled, no changes made.');
  });

  it('a conflicting change meanwhile is reported as kubectl does, and the edit is kept in a file', async () => {
    // The editor changes the object behind the edit's back (another user), then edits the file.
    const ed = await editor(
      'ed-conflict.sh',
      `TIDEPOOL_SERVER='${env.TIDEPOOL_SERVER}' TIDEPOOL_DATA_DIR='${env.TIDEPOOL_DATA_DIR}' node '${process.cwd()}/dist/cli/main.js' label ws alice meanwhile=yes >/dev/null\nsed -i 's/cpu: 4/cpu: 5/' "$1"`,
    );
    const r = await run(['edit', 'ws', 'alice'], { EDITOR: ed });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: workspaces "alice" could not be patched');
    expect(r.stderr).toContain('A copy of your changes has been stored to');
    expect(r.stderr).toContain('Edit cancelled, no valid changes were saved.');
    expect((await run(['get', 'ws', 'alice', '-o', 'jsonpath={.spec.resources.cpu}'])).stdout.trim()).toBe('4');
  });

  it('an invalid change reopens the editor with the error; saving it again unchanged gives up', async () => {
    const ed = await editor('ed-invalid.sh', `grep -q 'was not valid' "$1" && exit 0; sed -i 's/cpu: 4/cpu: 0/' "$1"`);
    const r = await run(['edit', 'ws', 'alice'], { EDITOR: ed });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Edit cancelled, no valid changes were saved.');
  });
});

describe('explain, version, completion', () => {
  it('explain workspace.spec.resources lists its fields with their descriptions', async () => {
    const r = await run(['explain', 'workspace.spec.resources']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('KIND:     Workspace');
    expect(r.stdout).toContain('FIELD: resources <Object>');
    expect(r.stdout).toMatch(/cpu\t<integer>/);
    expect(r.stdout).toContain('vCPUs. Defaults to 2.');
    expect(r.stdout).toMatch(/memory\t<string>/);
    const bad = await run(['explain', 'workspace.spec.nothing']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('error: field "nothing" does not exist in Workspace.spec');
  });

  it('version prints the client and the server version; --client needs no server', async () => {
    const r = await run(['version']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(/^Client Version: v\d+\.\d+\.\d+$/),
      expect.stringMatching(/^Server Version: v\d+\.\d+\.\d+$/),
    ]);
    const json = JSON.parse((await run(['version', '-o', 'json'])).stdout);
    expect(json.serverVersion.gitVersion).toBe(json.clientVersion.gitVersion);
    const offline = await run(['version', '--client'], { TIDEPOOL_SERVER: 'http://127.0.0.1:1' });
    expect(offline.code).toBe(0);
    expect(lines(offline.stdout)).toHaveLength(1);
    const down = await run(['version'], { TIDEPOOL_SERVER: 'http://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^Client Version:/);
  });

  it('completion bash is a valid script that completes commands and names', async () => {
    const r = await run(['completion', 'bash']);
    expect(r.code).toBe(0);
    execFileSync('bash', ['-n'], { input: r.stdout }); // syntax check: throws on an error
    expect(r.stdout).toContain('complete -o default -F _tidepool tidepool');
    for (const verb of ['get', 'apply', 'logs', 'edit', 'explain']) expect(r.stdout).toContain(verb);
    const z = await run(['completion', 'zsh']);
    expect(z.stdout.startsWith('#compdef tidepool')).toBe(true);
    expect((await run(['completion', 'fish'])).code).toBe(1);
  });
});

describe('logs', () => {
  it("prints the workspace's activity log, --tail limits it, an unknown workspace is NotFound", async () => {
    const r = await run(['logs', 'alice']);
    expect(r.code).toBe(0);
    const all = lines(r.stdout);
    expect(all.length).toBeGreaterThan(0);
    for (const l of all) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\S+ (Normal|Warning) \w+: /);
    expect(lines((await run(['logs', 'alice', '--tail', '1'])).stdout)).toHaveLength(1);
    expect(lines((await run(['logs', 'alice', '--since-time', '2999-01-01T00:00:00Z'])).stdout)).toHaveLength(0);
    const missing = await run(['logs', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): workspaces "nobody" not found');
  });

  it('-f follows: a stop shows up as new lines', async () => {
    const follow = new Proc(['logs', 'alice', '-f', '--tail', '0'], env);
    try {
      await new Promise((res) => setTimeout(res, 500));
      expect((await run(['stop', 'alice'])).code).toBe(0);
      await follow.waitFor((out) => /Stop/i.test(out), 20_000);
    } finally {
      await follow.stop();
    }
  });
});
