// What the runtime has, shared by every reconcile: one runtime.list() serves them all.
// A snapshot stays good until it is invalidated (the resync does that), or, for a caller
// that needs newer news, until it is older than that caller's maxAgeMs. Results of the
// controller's own actions are patched in at once, so they cost no list; a list that
// started before a patch does not undo it. Fetches are single-flight.
// News of one VM (a workspace starting, or one the runtime reported changed) comes from a
// look at that VM alone (runtime.get) when the runtime has one: a workspace waiting for its
// address costs one small request per poll, not a listing of the whole host.
import type { RuntimeDriver, VM, VMState } from '../drivers/runtime/types.js';
import type { Clock } from './queue/index.js';

/** When a look at the runtime started: its sequence number (later than every patch and mark it reflects) and clock time. */
interface Look {
  seq: number;
  at: number;
}

interface Snapshot extends Look {
  vms: Map<string, VM>;
}

/** States in which a VM holds host resources. */
export const HOLDS_CAPACITY: ReadonlySet<VMState> = new Set(['Running', 'Starting', 'Stopping']);
const holds = (vm: VM | undefined) => vm !== undefined && HOLDS_CAPACITY.has(vm.state);

export interface GetOptions {
  /** Needs news of this VM reported changed by the runtime (markDirty) after the last look. */
  name?: string;
  /** Needs a snapshot whose list started at most this long ago. Defaults to any valid one. */
  maxAgeMs?: number;
}

export class VMCache {
  readonly #runtime: RuntimeDriver;
  readonly #clock: Clock;
  #seq = 0;
  /** Snapshots whose fetch started at or before this sequence number are stale. */
  #validAfter = 0;
  #snap: Snapshot | undefined;
  #inflight: { seq: number; at: number; promise: Promise<Map<string, VM>> } | undefined;
  readonly #patches = new Map<string, { seq: number; vm: VM | null }>();
  readonly #dirty = new Map<string, number>();
  /** Looks at one VM alone since the last list started, by name. */
  readonly #looked = new Map<string, Look>();
  readonly #inflightOne = new Map<string, Look & { promise: Promise<void> }>();
  /** Called when a VM stops holding capacity (stopped, deleted, gone). */
  onFreed: () => void = () => {};

  constructor(runtime: RuntimeDriver, clock: Clock) {
    this.#runtime = runtime;
    this.#clock = clock;
  }

  /** Every snapshot taken so far is stale: the next get lists again (once, for all callers). */
  invalidate(): void {
    this.#validAfter = ++this.#seq;
  }

  /** The runtime said `name` changed: a get for `name` lists again. */
  markDirty(name: string): void {
    this.#dirty.set(name, ++this.#seq);
  }

  async get(opts: GetOptions = {}): Promise<ReadonlyMap<string, VM>> {
    const minSeq = Math.max(this.#validAfter, opts.name ? (this.#dirty.get(opts.name) ?? 0) : 0);
    const minAt = opts.maxAgeMs === undefined ? -Infinity : this.#clock.now() - opts.maxAgeMs;
    const fresh = (s: { seq: number; at: number }) => s.seq > minSeq && s.at >= minAt;
    for (;;) {
      if (this.#snap && fresh(this.#snap)) return this.#snap.vms;
      const f = this.#inflight;
      if (f && fresh(f)) return f.promise;
      if (f) await f.promise.catch(() => {});
      else this.#fetch();
    }
  }

  /**
   * One VM as fresh as `get` would give it, looked at alone (runtime.get) when the snapshot is
   * valid but too old for it; a list only before the first snapshot, after invalidate, or on a
   * runtime that cannot look at one VM.
   */
  async one(name: string, opts: Omit<GetOptions, 'name'> = {}): Promise<VM | undefined> {
    const snap = this.#snap;
    if (!this.#runtime.get || !snap || snap.seq <= this.#validAfter)
      return (await this.get({ ...opts, name })).get(name);
    const minSeq = Math.max(this.#validAfter, this.#dirty.get(name) ?? 0);
    const minAt = opts.maxAgeMs === undefined ? -Infinity : this.#clock.now() - opts.maxAgeMs;
    const fresh = (s: Look | undefined) => s !== undefined && s.seq > minSeq && s.at >= minAt;
    for (;;) {
      if (fresh(this.#snap) || fresh(this.#looked.get(name))) return this.#snap?.vms.get(name);
      const f = this.#inflightOne.get(name);
      if (f && fresh(f)) {
        await f.promise;
        return this.#snap?.vms.get(name);
      }
      if (f) await f.promise.catch(() => {});
      else this.#fetchOne(name);
    }
  }

  /** The newest snapshot as it is (empty before the first list), without listing. */
  peek(): ReadonlyMap<string, VM> {
    return this.#snap?.vms ?? new Map();
  }

  /** Records the outcome of the controller's own action: `vm`, or null when it is gone. */
  patch(name: string, vm: VM | null): void {
    this.#put(name, vm, ++this.#seq);
  }

  /** Puts what is known of `name` as of sequence `seq` into the snapshot, kept over older lists. */
  #put(name: string, vm: VM | null, seq: number): void {
    this.#patches.set(name, { seq, vm });
    if (!this.#snap) return;
    const old = this.#snap.vms.get(name);
    if (vm) this.#snap.vms.set(name, vm);
    else this.#snap.vms.delete(name);
    if (holds(old) && !holds(vm ?? undefined)) this.onFreed();
  }

  #fetch(): void {
    const seq = ++this.#seq;
    const at = this.#clock.now();
    const promise = this.#runtime.list().then((list) => {
      const vms = new Map(list.map((vm) => [vm.name, vm]));
      for (const [name, p] of this.#patches) {
        if (p.seq < seq) this.#patches.delete(name);
        else if (p.vm) vms.set(name, p.vm);
        else vms.delete(name);
      }
      for (const [name, s] of this.#dirty) if (s < seq) this.#dirty.delete(name);
      for (const [name, l] of this.#looked) if (l.seq < seq) this.#looked.delete(name);
      this.#replace({ seq, at, vms });
      return vms;
    });
    this.#inflight = { seq, at, promise };
    const clear = () => {
      if (this.#inflight?.seq === seq) this.#inflight = undefined;
    };
    promise.then(clear, clear);
  }

  #fetchOne(name: string): void {
    const look: Look = { seq: ++this.#seq, at: this.#clock.now() };
    const promise = this.#runtime.get!(name).then((vm) => {
      // A patch or a list that started after this look knows better.
      const p = this.#patches.get(name);
      if ((p && p.seq > look.seq) || (this.#snap && this.#snap.seq > look.seq)) return;
      this.#put(name, vm ?? null, look.seq);
      this.#looked.set(name, look);
      if ((this.#dirty.get(name) ?? 0) < look.seq) this.#dirty.delete(name);
    });
    this.#inflightOne.set(name, { ...look, promise });
    const clear = () => {
      if (this.#inflightOne.get(name)?.seq === look.seq) this.#inflightOne.delete(name);
    };
    promise.then(clear, clear);
  }

  #replace(next: Snapshot): void {
    const prev = this.#snap;
    if (prev && prev.seq > next.seq) return;
    this.#snap = next;
    if (prev && [...prev.vms].some(([name, vm]) => holds(vm) && !holds(next.vms.get(name)))) this.onFreed();
  }
}
