// The usage sampler turns the runtime's counters into rates over the interval and keeps an
// hour per workspace in a ring; the ring keeps its last `capacity` samples, oldest first.
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { UsageRing } from '../../controller/usage/ring.js';
import { UsageSampler } from '../../controller/usage/sampler.js';
import { registerUsageMetrics } from '../../controller/usage/metrics.js';
import { GiB, harness, waitFor, workspace, type Harness } from './helpers.js';

describe('UsageRing', () => {
  it('keeps the last samples, oldest first, and reads from a time on', () => {
    const r = new UsageRing(3);
    expect(r.read()).toEqual({ t: [], cpu: [], memory: [] });
    for (let i = 1; i <= 5; i++) r.push(i * 1000, i / 10, i * 100);
    expect(r.size).toBe(3);
    expect(r.read()).toEqual({ t: [3000, 4000, 5000], cpu: [0.3, 0.4, 0.5], memory: [300, 400, 500] });
    expect(r.read(4000).t).toEqual([4000, 5000]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new UsageRing(0)).toThrow(/positive integer/);
  });
});

describe('UsageSampler', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('reports cores over the interval, memory against the limit, and an hour of history', async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('busy', { resources: { cpu: 2, memory: '1Gi' } }));
    await h.ready('busy');
    let now = 1_000_000;
    const sampler = new UsageSampler({
      runtime: h.runtime,
      store: h.store,
      budget: { cpu: 8, memoryBytes: 8 * GiB, maxRunning: Infinity },
      intervalMs: 10_000,
      now: () => now,
    });
    h.runtime.setUsage('busy', { cpuSeconds: 100, memoryBytes: 300 * 2 ** 20 });
    await sampler.sample();
    expect(sampler.list().items[0]?.cpuCores).toBeUndefined();
    now += 10_000;
    h.runtime.setUsage('busy', { cpuSeconds: 115, memoryBytes: 400 * 2 ** 20, networkRxBytes: 5000 });
    await sampler.sample();
    const [busy] = sampler.list({ history: true }).items;
    expect(busy).toMatchObject({
      name: 'busy',
      cpuCores: 1.5,
      cpuLimit: 2,
      memoryBytes: 400 * 2 ** 20,
      memoryLimitBytes: GiB,
      networkRxBytesPerSecond: 500,
    });
    expect(busy?.history).toEqual({ t: [now], cpu: [1.5], memory: [400 * 2 ** 20] });
    expect(sampler.list().host).toMatchObject({
      cpuBudget: 8,
      cpuAllocated: 2,
      cpuCores: 1.5,
      memoryAllocatedBytes: GiB,
    });

    const reg = new Registry();
    registerUsageMetrics([reg], sampler);
    const text = await reg.metrics();
    expect(text).toContain('tidepool_workspace_cpu_seconds_total{workspace="busy"} 115');
    expect(text).toContain(`tidepool_workspace_memory_bytes{workspace="busy"} ${400 * 2 ** 20}`);
    expect(text).toContain(`tidepool_workspace_memory_limit_bytes{workspace="busy"} ${GiB}`);
  });

  it('drops a stopped workspace from the figures but keeps its history until it is deleted', async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('w'));
    await h.ready('w');
    let now = 0;
    const sampler = new UsageSampler({ runtime: h.runtime, store: h.store, now: () => (now += 10_000) });
    await sampler.sample();
    await sampler.sample();
    await h.runtime.stopBehindBack('w', { notify: false });
    await sampler.sample();
    expect(sampler.list().items).toEqual([]);
    expect(sampler.list({ name: 'w', history: true }).items[0]?.history?.t.length).toBe(1);
    await h.store.delete('Workspace', 'w');
    await waitFor('w gone from the store', () => !h.store.get('Workspace', 'w'));
    await sampler.sample();
    expect(sampler.list({ name: 'w', history: true }).items).toEqual([]);
  });
});
