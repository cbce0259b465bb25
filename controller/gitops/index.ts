// GitOps folder sync: a folder of manifests (a git checkout, usually) is the desired state.
//
// - chokidar only says "something changed"; a trailing debounce with a maximum wait turns
//   a burst of events (an editor's save by rename, a `git checkout`) into one revision.
// - Each revision reads the whole folder afresh; its revision is a content hash. All files
//   go through the `tidepool apply` path at once (one transaction): any invalid file means
//   nothing applied and nothing pruned, and the previous revision stays in force. Nothing
//   is applied while files are still changing or while git holds index.lock (a checkout
//   under way), so a half-written tree is never applied (and never pruned from).
// - Prune by inventory (an applyset per sync): only objects this sync applied are pruned;
//   `tidepool/prune: disabled` keeps one; a folder with no objects prunes nothing unless
//   allowed.
// - Self-heal: every interval the folder is applied again, putting back changes made
//   through the API or the CLI.
// - Everything is reported on the Sync object (kind Sync, server-written) and in Events;
//   a missing or unreadable folder is a condition, never a crash.
import { isDeepStrictEqual } from 'node:util';
import { resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { API_VERSION, DNS_LABEL, type StatusCause, type SyncSpec, type SyncStatus } from '../../specs/index.js';
import { ApiError, timestamp, type Resource, type Store } from '../../api/store/index.js';
import type { ParsedDocuments } from '../../api/apply/index.js';
import { ParseCache } from './build.js';
import { Debouncer } from './debounce.js';
import { FolderError, findGitDir, folderIdentity, gitBusy, nameForFolder, readManifests, revisionOf, shortRevision, watchIgnored, type ManifestFile } from './files.js';
import {
  cleanStatus, formatCause, mergeConditions, readyConditions, reconcilingConditions, stalledConditions, type ConditionInput,
} from './status.js';
import { defaultApply, isEmptyPruneRefusal, type ApplyFn, type ApplyResult } from './apply.js';

export { nameForFolder, revisionOf, readManifests, isIgnoredName, isIgnoredRelPath, MANIFEST_EXT } from './files.js';
export type { ApplyFn, ApplyResult } from './apply.js';

/** The annotation every object applied by a sync carries: the name of that sync. */
export const SYNC_ANNOTATION = 'tidepool/sync';
/** The applyset (inventory) of the sync `name`. */
export const applysetFor = (name: string) => `sync.${name}`;

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
  store: Store;
  /** The Sync object's name: a DNS label. */
  name: string;
  /** The folder; made absolute. It need not exist yet. */
  dir: string;
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
  logger?: SyncLogger;
  recordEvent?: (ev: SyncEvent) => Promise<void>;
  /** The apply path; defaults to `applyDocuments` of api/apply (what `tidepool apply` uses). */
  apply?: ApplyFn;
}

export interface SyncHandle {
  /** Stops watching; waits for an apply in progress. Objects applied stay as they are. */
  stop(): Promise<void>;
  /** Reads and applies the folder now (even when unchanged), and resolves when that is done. */
  resync(): Promise<void>;
}

/** `NAME=DIR` or `DIR` (named after the folder's base name, made a DNS label). */
export function parseSyncDirFlag(value: string): { name: string; dir: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(.+)$/.exec(value);
  if (m && m[1]!.length <= 63) return { name: m[1]!, dir: resolve(m[3]!) };
  const eq = value.indexOf('=');
  if (eq > 0 && !/[\\/]/.test(value.slice(0, eq))) {
    throw new Error(`--sync-dir ${value}: the name before "=" must be a DNS label (lowercase letters, digits and '-', 1..63, starting and ending alphanumeric)`);
  }
  if (!value) throw new Error('--sync-dir needs a folder: DIR or NAME=DIR');
  return { name: nameForFolder(resolve(value)), dir: resolve(value) };
}

