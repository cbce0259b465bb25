// Building a revision: when a folder read may be applied (not while its files are still
// changing, not while git rewrites the tree), and the documents applied from it, each
// stamped with the file it came from.
import type { ParsedDocuments } from '../store/apply/index.js';
import type { Clock } from '../controller/queue/index.js';
import type { ParseCache } from './build.js';
import type { Debouncer } from './debounce.js';
import { findGitDir, gitBusy, type ManifestFile } from './files.js';
import { SYNC_FILE_ANNOTATION } from '../specs/index.js';

export interface SettleOptions {
  clock: Clock;
  debouncer: Debouncer;
  /** The longest attempts are dropped in a row because files keep changing. */
  maxWaitMs: number;
  /** The longest a change waits for git's index.lock to go. */
  gitLockWaitMs: number;
}

/** The verdict on a folder just read. */
export type Settled = 'apply' | 'changing' | 'gitBusy' | 'gitLockStale';

/** Decides whether a folder just read may be applied; it keeps the time since when it has been saying no. */
export class SettleGate {
  readonly #o: SettleOptions;
  /** When the first of the attempts dropped in a row (files changing while read) was. */
  #droppedSince: number | undefined;
  /** Since when git has been seen holding index.lock. */
  #gitBusySince: number | undefined;

  constructor(opts: SettleOptions) {
    this.#o = opts;
  }

  /**
   * Files changed while they were read: this picture may be half old, half new, and a run
   * follows when the folder is quiet (or the changes have waited their longest). Never for
   * longer than maxWait in a row, so that a folder that never stops changing is still
   * applied now and then.
   */
  changing(): boolean {
    const { clock, debouncer, maxWaitMs } = this.#o;
    const now = clock.now();
    if (debouncer.pending && !debouncer.overdue && now - (this.#droppedSince ??= now) < maxWaitMs) return true;
    this.#droppedSince = undefined;
    return false;
  }

  /**
   * git is rewriting the working tree (checkout, pull, merge): wait until it is done, for as
   * long as gitLockWaitMs (a crashed git leaves a stale index.lock behind).
   */
  async git(dir: string): Promise<Exclude<Settled, 'changing'>> {
    const { clock, gitLockWaitMs } = this.#o;
    if (!(await gitBusy(await findGitDir(dir)))) {
      this.#gitBusySince = undefined;
      return 'apply';
    }
    this.#gitBusySince ??= clock.now();
    if (clock.now() - this.#gitBusySince < gitLockWaitMs) return 'gitBusy';
    this.#gitBusySince = undefined;
    return 'gitLockStale';
  }
}

/**
 * The documents of `files` (parsed through the cache), each object stamped with
 * `tidepool/sync-file`. Objects that are not objects, or whose metadata or annotations are
 * not maps, are left as they are: validation reports them with their file and line.
 */
export function documentsOf(parsed: ParseCache, files: readonly ManifestFile[]): ParsedDocuments {
  const { documents } = parsed.parse(files);
  return {
    documents: documents.map((d) => {
      const stamped = d.file === undefined ? undefined : withFileAnnotation(d.object, d.file);
      return stamped ? { ...d, object: stamped } : d;
    }),
  };
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function withFileAnnotation(object: unknown, file: string): Record<string, unknown> | undefined {
  if (!isMap(object) || !isMap(object.metadata)) return undefined;
  const annotations = object.metadata.annotations;
  if (annotations !== undefined && !isMap(annotations)) return undefined;
  // A copy: the parse cache keeps the object as parsed, for the next revision.
  return { ...object, metadata: { ...object.metadata, annotations: { ...annotations, [SYNC_FILE_ANNOTATION]: file } } };
}
