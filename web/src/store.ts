// Follows one kind live: list it, then watch from the list's resourceVersion over Server-Sent Events.
// - The browser's EventSource resumes a dropped stream by itself, sending Last-Event-ID.
// - When the stream cannot be resumed (410 Gone: history too old, or any non-200 reply), the
//   EventSource closes: the store lists again and watches from the new resourceVersion, with backoff.
// No polling: between changes nothing is sent.
import { API_BASE } from './api.js';
import { errorMessage } from '../../specs/errors.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface StoredObject {
  metadata: { name: string; resourceVersion?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** The parts of the EventSource constructor the store uses (a fake in tests). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, fn: (ev: MessageEvent) => void): void;
  close(): void;
}
export type EventSourceCtor = new (url: string) => EventSourceLike;

export interface StoreOptions {
  base?: string;
  fetch?: typeof fetch;
  EventSource?: EventSourceCtor;
  /** Delays before the n-th consecutive re-list, in ms; the last one repeats. */
  retryDelays?: readonly number[];
}

const CLOSED = 2;

function rvNumber(o: StoredObject | undefined): number {
  return Number(o?.metadata.resourceVersion ?? NaN);
}

/**
 * The live set of one kind's objects, by name. Dispatches `change` whenever the items or the
 * connection state change.
 */
export class ResourceStore<T extends StoredObject> extends EventTarget {
  readonly plural: string;
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #ES: EventSourceCtor;
  readonly #delays: readonly number[];
  readonly #items = new Map<string, T>();
  #rv = '';
  #state: ConnectionState = 'connecting';
  #loaded = false;
  #running = false;
  /** Bumped by start and stop: a list that was started before is dropped when it returns. */
  #generation = 0;
  #attempt = 0;
  #es: EventSourceLike | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #error: string | undefined;

  constructor(plural: string, opts: StoreOptions = {}) {
    super();
    this.plural = plural;
    this.#base = opts.base ?? API_BASE;
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.#ES = opts.EventSource ?? (globalThis.EventSource as unknown as EventSourceCtor);
    this.#delays = opts.retryDelays ?? [500, 1000, 2000, 4000, 8000];
  }

  /** The objects, in no particular order. */
  get items(): T[] {
    return [...this.#items.values()];
  }
  get(name: string): T | undefined {
    return this.#items.get(name);
  }
  /** live once a watch is open; reconnecting while a dropped stream or a failed list is retried. */
  get state(): ConnectionState {
    return this.#state;
  }
  /** True once a first list arrived. */
  get loaded(): boolean {
    return this.#loaded;
  }
  /** The last resourceVersion seen (from the list or a watch event). */
  get resourceVersion(): string {
    return this.#rv;
  }
  /** Why the last list or watch failed, if it did. */
  get error(): string | undefined {
    return this.#error;
  }

  /** Lists, then watches; safe to call again after stop(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#generation++;
    void this.#list();
  }

  /** Closes the watch and cancels retries; the items stay until the next start lists again. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#generation++;
    this.#closeWatch();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#attempt = 0;
    this.#setState('connecting');
  }

  /** Takes in an object the API returned (say from a PATCH) unless the store already has a newer one. */
  apply(obj: T): void {
    const cur = this.#items.get(obj.metadata.name);
    if (cur && rvNumber(cur) > rvNumber(obj)) return;
    this.#items.set(obj.metadata.name, obj);
    this.#changed();
  }

  #changed(): void {
    this.dispatchEvent(new Event('change'));
  }

  #setState(s: ConnectionState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.#changed();
  }

  async #list(): Promise<void> {
    this.#timer = undefined;
    const generation = this.#generation;
    try {
      const res = await this.#fetch(`${this.#base}/${this.plural}`, { headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`listing ${this.plural}: HTTP ${res.status}`);
      const list = (await res.json()) as { metadata: { resourceVersion: string }; items: T[] };
      if (generation !== this.#generation) return;
      this.#items.clear();
      for (const o of list.items) this.#items.set(o.metadata.name, o);
      this.#rv = list.metadata.resourceVersion;
      this.#loaded = true;
      this.#error = undefined;
      this.#changed();
      this.#watch();
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#error = errorMessage(err);
      this.#retry();
    }
  }

  #watch(): void {
    const url = `${this.#base}/${this.plural}?watch=true&resourceVersion=${encodeURIComponent(this.#rv)}`;
    const es = new this.#ES(url);
    this.#es = es;
    es.onopen = () => {
      if (this.#es !== es) return;
      this.#attempt = 0;
      this.#error = undefined;
      this.#setState('live');
    };
    const onMessage = (m: MessageEvent) => {
      if (this.#es === es) this.#onEvent(m);
    };
    es.onmessage = onMessage;
    // A server that names its events gets the same handling.
    for (const t of ['ADDED', 'MODIFIED', 'DELETED', 'ERROR']) es.addEventListener(t, onMessage);
    es.onerror = () => {
      if (this.#es !== es) return;
      if (es.readyState === CLOSED) {
        // Not resumable (410 Gone, 401, a proxy's 502...): list again.
        this.#error = `watching ${this.plural} failed`;
        this.#closeWatch();
        this.#retry();
      } else {
        // The browser reconnects by itself and resumes from Last-Event-ID.
        this.#setState('reconnecting');
      }
    };
  }

  #onEvent(m: MessageEvent): void {
    let ev: WatchEvent<T>;
    try {
      ev = JSON.parse(String(m.data)) as WatchEvent<T>;
    } catch {
      return;
    }
    const type = ev.type ?? m.type;
    if (type === 'ERROR') {
      // A Status in the stream (Kubernetes style, e.g. 410 Gone): list again at once.
      this.#closeWatch();
      this.#attempt = 0;
      this.#retry(0);
      return;
    }
    const rv = m.lastEventId || ev.object?.metadata?.resourceVersion;
    if (rv) this.#rv = rv;
    if (type === 'BOOKMARK' || !ev.object?.metadata?.name) return;
    const name = ev.object.metadata.name;
    if (type === 'DELETED') this.#items.delete(name);
    else this.#items.set(name, ev.object);
    this.#changed();
  }

  #closeWatch(): void {
    const es = this.#es;
    this.#es = undefined;
    es?.close();
  }

  #retry(delay?: number): void {
    if (!this.#running) return;
    this.#setState('reconnecting');
    const d = delay ?? this.#delays[Math.min(this.#attempt, this.#delays.length - 1)] ?? 1000;
    this.#attempt++;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#list(), d);
  }
}

/** live when every store is, reconnecting when any is, else connecting. */
export function overallState(stores: readonly ResourceStore<StoredObject>[]): ConnectionState {
  if (stores.some((s) => s.state === 'reconnecting')) return 'reconnecting';
  if (stores.length > 0 && stores.every((s) => s.state === 'live')) return 'live';
  return 'connecting';
}
