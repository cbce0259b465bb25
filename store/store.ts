// The object store: an in-memory index of every resource, persisted by its files (store/files.ts:
// a snapshot plus a journal of transactions, Events in a file of their own). Every entry point
// (REST, apply, sync, controller) goes through it and so gets the same semantics: the
// transaction (store/tx.ts: uid, generation, resourceVersion preconditions, finalizers), the
// kinds' own rules (store/strategies, Event retention included), and the watch hub
// (store/watch-hub.ts). The class itself keeps what reads see: the durable objects and the
// overlay of writes on their way to disk, rolled back when the disk refuses them.
import { errorMessage } from '../specs/errors.js';
import { invalid, unavailable } from './errors.js';
import { keyOf, type Port } from '../specs/index.js';
import { StoreFiles, type ReadFiles } from './files.js';
import type { JournalOptions } from './journal.js';
import { PortIndex } from './port-index.js';
import type { Selector } from './selector.js';
import { storedObjectCauses } from './stored-object.js';
import { EventRetention, strategies, type Admission, type AdmissionLookup } from './strategies/index.js';
import { Tx, deepFreeze, type View } from './tx.js';
import { asKind, asKindList, type ObjectOf, type Resource, type StatusArg, type WatchEvent } from './types.js';
import { WatchHub } from './watch-hub.js';
import { WriteHealth, type StoreHealth } from './write-health.js';

export { StoreOpenError } from './load.js';
export { Tx, checkResourceVersion, timestamp } from './tx.js';
export { eventsPath } from './files.js';
export type { StoreHealth } from './write-health.js';

export interface StoreOptions {
  /** Watch events kept for resuming a watch from a resourceVersion. Defaults to 10000. */
  historySize?: number;
  /** Events (kind Event) kept; the oldest go first. Defaults to 1000. */
  maxEvents?: number;
  /** Events kept per object they are about (`regarding`); the oldest go first. Defaults to 50. */
  maxEventsPerObject?: number;
  /** An Event not updated for this long is removed (Kubernetes keeps events an hour). Defaults to 1 h. */
  eventTtlMs?: number;
  /** While a write fails, the store tries again this often by itself. Defaults to 1 s. */
  retryMs?: number;
  /** Journal settings (fsync, compaction threshold). */
  journal?: JournalOptions;
  /** Clock for timestamps. Defaults to Date.now. */
  now?: () => number;
  /** Told what was set aside at open (an Events file that could not be loaded). Defaults to none. */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

export class Store {
  /** What is on disk: the only state reads and watchers see. */
  readonly #objects = new Map<string, Map<string, Resource>>();
  /** Changes of transactions computed but not yet on disk (kind/name → object or null). */
  readonly #overlay = new Map<string, Resource | null>();
  readonly #files: StoreFiles;
  readonly #hub: WatchHub;
  readonly #health: WriteHealth;
  readonly #retention: EventRetention;
  /** Durable Ports by the workspace they name. */
  readonly #ports: PortIndex;
  /** Durable resourceVersion. */
  #rv: number;
  /** resourceVersion including transactions in flight. */
  #nextRv: number;
  #closed = false;
  /** Held while a transactionAsync is being prepared: other writes wait for it. */
  #lock: Promise<void> | undefined;
  /** Bumped by every rollback. */
  #generation = 0;
  #readVersion = 0;
  readonly now: () => number;
  /**
   * Rules of the server's configuration (not of the schema) for a created object or a changed
   * spec, e.g. that spec.image names a known image template. Returns the violations; every
   * entry point (REST, apply, sync) goes through it. Defaults to none.
   */
  admission: Admission | undefined;

  /** Throws 422 with the admission's causes. */
  admit(obj: Resource, current: Resource | undefined, lookup?: AdmissionLookup): void {
    const causes = this.admission?.(obj, current, lookup) ?? [];
    if (causes.length) throw invalid(obj.kind, obj.metadata.name, causes);
  }
  readonly #view: View;

