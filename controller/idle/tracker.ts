// The idle ticks: every tick, each running workspace with an idle timeout is looked at; one
// that no signal saw used for that long is put to sleep (the workspace reconciler stops it).
// One runtime call per tick reads every instance's counters, and only when some workspace has
// an idle timeout: with idle sleep unused, a tick costs one pass over the store and nothing else.
import { keyOf } from '../../specs/index.js';
import type { Workspace } from '../../specs/index.js';
import { timestamp } from '../../store/index.js';
import { workspaceKey } from '../keys.js';
import type { Context } from '../reconcilers/context.js';
import { decideIdle, type IdleSignal } from './decision.js';

export class IdleTracker {
  readonly #ctx: Context;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<string[]> | undefined;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), this.#ctx.sleepers.tickMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  /** One tick (single-flight); resolves with the names it put to sleep. */
  tick(): Promise<string[]> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #tick(): Promise<string[]> {
    const { store, sleepers } = this.#ctx;
    const watched: Workspace[] = [];
    for (const ws of store.list('Workspace').items) {
      if (!ws.spec.running || ws.metadata.deletionTimestamp || ws.status?.phase !== 'Running') continue;
      if (sleepers.get(keyOf(ws)) || !sleepers.sleepable(ws)) continue;
      watched.push(ws);
    }
    if (watched.length === 0) return [];
    await this.#sample();
    const now = this.#ctx.clock.now();
    const slept: string[] = [];
    for (const ws of watched) if (this.#decide(ws, now)) slept.push(keyOf(ws));
    return slept;
  }

  /** The runtime's counters of every running instance, into the activity signals. */
  async #sample(): Promise<void> {
    const { runtime, activity, clock, logger } = this.#ctx;
    if (!runtime.usageAll) return;
    try {
      const all = await runtime.usageAll();
      const now = clock.now();
      for (const u of all) activity.sample(u, now);
    } catch (err) {
      logger.warn({ err: String(err) }, 'idle: the runtime did not tell its counters; deciding on the other signals');
    }
  }

  /** Puts `ws` to sleep when it is idle; true when it did. */
  #decide(ws: Workspace, now: number): boolean {
    const { activity, capacity, sleepers, queue } = this.#ctx;
    const name = keyOf(ws);
    const seen: Partial<Record<IdleSignal, number>> = activity.seen(name, now);
    const proxy = Math.max(capacity.lastAccess(name) ?? -Infinity, parse(ws.status?.lastAccessTime));
    if (proxy > -Infinity) seen.proxy = proxy;
    const started = parse(ws.status?.lastStartedTime ?? ws.metadata.creationTimestamp);
    if (started > -Infinity) seen.start = started;
    const verdict = decideIdle({ nowMs: now, timeoutMs: sleepers.timeoutMs(ws), seen });
    if (!verdict.idle || !('lastSignal' in verdict)) return false;
    const put = sleepers.put(name, {
      since: timestamp(now),
      reason: 'Idle',
      lastSignal: verdict.lastSignal,
      lastActiveTime: timestamp(verdict.lastActiveMs),
    });
    if (put) queue.add(workspaceKey(name));
    return put;
  }
}

function parse(at: string | undefined): number {
  const ms = at ? Date.parse(at) : Number.NaN;
  return Number.isNaN(ms) ? -Infinity : ms;
}