const OWNED_ELSEWHERE = 'OwnedByAnotherSync';
const noopLogger: SyncLogger = { debug() {}, info() {}, warn() {}, error() {} };
const MAX_ERRORS = 100;

/**
 * Syncs running per store (name → folder): two syncs of one name would fight over one Sync
 * object and one inventory, and two syncs declaring one object would take it from each
 * other at every apply.
 */
const running = new WeakMap<Store, Map<string, string>>();

type Outcome =
  | { kind: 'applied'; revision: string; results: ApplyResult[] }
  | { kind: 'stalled'; reason: string; message: string; causes: StatusCause[]; revision?: string }
  | { kind: 'retrying'; reason: string; message: string; causes: StatusCause[]; revision?: string };

function pickCause(c: StatusCause): StatusCause {
  const out: StatusCause = { reason: String(c.reason ?? 'Invalid'), message: String(c.message ?? '') };
  if (typeof c.field === 'string' && c.field) out.field = c.field;
  if (Number.isInteger(c.document)) out.document = c.document;
  if (typeof c.file === 'string') out.file = c.file;
  if (Number.isInteger(c.line)) out.line = c.line;
  if (Number.isInteger(c.column)) out.column = c.column;
  return out;
}

function plural(n: number, word: string) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function listObjects(items: { kind: string; name: string }[], max = 10): string {
  const names = items.slice(0, max).map((r) => `${r.kind}/${r.name}`);
  return names.join(', ') + (items.length > max ? ` and ${items.length - max} more` : '');
}

/**
 * Starts syncing `dir` into the store as the sync `name`. Resolves once the folder has been
 * read and applied (or found wanting) the first time. A missing, unreadable or invalid
 * folder is reported on the Sync object, never thrown.
 */
