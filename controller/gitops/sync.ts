// One folder sync, driven by the controller's own machinery: a rate-limited work queue of
// one key (the sync's name) and an injected clock. A file event, the self-heal tick, a
// retry and resync() all add the key; the queue merges adds made while a run is under way
// into one more run, and one worker runs them one at a time. Each run reads the folder
// afresh and applies it whole through the `tidepool apply` path (see README.md).
import { resolve } from 'node:path';
import { DNS_LABEL, type SyncSpec } from '../../specs/index.js';
import { ExponentialBackoff, RateLimitingQueue, realClock, type Timer } from '../queue/index.js';
import { defaultApply, type ApplyFn, type ApplyResult } from './apply.js';
import { ParseCache } from './build.js';
import { Debouncer } from './debounce.js';
import { FolderError, folderIdentity, readManifests, revisionOf, type ManifestFile } from './files.js';
import { failureOutcome, folderOutcome, ownershipError, type Outcome } from './outcome.js';
import { applysetFor, claimName, ownershipConflicts, SYNC_ANNOTATION } from './ownership.js';
import { SyncReporter } from './report.js';
import { documentsOf, SettleGate } from './revision.js';
import { noopLogger, type SyncHandle, type SyncOptions } from './types.js';
import { FolderWatcher } from './watcher.js';

/** Retries of a failing apply start at this delay and double up to the self-heal interval. */
const RETRY_BASE_MS = 500;

/** Waiters of resync(): resolved once a run that started after their request has finished. */
class Tickets {
  #made = 0;
  #waiters: { ticket: number; resolve: () => void }[] = [];

