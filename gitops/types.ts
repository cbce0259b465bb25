// The public contract of a folder sync: what starts one, what it reports through, and the
// handle it returns. The parts (watcher, revision, outcome, report, ownership, sync) use
// these types; callers import them from index.ts.
import type { StoreClient } from '../store/index.js';
import type { Clock } from '../controller/queue/index.js';
import type { ApplyFn } from './apply.js';

export interface SyncLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SyncEvent {
  /** The Sync object (uid when it is known). */
  regarding: { kind: string; name: string; uid?: string };
  reason: string;
  note: string;
  type: 'Normal' | 'Warning';
}

export interface SyncOptions {
  store: StoreClient;
  /** The Sync object's name: a DNS label. */
  name: string;
  /** The folder; made absolute. It need not exist yet. */
  dir: string;
  /**
   * The namespace its objects go into; an object naming another is refused (the sync of a
   * person's folder cannot write anyone else's). Defaults to `default`.
   */
  namespace?: string;
  /** Self-heal: the folder is applied again this often even without file events. Defaults to 60000. */
  intervalMs?: number;
  /** Quiet period after the last file event before the folder is read. Defaults to 250. */
  debounceMs?: number;
  /** The longest a change waits while events keep coming. Defaults to 5000 (at least debounceMs). */
  maxWaitMs?: number;
  /**
   * While git holds `index.lock` in the repository the folder belongs to (a checkout, pull or
   * merge under way), nothing is applied, for at most this long. Defaults to 30000.
   */
  gitLockWaitMs?: number;
  /** How often the folder itself is looked at (deleted, made again, replaced). Defaults to 1000. */
  folderCheckMs?: number;
  /** A folder with no objects may prune everything this sync applied. Defaults to false. */
  allowEmptyPrune?: boolean;
  /**
   * An object is pruned only after missing from the folder for this long, and after the folder
   * was read again (an editor's save leaves a file missing for a moment). Defaults to
   * PRUNE_SETTLE_MS (5000).
   */
  pruneSettleMs?: number;
  /** Most manifest files one revision may hold. Defaults to MAX_MANIFEST_FILES (5000). */
  maxFiles?: number;
  /** Most bytes the manifest files of one revision may hold together. Defaults to MAX_MANIFEST_BYTES (32 MiB). */
  maxBytes?: number;
  logger?: SyncLogger;
  recordEvent?: (ev: SyncEvent) => Promise<void>;
  /** The apply path; defaults to `applyDocuments` of store/apply (what `tidepool apply` uses). */
  apply?: ApplyFn;
  /** Timers and "now" for the debounce, the waits, the retries and the self-heal. Defaults to realClock. */
  clock?: Clock;
}

export interface SyncHandle {
  /** Stops watching; waits for an apply in progress. Objects applied stay as they are. */
  stop(): Promise<void>;
  /** Reads and applies the folder now (even when unchanged), and resolves when that is done. */
  resync(): Promise<void>;
}
