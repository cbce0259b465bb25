// Every verb that addresses one workspace takes -n and reaches that namespace's, through the
// real binary against a real `tidepool serve` (stub runtime, memory proxy, no sign-in: the CLI
// is the local admin). Two workspaces named `dev` tell the namespaces apart: the default
// namespace's is stopped, team-a's runs. describe, logs, exec, wait, rollout restart,
// sleep/wake, port share, top (-n, -A), settings export/import and delete --wait each act on
// team-a's with -n team-a, and on the default namespace's without it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';

let served: Served | undefined;
let env: NodeJS.ProcessEnv;
let scratch: string;
const run = (args: string[], input?: string) =>
  tp(args, { env, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
const jsonpath = async (args: string[], path: string) =>
  (await run(['get', ...args, '-o', `jsonpath=${path}`])).stdout.trim();

const dev = (namespace: string, running: boolean) =>
  `apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: dev, namespace: ${namespace}}\nspec: {running: ${running}}\n`;
const PORT =
  'apiVersion: tidepool/v1\nkind: Port\nmetadata: {name: site, namespace: team-a}\nspec: {workspace: dev, port: 3000, visibility: public}\n';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-nsverbs-'));
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base, ['--runtime', 'stub', '--proxy', 'memory', '--usage-interval', '1s']);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
  const applied = await run(['apply', '-f', '-'], `${dev('default', false)}---\n${dev('team-a', true)}---\n${PORT}`);
  expect(applied.code, applied.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('verbs on one workspace take -n', () => {
  it('wait: -n team-a waits for team-a’s; without -n the stopped default one never gets Ready', async () => {
    const ready = await run(['wait', 'ws/dev', '-n', 'team-a', '--for=condition=Ready', '--timeout=60s']);
    expect(ready.code, ready.stderr).toBe(0);
    const other = await run(['wait', 'ws/dev', '--for=condition=Ready', '--timeout=2s']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/timed out/);
  });

  it('describe names the namespace and shows that namespace’s object', async () => {
    const a = await run(['describe', 'ws', 'dev', '-n', 'team-a']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^Namespace: +team-a$/m);
    expect(a.stdout).toMatch(/^ {2}Running: +true$/m);
    const d = await run(['describe', 'ws', 'dev']);
    expect(d.stdout).toMatch(/^Namespace: +default$/m);
    expect(d.stdout).toMatch(/^ {2}Running: +false$/m);
  });

  it('logs reads team-a’s activity log; a name only another namespace has is not found', async () => {
    const a = await run(['logs', 'workspace/dev', '-n', 'team-a']);
    expect(a.code, a.stderr).toBe(0);
    const none = await run(['logs', 'workspace/dev', '-n', 'team-b']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/not found/i);
  });

  it('exec reaches team-a’s workspace (the stub runtime cannot exec: 501), and a namespace without it is 404', async () => {
    const a = await run(['exec', '-n', 'team-a', 'dev', '--', 'true']);
    expect(a.code).not.toBe(0);
    expect(a.stderr).toMatch(/cannot run commands in a workspace/);
    const none = await run(['exec', '-n', 'team-b', 'dev', '--', 'true']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/not found/i);
    expect(none.stderr).not.toMatch(/cannot run commands/);
  });

  it('rollout restart marks only team-a’s', async () => {
    const r = await run(['rollout', 'restart', 'ws/dev', '-n', 'team-a']);
    expect(r.code, r.stderr).toBe(0);
    const at = "{.metadata.annotations['tidepool/restartedAt']}";
    expect(await jsonpath(['ws', 'dev', '-n', 'team-a'], at)).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await jsonpath(['ws', 'dev'], at)).toBe('');
    const ready = await run(['wait', 'ws/dev', '-n', 'team-a', '--for=condition=Ready', '--timeout=60s']);
    expect(ready.code, ready.stderr).toBe(0);
  });

  it('sleep and wake act on team-a’s; without -n the default one (stopped, not running) is refused', async () => {
    const s = await run(['sleep', 'dev', '-n', 'team-a', '--wait', '--timeout=60s']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/workspace\/dev asleep/);
    expect(await jsonpath(['ws', 'dev', '-n', 'team-a'], '{.status.phase}')).toBe('Sleeping');
    expect(await jsonpath(['ws', 'dev'], '{.spec.running}')).toBe('false');
    const w = await run(['wake', 'dev', '-n', 'team-a', '--wait', '--timeout=60s']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/workspace\/dev ready/);
    const plain = await run(['sleep', 'dev']);
    expect(plain.code).not.toBe(0);
  });

  it('port share prints team-a’s link (under /ns/team-a/); the default namespace has no such Port', async () => {
    const a = await run(['port', 'share', 'site', '-n', 'team-a']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim()).toMatch(/\/ns\/team-a\/workspace\/dev\/port\/3000\/tp-share\/[A-Za-z0-9_-]{43}\/$/);
    const none = await run(['port', 'share', 'site']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/NotFound|not found/);
  });

  it('top -n shows team-a’s, top without it the default namespace’s, top -A every one with a NAMESPACE column', async () => {
    let a = '';
    for (let i = 0; i < 60 && !/^dev\s+\d+m\s/m.test(a); i++) {
      a = (await run(['top', '-n', 'team-a'])).stdout;
      if (!/^dev\s/m.test(a)) await new Promise((r) => setTimeout(r, 500));
    }
    expect(a).toMatch(/^NAME\s+CPU\(cores\)/m);
    expect(a).toMatch(/^dev\s+\d+m\s/m);
    const plain = await run(['top']);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/No workspace is running/);
    const all = await run(['top', '-A']);
    expect(all.stdout).toMatch(/^NAMESPACE\s+NAME\s+CPU\(cores\)/m);
    expect(all.stdout).toMatch(/^team-a\s+dev\s+\d+m\s/m);
    const both = await run(['top', 'dev', '-A']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/name its namespace with -n/);
  });

  it('settings import and export -n act on that namespace’s settings only', async () => {
    const file = join(scratch, 'settings.yaml');
    await writeFile(
      file,
      'apiVersion: tidepool/v1\nkind: EditorSettings\nfiles:\n  settings.json: {content: "{\\"team\\": \\"a\\"}", mtime: 5}\nextensions: []\n',
    );
    const imp = await run(['settings', 'import', '-n', 'team-a', '-f', file]);
    expect(imp.code, imp.stderr).toBe(0);
    const a = await run(['settings', 'export', '-n', 'team-a', '-o', 'json']);
    expect(JSON.parse(a.stdout).files['settings.json'].content).toBe('{"team": "a"}');
    const d = await run(['settings', 'export', '-o', 'json']);
    expect(JSON.parse(d.stdout).files).toEqual({});
  });

  it('delete --wait deletes team-a’s and waits for it; the default namespace’s stays', async () => {
    const r = await run(['delete', 'ws', 'dev', '-n', 'team-a', '--wait', '--timeout=60s']);
    expect(r.code, r.stderr).toBe(0);
    expect((await run(['get', 'ws', 'dev', '-n', 'team-a'])).stderr).toMatch(/not found/);
    expect(await jsonpath(['ws', 'dev'], '{.metadata.name}')).toBe('dev');
    expect((await run(['get', 'ws', '-A', '-o', 'name'])).stdout).toBe('workspace/dev\n');
  });
});
