// The store's two files on disk: the objects (`store.json`) and the Events
// (`store.events.json`, disposable: one that cannot be loaded is set aside, not fatal), each
// a snapshot plus a journal (store/journal.ts), written by one group-committing Persister. At
// open it reads both (nothing is changed on disk until the store is built), moves the Events
// of a store written before they had a file of their own, and removes what an interrupted
// write left.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '../specs/errors.js';
import {
  Journal,
  lastRecordedRv,
  loadFile,
  type JournalLine,
  type JournalOptions,
  type LoadedFile,
  type SnapshotSource,
} from './journal.js';
import { StoreOpenError, buildState, type LoadedState } from './load.js';
import { Persister } from './persister.js';
import { setAside } from './set-aside.js';
import type { Resource } from './types.js';

/** Where the Events of a store live: a file of their own beside it (store.json → store.events.json). */
export const eventsPath = (path: string) => path.replace(/(\.json)?$/, '.events.json');

const EVENT = 'Event';

type File = Awaited<ReturnType<typeof loadFile>>;

/** What `StoreFiles.read` found: the state to serve, and what the files need to be written again. */
export interface ReadFiles {
  path: string;
  state: LoadedState;
  main: File;
  events: File;
  /** Events were found in the store file (an older store): they are moved to their own file at open. */
  migrate: boolean;
}

export class StoreFiles {
  readonly #main: Journal;
  readonly #events: Journal;
  readonly #persister: Persister;
  /** The JSON of stored objects, serialized once (by the transaction that wrote them). */
  readonly #json = new WeakMap<object, string>();
  /** The store's durable objects, for snapshots. */
  readonly #durable: () => LoadedState;

  /**
   * Reads both files, or throws StoreOpenError naming the file, the object and the field.
   * An Events file that cannot be loaded is set aside (with a warning) instead.
   */
  static async read(
    path: string,
    opts: { now?: () => number; warn?: (message: string, fields: Record<string, unknown>) => void },
  ): Promise<ReadFiles> {
    await mkdir(dirname(path), { recursive: true });
    const main = await readOrExplain(path);
    const a = buildState(path, main);
    const { file: events, state: b } = await readEvents(path, opts);
    // A store written before Events had a file of their own: they move over (at open), and
    // what the Events file says wins over the store file's old copies.
    const old = a.objects.get(EVENT);
    const migrate = (old?.size ?? 0) > 0;
    if (old && migrate) b.objects.set(EVENT, new Map([...old, ...(b.objects.get(EVENT) ?? [])]));
    a.objects.delete(EVENT);
    for (const [kind] of b.objects)
      if (kind !== EVENT)
        throw new StoreOpenError(
          `store file ${eventsPath(path)} cannot be loaded: it holds ${kind} objects; only Events belong there. It was left untouched.`,
        );
    const state = { rv: Math.max(a.rv, b.rv), objects: new Map([...a.objects, ...b.objects]) };
    return { path, state, main, events, migrate };
  }

  constructor(
    read: ReadFiles,
    opts: JournalOptions | undefined,
    durable: () => LoadedState,
    onFailure: (err: Error) => void,
  ) {
    const journal = (path: string, f: File) =>
      new Journal(path, { ...f, snapshotBytes: snapshotBytes(f), lastRv: lastRecordedRv(f) }, opts);
    this.#main = journal(read.path, read.main);
    this.#events = journal(eventsPath(read.path), read.events);
    this.#durable = durable;
    this.#persister = new Persister([this.#main, this.#events], (j) => this.#snapshot(j), onFailure);
  }

  /** Makes the files ready for appends: leftovers removed, a new or migrated store written out. */
  async open(read: ReadFiles): Promise<void> {
    for (const j of [this.#main, this.#events]) await j.cleanLeftovers();
    for (const j of [this.#main, this.#events]) await j.openForAppend();
    // Events file first: a stop between the two leaves them in both, which loads the same.
    // A new store (or one whose snapshot went missing) is written out at once.
    const now = read.migrate ? [this.#events, this.#main] : read.main.snapshot ? [] : [this.#main];
    for (const j of now) {
      await j.compact(this.#snapshot(j), true);
      if (j.compactionError) throw j.compactionError;
    }
  }

  /** Keeps the JSON of a stored object (the journal writes it; serialized once). */
  remember(o: Resource, json: string): void {
    this.#json.set(o, json);
  }

  /** Appends the changes of a transaction; `onDurable` runs once they are on disk, in commit order. */
  save(rv: number, changes: ReadonlyMap<string, Resource | null>, onDurable: () => void): Promise<void> {
    return this.#persister.save(this.#journalLines(rv, changes), onDurable);
  }

  /** Appends an empty line (no change) to see whether the disk takes writes again. */
  probe(rv: number, onDurable: () => void): Promise<void> {
    return this.#persister.save(new Map([[this.#main, { rv, body: '' }]]), onDurable);
  }

  /** Waits until everything acknowledged so far is on disk, and closes the files. */
  async close(): Promise<void> {
    await this.#persister.flush();
    await this.#main.close();
    await this.#events.close();
  }

  #journalLines(rv: number, changes: ReadonlyMap<string, Resource | null>): Map<Journal, JournalLine> {
    const parts = new Map<Journal, { put: Resource[]; del: [string, string][] }>();
    for (const [key, o] of changes) {
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
      out.set(j, { rv, body });
    }
    return out;
  }

  #objectJson(o: Resource): string {
    let s = this.#json.get(o);
    if (s === undefined) this.#json.set(o, (s = JSON.stringify(o)));
    return s;
  }

  #snapshot(j: Journal): SnapshotSource {
    const { rv, objects } = this.#durable();
    const kinds = [...objects].filter(([kind]) => (j === this.#events) === (kind === EVENT));
    return {
      rv,
      objects: kinds.map(([kind, m]) => [kind, [...m]]),
      json: (o) => this.#objectJson(o),
    };
  }
}

const snapshotBytes = (f: LoadedFile) => (f.snapshot ? JSON.stringify(f.snapshot).length : 0);

async function readOrExplain(p: string): Promise<File> {
  try {
    return await loadFile(p);
  } catch (err) {
    throw new StoreOpenError(
      `store file ${p} cannot be read: ${errorMessage(err)}. ` +
        'It was left untouched; repair it or move it away, then start again.',
    );
  }
}

/**
 * The Events file, or none when it cannot be loaded: it is set aside (renamed, with a
 * warning naming the files), since Events are disposable and must not block a start.
 */
async function readEvents(
  path: string,
  opts: { now?: () => number; warn?: (message: string, fields: Record<string, unknown>) => void },
): Promise<{ file: File; state: LoadedState }> {
  const p = eventsPath(path);
  try {
    const file = await readOrExplain(p);
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