export async function startSync(opts: SyncOptions): Promise<SyncHandle> {
  const { store, name } = opts;
  if (!new RegExp(DNS_LABEL).test(name) || name.length > 63) {
    throw new Error(`sync name "${name}" must be a DNS label (lowercase letters, digits and '-', 1..63, starting and ending alphanumeric)`);
  }
  const names = running.get(store) ?? new Map<string, string>();
  running.set(store, names);
  if (names.has(name)) throw new Error(`a sync named "${name}" is already running`);
  const dir = resolve(opts.dir);
  names.set(name, dir);

  const intervalMs = Math.max(10, opts.intervalMs ?? 60_000);
  const debounceMs = Math.max(0, opts.debounceMs ?? 250);
  const maxWaitMs = Math.max(debounceMs, opts.maxWaitMs ?? 5000);
  const gitLockWaitMs = Math.max(0, opts.gitLockWaitMs ?? 30_000);
  const folderCheckMs = Math.max(10, Math.min(opts.folderCheckMs ?? 1000, intervalMs));
  const allowEmptyPrune = opts.allowEmptyPrune ?? false;
  const log = opts.logger ?? noopLogger;
  let apply: ApplyFn;
  try {
    apply = opts.apply ?? (await defaultApply());
  } catch (err) {
    names.delete(name);
    throw err;
  }
  const applyset = applysetFor(name);
  const regarding = { kind: 'Sync', name };
  const spec: SyncSpec = { path: dir, intervalSeconds: Math.max(1, Math.round(intervalMs / 1000)), allowEmptyPrune };

  let stopped = false;
  let watcher: FSWatcher | undefined;
  /** The folder identity (device:inode) the watcher watches. */
  let watched: string | undefined;
  /** Revision of the last attempt that read the folder; a file event with the same content is skipped. */
  let lastAttempt: string | undefined;
  /** What the last Warning event said, so that a problem seen again at every self-heal is reported once. */
  let lastProblem: string | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = 0;
  /** When the first of the attempts dropped in a row (files changing while read) was. */
  let droppedSince: number | undefined;
  /** Since when git has been seen holding index.lock. */
  let gitBusySince: number | undefined;
  const parsed = new ParseCache();

  // ---- the run loop: one reconcile at a time; requests made meanwhile are merged ----
  let wantRun = false;
  let wantForce = false;
  let loop: Promise<void> | undefined;
  let ticket = 0; // requests made
  let done = 0; // requests covered by a finished run
  const waiters: { ticket: number; resolve: () => void }[] = [];

  function request(force: boolean): Promise<void> {
    const mine = ++ticket;
    wantRun = true;
    wantForce ||= force;
    const p = new Promise<void>((res) => waiters.push({ ticket: mine, resolve: res }));
    loop ??= runLoop();
    return p;
  }

  async function runLoop(): Promise<void> {
    while (wantRun && !stopped) {
      const force = wantForce;
      const covers = ticket;
      wantRun = false;
      wantForce = false;
      let finished = true;
      try {
        finished = await reconcile(force);
      } catch (err) {
        log.error({ sync: name, err }, 'sync: reconcile failed unexpectedly');
      }
      // A run cut short because files were still changing does not count: the debounced run that follows does.
      if (!finished) continue;
      done = covers;
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.ticket <= done) waiters.splice(i, 1)[0]!.resolve();
      }
    }
    loop = undefined;
    if (stopped) for (const w of waiters.splice(0)) w.resolve();
  }

  const debouncer = new Debouncer(() => void request(false), debounceMs, maxWaitMs);

  // ---- the watcher ----
  let watchChain: Promise<void> = Promise.resolve();
  /** Watches the folder of this identity (or nothing); calls are serialized and idempotent. */
  function setWatch(identity: string | undefined): Promise<void> {
    const next = watchChain.then(async () => {
      if (identity === watched) return;
      if (identity === undefined || stopped) await closeWatcher();
      else await openWatcher(identity);
    });
    watchChain = next.catch((err) => log.warn({ sync: name, err }, 'sync: cannot watch the folder'));
    return next;
  }

  async function openWatcher(identity: string): Promise<void> {
    await closeWatcher();
    const w = watch(dir, { ignoreInitial: true, ignored: watchIgnored(dir), persistent: true });
    w.on('all', (event, path) => {
      if (stopped) return;
      log.debug({ sync: name, event, path }, 'sync: file event');
      debouncer.trigger();
    });
    w.on('error', (err) => {
      log.warn({ sync: name, err }, 'sync: watcher error');
      if (!stopped) debouncer.trigger();
    });
    await new Promise<void>((res) => w.once('ready', () => res()));
    watcher = w;
    watched = identity;
  }

  async function closeWatcher(): Promise<void> {
    const w = watcher;
    watcher = undefined;
    watched = undefined;
    if (w) await w.close().catch(() => {});
  }

  // ---- the Sync object ----
  async function writeStatus(make: (prev: SyncStatus) => SyncStatus): Promise<void> {
    try {
      await store.transaction((tx) => {
        let cur = tx.get('Sync', name);
        if (!cur) {
          cur = tx.create({ apiVersion: API_VERSION, kind: 'Sync', metadata: { name }, spec } as Resource);
        } else if (!isDeepStrictEqual(cur.spec, spec)) {
          cur = tx.update({ ...cur, spec } as Resource);
        }
        const prev = (cur.status ?? {}) as SyncStatus;
        tx.updateStatus('Sync', name, cleanStatus(make(prev)));
      });
    } catch (err) {
      log.error({ sync: name, err }, 'sync: cannot write the Sync status');
    }
  }

  function conditions(prev: SyncStatus, input: ConditionInput[], now: string) {
    const gen = store.get('Sync', name)?.metadata.generation;
    return { observedGeneration: gen, conditions: mergeConditions(prev.conditions, input, now, gen) };
  }

  async function event(reason: string, note: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
    (type === 'Warning' ? log.warn : log.info).call(log, { sync: name, reason }, `sync ${name}: ${note}`);
    if (!opts.recordEvent) return;
    try {
      const uid = store.get('Sync', name)?.metadata.uid;
      await opts.recordEvent({ regarding: { ...regarding, ...(uid ? { uid } : {}) }, reason, note, type });
    } catch (err) {
      log.warn({ sync: name, err }, 'sync: cannot record an event');
    }
  }

  // ---- one reconcile ----
  /** False when the folder changed while it was read: the attempt is dropped and a debounced one follows. */
  async function reconcile(force: boolean): Promise<boolean> {
    let files: ManifestFile[];
    try {
      const identity = await folderIdentity(dir);
      if (identity !== watched) {
        await setWatch(identity);
        force = true; // a new folder (or a new watch) may have missed changes: apply whatever it holds
      }
      files = await readManifests(dir);
    } catch (err) {
      if (!(err instanceof FolderError)) throw err;
      if (err.reason === 'FolderNotFound') await setWatch(undefined);
      lastAttempt = undefined;
      await report({
        kind: 'stalled', reason: err.reason,
        message: `${err.message}. Nothing is applied or pruned until it can be read; the objects applied from it are kept.`,
        causes: [{ reason: err.reason, message: err.message, ...(err.file ? { file: err.file } : {}) }],
      });
      return true;
    }
    // Files changed while they were read: this picture may be half old, half new. A run
    // follows when the folder is quiet (or the changes have waited their longest).
    // Never for longer than maxWait in a row, so that a folder that never stops changing is
    // still applied now and then.
    if (debouncer.pending && !debouncer.overdue && Date.now() - (droppedSince ??= Date.now()) < maxWaitMs) {
      wantForce ||= force;
      return false;
    }
    droppedSince = undefined;
    const revision = revisionOf(files);
    if (!force && revision === lastAttempt) return true;
    // git is rewriting the working tree (checkout, pull, merge): wait until it is done, for
    // as long as gitLockWaitMs (a crashed git leaves a stale index.lock behind).
    if (await gitBusy(await findGitDir(dir))) {
      gitBusySince ??= Date.now();
      if (Date.now() - gitBusySince < gitLockWaitMs) {
        log.debug({ sync: name }, 'sync: git holds index.lock; waiting');
        wantForce ||= force;
        debouncer.trigger();
        return false;
      }
      log.warn({ sync: name, waitedMs: Date.now() - gitBusySince }, 'sync: git index.lock is still there (stale?); applying anyway');
    }
    gitBusySince = undefined;
    lastAttempt = revision;

    let results: ApplyResult[];
    try {
      const documents = parsed.parse(files);
      const conflicts = ownershipConflicts(documents);
      if (conflicts.length) {
        throw new ApiError(422, 'Invalid', `${plural(conflicts.length, 'object')} of this folder belong to another sync`, { causes: conflicts });
      }
      results = await apply(store, documents, {
        prune: true, applyset, allowEmptyPrune, annotations: { [SYNC_ANNOTATION]: name }, fieldManager: `sync:${name}`,
      });
    } catch (err) {
      await report(failure(err, revision, files.length));
      return true;
    }
    retryDelay = 0;
    await report({ kind: 'applied', revision, results });
    return true;
  }

  /**
   * Objects of this folder that another running sync applied: declaring one object in two
   * folders would have the two syncs take it from each other at every apply.
   */
  function ownershipConflicts(docs: ParsedDocuments): StatusCause[] {
    const causes: StatusCause[] = [];
    for (const d of docs.documents) {
      const o = d.object as { kind?: unknown; metadata?: { name?: unknown } } | null;
      if (!o || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') continue;
      const owner = store.get(o.kind, o.metadata.name)?.metadata.annotations?.[SYNC_ANNOTATION];
      if (!owner || owner === name || !names.has(owner)) continue;
      const pos = d.locate('metadata.name');
      causes.push({
        field: 'metadata.name', reason: OWNED_ELSEWHERE,
        message: `${o.kind} "${o.metadata.name}" belongs to the sync "${owner}" (${names.get(owner)}); an object may be declared by one sync only: remove it from one of the folders`,
        document: d.index, ...(d.file !== undefined ? { file: d.file } : {}), ...(pos ? { line: pos.line, column: pos.column } : {}),
      });
    }
    return causes;
  }

  function failure(err: unknown, revision: string, fileCount: number): Outcome {
    if (err instanceof ApiError) {
      const causes = (err.details?.causes ?? []).map(pickCause);
      if (err.code === 400 || err.code === 422) {
        if (err.code === 422 && isEmptyPruneRefusal(causes)) {
          return {
            kind: 'stalled', revision, reason: 'EmptyFolder', causes,
            message: `The folder holds no objects (${plural(fileCount, 'manifest file')}); pruning would delete everything this sync applied, so nothing was pruned. ` +
              'Add manifests, or start the sync with allowEmptyPrune (tidepool serve --sync-allow-empty-prune) to let an empty folder prune.',
          };
        }
        const reason = err.code === 400 ? 'BuildFailed'
          : causes.length && causes.every((c) => c.reason === OWNED_ELSEWHERE) ? 'OwnershipConflict' : 'ValidationFailed';
        const shown = causes.slice(0, 3).map(formatCause).join('; ');
        return {
          kind: 'stalled', revision, reason, causes: causes.length ? causes : [{ reason: err.reason, message: err.message }],
          message: `Revision ${shortRevision(revision)} was not applied: ${causes.length ? shown : err.message}` +
            `${causes.length > 3 ? ` (and ${causes.length - 3} more)` : ''}. Nothing was applied or pruned; the previous revision stays in force.`,
        };
      }
      return {
        kind: 'retrying', revision, reason: 'ApplyFailed', causes: causes.length ? causes : [{ reason: err.reason, message: err.message }],
        message: `Revision ${shortRevision(revision)} could not be applied (${err.code} ${err.reason}: ${err.message}); retrying.`,
      };
    }
    const message = (err as Error)?.message ?? String(err);
    return {
      kind: 'retrying', revision, reason: 'ApplyFailed', causes: [{ reason: 'InternalError', message }],
      message: `Revision ${shortRevision(revision)} could not be applied (${message}); retrying.`,
    };
  }

  async function report(o: Outcome): Promise<void> {
    const now = timestamp(store.now());
    if (o.kind === 'applied') {
      const prevApplied = (store.get('Sync', name)?.status as SyncStatus | undefined)?.lastAppliedRevision;
      const applied = o.results.filter((r) => r.action !== 'pruned');
      const pruned = o.results.filter((r) => r.action === 'pruned');
      const created = applied.filter((r) => r.action === 'created');
      const configured = applied.filter((r) => r.action === 'configured');
      const inventory = applied
        .map((r) => ({ kind: r.kind, name: r.name }))
        .sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const message = `Applied revision ${shortRevision(o.revision)}: ${plural(inventory.length, 'object')}.`;
      await writeStatus((prev) => ({
        ...prev,
        ...conditions(prev, readyConditions(message), now),
        lastAppliedRevision: o.revision,
        lastAttemptedRevision: o.revision,
        lastAppliedTime: now,
        lastAttemptedTime: now,
        errors: undefined,
        inventory,
      }));
      lastProblem = undefined;
      const counts = `${created.length} created, ${configured.length} configured, ${applied.length - created.length - configured.length} unchanged`;
      if (o.revision !== prevApplied) {
        await event('Applied', `Applied revision ${shortRevision(o.revision)} of ${dir}: ${counts}.`);
      } else if (created.length || configured.length) {
        await event('DriftCorrected', `Put back ${listObjects([...created, ...configured])}, changed outside ${dir} (revision ${shortRevision(o.revision)}).`);
      }
      if (pruned.length) {
        await event('Pruned', `Pruned ${plural(pruned.length, 'object')} no file in ${dir} declares any more: ${listObjects(pruned)}.`);
      }
      return;
    }

    const causes = o.causes.slice(0, MAX_ERRORS);
    await writeStatus((prev) => ({
      ...prev,
      ...conditions(prev, o.kind === 'stalled'
        ? stalledConditions(o.reason, o.message)
        : reconcilingConditions(o.reason, o.message, 'False'), now),
      ...(o.revision ? { lastAttemptedRevision: o.revision } : {}),
      lastAttemptedTime: now,
      errors: causes,
    }));
    const key = JSON.stringify([o.reason, o.revision, causes]);
    if (key !== lastProblem) {
      lastProblem = key;
      // The message already names the first causes (a folder error is its own cause): add the others only.
      const more = causes.filter((c) => !o.message.includes(formatCause(c)));
      const detail = more.length
        ? ` ${more.slice(0, 5).map(formatCause).join('; ')}${more.length > 5 ? ` (and ${more.length - 5} more)` : ''}`
        : '';
      await event(o.reason, `${o.message}${detail}`, 'Warning');
    }
    if (o.kind === 'retrying' && !stopped) {
      lastAttempt = undefined;
      retryDelay = Math.min(intervalMs, Math.max(250, retryDelay * 2 || 500));
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = setTimeout(() => { retryTimer = undefined; if (!stopped) void request(true); }, retryDelay);
    }
  }

  // ---- start ----
  await writeStatus((prev) => (prev.conditions?.length
    ? prev
    : { ...prev, ...conditions(prev, reconcilingConditions('Progressing', `Reading ${dir} for the first time.`), timestamp(store.now())) }));

  const interval = setInterval(() => void request(true), intervalMs);
  // The folder itself: deleted, made again, replaced (a symlink pointed elsewhere). A folder
  // that appears is watched at once, and read when it has been quiet for the debounce
  // period, like any change: a folder being filled (a clone, a copy) is read when complete.
  const folderCheck = setInterval(() => {
    if (stopped || loop) return;
    folderIdentity(dir).then(
      (id) => {
        if (id !== watched && !stopped) void setWatch(id).then(() => debouncer.trigger(), () => debouncer.trigger());
      },
      () => { if (!stopped && (watched !== undefined || lastAttempt !== undefined)) debouncer.trigger(); },
    );
  }, folderCheckMs);

  await request(true);

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(interval);
      clearInterval(folderCheck);
      if (retryTimer) clearTimeout(retryTimer);
      debouncer.cancel();
      if (loop) await loop;
      if (retryTimer) clearTimeout(retryTimer);
      for (const w of waiters.splice(0)) w.resolve();
      await setWatch(undefined).catch(() => {});
      names.delete(name);
    },
    resync() {
      if (stopped) return Promise.resolve();
      return request(true);
    },
  };
}

