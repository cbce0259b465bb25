// Which workspaces sleep, and the server's idle settings. A sleeping workspace keeps
// spec.running true (the user's intent is "available"); that it sleeps is the controller's
// own state, kept here and written to status.sleep by the workspace reconciler, so that it
// survives a restart (load() reads it back). Only the controller changes it: the idle ticks,
// making room, and wake or sleep requests (through the API).
import { keyOf } from '../../specs/index.js';
import { parseDuration } from '../../specs/duration.js';
import type { Workspace, WorkspaceSleep } from '../../specs/index.js';
import type { StoreClient } from '../../store/index.js';
import type { ActivityThresholds } from './activity.js';

export interface IdleOptions {
  /** Idle timeout of a workspace without spec.idleTimeout, ms. Defaults to 0 (never). */
  defaultTimeoutMs?: number;
  /** How often idleness is looked at (and the runtime's counters read). Defaults to 30 s. */
  tickMs?: number;
  /** Put idle workspaces with an idle timeout to sleep, least recently used first, to make room. Defaults to true. */
  makeRoom?: boolean;
  /** What counts as use on the runtime's counters. Defaults: see ActivityThresholds. */
  thresholds?: ActivityThresholds;
}

export class Sleepers {
  readonly defaultTimeoutMs: number;
  readonly tickMs: number;
  readonly makeRoom: boolean;
  readonly #asleep = new Map<string, WorkspaceSleep>();

  constructor(opts: IdleOptions = {}) {
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 0;
    this.tickMs = opts.tickMs ?? 30_000;
    this.makeRoom = opts.makeRoom ?? true;
    if (!(this.defaultTimeoutMs >= 0))
      throw new Error(`idle timeout must not be negative, got ${this.defaultTimeoutMs}`);
    if (!(this.tickMs > 0)) throw new Error(`idle tick must be positive, got ${this.tickMs}`);
  }

  /** Its idle timeout in ms (0: never): spec.idleTimeout, else the server's default. */
  timeoutMs(ws: Workspace): number {
    const own = ws.spec.idleTimeout;
    if (own === undefined) return this.defaultTimeoutMs;
    return parseDuration(own) ?? 0;
  }

  /** Whether it may be put to sleep at all (it has an idle timeout). */
  sleepable(ws: Workspace): boolean {
    return this.timeoutMs(ws) > 0;
  }

  /** The workspaces that slept when the store was written (after a restart). */
  load(store: StoreClient): void {
    for (const ws of store.list('Workspace').items) {
      const s = ws.status?.sleep;
      if (s && ws.spec.running) this.#asleep.set(keyOf(ws), s);
    }
  }

  get(name: string): WorkspaceSleep | undefined {
    return this.#asleep.get(name);
  }

  get size(): number {
    return this.#asleep.size;
  }

  /** Puts it to sleep; false when it already sleeps (its first reason is kept). */
  put(name: string, sleep: WorkspaceSleep): boolean {
    if (this.#asleep.has(name)) return false;
    this.#asleep.set(name, sleep);
    return true;
  }

  /** Wakes it; false when it did not sleep. */
  wake(name: string): boolean {
    return this.#asleep.delete(name);
  }
}
