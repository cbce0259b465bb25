// One store file on disk: a snapshot (`store.json`, the format the store always had) plus an
// append-only journal of the changes since (`store.json.journal`, one JSON line per batch of
// transactions). A write appends a few hundred bytes whatever the number of objects; the
// journal is folded into a new snapshot in the background once it outgrows the snapshot, so
// the cost per write stays flat. A batch that cannot be written (ENOSPC, EIO) is cut off the
// journal again, so the file never holds a half line after a failure the process survived;
// a half line left by a kill is the last line, never acknowledged, and is dropped at start.
// Each line names the resourceVersion of the line before it in this file (`prev`), so a
// journal with lines missing at its start or in its middle (cut by hand, a bad restore) is
// told apart from a shorter history at load (store/load.ts) instead of loading silently.
import { open, readFile, rename, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Resource, StoreFile } from './types.js';
import { errorMessage } from '../specs/errors.js';

/** One journal line: the resourceVersion after it, the objects written and the ones removed. */
export interface JournalEntry {
  rv: number;
  /**
   * The resourceVersion of the line before this one in the journal (or of the snapshot it
   * follows). Absent in lines written before it existed, which load unchecked.
   */
  prev?: number;
  put?: Resource[];
  del?: [kind: string, name: string][];
}

export interface LoadedFile {
  /** The snapshot, or undefined when there is none yet. */
  snapshot: StoreFile | undefined;
  /** Journal entries in order (the old journal of an interrupted compaction first). */
  entries: { entry: JournalEntry; file: string; line: number }[];
}

export class JournalFormatError extends Error {}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** Paths of the pieces of one store file. */
export function journalPaths(path: string) {
  return {
    snapshot: path,
    journal: `${path}.journal`,
    /** The journal being folded into a snapshot by a compaction that has not finished. */
    oldJournal: `${path}.journal.old`,
    /** Where a snapshot is written before it is renamed over the store file (lowdb's name too). */
    tmp: join(dirname(path), `.${basename(path)}.tmp`),
  };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseJournal(text: string, file: string, out: LoadedFile['entries']): { goodBytes: number } {
  let start = 0,
    line = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    line++;
    // No newline: the tail of an append a kill interrupted; it was never acknowledged.
    if (nl < 0) break;
    const raw = text.slice(start, nl);
    let entry: JournalEntry;
    try {
      entry = JSON.parse(raw) as JournalEntry;
    } catch (err) {
      throw new JournalFormatError(`${file}, line ${line}: not valid JSON (${errorMessage(err)})`);
    }
    if (
      entry === null ||
      typeof entry !== 'object' ||
      !Number.isSafeInteger(entry.rv) ||
      (entry.prev !== undefined && !Number.isSafeInteger(entry.prev)) ||
      (entry.put !== undefined && !Array.isArray(entry.put)) ||
      (entry.del !== undefined && !Array.isArray(entry.del))
    ) {
      throw new JournalFormatError(
        `${file}, line ${line}: not a journal entry (expected {"rv": <integer>, "put": [...], "del": [...]})`,
      );
    }
    out.push({ entry, file, line });
    start = nl + 1;
  }
  return { goodBytes: Buffer.byteLength(text.slice(0, start)) };
}

/** Reads snapshot and journals without changing anything (the caller validates first). */
export async function loadFile(path: string): Promise<LoadedFile & { journalGoodBytes: number; journalBytes: number }> {
  const p = journalPaths(path);
  const snapText = await readIfExists(p.snapshot);
  let snapshot: StoreFile | undefined;
  if (snapText !== undefined) {
    try {
      snapshot = JSON.parse(snapText) as StoreFile;
    } catch (err) {
      throw new JournalFormatError(`not valid JSON (${errorMessage(err)})`);
    }
  }
  const entries: LoadedFile['entries'] = [];
  const old = await readIfExists(p.oldJournal);
  if (old !== undefined) {
    // A compaction was interrupted; its old journal is complete (it was closed before).
    parseJournal(old, p.oldJournal, entries);
  }
  const cur = await readIfExists(p.journal);
  let journalGoodBytes = 0,
    journalBytes = 0;
  if (cur !== undefined) {
    journalBytes = Buffer.byteLength(cur);
    journalGoodBytes = parseJournal(cur, p.journal, entries).goodBytes;
  }
  return { snapshot, entries, journalGoodBytes, journalBytes };
}

/** The resourceVersion the next line appended to this file follows (its `prev`). */
export function lastRecordedRv(file: LoadedFile): number {
  const snap = (file.snapshot as { resourceVersion?: unknown } | undefined)?.resourceVersion;
  return Math.max(Number.isSafeInteger(snap) ? (snap as number) : 0, file.entries.at(-1)?.entry.rv ?? 0);
}

/** Snapshot source for a compaction: taken synchronously, serialized piece by piece. */
export interface SnapshotSource {
  rv: number;
  /** Kind → objects (by name), as of rv. The objects are frozen, so holding them is enough. */
  objects: [kind: string, entries: [name: string, obj: Resource][]][];
  json: (o: Resource) => string;
}

/** One line to append: its resourceVersion and what follows it (`,"put":[...]`, `,"del":[...]`, or nothing). */
export interface JournalLine {
  rv: number;
  body: string;
}

export interface JournalOptions {
  /** fdatasync after every batch (survives power loss, not only a kill). Defaults to true. */
  sync?: boolean;
  /** Fold the journal into a snapshot once it is larger than this and than the snapshot. Defaults to 1 MiB. */
  compactBytes?: number;
}