  /** A new request; its promise resolves when `finish(covers)` is called with covers >= it. */
  take(): Promise<void> {
    const ticket = ++this.#made;
    return new Promise<void>((res) => this.#waiters.push({ ticket, resolve: res }));
  }

  /** The requests made so far (what a run starting now covers). */
  get made(): number {
    return this.#made;
  }

  finish(covers: number): void {
    const due = this.#waiters.filter((w) => w.ticket <= covers);
    this.#waiters = this.#waiters.filter((w) => w.ticket > covers);
    for (const w of due) w.resolve();
  }

  releaseAll(): void {
    for (const w of this.#waiters.splice(0)) w.resolve();
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
  const dir = resolve(opts.dir);
  const releaseName = claimName(store, name, dir);

  const intervalMs = Math.max(10, opts.intervalMs ?? 60_000);
  const debounceMs = Math.max(0, opts.debounceMs ?? 250);
  const maxWaitMs = Math.max(debounceMs, opts.maxWaitMs ?? 5000);
  const gitLockWaitMs = Math.max(0, opts.gitLockWaitMs ?? 30_000);
  const folderCheckMs = Math.max(10, Math.min(opts.folderCheckMs ?? 1000, intervalMs));
  const allowEmptyPrune = opts.allowEmptyPrune ?? false;
  const clock = opts.clock ?? realClock;
  const log = opts.logger ?? noopLogger;
  let apply: ApplyFn;
  try {
    apply = opts.apply ?? (await defaultApply());
  } catch (err) {
    releaseName();
    throw err;
  }
  const applyset = applysetFor(name);
  const spec: SyncSpec = { path: dir, intervalSeconds: Math.max(1, Math.round(intervalMs / 1000)), allowEmptyPrune };

  const queue = new RateLimitingQueue(clock, new ExponentialBackoff({ baseMs: RETRY_BASE_MS, capMs: intervalMs }));
  const tickets = new Tickets();
  const reporter = new SyncReporter({
    store,
    name,
    dir,
    spec,
    log,
    ...(opts.recordEvent ? { recordEvent: opts.recordEvent } : {}),
  });
  const parsed = new ParseCache();
  let stopped = false;
  /** The next run applies even an unchanged folder (self-heal, resync, retry, a new watch). */
  let wantForce = false;
  /** Revision of the last attempt that read the folder; a file event with the same content is skipped. */
  let lastAttempt: string | undefined;

  function request(force: boolean): Promise<void> {
    wantForce ||= force;
    const done = tickets.take();
    queue.add(name);
    return done;
  }

  const debouncer = new Debouncer(() => void request(false), debounceMs, maxWaitMs, clock);
  const gate = new SettleGate({ clock, debouncer, maxWaitMs, gitLockWaitMs });
  const watcher = new FolderWatcher({
    dir,
    name,
    log,
    clock,
    checkMs: folderCheckMs,
    onChange: () => {
      if (!stopped) debouncer.trigger();
    },
    idle: () => queue.len() === 0 && queue.processingCount() === 0,
    seen: () => lastAttempt !== undefined,
  });

  /** One run; false when it was cut short (files changing, git busy): the run that follows counts instead. */
  async function run(force: boolean): Promise<boolean> {
    let files: ManifestFile[];
    try {
      const identity = await folderIdentity(dir);
      if (identity !== watcher.watched) {
        await watcher.setWatch(identity);
        force = true; // a new folder (or a new watch) may have missed changes: apply whatever it holds
      }
      files = await readManifests(dir);
    } catch (err) {
      if (!(err instanceof FolderError)) throw err;
      if (err.reason === 'FolderNotFound') await watcher.setWatch(undefined);
      lastAttempt = undefined;
      await settle(folderOutcome(err));
      return true;
    }
    if (gate.changing()) {
      wantForce ||= force;
      return false;
    }
    const revision = revisionOf(files);
    if (!force && revision === lastAttempt) return true;
    const git = await gate.git(dir);
    if (git === 'gitBusy') {
      log.debug({ sync: name }, 'sync: git holds index.lock; waiting');
      wantForce ||= force;
      debouncer.trigger();
      return false;
    }
    if (git === 'gitLockStale') {
      log.warn(
        { sync: name, waitedMs: gitLockWaitMs },
        'sync: git index.lock is still there (stale?); applying anyway',
      );
    }
    lastAttempt = revision;
    await settle(await attempt(files, revision));
    return true;
  }

  /** Builds and applies one revision; every failure is an outcome, never a throw. */
  async function attempt(files: ManifestFile[], revision: string): Promise<Outcome> {
    let results: ApplyResult[];
    try {
      const documents = documentsOf(parsed, files);
      const conflicts = ownershipConflicts(store, name, documents);
      if (conflicts.length) throw ownershipError(conflicts);
      results = await apply(store, documents, {
        prune: true,
        applyset,
        allowEmptyPrune,
        annotations: { [SYNC_ANNOTATION]: name },
      });
    } catch (err) {
      return failureOutcome(err, revision, files.length);
    }
    return { kind: 'applied', revision, results };
  }

  /** Reports an outcome and turns it into a queue operation (controller-runtime's switch). */
  async function settle(o: Outcome): Promise<void> {
    await reporter.report(o);
    if (o.kind === 'applied') queue.forget(name);
    if (o.kind === 'retrying' && !stopped) {
      lastAttempt = undefined;
      wantForce = true;
      queue.addRateLimited(name);
    }
  }

  async function work(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const force = wantForce;
      const covers = tickets.made;
      wantForce = false;
      try {
        if (await run(force)) tickets.finish(covers);
      } catch (err) {
        log.error({ sync: name, err }, 'sync: reconcile failed unexpectedly');
        tickets.finish(covers);
      } finally {
        queue.done(key);
      }
    }
  }

  // Self-heal: the folder is applied again every interval, even without file events.
  let healTimer: Timer | undefined;
  const heal = () => {
    if (stopped) return;
    void request(true);
    healTimer = clock.setTimeout(heal, intervalMs);
  };

  await reporter.starting();
  const worker = work();
  healTimer = clock.setTimeout(heal, intervalMs);
  watcher.startChecking();
  await request(true);

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      healTimer?.cancel();
      debouncer.cancel();
      queue.shutdown();
      await worker;
      tickets.releaseAll();
      await watcher.close();
      releaseName();
    },
    resync() {
      if (stopped) return Promise.resolve();
      return request(true);
    },
  };
}
