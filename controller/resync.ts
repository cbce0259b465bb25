// The periodic resync: every key again, level-triggered, after one look at the runtime that
// all the reconciles it enqueues share. Instances and homes without a Workspace get their key
// too, so the workspace reconciler finds (and keeps, and reports) orphans.
import { keyOf } from '../specs/index.js';
import { ROUTES_KEY, portKey, templateKey, workspaceKey } from './keys.js';
import type { Timer } from './queue/index.js';
import type { Context } from './reconcilers/context.js';
import { errorMessage } from '../specs/errors.js';

export class Resync {
  readonly #ctx: Context;
  readonly #periodMs: number;
  #timer: Timer | undefined;
  #stopped = false;

  constructor(ctx: Context, periodMs: number) {
    this.#ctx = ctx;
    this.#periodMs = periodMs;
  }

  /** Enqueues every key now (after one runtime list that the reconciles share). */
  async run(): Promise<void> {
    const { vms, runtime, queue, store, logger } = this.#ctx;
    vms.invalidate();
    let instanceNames: string[] = [];
    try {
      instanceNames = [...(await vms.get()).keys()];
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'resync: the runtime could not list its instances');
    }
    let homeNames: string[] = [];
    try {
      homeNames = (await runtime.homes?.list?.()) ?? [];
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'resync: the runtime could not list its homes');
    }
    if (this.#stopped) return;
    queue.add(ROUTES_KEY);
    for (const ws of store.list('Workspace').items) queue.add(workspaceKey(keyOf(ws)));
    for (const name of new Set([...instanceNames, ...homeNames])) queue.add(workspaceKey(name));
    for (const p of store.list('Port').items) queue.add(portKey(keyOf(p)));
    for (const t of store.list('ImageTemplate').items) queue.add(templateKey(t.metadata.name));
  }

  /** Runs again every period, each run timed from the end of the one before. */
  schedule(): void {
    this.#timer = this.#ctx.clock.setTimeout(() => {
      if (this.#stopped) return;
      void this.run().finally(() => {
        if (!this.#stopped) this.schedule();
      });
    }, this.#periodMs);
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }
}