/**
 * The writer. Appends are serialized by the caller (the Persister runs one at a time);
 * compaction runs beside them.
 */
export class Journal {
  readonly #p: ReturnType<typeof journalPaths>;
  readonly #sync: boolean;
  readonly #compactBytes: number;
  #fh: FileHandle | undefined;
  /** Bytes of the journal known to be whole lines. */
  #size: number;
  /** A failed append may have left bytes past #size: cut them before the next append. */
  #torn: boolean;
  #snapshotBytes = 0;
  /** resourceVersion of the last line on disk (or of the snapshot when there is none): the next line's `prev`. */
  #lastRv: number;
  #compacting: Promise<void> | undefined;
  /** Error of the last compaction, cleared by the next one that works. */
  compactionError: Error | undefined;

  constructor(
    path: string,
    state: { journalGoodBytes: number; journalBytes: number; snapshotBytes: number; lastRv: number },
    opts: JournalOptions = {},
  ) {
    this.#p = journalPaths(path);
    this.#sync = opts.sync ?? true;
    this.#compactBytes = opts.compactBytes ?? 2 ** 20;
    this.#size = state.journalGoodBytes;
    this.#torn = state.journalBytes > state.journalGoodBytes;
    this.#snapshotBytes = state.snapshotBytes;
    this.#lastRv = state.lastRv;
  }

  get path(): string {
    return this.#p.snapshot;
  }

  /** Removes what an interrupted write left: a snapshot temp file, a half journal line. */
  async cleanLeftovers(): Promise<void> {
    await unlink(this.#p.tmp).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    if (this.#torn) {
      await truncate(this.#p.journal, this.#size);
      this.#torn = false;
    }
  }

  /** Opens the journal for appending now (a write later needs no new file descriptor). */
  async openForAppend(): Promise<void> {
    await this.#handle();
  }

  async #handle(): Promise<FileHandle> {
    this.#fh ??= await open(this.#p.journal, 'a');
    return this.#fh;
  }

  /** Appends one batch of lines, chained by `prev`. On failure the journal is cut back to where it was. */
  async append(lines: JournalLine[]): Promise<void> {
    let prev = this.#lastRv;
    let text = '';
    for (const l of lines) {
      text += `{"rv":${l.rv},"prev":${prev}${l.body}}\n`;
      prev = l.rv;
    }
    const fh = await this.#handle();
    if (this.#torn) {
      await fh.truncate(this.#size);
      this.#torn = false;
    }
    const buf = Buffer.from(text, 'utf8');
    try {
      let off = 0;
      while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
      if (this.#sync) await fh.datasync();
    } catch (err) {
      this.#torn = true;
      // Best effort now; if it fails too, the next append tries again before writing.
      await fh.truncate(this.#size).then(
        () => {
          this.#torn = false;
        },
        () => {},
      );
      throw err;
    }
    this.#size += buf.length;
    this.#lastRv = prev;
  }

  get needsCompaction(): boolean {
    return !this.#compacting && this.#size > Math.max(this.#compactBytes, this.#snapshotBytes);
  }

  /**
   * Starts a compaction of `source` (the state as of everything appended so far). Must be
   * called between appends: the journal is set aside here, synchronously with the source.
   */
  async rotate(): Promise<'rotated' | 'old-exists'> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
    try {
      await stat(this.#p.oldJournal);
      // A previous compaction failed after its rotation: fold both journals this time.
      return 'old-exists';
    } catch {
      /* none: rotate */
    }
    await rename(this.#p.journal, this.#p.oldJournal).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.#size = 0;
    return 'rotated';
  }

  /** Writes the snapshot (yielding to the event loop between pieces) and drops folded journals. */
  compact(source: SnapshotSource, both: boolean): Promise<void> {
    this.#compacting = (async () => {
      try {
        const bytes = await this.#writeSnapshot(source);
        await unlink(this.#p.oldJournal).catch(() => {});
        if (both) {
          // Everything in the current journal is in the snapshot too (appends waited).
          await truncate(this.#p.journal, 0).catch(() => {});
          this.#size = 0;
        }
        this.#snapshotBytes = bytes;
        this.compactionError = undefined;
      } catch (err) {
        this.compactionError = err as Error;
        await unlink(this.#p.tmp).catch(() => {});
      } finally {
        this.#compacting = undefined;
      }
    })();
    return this.#compacting;
  }

  async #writeSnapshot(s: SnapshotSource): Promise<number> {
    const fh = await open(this.#p.tmp, 'w');
    let bytes = 0;
    try {
      let chunk = `{"format":"tidepool.store/v1","resourceVersion":${s.rv},"objects":{`;
      const flush = async () => {
        const buf = Buffer.from(chunk, 'utf8');
        chunk = '';
        let off = 0;
        while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
        bytes += buf.length;
        await yieldToLoop();
      };
      for (let k = 0; k < s.objects.length; k++) {
        const [kind, items] = s.objects[k]!;
        chunk += `${k ? ',' : ''}${JSON.stringify(kind)}:{`;
        for (let i = 0; i < items.length; i++) {
          const [name, o] = items[i]!;
          chunk += `${i ? ',' : ''}${JSON.stringify(name)}:${s.json(o)}`;
          if (chunk.length > 256 * 1024) await flush();
        }
        chunk += '}';
      }
      chunk += '}}';
      await flush();
      if (this.#sync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.#p.tmp, this.#p.snapshot);
    return bytes;
  }

  /** Waits for a compaction in progress. */
  async idle(): Promise<void> {
    while (this.#compacting) await this.#compacting;
  }

  async close(): Promise<void> {
    await this.idle();
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }
}