/**
 * `tidepool serve --sync-dir A --sync-dir prod=B`: starts one sync per flag value (all with
 * the same options). Two flags naming one sync are refused before anything starts; when one
 * cannot start, those started already are stopped again.
 */
export async function startSyncs(
  flags: readonly string[],
  common: Omit<SyncOptions, 'name' | 'dir'>,
): Promise<{ syncs: { name: string; dir: string }[]; stop(): Promise<void>; resync(): Promise<void> }> {
  const wanted = flags.map(parseSyncDirFlag);
  const seen = new Map<string, string>();
  for (const w of wanted) {
    const other = seen.get(w.name);
    if (other !== undefined) {
      throw new Error(`--sync-dir: two folders would be the sync "${w.name}" (${other} and ${w.dir}); name them: --sync-dir NAME=DIR`);
    }
    seen.set(w.name, w.dir);
  }
  const handles: SyncHandle[] = [];
  try {
    for (const w of wanted) handles.push(await startSync({ ...common, ...w }));
  } catch (err) {
    for (const h of handles.reverse()) await h.stop();
    throw err;
  }
  return {
    syncs: wanted,
    async stop() {
      for (const h of [...handles].reverse()) await h.stop();
    },
    async resync() {
      await Promise.all(handles.map((h) => h.resync()));
    },
  };
}
