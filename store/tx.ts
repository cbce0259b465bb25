// One transaction of the store: what it reads (the durable state plus the transactions in
// flight, through a View) and the changes it stages. The generic Kubernetes rules live here
// (uid, generation, resourceVersion preconditions, finalizers, status apart from spec); a
// kind's own rules are its strategy (store/strategies), called at each step.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { keyOf, kindByName, siblingKey, sizeCauses, type Port } from '../specs/index.js';
import { alreadyExists, badRequest, conflict, invalid, notFound } from './errors.js';
import type { Selector } from './selector.js';
import type { KindStrategy, StrategyTx } from './strategies/index.js';
import { asKind, asKindList, isKind, type ObjectOf, type Resource, type StatusArg, type WatchEvent } from './types.js';

// The last second formatted: a burst of writes stamps the same second thousands of times.
const lastStamp = { second: Number.NaN, text: '' };

/** RFC 3339 UTC with second precision, as Kubernetes writes timestamps. */
export function timestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastStamp.second) {
    // Formatted first: a time toISOString refuses throws every time, never leaves a stale text.
    lastStamp.text = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
    lastStamp.second = second;
  }
  return lastStamp.text;
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const jsonClone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const plural = (kind: string) => kindByName(kind)?.plural ?? `${kind.toLowerCase()}s`;

