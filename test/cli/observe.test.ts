// What serve tells about itself, through the real binary: /metrics behind the API's login and
// without one on --metrics-listen, `tidepool logs --controller` (each reconcile with its key,
// id, duration and outcome, for one workspace or all, followed with -f), and `tidepool top`.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Proc, cleanEnv, closedPort, startServe, tp, type Served } from './helpers.js';

let served: Served;
let env: NodeJS.ProcessEnv;
let scratch: string;
let metricsPort: number;
const procs: Proc[] = [];

const ws = (name: string) => `apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: ${name}}\nspec: {}\n`;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-observe-'));
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  metricsPort = await closedPort();
  served = await startServe(dataDir, base, [
    '--runtime',
    'stub',
    '--proxy',
    'memory',
    '--metrics-listen',
    `127.0.0.1:${metricsPort}`,
    '--usage-interval',
    '1s',
  ]);
  procs.push(served.proc);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
  const applied = await tp(['apply', '-f', '-'], { env, input: ws('alice') });
  expect(applied.code, applied.stderr).toBe(0);
  const waited = await tp(['wait', 'workspace', 'alice', '--for=condition=Ready', '--timeout=30s'], { env });
  expect(waited.code, waited.stderr).toBe(0);
});

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('/metrics', () => {
  it('needs the API login on the API, and none on --metrics-listen', async () => {
    expect((await fetch(`${served.address}/metrics`)).status).toBe(401);
    const creds = JSON.parse(await readFile(join(served.dataDir, 'credentials.json'), 'utf8'));
    const auth = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const api = await fetch(`${served.address}/metrics`, { headers: { authorization: auth } });
    expect(api.status).toBe(200);
    const text = await api.text();
    expect(text).toMatch(/^controller_runtime_reconcile_total\{controller="workspace",result="success"\} [1-9]/m);
    expect(text).toMatch(/^tidepool_workspaces\{phase="Running"\} 1$/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    const open = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(open.status).toBe(200);
    expect(await open.text()).toContain('workqueue_adds_total{name="workspace"}');
  });
});

describe('tidepool logs --controller', () => {
  it('prints each reconcile of a workspace with its key, id, duration and outcome', async () => {
    const r = await tp(['logs', '--controller', 'alice'], { env });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines)
      expect(l).toMatch(new RegExp(`^\\S+Z workspace/alice ${UUID} \\d+\\.\\dms (success|requeue_after)$`));
  });

  it('follows new reconciles with -f', async () => {
    const follow = new Proc(['logs', '--controller', '-f'], env);
    procs.push(follow);
    await follow.waitFor((out) => out.includes('workspace/alice'));
    expect(follow.stdout).not.toContain('workspace/bob');
    const applied = await tp(['apply', '-f', '-'], { env, input: ws('bob') });
    expect(applied.code, applied.stderr).toBe(0);
    await follow.waitFor((out) => new RegExp(`workspace/bob ${UUID} \\S+ms success`).test(out));
    await follow.stop();
  });

  it('refuses a missing workspace name without --controller', async () => {
    const r = await tp(['logs'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a workspace name is required (or --controller)');
  });
});

describe('tidepool top', () => {
  it('lists the running workspaces with kubectl top columns', async () => {
    let out = '';
    for (let i = 0; i < 50 && !/^alice\s+0m\s/m.test(out); i++) {
      out = (await tp(['top'], { env })).stdout;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(out).toMatch(
      /^NAME\s+CPU\(cores\)\s+CPU%\s+MEMORY\(bytes\)\s+MEMORY%\s+HOME\s+NET-IN\s+NET-OUT\s+LAST ACCESS$/m,
    );
    expect(out).toMatch(/^alice\s+0m\s+0%\s+0\s+0%/m);
    const bad = await tp(['top', '--sort-by', 'disk'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--sort-by must be one of cpu, memory, name');
  });
});
