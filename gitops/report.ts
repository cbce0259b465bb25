// Where a sync says what it did: the Sync object (kind Sync, server-written: spec, conditions,
// revisions, errors, inventory) and Events. A problem seen again at every self-heal is
// reported once; a write that fails is logged, never thrown (the sync goes on).
import { isDeepStrictEqual } from 'node:util';
import {
  API_VERSION,
  syncRunning,
  type Sync,
  type SyncReason,
  type SyncSpec,
  type SyncStatus,
} from '../specs/index.js';
import { timestamp, type StoreClient } from '../store/index.js';
import { shortRevision } from './files.js';
import { plural, type Outcome } from './outcome.js';
import {
  cleanStatus,
  formatCause,
  mergeConditions,
  readyConditions,
  reconcilingConditions,
  stalledConditions,
  type ConditionInput,
} from './status.js';
import type { SyncEvent, SyncLogger } from './types.js';

/** At most this many causes are kept in `status.errors`. */
const MAX_ERRORS = 100;

function listObjects(items: { kind: string; name: string }[], max = 10): string {
  const names = items.slice(0, max).map((r) => `${r.kind}/${r.name}`);
  return names.join(', ') + (items.length > max ? ` and ${items.length - max} more` : '');
}

const byKindAndName = (a: { kind: string; name: string }, b: { kind: string; name: string }) =>
  a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

export interface ReporterOptions {
  store: StoreClient;
  name: string;
  dir: string;
  spec: SyncSpec;
  log: SyncLogger;
  recordEvent?: (ev: SyncEvent) => Promise<void>;
}

export class SyncReporter {
  readonly #o: ReporterOptions;
  /** What the last Warning event said, so that a problem seen again at every self-heal is reported once. */
  #lastProblem: string | undefined;

  constructor(opts: ReporterOptions) {
    this.#o = opts;
  }

  /** The first status: Reconciling, unless the Sync object already says something (a restart). */
  async starting(): Promise<void> {
    const now = timestamp(this.#o.store.now());
    await this.#writeStatus((prev) =>
      // A sync marked NotRunning (a serve without its folder) that runs again starts afresh.
      prev.conditions?.length && syncRunning({ status: prev })
        ? prev
        : {
            ...prev,
            ...this.#conditions(
              prev,
              reconcilingConditions('Progressing', `Reading ${this.#o.dir} for the first time.`),
              now,
            ),
          },
    );
  }

  async report(o: Outcome): Promise<void> {
    if (o.kind === 'applied') await this.#applied(o);
    else await this.#failed(o);
  }

  async #applied(o: Extract<Outcome, { kind: 'applied' }>): Promise<void> {
    const { store, name, dir } = this.#o;
    const now = timestamp(store.now());
    const prevApplied = store.get('Sync', name)?.status?.lastAppliedRevision;
    const applied = o.results.filter((r) => r.action !== 'pruned');
    const pruned = o.results.filter((r) => r.action === 'pruned');
    const created = applied.filter((r) => r.action === 'created');
    const configured = applied.filter((r) => r.action === 'configured');
    const inventory = applied.map((r) => ({ kind: r.kind, name: r.name })).sort(byKindAndName);
    const message = `Applied revision ${shortRevision(o.revision)}: ${plural(inventory.length, 'object')}.`;
    await this.#writeStatus((prev) => ({
      ...prev,
      ...this.#conditions(prev, readyConditions(message), now),
      lastAppliedRevision: o.revision,
      lastAttemptedRevision: o.revision,
      lastAppliedTime: now,
      lastAttemptedTime: now,
      errors: undefined,
      inventory,
    }));
    this.#lastProblem = undefined;
    const counts = `${created.length} created, ${configured.length} configured, ${applied.length - created.length - configured.length} unchanged`;
    if (o.revision !== prevApplied) {
      await this.#event('Applied', `Applied revision ${shortRevision(o.revision)} of ${dir}: ${counts}.`);
    } else if (created.length || configured.length) {
      await this.#event(
        'DriftCorrected',
        `Put back ${listObjects([...created, ...configured])}, changed outside ${dir} (revision ${shortRevision(o.revision)}).`,
      );
    }
    if (pruned.length) {
      await this.#event(
        'Pruned',
        `Pruned ${plural(pruned.length, 'object')} no file in ${dir} declares any more: ${listObjects(pruned)}.`,
      );
    }
  }

  async #failed(o: Exclude<Outcome, { kind: 'applied' }>): Promise<void> {
    const now = timestamp(this.#o.store.now());
    const causes = o.causes.slice(0, MAX_ERRORS);
    await this.#writeStatus((prev) => ({
      ...prev,
      ...this.#conditions(
        prev,
        o.kind === 'stalled'
          ? stalledConditions(o.reason, o.message)
          : reconcilingConditions(o.reason, o.message, 'False'),
        now,
      ),
      ...(o.revision ? { lastAttemptedRevision: o.revision } : {}),
      lastAttemptedTime: now,
      errors: causes,
    }));
    const key = JSON.stringify([o.reason, o.revision, causes]);
    if (key === this.#lastProblem) return;
    this.#lastProblem = key;
    // The message already names the first causes (a folder error is its own cause): add the others only.
    const more = causes.filter((c) => !o.message.includes(formatCause(c)));
    const detail = more.length
      ? ` ${more.slice(0, 5).map(formatCause).join('; ')}${more.length > 5 ? ` (and ${more.length - 5} more)` : ''}`
      : '';
    await this.#event(o.reason, `${o.message}${detail}`, 'Warning');
  }

  async #writeStatus(make: (prev: SyncStatus) => SyncStatus): Promise<void> {
    const { store, name, spec, log } = this.#o;
    try {
      await store.transaction((tx) => {
        let cur = tx.get('Sync', name);
        if (!cur) {
          cur = tx.create<Sync>({ apiVersion: API_VERSION, kind: 'Sync', metadata: { name }, spec });
        } else if (!isDeepStrictEqual(cur.spec, spec)) {
          cur = tx.update({ ...cur, spec });
        }
        const prev: SyncStatus = cur.status ?? {};
        tx.updateStatus('Sync', name, cleanStatus(make(prev)));
      });
    } catch (err) {
      log.error({ sync: name, err }, 'sync: cannot write the Sync status');
    }
  }

  #conditions(prev: SyncStatus, input: ConditionInput[], now: string) {
    const gen = this.#o.store.get('Sync', this.#o.name)?.metadata.generation;
    return { observedGeneration: gen, conditions: mergeConditions(prev.conditions, input, now, gen) };
  }

  async #event(
    reason: SyncReason | 'DriftCorrected' | 'Pruned',
    note: string,
    type: 'Normal' | 'Warning' = 'Normal',
  ): Promise<void> {
    const { store, name, log, recordEvent } = this.#o;
    (type === 'Warning' ? log.warn : log.info).call(log, { sync: name, reason }, `sync ${name}: ${note}`);
    if (!recordEvent) return;
    try {
      const uid = store.get('Sync', name)?.metadata.uid;
      await recordEvent({ regarding: { kind: 'Sync', name, ...(uid ? { uid } : {}) }, reason, note, type });
    } catch (err) {
      log.warn({ sync: name, err }, 'sync: cannot record an event');
    }
  }
}
