// The reconcile contract and the worker loop that turns an outcome into a queue operation.
// The loop is also the one place where a reconcile is observed: it gives each run a child
// logger carrying its key and a reconcile id, times it, and reports the outcome once.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RateLimitingQueue } from './queue/index.js';
import { childLogger, type Logger } from './types.js';
import { errorMessage } from '../specs/errors.js';

export interface Result {
  /** Process the key again after this long (polling a slow change); the backoff is reset. */
  requeueAfterMs?: number;
}

/** What one reconcile is given besides its key: a logger bound to the key and the run's id. */
export interface ReconcileRun {
  /** A fresh UUID per run, as controller-runtime's `reconcileID`: it ties a run's log lines together. */
  id: string;
  logger: Logger;
}

/** Reads the whole desired object and the world again; throws to be retried with backoff. */
export type Reconcile = (key: string, run: ReconcileRun) => Promise<Result | undefined>;

/** An error that retrying will not fix: logged, not retried (the next change or resync retries). */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/**
 * How a run ended, with controller-runtime's `result` label values so that its metrics and
 * dashboards apply: `success`, `requeue_after` (a poll), `error` (retried with backoff).
 * A terminal error is counted as `error` and marked `terminal`.
 */
export type ReconcileOutcome = 'success' | 'requeue_after' | 'error';

export interface ReconcileRecord {
  key: string;
  /** The reconciler that ran: the key's kind (`workspace`, `port`, `routes`). */
  controller: string;
  id: string;
  durationMs: number;
  outcome: ReconcileOutcome;
  /** True for a TerminalError (not retried). */
  terminal?: boolean;
  error?: string;
}

/** Told about every run as it starts and ends (metrics hang here); must not throw. */
export interface ReconcileObserver {
  started?(key: string, controller: string): void;
  finished(record: ReconcileRecord): void;
}

export interface WorkerOptions {
  observer?: ReconcileObserver;
}

/** The reconciler a key belongs to: the part before the first `/`, or the whole key (`routes`). */
export function controllerOf(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? key : key.slice(0, i);
}

export async function runWorker(
  queue: RateLimitingQueue,
  reconcile: Reconcile,
  logger: Logger,
  opts: WorkerOptions = {},
): Promise<void> {
  for (let key = await queue.get(); key !== undefined; key = await turn(queue)) {
    const controller = controllerOf(key);
    const id = randomUUID();
    const log = childLogger(logger, { key, reconcileID: id });
    const startedAt = performance.now();
    const finish = (outcome: ReconcileOutcome, extra: Partial<ReconcileRecord> = {}): void => {
      const record: ReconcileRecord = {
        key,
        controller,
        id,
        durationMs: performance.now() - startedAt,
        outcome,
        ...extra,
      };
      opts.observer?.finished(record);
      if (outcome !== 'error') log.debug({ durationMs: round(record.durationMs), outcome }, 'reconciled');
    };
    opts.observer?.started?.(key, controller);
    try {
      const result = await reconcile(key, { id, logger: log });
      queue.forget(key);
      if (result?.requeueAfterMs !== undefined) {
        queue.addAfter(key, result.requeueAfterMs);
        finish('requeue_after');
      } else finish('success');
    } catch (err) {
      const message = errorMessage(err);
      const durationMs = round(performance.now() - startedAt);
      if (err instanceof TerminalError) {
        queue.forget(key);
        log.error({ err: message, durationMs }, 'reconcile failed; not retrying');
        finish('error', { terminal: true, error: message });
      } else {
        queue.addRateLimited(key);
        log.warn({ err: message, retries: queue.numRequeues(key), durationMs }, 'reconcile failed; retrying');
        finish('error', { error: message });
      }
    } finally {
      queue.done(key);
    }
  }
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/**
 * The next key, after the event loop's turn: a reconcile that needed no I/O (a stub runtime,
 * a status already as it is) would otherwise chain into the next one in microtasks, and
 * requests waiting on the API's sockets (a burst of creates) would wait for the whole queue.
 */
async function turn(queue: RateLimitingQueue): Promise<string | undefined> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  return queue.get();
}
