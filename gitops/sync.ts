// One folder sync, driven by the controller's own machinery: a rate-limited work queue of
// one key (the sync's name) and an injected clock. A file event, the self-heal tick, a
// retry and resync() all add the key; the queue merges adds made while a run is under way
// into one more run, and one worker runs them one at a time. Each run reads the folder
// afresh and applies it whole through the `tidepool apply` path (see README.md).
import { resolve } from 'node:path';
import { DNS_LABEL, type SyncSpec } from '../specs/index.js';
import { type Clock, ExponentialBackoff, RateLimitingQueue, realClock, type Timer } from '../controller/queue/index.js';
import { type ApplyFn, defaultApply } from './apply.js';
import { ParseCache } from './build.js';
import { Debouncer } from './debounce.js';
import {
  FolderError,
  type FolderLimits,
  folderIdentity,
  type ManifestFile,
  readManifests,
  revisionOf,
} from './files.js';
import { PRUNE_SETTLE_MS, PruneSettle } from './prune-settle.js';
import { failureOutcome, folderOutcome, type Outcome, ownershipError } from './outcome.js';
import { SYNC_ANNOTATION } from '../specs/index.js';
import { applysetFor, claimName, ownershipConflicts } from './ownership.js';
import { SyncReporter } from './report.js';
import { Tickets } from './tickets.js';
import { documentsOf, SettleGate } from './revision.js';
import { silentLogger } from '../controller/types.js';
import type { SyncHandle, SyncLogger, SyncOptions } from './types.js';
import { DEFAULT_NAMESPACE } from '../specs/index.js';
import { FolderWatcher } from './watcher.js';

/** Retries of a failing apply start at this delay and double up to the self-heal interval. */
const RETRY_BASE_MS = 500;

/** The options of one sync with every default filled in, one field at a time. */
interface Settings {
  name: string;
  dir: string;
  namespace: string;
  intervalMs: number;
  debounceMs: number;
  maxWaitMs: number;
  gitLockWaitMs: number;
  folderCheckMs: number;
  allowEmptyPrune: boolean;
  pruneSettleMs: number;
  limits: FolderLimits;
  clock: Clock;
  log: SyncLogger;
}

function settings(opts: SyncOptions): Settings {
  const intervalMs = Math.max(10, opts.intervalMs ?? 60_000);
  const debounceMs = Math.max(0, opts.debounceMs ?? 250);
  return {
    name: opts.name,
    dir: resolve(opts.dir),
    namespace: opts.namespace ?? DEFAULT_NAMESPACE,
    intervalMs,
    debounceMs,
    maxWaitMs: Math.max(debounceMs, opts.maxWaitMs ?? 5000),
    gitLockWaitMs: Math.max(0, opts.gitLockWaitMs ?? 30_000),
    folderCheckMs: Math.max(10, Math.min(opts.folderCheckMs ?? 1000, intervalMs)),
    allowEmptyPrune: opts.allowEmptyPrune ?? false,
    pruneSettleMs: Math.max(0, opts.pruneSettleMs ?? PRUNE_SETTLE_MS),
    limits: {
      ...(opts.maxFiles !== undefined ? { maxFiles: opts.maxFiles } : {}),
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
    },
    clock: opts.clock ?? realClock,
    log: opts.logger ?? silentLogger,
  };
}

class FolderSync implements SyncHandle {
  readonly #s: Settings;
  readonly #opts: SyncOptions;
  readonly #apply: ApplyFn;
  readonly #releaseName: () => void;
  readonly #queue: RateLimitingQueue;
  readonly #tickets = new Tickets();
  readonly #reporter: SyncReporter;
  readonly #parsed = new ParseCache();
  readonly #debouncer: Debouncer;
  readonly #gate: SettleGate;
  readonly #watcher: FolderWatcher;
  readonly #prunes: PruneSettle;
  #worker: Promise<void> | undefined;
  #healTimer: Timer | undefined;
  #stopped = false;
  /** The next run applies even an unchanged folder (self-heal, resync, retry, a new watch). */
  #wantForce = false;
  /** Revision of the last attempt that read the folder; a file event with the same content is skipped. */
  #lastAttempt: string | undefined;

