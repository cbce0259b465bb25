// Prometheus and `tidepool top` against a real `serve` on the real Incus: a real Prometheus
// (Debian's package) scrapes serve's --metrics-listen and answers queries for the figures this
// test caused (reconciles, the apply → Ready histogram, a workspace's memory against its
// limit); the alert rules of docs/monitoring load in promtool, and the not-Ready one fires for
// a workspace refused for capacity. `tidepool top` puts the workspace running `yes` first by
// CPU. afterAll ends Prometheus and serve by their pids and deletes what carries this run's id.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanEnv, closedPort, tp } from '../cli/helpers.js';
import { deleteByTidepoolId, deleteVolumesByTidepoolId, requireOrSkip, until } from '../incus/helpers.js';
import {
  Api,
  PASSWORD,
  USER,
  freePorts,
  isReady,
  presetId,
  startIncusServe,
  started,
  stopServe,
  workspace,
} from '../e2e/incus-helpers.js';
import { alerts, query, startPrometheus, type Prometheus } from './prometheus-helpers.js';

const run = await requireOrSkip('test/monitoring/prometheus');
const MiB = 2 ** 20;

let scratch: string;
let ID: string;
let prom: Prometheus | undefined;
let api: Api;
let cliEnv: NodeJS.ProcessEnv;
let metricsUrl: string;

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-monitoring-'));
  const env = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const dataDir = join(scratch, 'data');
  ID = await presetId(dataDir, 'metrics');
  const metricsPort = await closedPort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const serve = await startIncusServe(dataDir, await freePorts(), env, 60_000, [
    '--image',
    'minimal=tidepool-minimal',
    '--metrics-listen',
    `127.0.0.1:${metricsPort}`,
    '--usage-interval',
    '1s',
    '--max-running',
    '2',
  ]);
  api = new Api(serve.address);
  cliEnv = { ...env, TIDEPOOL_SERVER: serve.address, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD };
  const small = { image: 'minimal', resources: { cpu: 1, memory: '256Mi' } };
  await api.apply([workspace('busy', small), workspace('calm', small)]);
  for (const name of ['busy', 'calm'])
    await until(`${name} Ready`, async () => (isReady(await api.get('workspaces', name)) ? true : undefined), 120_000);
  // The third does not fit under --max-running 2: it stays not Ready (InsufficientCapacity).
  await api.apply([workspace('waiting', small)]);
  const rules = (await readFile(join(ROOT, 'docs/monitoring/alerts.yml'), 'utf8')).replace(/for: \d+m/g, 'for: 2s');
  prom = await startPrometheus(join(scratch, 'prometheus'), `127.0.0.1:${metricsPort}`, rules);
}, 300_000);

