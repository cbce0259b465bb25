// The worker loop's observer as controller-runtime's reconcile metrics: a count per result,
// errors (and terminal ones), the time of each run, and the workers busy right now.
import type { ReconcileObserver, ReconcileRecord } from '../reconcile.js';
import type { ControllerRuntimeMetrics } from './names.js';

export class ReconcileMetrics implements ReconcileObserver {
  readonly #m: ControllerRuntimeMetrics;

  constructor(m: ControllerRuntimeMetrics) {
    this.#m = m;
  }

  /** The reconcilers and their workers, so that every series exists (at 0) before the first run. */
  declare(controllers: readonly string[], workers: number): void {
    for (const controller of controllers) {
      this.#m.maxConcurrent.set({ controller }, workers);
      this.#m.activeWorkers.set({ controller }, 0);
      for (const result of ['success', 'error', 'requeue_after'] as const)
        this.#m.reconcileTotal.inc({ controller, result }, 0);
      this.#m.reconcileErrors.inc({ controller }, 0);
    }
  }

  started(_key: string, controller: string): void {
    this.#m.activeWorkers.inc({ controller });
  }

  finished(r: ReconcileRecord): void {
    const controller = r.controller;
    this.#m.activeWorkers.dec({ controller });
    this.#m.reconcileTotal.inc({ controller, result: r.outcome });
    this.#m.reconcileTime.observe({ controller }, r.durationMs / 1000);
    if (r.outcome === 'error') {
      this.#m.reconcileErrors.inc({ controller });
      if (r.terminal) this.#m.terminalErrors.inc({ controller });
    }
  }
}
