// The object store: an in-memory index of every resource, persisted as a snapshot plus a
// journal of transactions (store/journal.ts), Events in a file of their own. Every entry
// point (REST, apply, sync, controller) goes through it and so gets the same semantics: the
// transaction (store/tx.ts: uid, generation, resourceVersion preconditions, finalizers), the
// kinds' own rules (store/strategies), Event caps and TTL, and a watch history.
// Over 300 lines on purpose: it is one class whose private state (durable objects, the
// overlay of writes in flight, journals, watch history, port index) every method shares;
// split further, that state would have to be handed between files.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Port } from '../specs/index.js';
import { errorMessage } from '../specs/errors.js';
import { gone, invalid, unavailable } from './errors.js';
import {
  Journal,
  lastRecordedRv,
  loadFile,
  type JournalLine,
  type JournalOptions,
  type LoadedFile,
  type SnapshotSource,
} from './journal.js';
import { StoreOpenError, buildState } from './load.js';
import { Persister } from './persister.js';
import { storedObjectCauses } from './stored-object.js';
import { setAside } from './set-aside.js';
import type { Selector } from './selector.js';
import type { Admission } from './strategies/index.js';
import { Tx, checkResourceVersion, deepFreeze, type View } from './tx.js';
import type { ObjectOf, Resource, StatusArg, WatchEvent } from './types.js';

export { StoreOpenError } from './load.js';
export { Tx, checkResourceVersion, timestamp } from './tx.js';

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

type Listener = (ev: WatchEvent) => void;

/** Where the Events of a store live: a file of their own beside it (store.json → store.events.json). */
export const eventsPath = (path: string) => path.replace(/(\.json)?$/, '.events.json');

const EVENT = 'Event';

/** Whether the store can write, and why not. */
export interface StoreHealth {
  writable: boolean;
  /** The error of the failed write, while writes fail. */
  error?: string;
  since?: string;
}

export class Store {
  /** What is on disk: the only state reads and watchers see. */
  readonly #objects = new Map<string, Map<string, Resource>>();
  /** Changes of transactions computed but not yet on disk (kind/name → object or null). */
  readonly #overlay = new Map<string, Resource | null>();
  readonly #listeners = new Set<{ kind?: string; fn: Listener }>();
  readonly #history: { rv: number; ev: WatchEvent }[] = [];
  readonly #historySize: number;
  readonly #maxEvents: number;
  readonly #maxPerObject: number;
  readonly #eventTtlMs: number;
  readonly #retryMs: number;
  readonly #main: Journal;
  readonly #events: Journal;
  readonly #persister: Persister;
  readonly #json = new WeakMap<object, string>();
  /** Durable Ports by the workspace they name. */
  readonly #portsByWs = new Map<string, Set<string>>();
  /** Every event with a resourceVersion above this one is in #history. */
  #historyFloor: number;
  /** Durable resourceVersion. */
  #rv: number;
  /** resourceVersion including transactions in flight. */
  #nextRv: number;
  #failure: { error: Error; since: number } | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
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
  admit(obj: Resource, current: Resource | undefined): void {
    const causes = this.admission?.(obj, current) ?? [];
    if (causes.length) throw invalid(obj.kind, obj.metadata.name, causes);
  }
  readonly #view: View;

