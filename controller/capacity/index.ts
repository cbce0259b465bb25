// Admission of starts against the host budget. The check and the reservation happen in
// one synchronous step, so two workers never both take the last slot; the reservation
// lasts until the start is done and the VM cache shows it.
import { planStops, refusalMessage, shortfall, whatIsShort, type StopPlan } from './advice.js';
import type { Budget, Usage } from './budget.js';

export * from './budget.js';
export * from './advice.js';

export interface RunningWorkspace extends Usage {
  /** When it was last accessed (ms), as far as Tidepool knows; undefined when unknown. */
  accessedAt?: number;
  /** A person may stop it to make room (running, declared running, not being deleted). */
  stoppable: boolean;
  /** It may be put to sleep to make room (stoppable, with an idle timeout). */
  sleepable?: boolean;
}

export type Admission =
  | { ok: true }
  | {
      ok: false;
      /** Each limit that is short, with its figures. */
      reasons: string[];
      /** The workspaces that would have to stop, least recently accessed first, as many as it takes. */
      plan: StopPlan;
      /** The whole refusal as a person reads it (the reasons, the plan, what it would free). */
      message: string;
      /** The workspaces that may be put to sleep (they have an idle timeout) to make room, least recently accessed first. */
      sleepPlan: StopPlan;
      leastRecentlyAccessed?: RunningWorkspace;
    };

export class Capacity {
  readonly budget: Budget;
  /** Workspaces refused for capacity, oldest first: enqueued again when capacity frees. */
  readonly waiting = new Set<string>();
  readonly #reserved = new Map<string, Usage>();
  /**
   * Reservations released while the runtime's snapshot (`snapshot()`, compared by identity)
   * may not show their VM yet: a create that failed after the VM was made (a timeout, a
   * crash) leaves a VM that will show up running. Each keeps holding room until a newer
   * snapshot lists the VM (then it counts as running) or does not (then it is gone).
   */
  readonly #released = new Map<string, { usage: Usage; snapshot: unknown }>();
  readonly #snapshot: () => unknown;
  /** Last access of each workspace as the proxy's access log tells it (ms). */
  readonly #accessed = new Map<string, number>();

  /** The controller's clock (ms), for how long a workspace named in a refusal has been idle. */
  readonly #now: () => number;

  constructor(budget: Budget, snapshot: () => unknown = () => undefined, now: () => number = Date.now) {
    this.budget = budget;
    this.#snapshot = snapshot;
    this.#now = now;
  }

  /**
   * A request reached `name` at `atMs` (the access log, or status.lastAccessTime at start-up):
   * it counts as that workspace's last access when it is later than what the caller passes.
   */
  noteAccess(name: string, atMs: number): void {
    if (atMs > (this.#accessed.get(name) ?? -Infinity)) this.#accessed.set(name, atMs);
  }

  /** The last access of `name` the access log told (ms), if any. */
  lastAccess(name: string): number | undefined {
    return this.#accessed.get(name);
  }

  forget(name: string): void {
    this.#accessed.delete(name);
  }

  /** Reserves room for `want` when it fits next to `running` and the reservations in flight. */
  admit(want: Usage, running: RunningWorkspace[]): Admission {
    const now = this.#snapshot();
    for (const [name, r] of this.#released) {
      if (r.snapshot !== now || running.some((v) => v.name === name) || this.#reserved.has(name))
        this.#released.delete(name);
    }
    const using: Usage[] = [...this.#reserved.values(), ...[...this.#released.values()].map((r) => r.usage)].filter(
      (u) => u.name !== want.name,
    );
    for (const r of running) if (r.name !== want.name && !this.#reserved.has(r.name)) using.push(r);
    const short = shortfall(this.budget, using, want);
    if (short.cpu <= 0 && short.memoryBytes <= 0 && short.running <= 0) {
      this.#reserved.set(want.name, want);
      this.waiting.delete(want.name);
      return { ok: true };
    }
    this.waiting.add(want.name);
    // A workspace admitted a moment ago holds room before the runtime lists it as running: it
    // is a candidate too (its budget is what refuses this one), after every running one.
    const starting: RunningWorkspace[] = [...this.#reserved.values()]
      .filter((u) => u.name !== want.name && !running.some((r) => r.name === u.name))
      .map((u) => ({ ...u, stoppable: true }));
    const accessed = (r: RunningWorkspace): RunningWorkspace => {
      const seen = this.#accessed.get(r.name);
      if (seen === undefined || seen <= (r.accessedAt ?? -Infinity)) return r;
      // Field by field: an entry may compute its fields in getters, which a spread would drop.
      const { name, cpu, memoryBytes, stoppable, sleepable } = r;
      return { name, cpu, memoryBytes, stoppable, ...(sleepable !== undefined ? { sleepable } : {}), accessedAt: seen };
    };
    const candidates = [
      ...running
        .filter((r) => r.stoppable && r.name !== want.name)
        .map(accessed)
        .sort((a, b) => (a.accessedAt ?? 0) - (b.accessedAt ?? 0) || (a.name < b.name ? -1 : 1)),
      ...starting.sort((a, b) => (a.name < b.name ? -1 : 1)),
    ];
    const plan = planStops(short, candidates);
    const sleepPlan = planStops(
      short,
      candidates.filter((c) => c.sleepable),
    );
    const lra = candidates[0];
    return {
      ok: false,
      reasons: whatIsShort(this.budget, using, want, short),
      plan,
      sleepPlan,
      message: refusalMessage(this.budget, using, want, plan, this.#now()),
      ...(lra ? { leastRecentlyAccessed: lra } : {}),
    };
  }

  release(name: string): void {
    const usage = this.#reserved.get(name);
    this.#reserved.delete(name);
    if (usage) this.#released.set(name, { usage, snapshot: this.#snapshot() });
  }
}
