// The reconcile log: each reconcile the controller ran, with its key, its reconcile id, how
// long it took and how it ended (`tidepool logs --controller`). Kept in memory by the server
// (the last few thousand), shared by the controller (which fills it), the API and the CLI.

export interface ReconcileEntry {
  /** When it ended (RFC 3339 with milliseconds). */
  time: string;
  /** The queue key: `workspace/NAME`, `port/NAME` or `routes`. */
  key: string;
  controller: string;
  /** The reconcile id its server log lines carry (reconcileID). */
  id: string;
  durationMs: number;
  /** controller-runtime's result: success, requeue_after or error. */
  outcome: 'success' | 'requeue_after' | 'error';
  /** An error that is not retried. */
  terminal?: boolean;
  error?: string;
}

export interface ReconcileLogService {
  /** The entries kept, oldest first, of `workspace` (its own key and its Ports') when given. */
  recent(workspace?: string): ReconcileEntry[];
  /** Tells each new entry; returns the unsubscribe. */
  subscribe(fn: (e: ReconcileEntry) => void): () => void;
}

/** Whether an entry concerns `workspace`: its own key, or a Port key named after it (NAME-PORT). */
export function entryConcerns(e: ReconcileEntry, workspace: string): boolean {
  return e.key === `workspace/${workspace}` || e.key.startsWith(`port/${workspace}-`);
}

/** `2026-12-06T21:00:00.123Z workspace/alice 5f0c… 12.3ms success` (and the error when it failed). */
export function formatReconcile(e: ReconcileEntry): string {
  const tail = e.outcome === 'error' ? ` ${e.terminal ? 'terminal ' : ''}error: ${e.error ?? ''}` : ` ${e.outcome}`;
  return `${e.time} ${e.key} ${e.id} ${e.durationMs.toFixed(1)}ms${tail}`;
}