/** What a transaction reads: the durable state plus the transactions still being written. */
export interface View {
  get(kind: string, name: string): Resource | undefined;
  list(kind: string): Iterable<Resource>;
  /** Names of Ports that may name workspace `ws` (durable or in flight); callers check each. */
  portCandidates(ws: string): Iterable<string>;
  /** Keeps the JSON of a stored object (the journal writes it; serialized once). */
  remember(o: Resource, json: string): void;
  now(): number;
  /** The server's admission rules (Store.admission): throws Invalid naming the violations. */
  admit(
    obj: Resource,
    current: Resource | undefined,
    lookup?: (kind: string, name: string) => Resource | undefined,
  ): void;
  /** The rules of a kind (store/strategies). */
  strategyOf(kind: string): KindStrategy;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** A resourceVersion a client sent: decimal digits only (no `0x10`, `1e3` or `" 5"`). */
export function checkResourceVersion(rv: string, field = 'resourceVersion'): void {
  if (!DECIMAL.test(rv) || !Number.isSafeInteger(Number(rv))) {
    throw badRequest(`invalid ${field} "${rv}": must be a decimal integer`, [
      {
        field,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(rv)}: must be a decimal integer`,
      },
    ]);
  }
}

/** One atomic unit of change. All methods are synchronous; nothing is visible until commit. */
export class Tx implements StrategyTx {
  readonly #store: View;
  /** kind/name → new object, or null when removed. */
  readonly changes = new Map<string, Resource | null>();
  readonly events: WatchEvent[] = [];
  #rv: number;

  constructor(store: View, rv: number) {
    this.#store = store;
    this.#rv = rv;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** `key`: the object's key (specs/object-key.ts): its name in the default namespace, else namespace/name. */
  get<K extends string>(kind: K, key: string): ObjectOf<K> | undefined {
    const at = `${kind}/${key}`;
    return asKind<K>(this.changes.has(at) ? (this.changes.get(at) ?? undefined) : this.#store.get(kind, key));
  }

  list<K extends string>(kind: K, selector?: Selector): ObjectOf<K>[] {
    const out = new Map<string, Resource>();
    for (const o of this.#store.list(kind)) out.set(keyOf(o), o);
    for (const [key, o] of this.#changesOf(kind)) {
      if (o) out.set(key, o);
      else out.delete(key);
    }
    const items = asKindList<K>([...out.values()]);
    return selector ? items.filter((o) => selector(o.metadata.labels)) : items;
  }

  /** This transaction's changes by kind (key → object or null), kept beside `changes`. */
  readonly #byKind = new Map<string, Map<string, Resource | null>>();
  #changesOf(kind: string): Map<string, Resource | null> {
    let m = this.#byKind.get(kind);
    if (!m) this.#byKind.set(kind, (m = new Map()));
    return m;
  }

  /**
   * The Ports naming the workspace of key `ws` (in its namespace), as this transaction sees
   * them. Found through the store's index, so that a transaction creating thousands of
   * Workspaces (a big apply) does not walk every Port for each one.
   */
  portsOf(ws: string): Port[] {
    const namesWs = (p: Port) => siblingKey(keyOf(p), p.spec.workspace) === ws;
    const keys = new Set(this.#store.portCandidates(ws));
    for (const [key, o] of this.#changesOf('Port')) if (o && isKind(o, 'Port') && namesWs(o)) keys.add(key);
    const out: Port[] = [];
    for (const key of keys) {
      const p = this.get('Port', key);
      if (p && namesWs(p)) out.push(p);
    }
    return out;
  }

  /** Runs the strategies' last step (beforeCommit) for every kind this transaction changed. */
  prepareCommit(): void {
    for (const [kind, changes] of [...this.#byKind])
      if (changes.size) this.#store.strategyOf(kind).beforeCommit?.(this);
  }

  #put(type: WatchEvent['type'], obj: Resource, remove = false): Resource {
    const stored = deepFreeze(obj);
    if (!remove) {
      const json = JSON.stringify(stored);
      const causes = sizeCauses(stored, json);
      if (causes.length) throw invalid(obj.kind, obj.metadata.name, causes);
      this.#store.remember(stored, json);
    }
    const key = keyOf(obj);
    const previous = type === 'MODIFIED' ? this.get(obj.kind, key) : undefined;
    this.changes.set(`${obj.kind}/${key}`, remove ? null : stored);
    this.#changesOf(obj.kind).set(key, remove ? null : stored);
    this.events.push(previous ? { type, object: stored, previous } : { type, object: stored });
    return stored;
  }

  #nextRv(): string {
    return String(++this.#rv);
  }

  #nowText: string | undefined;
  #now(): string {
    return (this.#nowText ??= timestamp(this.#store.now()));
  }

  #checkRv(current: Resource, expected: string | undefined) {
    // An empty resourceVersion is no precondition (as in Kubernetes).
    if (expected !== undefined && expected !== '') checkResourceVersion(expected, 'metadata.resourceVersion');
    if (expected !== undefined && expected !== '' && expected !== current.metadata.resourceVersion) {
      throw conflict(
        plural(current.kind),
        current.metadata.name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
  }

  /** Creates an object. `obj` is a validated manifest; server-owned metadata is set here. */
  create<T extends Resource>(obj: T): T {
    if (this.get(obj.kind, keyOf(obj))) throw alreadyExists(plural(obj.kind), keyOf(obj));
    const { namespace, labels, annotations, finalizers, managedFields } = obj.metadata;
    // A JSON round trip: stored objects are JSON, and it is several times faster than structuredClone.
    const o = jsonClone<Resource>({
      ...obj,
      metadata: {
        name: obj.metadata.name,
        ...(namespace ? { namespace } : {}),
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
    this.#store.admit(o, undefined, (k, n) => this.get(k, n));
    const strategy = this.#store.strategyOf(o.kind);
    strategy.prepareCreate?.(this, o);
    // A kind with a status starts with an empty one; the others (Event) have none.
    if (kindByName(o.kind)?.statusSchema) o.status = {};
    o.metadata.resourceVersion = this.#nextRv();
    const stored = this.#put('ADDED', o);
    strategy.afterCreate?.(this, stored);
    return stored as T;
  }

  /** For kind strategies: a server-side change of an object (a copy, with a new resourceVersion). */
  rewrite<T extends Resource>(obj: T, change: (next: T) => void): void {
    const next = structuredClone(obj);
    change(next);
    next.metadata.resourceVersion = this.#nextRv();
    this.#put('MODIFIED', next);
  }

  /**
   * Replaces labels, annotations, finalizers and spec (status is kept: only updateStatus
   * writes it). `obj.metadata.resourceVersion`, when set, must be the current one.
   * An update that changes nothing writes nothing.
   */
  update<T extends Resource>(obj: T): T {
    const cur = this.get(obj.kind, keyOf(obj));
    if (!cur) throw notFound(plural(obj.kind), keyOf(obj));
    this.#checkRv(cur, obj.metadata.resourceVersion);
    const next = structuredClone(cur);
    const { labels, annotations, finalizers } = obj.metadata;
    for (const [field, value] of [
      ['labels', labels],
      ['annotations', annotations],
    ] as const) {
      if (value && Object.keys(value).length) (next.metadata as any)[field] = structuredClone(value);
      else delete next.metadata[field];
    }
    if (finalizers?.length) {
      const added = finalizers.filter((f) => !cur.metadata.finalizers?.includes(f));
      if (cur.metadata.deletionTimestamp && added.length) {
        throw invalid(cur.kind, cur.metadata.name, [
          {
            field: 'metadata.finalizers',
            reason: 'FieldValueForbidden',
            message: `Forbidden: no new finalizers can be added while the object is being deleted (${added.join(', ')})`,
          },
        ]);
      }
      next.metadata.finalizers = [...finalizers];
    } else delete next.metadata.finalizers;
    // Given: the writer's view of ownership (store/ownership.ts); absent: kept as it is.
    if (obj.metadata.managedFields !== undefined) {
      if (obj.metadata.managedFields.length) next.metadata.managedFields = structuredClone(obj.metadata.managedFields);
      else delete next.metadata.managedFields;
    }
    const specChanged = obj.spec !== undefined && !isDeepStrictEqual(obj.spec, cur.spec);
    if (specChanged) this.#store.admit(obj, cur, (k, n) => this.get(k, n));
    if (specChanged) {
      next.spec = structuredClone(obj.spec);
      next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
    }
    for (const field of Object.keys(obj)) {
      if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(field))
        (next as any)[field] = structuredClone(obj[field]);
    }
    this.#store.strategyOf(next.kind).prepareUpdate?.(this, next, specChanged);
    if (isDeepStrictEqual(next, cur)) return cur as T;
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) return this.#remove(next) as T;
    next.metadata.resourceVersion = this.#nextRv();
    return this.#put('MODIFIED', next) as T;
  }

  /** Writes status only; unchanged status writes nothing. */
  updateStatus<K extends string>(kind: K, name: string, status: StatusArg<K>, resourceVersion?: string): ObjectOf<K> {
    const cur: Resource | undefined = this.get(kind, name);
    if (!cur) throw notFound(plural(kind), name);
    this.#checkRv(cur, resourceVersion);
    if (isDeepStrictEqual(cur.status, status)) return cur as ObjectOf<K>;
    // Only status and the resourceVersion change: the rest of the stored object is frozen and
    // is shared, not copied (a controller writes status several times per workspace).
    const next = {
      ...cur,
      metadata: { ...cur.metadata, resourceVersion: this.#nextRv() },
      status: structuredClone(status),
    } as Resource;
    return this.#put('MODIFIED', next) as ObjectOf<K>;
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
      throw conflict(
        plural(kind),
        name,
        `the UID in the precondition (${opts.uid}) does not match the UID in record (${cur.metadata.uid})`,
      );
    }
    if (cur.metadata.finalizers?.length) {
      if (cur.metadata.deletionTimestamp) return cur;
      const next = structuredClone(cur);
      next.metadata.deletionTimestamp = this.#now();
      next.metadata.resourceVersion = this.#nextRv();
      return this.#put('MODIFIED', next);
    }
    return this.#remove(cur);
  }

  #remove(obj: Resource): Resource {
    const last = structuredClone(obj);
    last.metadata.deletionTimestamp ??= this.#now();
    last.metadata.resourceVersion = this.#nextRv();
    const removed = this.#put('DELETED', last, true);
    this.#store.strategyOf(obj.kind).afterRemove?.(this, obj);
    return removed;
  }
}