afterAll(async () => {
  await prom?.stop();
  for (const s of started)
    await stopServe(s).catch((err: unknown) => console.error(`stopping serve ${s.proc.pid}: ${err}`));
  if (run && ID) {
    await deleteByTidepoolId(ID);
    await deleteVolumesByTidepoolId(ID);
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe.skipIf(!run)('Prometheus scraping serve', () => {
  it('answers for the reconciles, the apply → Ready histogram and a workspace memory', async () => {
    const p = prom!;
    /** A query's answer once Prometheus has one (it scrapes every so often). */
    const answered = (what: string, expr: string, timeoutMs = 30_000) =>
      until(what, async () => query(p, expr), timeoutMs, 500);
    const reconciles = await answered(
      'reconciles in Prometheus',
      'sum(controller_runtime_reconcile_total{controller="workspace"})',
      60_000,
    );
    // Two workspaces made Ready, and a third refused: each took more than one reconcile.
    expect(reconciles).toBeGreaterThanOrEqual(3);
    expect(await query(p, 'tidepool_workspace_apply_to_ready_seconds_count')).toBe(2);
    expect(await query(p, 'tidepool_workspaces{phase="Running"}')).toBe(2);
    const limit = await answered('busy memory limit', 'tidepool_workspace_memory_limit_bytes{workspace="busy"}');
    expect(limit).toBe(256 * MiB);
    const used = await query(p, 'tidepool_workspace_memory_bytes{workspace="busy"}');
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(256 * MiB);
    // The pool is btrfs without quotas, where Incus cannot tell a volume's size: measured inside.
    const home = await answered('busy home size', 'tidepool_workspace_home_used_bytes{workspace="busy"}');
    expect(home).toBeGreaterThanOrEqual(0);
    expect(home).toBeLessThan(64 * MiB);
  });

  it('loads the alert rules, and fires the not-Ready one for the workspace refused for capacity', async () => {
    const check = await promisify(execFile)('promtool', ['check', 'rules', join(ROOT, 'docs/monitoring/alerts.yml')]);
    expect(check.stdout).toContain('SUCCESS: 3 rules found');
    const firing = await until(
      'TidepoolWorkspaceNotReady firing',
      async () =>
        (await alerts(prom!)).find((a) => a.labels.alertname === 'TidepoolWorkspaceNotReady' && a.state === 'firing'),
      60_000,
      500,
    );
    expect(firing.labels.workspace).toBe('waiting');
  });
});

describe.skipIf(!run)('the Grafana dashboard', () => {
  it('asks Prometheus only what it can answer, of series serve exports', async () => {
    const dash = JSON.parse(await readFile(join(ROOT, 'docs/monitoring/grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    // Every series serve declares (a counter nothing has counted yet has its # TYPE line and no sample).
    const exported = await (await fetch(metricsUrl)).text();
    const declared = (name: string) => exported.includes(`# TYPE ${name.replace(/_(bucket|count|sum)$/, '')} `);
    for (const panel of dash.panels) {
      for (const { expr } of panel.targets) {
        const promql = expr.replaceAll('$job', '.*');
        const res = (await (await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as {
          status: string;
          error?: string;
        };
        expect([panel.title, res.status, res.error]).toEqual([panel.title, 'success', undefined]);
        for (const name of promql.match(/\b(?:tidepool|controller_runtime|workqueue|process)_[a-z_]+/g) ?? [])
          expect([panel.title, name, declared(name)]).toEqual([panel.title, name, true]);
      }
    }
  });
});

describe.skipIf(!run)('tidepool top', () => {
  it('shows the workspace running `yes` first by CPU', async () => {
    const started = await tp(['exec', 'busy', '--', 'sh', '-c', 'timeout 120 yes > /dev/null 2>&1 < /dev/null &'], {
      env: cliEnv,
    });
    expect(started.code, started.stderr).toBe(0);
    let last = '';
    const top = await until(
      'busy using a core in top',
      async () => {
        const r = await tp(['top', '--sort-by', 'cpu'], { env: cliEnv });
        last = `${r.stdout}${r.stderr}`;
        const [, first = '', second = ''] = r.stdout.split('\n');
        const milli = (line: string) => Number(/^\S+\s+(\d+)m\s/.exec(line)?.[1] ?? Number.NaN);
        // A shared host gives `yes` what it can spare: well above nothing, and far above the idle one.
        const busy = first.startsWith('busy') && milli(first) >= 100 && milli(second) < milli(first) / 2;
        return busy ? r.stdout : undefined;
      },
      30_000,
      1000,
    ).catch((err: unknown) => {
      throw new Error(`${err}\nlast top:\n${last}`);
    });
    const lines = top.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+CPU\(cores\)\s+CPU%\s+MEMORY\(bytes\)\s+MEMORY%/);
    expect(lines[2]).toMatch(/^calm\s/);
    // Every figure is known, the home's size included (HOME is the sixth column).
    expect(lines[1]!.split(/\s+/)[5]).toMatch(/^\d+(Ki|Mi)?$/);
    expect(top).not.toMatch(/^waiting\s/m);
  });
});
