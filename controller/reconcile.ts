// The reconcile contract and the worker loop that turns an outcome into a queue operation.
import type { RateLimitingQueue } from './queue/index.js';
import type { Logger } from './types.js';
import { errorMessage } from '../specs/errors.js';

export interface Result {
  /** Process the key again after this long (polling a slow change); the backoff is reset. */
  requeueAfterMs?: number;
}

/** Reads the whole desired object and the world again; throws to be retried with backoff. */
export type Reconcile = (key: string) => Promise<Result | undefined>;

/** An error that retrying will not fix: logged, not retried (the next change or resync retries). */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export async function runWorker(queue: RateLimitingQueue, reconcile: Reconcile, logger: Logger): Promise<void> {
  for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
    try {
      const result = await reconcile(key);
      queue.forget(key);
      if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      if (err instanceof TerminalError) {
        queue.forget(key);
        logger.error({ key, err: err.message }, 'reconcile failed; not retrying');
      } else {
        queue.addRateLimited(key);
        logger.warn({ key, err: errorMessage(err), retries: queue.numRequeues(key) }, 'reconcile failed; retrying');
      }
    } finally {
      queue.done(key);
    }
  }
}
