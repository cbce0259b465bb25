// How long starts take, from the store's watch: apply → Ready (a spec change that asks a
// workspace to run, to its Ready=True at that generation) and start → IDE answering
// (status.lastStartedTime, set when the runtime starts or wakes it, to VMReady=True). Read
// from writes the controller makes anyway: measuring costs no reconcile anything.
import { keyOf } from '../../specs/index.js';
import type { Workspace } from '../../specs/index.js';
import { isKind, type WatchEvent } from '../../store/index.js';
import type { FleetMetrics } from './names.js';

interface Pending {
  generation: number;
  atMs: number;
}

export class StartTimes {
  readonly #m: FleetMetrics;
  readonly #now: () => number;
  /** Workspaces asked to run and not Ready yet at that generation: since when. */
  readonly #applied = new Map<string, Pending>();
  /** Each workspace's last start as the watch saw it, and whether its IDE answering was observed. */
  readonly #started = new Map<string, { started: string; atMs: number; observed: boolean }>();

  constructor(m: FleetMetrics, now: () => number = Date.now) {
    this.#m = m;
    this.#now = now;
  }

  /** Workspaces already in the store at start-up: their past starts are not measured again. */
  seed(items: readonly Workspace[]): void {
    for (const ws of items) {
      const started = ws.status?.lastStartedTime;
      if (started) this.#started.set(keyOf(ws), { started, atMs: this.#now(), observed: true });
    }
  }

  onEvent(ev: WatchEvent): void {
    if (!isKind(ev.object, 'Workspace')) return;
    const ws = ev.object;
    const name = keyOf(ws);
    if (ev.type === 'DELETED') {
      this.#applied.delete(name);
      this.#started.delete(name);
      return;
    }
    this.#applyToReady(ws);
    this.#startToIde(ws);
  }

  #applyToReady(ws: Workspace): void {
    const name = keyOf(ws);
    const generation = ws.metadata.generation ?? 0;
    const ready = condition(ws, 'Ready') === 'True' && (ws.status?.observedGeneration ?? -1) >= generation;
    const pending = this.#applied.get(name);
    if (ready) {
      if (pending) this.#m.applyToReady.observe((this.#now() - pending.atMs) / 1000);
      this.#applied.delete(name);
      return;
    }
    if (ws.spec.running === false) {
      this.#applied.delete(name);
      return;
    }
    if (!pending || pending.generation < generation) {
      // Unchanged since the first change: the first apply starts the clock, a later one does not restart it.
      this.#applied.set(name, { generation, atMs: pending?.atMs ?? this.#now() });
    }
  }

  // Timestamps in the status have whole seconds: the clock starts when the watch first sees a
  // new lastStartedTime, and stops when it sees VMReady=True (the IDE answered) after it.
  #startToIde(ws: Workspace): void {
    const name = keyOf(ws);
    const started = ws.status?.lastStartedTime;
    if (!started) return;
    const seen = this.#started.get(name);
    if (seen?.started !== started) {
      this.#started.set(name, { started, atMs: this.#now(), observed: false });
    }
    const s = this.#started.get(name)!;
    if (s.observed || condition(ws, 'VMReady') !== 'True') return;
    s.observed = true;
    this.#m.startToIde.observe((this.#now() - s.atMs) / 1000);
  }
}

function condition(ws: Workspace, type: string): string | undefined {
  return ws.status?.conditions?.find((c) => c.type === type)?.status;
}
