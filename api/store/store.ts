// The object store: an in-memory index of every resource, persisted to one JSON file
// through lowdb (write to a temp file, then rename: a kill -9 leaves the old or the new
// file, never half of one). Kubernetes semantics live here so that every entry point
// (REST, apply, sync, controller) gets them: uid, generation, resourceVersion with
// optimistic concurrency, finalizers, owner garbage collection, and a watch history.
import { randomUUID } from 'node:crypto';
import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { MAX_PORTS_PER_WORKSPACE, kindByName, type StatusCause } from '../../specs/index.js';
import { ApiError, alreadyExists, conflict, gone, invalid, notFound } from './errors.js';
import { Persister, openStoreFile } from './persister.js';
import type { Selector } from './selector.js';
import type { Resource, StoreFile, WatchEvent } from './types.js';

export interface StoreOptions {
  /** Watch events kept for resuming a watch from a resourceVersion. Defaults to 10000. */
  historySize?: number;
  /** Events (kind Event) kept; the oldest go first. Defaults to 1000. */
  maxEvents?: number;
  /** Clock for timestamps. Defaults to Date.now. */
  now?: () => number;
}

type Listener = (ev: WatchEvent) => void;

/** RFC 3339 UTC with second precision, as Kubernetes writes timestamps. */
export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const plural = (kind: string) => kindByName(kind)?.plural ?? `${kind.toLowerCase()}s`;

export class StoreOpenError extends Error {}

/** One atomic unit of change. All methods are synchronous; nothing is visible until commit. */
export class Tx {
  readonly #store: Store;
  /** kind/name → new object, or null when removed. */
  readonly changes = new Map<string, Resource | null>();
  readonly events: WatchEvent[] = [];
  #rv: number;

  constructor(store: Store, rv: number) {
    this.#store = store;
    this.#rv = rv;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  get(kind: string, name: string): Resource | undefined {
    const key = `${kind}/${name}`;
    if (this.changes.has(key)) return this.changes.get(key) ?? undefined;
    return this.#store.get(kind, name);
  }

  list(kind: string, selector?: Selector): Resource[] {
    const out = new Map<string, Resource>();
    for (const o of this.#store.list(kind).items) out.set(o.metadata.name, o);
    for (const [key, o] of this.changes) {
      if (!key.startsWith(`${kind}/`)) continue;
      const name = key.slice(kind.length + 1);
      if (o) out.set(name, o); else out.delete(name);
    }
    const items = [...out.values()];
    return selector ? items.filter((o) => selector(o.metadata.labels)) : items;
  }

  #put(type: WatchEvent['type'], obj: Resource, remove = false): Resource {
    const stored = deepFreeze(obj);
    this.changes.set(`${obj.kind}/${obj.metadata.name}`, remove ? null : stored);
    this.events.push({ type, object: stored });
    return stored;
  }

  #nextRv(): string {
    return String(++this.#rv);
  }

  #now(): string {
    return timestamp(this.#store.now());
  }

