// The controller's metrics carry controller-runtime's names and labels (so that its dashboards
// and alerts apply), and count what the controller really did: reconciles by result, errors,
// queue adds and retries, the fleet by phase, start times, store writes.
import { afterEach, describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import { ControllerMetrics, WorkqueueMetrics, WorkqueueObserver } from '../../controller/metrics/index.js';
import { harness, waitFor, workspace, port, type Harness } from './helpers.js';
import { Registry as PromRegistry } from 'prom-client';

/** The value of one series (the sum when several match), or undefined when none does. */
async function value(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metrics = await reg.getMetricsAsJSON();
  const base = name.replace(/_(count|sum|bucket)$/, '');
  const m = metrics.find((x) => x.name === base || x.name === name);
  if (!m) return undefined;
  const rows = (m.values as { metricName?: string; labels: Record<string, string | number>; value: number }[]).filter(
    (v) =>
      (v.metricName ?? m.name) === name && Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return rows.length ? rows.reduce((s, v) => s + v.value, 0) : undefined;
}

async function labelNames(reg: Registry, name: string): Promise<string[]> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const keys = new Set<string>();
  for (const v of (m?.values ?? []) as { labels: Record<string, unknown> }[])
    for (const k of Object.keys(v.labels)) if (k !== 'le') keys.add(k);
  return [...keys].sort();
}

describe('controller metrics', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('names and labels every series as controller-runtime does', async () => {
    h = await harness();
    const metrics = new ControllerMetrics({ processMetrics: false });
    await h.start({ metrics });
    const reg = metrics.registry;
    const expected: [string, string[]][] = [
      ['controller_runtime_reconcile_total', ['controller', 'result']],
      ['controller_runtime_reconcile_errors_total', ['controller']],
      ['controller_runtime_active_workers', ['controller']],
      ['controller_runtime_max_concurrent_reconciles', ['controller']],
      ['workqueue_depth', ['name']],
      ['workqueue_adds_total', ['name']],
      ['workqueue_retries_total', ['name']],
      ['workqueue_unfinished_work_seconds', ['name']],
      ['workqueue_longest_running_processor_seconds', ['name']],
    ];
    for (const [name, labels] of expected) expect([name, await labelNames(reg, name)]).toEqual([name, labels]);
    const text = await metrics.render();
    for (const name of [
      'controller_runtime_reconcile_time_seconds',
      'workqueue_queue_duration_seconds',
      'workqueue_work_duration_seconds',
      'tidepool_workspace_apply_to_ready_seconds',
      'tidepool_workspace_start_to_ide_seconds',
      'tidepool_store_write_duration_seconds',
    ])
      expect(text).toContain(`# TYPE ${name} histogram`);
  });

  it('counts what the controller did: reconciles, queue adds, phases, a start, store writes', async () => {
    h = await harness();
    const metrics = new ControllerMetrics({ processMetrics: false });
    await h.start({ metrics, store: metrics.timed(h.store, 'controller') });
    await h.store.create(workspace('alice', { resources: { cpu: 3, memory: '2Gi' } }));
    await h.store.create(port('alice-3000', 'alice', 3000));
    await h.ready('alice');
    const reg = metrics.registry;
    await waitFor(
      'a port reconcile counted',
      async () => ((await value(reg, 'controller_runtime_reconcile_total', { controller: 'port' })) ?? 0) > 0,
    );
    expect(await value(reg, 'controller_runtime_reconcile_total', { controller: 'workspace' })).toBeGreaterThan(0);
    expect(await value(reg, 'controller_runtime_reconcile_errors_total', { controller: 'workspace' })).toBe(0);
    expect(await value(reg, 'workqueue_adds_total', { name: 'workspace' })).toBeGreaterThan(0);
    expect(
      await value(reg, 'controller_runtime_reconcile_time_seconds_count', { controller: 'workspace' }),
    ).toBeGreaterThan(0);
    expect(await value(reg, 'tidepool_workspaces', { phase: 'Running' })).toBe(1);
    expect(await value(reg, 'tidepool_workspaces', { phase: 'Failed' })).toBe(0);
    // Read from the store's watch, which hears of a write once it is on disk: that can be just
    // after ready() saw it (a read sees a write before its promise settles).
    await waitFor(
      'apply → Ready observed',
      async () => (await value(reg, 'tidepool_workspace_apply_to_ready_seconds_count')) === 1,
    );
    expect(await value(reg, 'tidepool_workspace_start_to_ide_seconds_count')).toBe(1);
    expect(await value(reg, 'tidepool_capacity_used', { resource: 'cpu' })).toBe(3);
    expect(await value(reg, 'tidepool_capacity_budget', { resource: 'cpu' })).toBe(1000);
    expect(await value(reg, 'tidepool_store_write_duration_seconds_count', { client: 'controller' })).toBeGreaterThan(
      0,
    );
    h.proxy.access('alice');
    h.proxy.access('alice');
    expect(await value(reg, 'tidepool_proxy_requests_total', { workspace: 'alice' })).toBe(2);
  });

  it('counts a failing reconcile as an error and its requeue as a retry', async () => {
    h = await harness();
    const metrics = new ControllerMetrics({ processMetrics: false });
    await h.start({ metrics });
    h.runtime.fail('create', 2, 'stub: no room');
    await h.store.create(workspace('bob'));
    await h.ready('bob');
    const reg = metrics.registry;
    expect(
      await value(reg, 'controller_runtime_reconcile_errors_total', { controller: 'workspace' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await value(reg, 'controller_runtime_reconcile_total', { controller: 'workspace', result: 'error' }),
    ).toBeGreaterThanOrEqual(2);
    expect(await value(reg, 'workqueue_retries_total', { name: 'workspace' })).toBeGreaterThanOrEqual(2);
  });
});

describe('WorkqueueObserver', () => {
  it('times the wait and the work of each key on its clock, and the work still running', async () => {
    const reg = new PromRegistry();
    let nowMs = 0;
    let obs: WorkqueueObserver | undefined;
    const m = new WorkqueueMetrics([reg], () => obs?.collect());
    obs = new WorkqueueObserver(m, () => nowMs);
    obs.declare(['workspace']);
    obs.added('workspace/a');
    obs.added('workspace/b');
    expect(await value(reg, 'workqueue_depth', { name: 'workspace' })).toBe(2);
    nowMs = 2000;
    obs.taken('workspace/a');
    expect(await value(reg, 'workqueue_depth', { name: 'workspace' })).toBe(1);
    expect(await value(reg, 'workqueue_queue_duration_seconds_sum', { name: 'workspace' })).toBe(2);
    nowMs = 5000;
    expect(await value(reg, 'workqueue_longest_running_processor_seconds', { name: 'workspace' })).toBe(3);
    expect(await value(reg, 'workqueue_unfinished_work_seconds', { name: 'workspace' })).toBe(3);
    obs.done('workspace/a');
    obs.retried('workspace/a');
    expect(await value(reg, 'workqueue_work_duration_seconds_sum', { name: 'workspace' })).toBe(3);
    expect(await value(reg, 'workqueue_longest_running_processor_seconds', { name: 'workspace' })).toBe(0);
    expect(await value(reg, 'workqueue_retries_total', { name: 'workspace' })).toBe(1);
    expect(await value(reg, 'workqueue_adds_total', { name: 'workspace' })).toBe(2);
  });
});