  constructor(s: Settings, opts: SyncOptions, apply: ApplyFn, releaseName: () => void) {
    this.#s = s;
    this.#opts = opts;
    this.#apply = apply;
    this.#releaseName = releaseName;
    const { name, dir, log, clock } = s;
    this.#prunes = new PruneSettle(s.pruneSettleMs, () => clock.now());
    this.#queue = new RateLimitingQueue(clock, new ExponentialBackoff({ baseMs: RETRY_BASE_MS, capMs: s.intervalMs }));
    const spec: SyncSpec = {
      path: dir,
      intervalSeconds: Math.max(1, Math.round(s.intervalMs / 1000)),
      allowEmptyPrune: s.allowEmptyPrune,
    };
    const recordEvent = opts.recordEvent;
    this.#reporter = new SyncReporter({
      store: opts.store,
      name,
      dir,
      spec,
      log,
      ...(recordEvent ? { recordEvent } : {}),
    });
    this.#debouncer = new Debouncer(() => void this.#request(false), s.debounceMs, s.maxWaitMs, clock);
    this.#gate = new SettleGate({
      clock,
      debouncer: this.#debouncer,
      maxWaitMs: s.maxWaitMs,
      gitLockWaitMs: s.gitLockWaitMs,
    });
    this.#watcher = new FolderWatcher({
      dir,
      name,
      log,
      clock,
      checkMs: s.folderCheckMs,
      onChange: () => {
        if (!this.#stopped) this.#debouncer.trigger();
      },
      idle: () => this.#queue.len() === 0 && this.#queue.processingCount() === 0,
      seen: () => this.#lastAttempt !== undefined,
    });
  }

  /** Writes the first status, starts the worker, the self-heal tick and the folder check, and runs once. */
  async start(): Promise<void> {
    await this.#reporter.starting();
    this.#worker = this.#work();
    this.#healTimer = this.#s.clock.setTimeout(() => this.#heal(), this.#s.intervalMs);
    this.#watcher.startChecking();
    await this.#request(true);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#healTimer?.cancel();
    this.#debouncer.cancel();
    this.#queue.shutdown();
    await this.#worker;
    this.#tickets.releaseAll();
    await this.#watcher.close();
    this.#releaseName();
  }

  resync(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return this.#request(true);
  }

  #request(force: boolean): Promise<void> {
    this.#wantForce ||= force;
    const done = this.#tickets.take();
    this.#queue.add(this.#s.name);
    return done;
  }

  /** Self-heal: the folder is applied again every interval, even without file events. */
  #heal(): void {
    if (this.#stopped) return;
    void this.#request(true);
    this.#healTimer = this.#s.clock.setTimeout(() => this.#heal(), this.#s.intervalMs);
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      const force = this.#wantForce;
      const covers = this.#tickets.made;
      this.#wantForce = false;
      try {
        if (await this.#run(force)) this.#tickets.finish(covers);
      } catch (err) {
        this.#s.log.error({ sync: this.#s.name, err }, 'sync: reconcile failed unexpectedly');
        this.#tickets.finish(covers);
      } finally {
        this.#queue.done(key);
      }
    }
  }

  /** One run; false when it was cut short (files changing, git busy): the run that follows counts instead. */
  async #run(force: boolean): Promise<boolean> {
    const { dir, name, log } = this.#s;
    const read = await this.#read();
    if (!read) return true;
    force ||= read.newWatch; // a new folder (or a new watch) may have missed changes: apply whatever it holds
    if (this.#gate.changing()) {
      this.#wantForce ||= force;
      return false;
    }
    const revision = revisionOf(read.files);
    if (!force && revision === this.#lastAttempt) return true;
    const git = await this.#gate.git(dir);
    if (git === 'gitBusy') {
      log.debug({ sync: name }, 'sync: git holds index.lock; waiting');
      this.#wantForce ||= force;
      this.#debouncer.trigger();
      return false;
    }
    if (git === 'gitLockStale') {
      log.warn(
        { sync: name, waitedMs: this.#s.gitLockWaitMs },
        'sync: git index.lock is still there (stale?); applying anyway',
      );
    }
    this.#lastAttempt = revision;
    await this.#settle(await this.#attempt(read.files, revision));
    return true;
  }

  /** The folder's manifests, watching the folder read; undefined when it cannot be read (reported). */
  async #read(): Promise<{ files: ManifestFile[]; newWatch: boolean } | undefined> {
    const dir = this.#s.dir;
    try {
      const identity = await folderIdentity(dir);
      const newWatch = identity !== this.#watcher.watched;
      if (newWatch) await this.#watcher.setWatch(identity);
      return { files: await readManifests(dir, this.#s.limits), newWatch };
    } catch (err) {
      if (!(err instanceof FolderError)) throw err;
      if (err.reason === 'FolderNotFound') await this.#watcher.setWatch(undefined);
      this.#lastAttempt = undefined;
      await this.#settle(folderOutcome(err));
      return undefined;
    }
  }

  /** Builds and applies one revision; every failure is an outcome, never a throw. */
  async #attempt(files: ManifestFile[], revision: string): Promise<Outcome> {
    const { store } = this.#opts;
    const { name, namespace, allowEmptyPrune } = this.#s;
    let recheckInMs: number | undefined;
    let held: string[] = [];
    try {
      const documents = documentsOf(this.#parsed, files);
      const conflicts = ownershipConflicts(store, name, namespace, documents);
      if (conflicts.length) throw ownershipError(conflicts);
      const results = await this.#apply(store, documents, {
        // A file missing for a moment (an editor's save) prunes nothing: see prune-settle.ts.
        holdPrune: (victims) => {
          const h = this.#prunes.hold(victims);
          recheckInMs = h.recheckInMs;
          held = [...h.keep];
          return h.keep;
        },
        prune: true,
        // Every object goes into the sync's namespace; one naming another is refused, located in its file.
        namespace,
        onlyNamespace: true,
        applyset: applysetFor(name),
        allowEmptyPrune,
        annotations: { [SYNC_ANNOTATION]: name },
        // The sync owns the fields its files set: its drift repair puts back only those.
        fieldManager: `sync:${name}`,
      });
      if (recheckInMs !== undefined) this.#recheckPrunes(held, recheckInMs);
      return { kind: 'applied', revision, results };
    } catch (err) {
      return failureOutcome(err, revision, files.length);
    }
  }

  /** Reads the folder again once the held prunes have settled: still missing then, they go. */
  #recheckPrunes(held: string[], inMs: number): void {
    if (this.#stopped) return;
    this.#s.log.info(
      { sync: this.#s.name, held, pruneSettleMs: this.#s.pruneSettleMs },
      `sync: ${held.join(', ')} missing from the folder; pruned only if still missing in ${Math.ceil(inMs)} ms`,
    );
    this.#wantForce = true;
    this.#queue.addAfter(this.#s.name, inMs);
  }

  /** Reports an outcome and turns it into a queue operation (controller-runtime's switch). */
  async #settle(o: Outcome): Promise<void> {
    await this.#reporter.report(o);
    if (o.kind === 'applied') this.#queue.forget(this.#s.name);
    if (o.kind === 'retrying' && !this.#stopped) {
      this.#lastAttempt = undefined;
      this.#wantForce = true;
      this.#queue.addRateLimited(this.#s.name);
    }
  }
}

/**
 * Starts syncing `dir` into the store as the sync `name`. Resolves once the folder has been
 * read and applied (or found wanting) the first time. A missing, unreadable or invalid
 * folder is reported on the Sync object, never thrown.
 */
export async function startSync(opts: SyncOptions): Promise<SyncHandle> {
  const { store, name } = opts;
  if (!new RegExp(DNS_LABEL).test(name) || name.length > 63) {
    throw new Error(
      `sync name "${name}" must be a DNS label (lowercase letters, digits and '-', 1..63, starting and ending alphanumeric)`,
    );
  }
  const s = settings(opts);
  const releaseName = claimName(store, name, s.dir);
  let apply: ApplyFn;
  try {
    apply = opts.apply ?? (await defaultApply());
  } catch (err) {
    releaseName();
    throw err;
  }
  const sync = new FolderSync(s, opts, apply, releaseName);
  await sync.start();
  return sync;
}