  private constructor(read: ReadFiles, opts: StoreOptions) {
    this.now = opts.now ?? Date.now;
    this.#rv = this.#nextRv = read.state.rv;
    for (const [kind, m] of read.state.objects) {
      for (const o of m.values()) deepFreeze(o);
      this.#objects.set(kind, m);
    }
    this.#ports = new PortIndex(this.#objects.get('Port')?.values() ?? []);
    this.#hub = new WatchHub(opts.historySize ?? 10000, this.#rv);
    this.#retention = new EventRetention({
      maxEvents: opts.maxEvents ?? 1000,
      maxPerObject: opts.maxEventsPerObject ?? 50,
      ttlMs: opts.eventTtlMs ?? 3_600_000,
    });
    this.#files = new StoreFiles(
      read,
      opts.journal,
      () => ({ rv: this.#rv, objects: this.#objects }),
      (err) => this.#rollback(err),
    );
    this.#health = new WriteHealth(opts.retryMs ?? 1000, this.now, () =>
      this.#files.probe(this.#rv, () => this.#health.recovered()),
    );
    const strategyOf = strategies(this.#retention);
    this.#view = {
      get: (kind, name) => this.get(kind, name),
      list: (kind) => this.#speculativeList(kind),
      remember: (o, json) => this.#files.remember(o, json),
      portCandidates: (ws) => {
        const out = [...this.#ports.namesOf(ws)];
        for (const key of this.#overlay.keys()) if (key.startsWith('Port/')) out.push(key.slice(5));
        return out;
      },
      now: () => this.now(),
      admit: (obj, current, lookup) => this.admit(obj, current, lookup),
      strategyOf,
    };
  }

  /**
   * Opens (or creates) the store file. A file that cannot be read, parsed or validated is
   * an error naming the file, the object and the field, and nothing is changed on disk.
   * What an interrupted write left (a snapshot temp file, a half journal line) is removed.
   */
  static async open(path: string, opts: StoreOptions = {}): Promise<Store> {
    const read = await StoreFiles.read(path, opts);
    const store = new Store(read, opts);
    await store.#files.open(read);
    store.#retention.startSweeping(store.#sweepTarget);
    return store;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Writable or not (served as /readyz). */
  health(): StoreHealth {
    return this.#health.health();
  }

  /**
   * Reads see every write made so far (the controller relies on reading its own writes), a
   * write still on its way to disk included: when the disk refuses it, it is rolled back and
   * no longer served. Watchers hear of a write only once it is on disk.
   */
  get<K extends string>(kind: K, name: string): ObjectOf<K> | undefined {
    const key = `${kind}/${name}`;
    const o = this.#overlay.has(key) ? (this.#overlay.get(key) ?? undefined) : this.#objects.get(kind)?.get(name);
    return asKind<K>(o);
  }

  list<K extends string>(kind: K, selector?: Selector): { items: ObjectOf<K>[]; resourceVersion: string } {
    const all = asKindList<K>([...this.#speculativeList(kind)]);
    return {
      items: selector ? all.filter((o) => selector(o.metadata.labels)) : all,
      resourceVersion: String(this.#rv),
    };
  }

  /**
   * The Ports naming Workspace `ws`, as watchers have been told of them (a field index, as an
   * informer cache keeps): up to date once a write's promise settles.
   */
  portsOf(ws: string): Port[] {
    return this.#ports.portsOf(ws);
  }

  /** Changes whenever what reads see changes (a write, its commit, a rollback): for caches of reads. */
  get readVersion(): number {
    return this.#readVersion;
  }

  #speculativeList(kind: string): Iterable<Resource> {
    const base = this.#objects.get(kind);
    if (this.#overlay.size === 0) return base?.values() ?? [];
    const out = new Map(base);
    for (const [key, o] of this.#overlay) {
      if (!key.startsWith(`${kind}/`)) continue;
      const name = key.slice(kind.length + 1);
      if (o) out.set(name, o);
      else out.delete(name);
    }
    return out.values();
  }

  /**
   * Runs `fn` against a consistent view (what is durable plus the transactions being
   * written) and commits everything it did at once, or nothing when it throws. Nothing is
   * visible (to reads or watchers) until it is on disk; a write that cannot be made
   * durable is rolled back and answered 503, and the store tries again by itself.
   */
  async transaction<T>(fn: (tx: Tx) => T): Promise<T> {
    while (this.#lock) await this.#lock;
    if (this.#closed) throw unavailable('the store is closed');
    const tx = new Tx(this.#view, this.#nextRv);
    const result = fn(tx);
    return this.#finish(tx, result);
  }

  /**
   * A transaction whose function may yield to the event loop (a big apply: thousands of
   * objects); other writes wait for it, reads and watches do not. Committed at once like
   * any other, or not at all.
   */
  async transactionAsync<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    while (this.#lock) await this.#lock;
    if (this.#closed) throw unavailable('the store is closed');
    let release!: () => void;
    this.#lock = new Promise<void>((r) => {
      release = r;
    });
    try {
      const generation = this.#generation;
      const tx = new Tx(this.#view, this.#nextRv);
      const result = await fn(tx);
      // A write queued before this one failed meanwhile: what this one was built on is gone.
      if (generation !== this.#generation) {
        throw unavailable(
          'the store cannot be written: an earlier write failed while this one was prepared; nothing was changed, try again',
        );
      }
      const done = this.#finish(tx, result);
      this.#lock = undefined;
      release();
      return await done;
    } finally {
      if (this.#lock) {
        this.#lock = undefined;
        release();
      }
    }
  }

  async #finish<T>(tx: Tx, result: T): Promise<T> {
    if (tx.events.length === 0) return result;
    // What is stored must load again (store/load.ts checks the same): refused here, nothing is written.
    for (const o of tx.changes.values()) {
      if (!o) continue;
      const causes = storedObjectCauses(o.kind, keyOf(o), o);
      if (causes.length) throw invalid(o.kind, o.metadata.name, causes);
    }
    tx.prepareCommit();
    for (const [key, o] of tx.changes) this.#overlay.set(key, o);
    this.#readVersion++;
    this.#nextRv = tx.resourceVersion;
    try {
      await this.#files.save(tx.resourceVersion, tx.changes, () => this.#commit(tx));
    } catch (err) {
      throw unavailable(`the store cannot be written: ${errorMessage(err)}; nothing was changed, try again`);
    }
    return result;
  }

  /** The transaction is on disk: make it visible, in commit order. */
  #commit(tx: Tx) {
    for (const [key, o] of tx.changes) {
      const i = key.indexOf('/');
      const kind = key.slice(0, i),
        name = key.slice(i + 1);
      let m = this.#objects.get(kind);
      if (!m) this.#objects.set(kind, (m = new Map()));
      if (kind === 'Port') this.#ports.update(m.get(name), o);
      if (o) m.set(name, o);
      else m.delete(name);
      if (this.#overlay.get(key) === o) this.#overlay.delete(key);
    }
    this.#rv = Math.max(this.#rv, tx.resourceVersion);
    if (this.#health.failing) this.#health.recovered();
    this.#hub.publish(tx.events);
  }

  /** A write failed: forget every transaction not on disk, and keep trying by ourselves. */
  #rollback(err: Error) {
    this.#generation++;
    this.#readVersion++;
    this.#overlay.clear();
    this.#nextRv = this.#rv;
    this.#health.failed(err);
  }

  /** What the Event expiry sweep uses of the store. */
  readonly #sweepTarget = {
    list: <K extends string>(kind: K) => this.list(kind),
    transaction: (fn: (tx: Tx) => void) => this.transaction(fn),
    now: () => this.now(),
    writable: () => !this.#health.failing,
  };

  /** Runs the Event TTL sweep now (tests; the store also runs it every minute). */
  sweepEvents(): Promise<void> {
    return this.#retention.sweep(this.#sweepTarget);
  }

  create<T extends Resource>(obj: T) {
    return this.transaction((tx) => tx.create(obj));
  }
  update<T extends Resource>(obj: T) {
    return this.transaction((tx) => tx.update(obj));
  }
  updateStatus<K extends string>(kind: K, name: string, status: StatusArg<K>, resourceVersion?: string) {
    return this.transaction((tx) => tx.updateStatus(kind, name, status, resourceVersion));
  }
  delete(kind: string, name: string, opts?: { resourceVersion?: string; uid?: string }) {
    return this.transaction((tx) => tx.delete(kind, name, opts));
  }

  /**
   * Calls `fn` for every change after `resourceVersion` (replayed from history first),
   * then for each new one. Throws 410 Gone when that history is no longer kept.
   * Without a resourceVersion, only changes from now on.
   */
  watch<K extends string = string>(
    opts: { kind?: K; resourceVersion?: string },
    fn: (ev: WatchEvent<ObjectOf<K>>) => void,
  ): () => void {
    return this.#hub.watch(opts, fn);
  }

  /** Waits until everything acknowledged so far is on disk. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#health.close();
    this.#retention.stop();
    await this.#files.close();
    this.#hub.close();
  }
}