  private constructor(
    path: string,
    state: ReturnType<typeof buildState>,
    files: {
      main: Awaited<ReturnType<typeof loadFile>>;
      events: Awaited<ReturnType<typeof loadFile>>;
      mainBytes: number;
      eventBytes: number;
    },
    opts: StoreOptions,
  ) {
    this.#historySize = opts.historySize ?? 10000;
    this.#maxEvents = opts.maxEvents ?? 1000;
    this.#maxPerObject = opts.maxEventsPerObject ?? 50;
    this.#eventTtlMs = opts.eventTtlMs ?? 3_600_000;
    this.#retryMs = opts.retryMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.#rv = this.#nextRv = state.rv;
    this.#historyFloor = this.#rv;
    for (const [kind, m] of state.objects) {
      for (const o of m.values()) deepFreeze(o);
      this.#objects.set(kind, m);
    }
    for (const p of this.#objects.get('Port')?.values() ?? [])
      this.#indexPort((p as Port).spec.workspace, p.metadata.name, true);
    this.#main = new Journal(
      path,
      { ...files.main, snapshotBytes: files.mainBytes, lastRv: lastRecordedRv(files.main) },
      opts.journal,
    );
    this.#events = new Journal(
      eventsPath(path),
      { ...files.events, snapshotBytes: files.eventBytes, lastRv: lastRecordedRv(files.events) },
      opts.journal,
    );
    this.#persister = new Persister(
      [this.#main, this.#events],
      (j) => this.#snapshot(j),
      (err) => this.#rollback(err),
    );
    this.#view = {
      get: (kind, name) => this.get(kind, name),
      list: (kind) => this.#speculativeList(kind),
      remember: (o, json) => this.#json.set(o, json),
      portCandidates: (ws) => {
        const out = [...(this.#portsByWs.get(ws) ?? [])];
        for (const key of this.#overlay.keys()) if (key.startsWith('Port/')) out.push(key.slice(5));
        return out;
      },
      now: () => this.now(),
      admit: (obj, current) => this.admit(obj, current),
    };
  }

  /**
   * Opens (or creates) the store file. A file that cannot be read, parsed or validated is
   * an error naming the file, the object and the field, and nothing is changed on disk.
   * What an interrupted write left (a snapshot temp file, a half journal line) is removed.
   */
  static async open(path: string, opts: StoreOptions = {}): Promise<Store> {
    await mkdir(dirname(path), { recursive: true });
    const read = async (p: string) => {
      try {
        return await loadFile(p);
      } catch (err) {
        throw new StoreOpenError(
          `store file ${p} cannot be read: ${errorMessage(err)}. ` +
            'It was left untouched; repair it or move it away, then start again.',
        );
      }
    };
    const main = await read(path);
    const a = buildState(path, main);
    const { file: events, state: b } = await Store.#openEvents(path, read, opts);
    // A store written before Events had a file of their own: they move over (below), and
    // what the Events file says wins over the store file's old copies.
    const migrate = (a.objects.get(EVENT)?.size ?? 0) > 0;
    if (migrate) b.objects.set(EVENT, new Map([...a.objects.get(EVENT)!, ...(b.objects.get(EVENT) ?? [])]));
    a.objects.delete(EVENT);
    for (const [kind] of b.objects)
      if (kind !== EVENT)
        throw new StoreOpenError(
          `store file ${eventsPath(path)} cannot be loaded: it holds ${kind} objects; only Events belong there. It was left untouched.`,
        );
    const state = { rv: Math.max(a.rv, b.rv), objects: new Map([...a.objects, ...b.objects]) };
    const size = (f: LoadedFile) => (f.snapshot ? JSON.stringify(f.snapshot).length : 0);
    const store = new Store(path, state, { main, events, mainBytes: size(main), eventBytes: size(events) }, opts);
    await store.#main.cleanLeftovers();
    await store.#events.cleanLeftovers();
    await store.#main.openForAppend();
    await store.#events.openForAppend();
    if (migrate) {
      // Events file first: a stop between the two leaves them in both, which loads the same.
      await store.#events.compact(store.#snapshot(store.#events), true);
      if (store.#events.compactionError) throw store.#events.compactionError;
      await store.#main.compact(store.#snapshot(store.#main), true);
      if (store.#main.compactionError) throw store.#main.compactionError;
    } else if (!main.snapshot) {
      // A new store (or one whose snapshot went missing): write it out at once.
      await store.#main.compact(store.#snapshot(store.#main), true);
      if (store.#main.compactionError) throw store.#main.compactionError;
    }
    store.#sweepTimer = setInterval(() => void store.#sweepEvents(), Math.min(60_000, store.#eventTtlMs)).unref();
    return store;
  }

  /**
   * The Events file, or none when it cannot be loaded: it is set aside (renamed, with a
   * warning naming the files), since Events are disposable and must not block a start.
   */
  static async #openEvents(
    path: string,
    read: (p: string) => Promise<Awaited<ReturnType<typeof loadFile>>>,
    opts: StoreOptions,
  ): Promise<{ file: Awaited<ReturnType<typeof loadFile>>; state: ReturnType<typeof buildState> }> {
    const p = eventsPath(path);
    try {
      const file = await read(p);
      return { file, state: buildState(p, file, { requireSnapshot: false }) };
    } catch (err) {
      if (!(err instanceof StoreOpenError)) throw err;
      const aside = await setAside(p, new Date(opts.now?.() ?? Date.now()));
      opts.warn?.(
        `the Events file could not be loaded and was set aside (${aside.moved.join(', ')}); starting without past Events: ${err.message}`,
        { setAside: aside.moved },
      );
      const file = { snapshot: undefined, entries: [], journalGoodBytes: 0, journalBytes: 0 };
      return { file, state: { rv: aside.highestRv, objects: new Map() } };
    }
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Writable or not (served as /readyz). */
  health(): StoreHealth {
    if (!this.#failure) return { writable: true };
    return { writable: false, error: this.#failure.error.message, since: new Date(this.#failure.since).toISOString() };
  }

  /**
   * Reads see every write made so far (the controller relies on reading its own writes), a
   * write still on its way to disk included: when the disk refuses it, it is rolled back and
   * no longer served. Watchers hear of a write only once it is on disk.
   */
  get<K extends string>(kind: K, name: string): ObjectOf<K> | undefined {
    const key = `${kind}/${name}`;
    const o = this.#overlay.has(key) ? (this.#overlay.get(key) ?? undefined) : this.#objects.get(kind)?.get(name);
    return o as ObjectOf<K> | undefined;
  }

  list<K extends string>(kind: K, selector?: Selector): { items: ObjectOf<K>[]; resourceVersion: string } {
    const all = [...this.#speculativeList(kind)] as ObjectOf<K>[];
    return {
      items: selector ? all.filter((o) => selector(o.metadata.labels)) : all,
      resourceVersion: String(this.#rv),
    };
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
      const causes = storedObjectCauses(o.kind, o.metadata.name, o);
      if (causes.length) throw invalid(o.kind, o.metadata.name, causes);
    }
    this.#pruneEvents(tx);
    for (const [key, o] of tx.changes) this.#overlay.set(key, o);
    this.#readVersion++;
    this.#nextRv = tx.resourceVersion;
    const lines = this.#journalLines(tx);
    try {
      await this.#persister.save(lines, () => this.#commit(tx));
    } catch (err) {
      throw unavailable(`the store cannot be written: ${errorMessage(err)}; nothing was changed, try again`);
    }
    return result;
  }

  #journalLines(tx: Tx): Map<Journal, JournalLine> {
    const parts = new Map<Journal, { put: Resource[]; del: [string, string][] }>();
    for (const [key, o] of tx.changes) {
      const i = key.indexOf('/');
      const kind = key.slice(0, i);
      const j = kind === EVENT ? this.#events : this.#main;
      let p = parts.get(j);
      if (!p) parts.set(j, (p = { put: [], del: [] }));
      if (o) p.put.push(o);
      else p.del.push([kind, key.slice(i + 1)]);
    }
    const out = new Map<Journal, JournalLine>();
    for (const [j, p] of parts) {
      let body = '';
      if (p.put.length) body += `,"put":[${p.put.map((o) => this.#objectJson(o)).join(',')}]`;
      if (p.del.length) body += `,"del":${JSON.stringify(p.del)}`;
      out.set(j, { rv: tx.resourceVersion, body });
    }
    return out;
  }

  #objectJson(o: Resource): string {
    let s = this.#json.get(o);
    if (s === undefined) this.#json.set(o, (s = JSON.stringify(o)));
    return s;
  }

  /** The transaction is on disk: make it visible, in commit order. */
  #commit(tx: Tx) {
    for (const [key, o] of tx.changes) {
      const i = key.indexOf('/');
      const kind = key.slice(0, i),
        name = key.slice(i + 1);
      let m = this.#objects.get(kind);
      if (!m) this.#objects.set(kind, (m = new Map()));
      if (kind === 'Port') {
        const before = m.get(name);
        if (before) this.#indexPort((before as Port).spec.workspace, name, false);
        if (o) this.#indexPort((o as Port).spec.workspace, name, true);
      }
      if (o) m.set(name, o);
      else m.delete(name);
      if (this.#overlay.get(key) === o) this.#overlay.delete(key);
    }
    this.#rv = Math.max(this.#rv, tx.resourceVersion);
    if (this.#failure) this.#recovered();
    this.#publish(tx.events);
  }

  #indexPort(ws: string, name: string, add: boolean) {
    let set = this.#portsByWs.get(ws);
    if (add) {
      if (!set) this.#portsByWs.set(ws, (set = new Set()));
      set.add(name);
    } else if (set) {
      set.delete(name);
      if (!set.size) this.#portsByWs.delete(ws);
    }
  }

  /** A write failed: forget every transaction not on disk, and keep trying by ourselves. */
  #rollback(err: Error) {
    this.#generation++;
    this.#readVersion++;
    this.#overlay.clear();
    this.#nextRv = this.#rv;
    this.#failure ??= { error: err, since: this.now() };
    this.#failure.error = err;
    if (!this.#retryTimer && !this.#closed) {
      this.#retryTimer = setInterval(() => void this.#probe(), this.#retryMs);
      this.#retryTimer.unref();
    }
  }

  #recovered() {
    this.#failure = undefined;
    if (this.#retryTimer) clearInterval(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** Appends an empty line (no change) to see whether the disk takes writes again. */
  async #probe() {
    if (!this.#failure || this.#closed) return;
    const lines = new Map([[this.#main, { rv: this.#rv, body: '' }]]);
    await this.#persister.save(lines, () => this.#recovered()).catch(() => {});
  }

  /** Events beyond the caps go in the same transaction: oldest first, per object and in all. */
  #pruneEvents(tx: Tx) {
    if (![...tx.changes.keys()].some((k) => k.startsWith('Event/'))) return;
    const events = tx
      .list(EVENT)
      .sort((a, b) => Number(a.metadata.resourceVersion || Infinity) - Number(b.metadata.resourceVersion || Infinity));
    const drop = new Set<string>();
    const per = new Map<string, Resource[]>();
    for (const e of events) {
      const r = e.regarding as { kind?: string; name?: string } | undefined;
      const k = `${r?.kind}/${r?.name}`;
      const list = per.get(k) ?? [];
      list.push(e);
      per.set(k, list);
    }
    for (const list of per.values())
      for (const e of list.slice(0, Math.max(0, list.length - this.#maxPerObject))) drop.add(e.metadata.name);
    const left = events.filter((e) => !drop.has(e.metadata.name));
    for (const e of left.slice(0, Math.max(0, left.length - this.#maxEvents))) drop.add(e.metadata.name);
    for (const name of drop) tx.delete(EVENT, name);
  }

  /** Removes Events not updated for eventTtlMs. */
  async #sweepEvents() {
    const cutoff = this.now() - this.#eventTtlMs;
    const expired = this.list(EVENT).items.filter((e) => {
      const t = Date.parse(String(e.lastTimestamp ?? e.metadata.creationTimestamp ?? ''));
      return Number.isFinite(t) && t < cutoff;
    });
    if (!expired.length || this.#failure) return;
    await this.transaction((tx) => {
      for (const e of expired) if (tx.get(EVENT, e.metadata.name)) tx.delete(EVENT, e.metadata.name);
    }).catch(() => {});
  }

  /** Runs the TTL sweep now (tests; the store also runs it every minute). */
  sweepEvents(): Promise<void> {
    return this.#sweepEvents();
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

  #publish(events: WatchEvent[]) {
    for (const ev of events) {
      this.#history.push({ rv: Number(ev.object.metadata.resourceVersion), ev });
      for (const l of this.#listeners) if (!l.kind || l.kind === ev.object.kind) l.fn(ev);
    }
    const excess = this.#history.length - this.#historySize;
    if (excess > 0) this.#historyFloor = this.#history.splice(0, excess).at(-1)!.rv;
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
    const entry = { kind: opts.kind, fn: fn as Listener };
    if (opts.resourceVersion !== undefined && opts.resourceVersion !== '' && opts.resourceVersion !== '0') {
      checkResourceVersion(opts.resourceVersion);
      const from = Number(opts.resourceVersion);
      if (from < this.#historyFloor) {
        throw gone(
          `too old resource version: ${from} (${this.#historyFloor}); list again and watch from the list's resourceVersion`,
        );
      }
      for (const h of this.#history) if (h.rv > from && (!opts.kind || opts.kind === h.ev.object.kind)) entry.fn(h.ev);
    }
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  #snapshot(j: Journal): SnapshotSource {
    const kinds = [...this.#objects].filter(([kind]) => (j === this.#events) === (kind === EVENT));
    return {
      rv: this.#rv,
      objects: kinds.map(([kind, m]) => [kind, [...m]]),
      json: (o) => this.#objectJson(o),
    };
  }

  /** Waits until everything acknowledged so far is on disk. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer) clearInterval(this.#retryTimer);
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    await this.#persister.flush();
    await this.#main.close();
    await this.#events.close();
    this.#listeners.clear();
  }
}
