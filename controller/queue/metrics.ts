// What the work queue tells its observer (client-go's queueMetrics): a key added, handed to a
// worker, done, and retried after a failure. The queue calls these and nothing else; the
// Prometheus side (controller/metrics/workqueue.ts) turns them into controller-runtime's
// workqueue_* series. Hooks must be cheap and must not throw.

export interface QueueMetrics<K = string> {
  /** `key` became dirty (it was not waiting already): counted in adds and depth. */
  added(key: K): void;
  /** A worker got `key`: it leaves the depth, its time in the queue ends, its work starts. */
  taken(key: K): void;
  /** The worker is done with `key`: its work time ends. */
  done(key: K): void;
  /** `key` failed and goes back after its backoff. */
  retried(key: K): void;
}

/** The default: a queue nobody watches. */
export const noQueueMetrics: QueueMetrics<unknown> = {
  added() {},
  taken() {},
  done() {},
  retried() {},
};
