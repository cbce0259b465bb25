// The usage sampler: asks the runtime what every running workspace uses, every interval
// (one runtime call for all of them), turns the CPU and network counters into rates over the
// interval, and keeps an hour of CPU and memory per workspace in a ring (no database). It
// serves `tidepool top`, the UI's graphs and the per-workspace metrics from memory, so a
// scrape or a page never waits on the runtime.
import type { HostUsage, UsageList, UsageService, WorkspaceUsage } from '../../specs/usage.js';
import { API_VERSION } from '../../specs/index.js';
import type { StoreClient } from '../../store/index.js';
import type { Budget } from '../capacity/index.js';
import type { RuntimeDriver, VMUsage } from '../../drivers/runtime/types.js';
import { parseQuantity } from '../../specs/quantity.js';
import type { Logger } from '../types.js';
import { UsageRing } from './ring.js';

export interface UsageSamplerOptions {
  runtime: RuntimeDriver;
  store: StoreClient;
  /** The host budget, for the UI's budget bar. Defaults to none. */
  budget?: Budget;
  /** Time between two samples. Defaults to 10 s. */
  intervalMs?: number;
  /** How far back the history goes. Defaults to 1 hour. */
  historyMs?: number;
  /** Defaults to Date.now. */
  now?: () => number;
  logger?: Logger;
}

interface Latest {
  raw: VMUsage;
  atMs: number;
  usage: WorkspaceUsage;
}

export class UsageSampler implements UsageService {
  readonly intervalMs: number;
  readonly #o: UsageSamplerOptions;
  readonly #historyMs: number;
  readonly #now: () => number;
  readonly #latest = new Map<string, Latest>();
  readonly #rings = new Map<string, UsageRing>();
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> | undefined;

  constructor(opts: UsageSamplerOptions) {
    this.#o = opts;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.#historyMs = opts.historyMs ?? 3_600_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Whether the runtime can tell usage at all. */
  get supported(): boolean {
    return typeof this.#o.runtime.usageAll === 'function';
  }

  /** Samples now and then every interval, until stop. */
  start(): void {
    if (!this.supported || this.#timer) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sampling;
  }

  /** One sample of every running workspace (single-flight: a slow runtime is not asked twice at once). */
  sample(): Promise<void> {
    this.#sampling ??= this.#sample().finally(() => {
      this.#sampling = undefined;
    });
    return this.#sampling;
  }

  /** What the runtime last said of every running workspace (the counters as they are). */
  raw(): VMUsage[] {
    return [...this.#latest.values()].map((l) => l.raw);
  }

  list(opts: { history?: boolean; name?: string } = {}): UsageList {
    const since = this.#now() - this.#historyMs;
    const pick = opts.name === undefined ? [...this.#latest.values()] : [this.#latest.get(opts.name)].filter(Boolean);
    const items = (pick as Latest[]).map((l) => this.#withAccess(l.usage));
    if (opts.name !== undefined && !items.length && this.#rings.has(opts.name))
      items.push({ name: opts.name, sampledAt: '' });
    if (opts.history)
      for (const it of items) it.history = this.#rings.get(it.name)?.read(since) ?? { t: [], cpu: [], memory: [] };
    const host = this.#host();
    return {
      apiVersion: API_VERSION,
      kind: 'UsageList',
      intervalSeconds: this.intervalMs / 1000,
      ...(host ? { host } : {}),
      items,
    };
  }

  async #sample(): Promise<void> {
    let all: VMUsage[];
    try {
      all = (await this.#o.runtime.usageAll?.()) ?? [];
    } catch (err) {
      this.#o.logger?.warn({ err: String(err) }, 'usage: the runtime did not tell; keeping the last figures');
      return;
    }
    const now = this.#now();
    const seen = new Set<string>();
    for (const raw of all) {
      seen.add(raw.name);
      const usage = this.#figures(raw, this.#latest.get(raw.name), now);
      this.#latest.set(raw.name, { raw, atMs: now, usage });
      if (usage.cpuCores !== undefined) this.#ring(raw.name).push(now, usage.cpuCores, raw.memoryBytes ?? 0);
    }
    for (const name of this.#latest.keys()) if (!seen.has(name)) this.#latest.delete(name);
    // A stopped workspace keeps its hour on the graph; a deleted one goes.
    for (const name of this.#rings.keys())
      if (!seen.has(name) && !this.#o.store.get('Workspace', name)) this.#rings.delete(name);
  }

  #figures(raw: VMUsage, prev: Latest | undefined, now: number): WorkspaceUsage {
    const u: WorkspaceUsage = { name: raw.name, sampledAt: new Date(now).toISOString() };
    const dt = prev ? (now - prev.atMs) / 1000 : 0;
    const rate = (cur?: number, before?: number) =>
      dt > 0 && cur !== undefined && before !== undefined && cur >= before ? (cur - before) / dt : undefined;
    const cpu = rate(raw.cpuSeconds, prev?.raw.cpuSeconds);
    if (cpu !== undefined) u.cpuCores = cpu;
    const rx = rate(raw.networkRxBytes, prev?.raw.networkRxBytes);
    const tx = rate(raw.networkTxBytes, prev?.raw.networkTxBytes);
    if (rx !== undefined) u.networkRxBytesPerSecond = rx;
    if (tx !== undefined) u.networkTxBytesPerSecond = tx;
    if (raw.memoryBytes !== undefined) u.memoryBytes = raw.memoryBytes;
    if (raw.memoryLimitBytes !== undefined) u.memoryLimitBytes = raw.memoryLimitBytes;
    if (raw.homeUsedBytes !== undefined) u.homeUsedBytes = raw.homeUsedBytes;
    return u;
  }

  /** The figures with what the store says: the CPU limit and the last access. */
  #withAccess(u: WorkspaceUsage): WorkspaceUsage {
    const ws = this.#o.store.get('Workspace', u.name);
    const out: WorkspaceUsage = { ...u };
    const cpu = Number(ws?.spec.resources?.cpu);
    if (cpu > 0) out.cpuLimit = cpu;
    const at = ws?.status?.lastAccessTime;
    if (at) out.lastAccessTime = at;
    return out;
  }

  #host(): HostUsage | undefined {
    const b = this.#o.budget;
    if (!b) return undefined;
    const h: HostUsage = {
      cpuBudget: b.cpu,
      memoryBudgetBytes: b.memoryBytes,
      cpuAllocated: 0,
      memoryAllocatedBytes: 0,
      cpuCores: 0,
      memoryBytes: 0,
    };
    for (const { usage } of this.#latest.values()) {
      const ws = this.#o.store.get('Workspace', usage.name);
      h.cpuAllocated += Number(ws?.spec.resources?.cpu) || 0;
      h.memoryAllocatedBytes += usage.memoryLimitBytes ?? parseQuantity(String(ws?.spec.resources?.memory ?? '')) ?? 0;
      h.cpuCores += usage.cpuCores ?? 0;
      h.memoryBytes += usage.memoryBytes ?? 0;
    }
    return h;
  }

  #ring(name: string): UsageRing {
    let r = this.#rings.get(name);
    if (!r) {
      r = new UsageRing(Math.max(2, Math.ceil(this.#historyMs / this.intervalMs) + 1));
      this.#rings.set(name, r);
    }
    return r;
  }
}