  #checkRv(current: Resource, expected: string | undefined) {
    // An empty resourceVersion is no precondition (as in Kubernetes).
    if (expected !== undefined && expected !== '' && expected !== current.metadata.resourceVersion) {
      throw conflict(plural(current.kind), current.metadata.name,
        'the object has been modified; please apply your changes to the latest version and try again');
    }
  }

  /** Port rules that span objects: at most 5 per workspace, one Port per workspace port. */
  #checkPort(port: Resource) {
    const ws = port.spec.workspace as string;
    const siblings = this.list('Port').filter((p) => p.spec.workspace === ws && p.metadata.name !== port.metadata.name);
    if (siblings.length >= MAX_PORTS_PER_WORKSPACE) {
      throw invalid('Port', port.metadata.name, [{
        field: 'spec.workspace', reason: 'FieldValueTooMany',
        message: `Too many: workspace "${ws}" already has ${siblings.length} Ports (${siblings.map((p) => p.metadata.name).join(', ')}); at most ${MAX_PORTS_PER_WORKSPACE} Ports may name one Workspace`,
      }]);
    }
    const same = siblings.find((p) => p.spec.port === port.spec.port);
    if (same) {
      throw invalid('Port', port.metadata.name, [{
        field: 'spec.port', reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${port.spec.port}: port "${same.metadata.name}" already publishes port ${port.spec.port} of workspace "${ws}"`,
      }]);
    }
  }

  #ownerRefs(port: Resource): Resource['metadata']['ownerReferences'] {
    const ws = this.get('Workspace', port.spec.workspace);
    if (!ws) return undefined;
    return [{ apiVersion: ws.apiVersion, kind: 'Workspace', name: ws.metadata.name, uid: ws.metadata.uid!, controller: true }];
  }

  /** Creates an object. `obj` is a validated manifest; server-owned metadata is set here. */
  create(obj: Resource): Resource {
    if (this.get(obj.kind, obj.metadata.name)) throw alreadyExists(plural(obj.kind), obj.metadata.name);
    const { labels, annotations, finalizers, managedFields } = obj.metadata;
    const o: Resource = structuredClone({
      ...obj,
      metadata: {
        name: obj.metadata.name,
        uid: randomUUID(),
        generation: 1,
        resourceVersion: '',
        creationTimestamp: this.#now(),
        ...(labels && Object.keys(labels).length ? { labels } : {}),
        ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
        ...(finalizers?.length ? { finalizers } : {}),
        ...(managedFields?.length ? { managedFields } : {}),
      },
    });
    delete o.status;
    this.#store.admit(o, undefined);
    if (o.kind === 'Port') {
      this.#checkPort(o);
      const refs = this.#ownerRefs(o);
      if (refs) o.metadata.ownerReferences = refs;
    }
    if (kindByName(o.kind)?.statusSchema) o.status = {};
    if (o.kind === 'Event') o.status = undefined;
    if (o.status === undefined) delete o.status;
    o.metadata.resourceVersion = this.#nextRv();
    const stored = this.#put('ADDED', o);
    if (o.kind === 'Workspace') this.#adoptPorts(stored);
    return stored;
  }

  /** A Port created before its Workspace is adopted when the Workspace arrives. */
  #adoptPorts(ws: Resource) {
    for (const p of this.list('Port')) {
      if (p.spec.workspace !== ws.metadata.name) continue;
      const refs = this.#ownerRefs(p);
      if (isDeepStrictEqual(refs, p.metadata.ownerReferences)) continue;
      const next = structuredClone(p) as Resource;
      next.metadata.ownerReferences = refs;
      next.metadata.resourceVersion = this.#nextRv();
      this.#put('MODIFIED', next);
    }
  }

  /**
   * Replaces labels, annotations, finalizers and spec (status is kept: only updateStatus
   * writes it). `obj.metadata.resourceVersion`, when set, must be the current one.
   * An update that changes nothing writes nothing.
   */
  update(obj: Resource): Resource {
    const cur = this.get(obj.kind, obj.metadata.name);
    if (!cur) throw notFound(plural(obj.kind), obj.metadata.name);
    this.#checkRv(cur, obj.metadata.resourceVersion);
    const next = structuredClone(cur) as Resource;
    const { labels, annotations, finalizers } = obj.metadata;
    for (const [field, value] of [['labels', labels], ['annotations', annotations]] as const) {
      if (value && Object.keys(value).length) (next.metadata as any)[field] = structuredClone(value);
      else delete next.metadata[field];
    }
    if (finalizers?.length) {
      const added = finalizers.filter((f) => !cur.metadata.finalizers?.includes(f));
      if (cur.metadata.deletionTimestamp && added.length) {
        throw invalid(cur.kind, cur.metadata.name, [{
          field: 'metadata.finalizers', reason: 'FieldValueForbidden',
          message: `Forbidden: no new finalizers can be added while the object is being deleted (${added.join(', ')})`,
        }]);
      }
      next.metadata.finalizers = [...finalizers];
    } else delete next.metadata.finalizers;
    // Given: the writer's view of ownership (api/ownership.ts); absent: kept as it is.
    if (obj.metadata.managedFields !== undefined) {
      if (obj.metadata.managedFields.length) next.metadata.managedFields = structuredClone(obj.metadata.managedFields);
      else delete next.metadata.managedFields;
    }
    const specChanged = obj.spec !== undefined && !isDeepStrictEqual(obj.spec, cur.spec);
    if (specChanged) this.#store.admit(obj, cur);
    if (specChanged) {
      next.spec = structuredClone(obj.spec);
      next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
    }
    for (const field of Object.keys(obj)) {
      if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(field)) (next as any)[field] = structuredClone(obj[field]);
    }
    if (next.kind === 'Port') {
      if (specChanged) this.#checkPort(next);
      const refs = this.#ownerRefs(next);
      if (refs) next.metadata.ownerReferences = refs; else delete next.metadata.ownerReferences;
    }
    if (isDeepStrictEqual(next, cur)) return cur;
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) return this.#remove(next);
    next.metadata.resourceVersion = this.#nextRv();
    return this.#put('MODIFIED', next);
  }

  /** Writes status only; unchanged status writes nothing. */
  updateStatus(kind: string, name: string, status: unknown, resourceVersion?: string): Resource {
    const cur = this.get(kind, name);
    if (!cur) throw notFound(plural(kind), name);
    this.#checkRv(cur, resourceVersion);
    if (isDeepStrictEqual(cur.status, status)) return cur;
    const next = structuredClone(cur) as Resource;
    next.status = structuredClone(status);
    next.metadata.resourceVersion = this.#nextRv();
    return this.#put('MODIFIED', next);
  }

  /**
   * Deletes: with finalizers, marks deletionTimestamp and keeps the object until they are
   * gone; without, removes it now. Dependents (Ports of a Workspace) go with their owner.
   */
  delete(kind: string, name: string, opts: { resourceVersion?: string; uid?: string } = {}): Resource {
    const cur = this.get(kind, name);
    if (!cur) throw notFound(plural(kind), name);
    this.#checkRv(cur, opts.resourceVersion);
    if (opts.uid !== undefined && opts.uid !== cur.metadata.uid) {
      throw conflict(plural(kind), name, `the UID in the precondition (${opts.uid}) does not match the UID in record (${cur.metadata.uid})`);
    }
    if (cur.metadata.finalizers?.length) {
      if (cur.metadata.deletionTimestamp) return cur;
      const next = structuredClone(cur) as Resource;
      next.metadata.deletionTimestamp = this.#now();
      next.metadata.resourceVersion = this.#nextRv();
      return this.#put('MODIFIED', next);
    }
    return this.#remove(cur);
  }

  #remove(obj: Resource): Resource {
    const last = structuredClone(obj) as Resource;
    last.metadata.deletionTimestamp ??= this.#now();
    last.metadata.resourceVersion = this.#nextRv();
    const removed = this.#put('DELETED', last, true);
    if (obj.kind === 'Workspace') {
      for (const p of this.list('Port')) {
        const owned = p.metadata.ownerReferences?.some((r) => r.uid === obj.metadata.uid);
        if (owned || p.spec.workspace === obj.metadata.name) this.delete('Port', p.metadata.name);
      }
    }
    return removed;
  }
}

export class Store {
  readonly #objects = new Map<string, Map<string, Resource>>();
  readonly #listeners = new Set<{ kind?: string; fn: Listener }>();
  readonly #history: { rv: number; ev: WatchEvent }[] = [];
  readonly #historySize: number;
  readonly #maxEvents: number;
  readonly #persister: Persister;
  /** Every event with a resourceVersion above this one is in #history. */
  #historyFloor: number;
  #rv: number;
  #failed: Error | undefined;
  readonly now: () => number;
  /**
   * Rules of the server's configuration (not of the schema) for a created object or a changed
   * spec, e.g. that spec.image names a known image template. Returns the violations; every
   * entry point (REST, apply, sync) goes through it. Defaults to none.
   */
  admission: ((obj: Resource, current: Resource | undefined) => StatusCause[]) | undefined;

  /** Throws 422 with the admission's causes. */
  admit(obj: Resource, current: Resource | undefined): void {
    const causes = this.admission?.(obj, current) ?? [];
    if (causes.length) throw invalid(obj.kind, obj.metadata.name, causes);
  }

  private constructor(db: ReturnType<typeof openStoreFile>, data: StoreFile, opts: StoreOptions) {
    this.#historySize = opts.historySize ?? 10000;
    this.#maxEvents = opts.maxEvents ?? 1000;
    this.now = opts.now ?? Date.now;
    this.#rv = data.resourceVersion;
    this.#historyFloor = this.#rv;
    for (const [kind, byName] of Object.entries(data.objects)) {
      const m = new Map<string, Resource>();
      for (const [name, o] of Object.entries(byName)) m.set(name, deepFreeze(o));
      this.#objects.set(kind, m);
    }
    this.#persister = new Persister(db, () => this.#snapshot());
  }

  /**
   * Opens (or creates) the store file. A file that exists but cannot be read or parsed is
   * an error, and the file is left exactly as it is.
   */
  static async open(path: string, opts: StoreOptions = {}): Promise<Store> {
    await mkdir(dirname(path), { recursive: true });
    const db = openStoreFile(path);
    let exists = true;
    try { await access(path); } catch { exists = false; }
    let data: StoreFile;
    if (!exists) {
      data = { format: 'tidepool.store/v1', resourceVersion: 0, objects: {} };
    } else {
      try {
        const read = await db.read().then(() => db.data);
        if (!read || read.format !== 'tidepool.store/v1' || typeof read.resourceVersion !== 'number' || typeof read.objects !== 'object' || read.objects === null) {
          throw new Error('it is not a Tidepool store file (expected {"format": "tidepool.store/v1", ...})');
        }
        data = read;
      } catch (err) {
        throw new StoreOpenError(
          `store file ${path} cannot be read: ${(err as Error).message}. ` +
            'It was left untouched; repair it or move it away, then start again.',
        );
      }
    }
    const store = new Store(db, data, opts);
    if (!exists) await store.#persister.save();
    return store;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  get(kind: string, name: string): Resource | undefined {
    return this.#objects.get(kind)?.get(name);
  }

  list(kind: string, selector?: Selector): { items: Resource[]; resourceVersion: string } {
    const all = [...(this.#objects.get(kind)?.values() ?? [])];
    return { items: selector ? all.filter((o) => selector(o.metadata.labels)) : all, resourceVersion: String(this.#rv) };
  }

  /**
   * Runs `fn` against a consistent view and commits everything it did at once, or
   * nothing when it throws. Resolves when the change is on disk; watchers hear of it then.
   */
  async transaction<T>(fn: (tx: Tx) => T): Promise<T> {
    if (this.#failed) throw new ApiError(503, 'ServiceUnavailable', `the store cannot be written: ${this.#failed.message}`);
    const tx = new Tx(this, this.#rv);
    const result = fn(tx);
    if (tx.events.length === 0) return result;
    this.#pruneEvents(tx);
    for (const [key, o] of tx.changes) {
      const i = key.indexOf('/');
      const kind = key.slice(0, i), name = key.slice(i + 1);
      let m = this.#objects.get(kind);
      if (!m) this.#objects.set(kind, (m = new Map()));
      if (o) m.set(name, o); else m.delete(name);
    }
    this.#rv = tx.resourceVersion;
    try {
      await this.#persister.save();
    } catch (err) {
      // Memory now holds writes the disk does not: refuse every further write rather than
      // acknowledge something that a restart would lose.
      this.#failed = err as Error;
      throw new ApiError(503, 'ServiceUnavailable', `the store cannot be written: ${(err as Error).message}`);
    }
    this.#publish(tx.events);
    return result;
  }

  /** Keeps the newest `maxEvents` Events: the oldest are removed in the same transaction. */
  #pruneEvents(tx: Tx) {
    if (![...tx.changes.keys()].some((k) => k.startsWith('Event/'))) return;
    const events = tx.list('Event');
    if (events.length <= this.#maxEvents) return;
    events.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    for (const e of events.slice(0, events.length - this.#maxEvents)) tx.delete('Event', e.metadata.name);
  }

  create(obj: Resource) { return this.transaction((tx) => tx.create(obj)); }
  update(obj: Resource) { return this.transaction((tx) => tx.update(obj)); }
  updateStatus(kind: string, name: string, status: unknown, resourceVersion?: string) {
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
  watch(opts: { kind?: string; resourceVersion?: string }, fn: Listener): () => void {
    const entry = { kind: opts.kind, fn };
    if (opts.resourceVersion !== undefined && opts.resourceVersion !== '' && opts.resourceVersion !== '0') {
      const from = Number(opts.resourceVersion);
      if (!Number.isInteger(from) || from < 0) throw new ApiError(400, 'BadRequest', `invalid resourceVersion "${opts.resourceVersion}"`);
      if (from < this.#historyFloor) {
        throw gone(`too old resource version: ${from} (${this.#historyFloor}); list again and watch from the list's resourceVersion`);
      }
      for (const h of this.#history) if (h.rv > from && (!opts.kind || opts.kind === h.ev.object.kind)) fn(h.ev);
    }
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  #snapshot(): StoreFile {
    const objects: StoreFile['objects'] = {};
    for (const [kind, m] of this.#objects) objects[kind] = Object.fromEntries(m);
    return { format: 'tidepool.store/v1', resourceVersion: this.#rv, objects };
  }

  /** Waits until everything acknowledged so far is on disk. */
  async close(): Promise<void> {
    await this.#persister.flush();
    this.#listeners.clear();
  }
}
