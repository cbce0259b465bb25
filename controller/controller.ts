// startController: wires the event sources to the queue and the queue to the reconcilers.
// Sources only enqueue keys (store watch, resync, runtime and proxy subscriptions); the
// reconcilers never see an event. Each part is a module of its own: the shared context
// (context-builder.ts), the sources (sources.ts), the resync (resync.ts), the worker loop
// (reconcile.ts) and the reconcilers (reconcilers/).
import { buildContext } from './context-builder.js';
import { parseKey } from './keys.js';
import { ExponentialBackoff, RateLimitingQueue, realClock } from './queue/index.js';
import { runWorker, type ReconcileObserver, type ReconcileRun, type Result } from './reconcile.js';
import type { Context } from './reconcilers/context.js';
import { reconcilePort } from './reconcilers/port.js';
import { reconcileImageTemplate } from './reconcilers/image-template.js';
import { reconcileRoutes } from './reconcilers/routes.js';
import { reconcileWorkspace } from './reconcilers/workspace.js';
import { Resync } from './resync.js';
import { EventSources } from './sources.js';
import { SleepControl } from './idle/service.js';
import { IdleTracker } from './idle/tracker.js';
import { silentLogger, type Controller, type ControllerOptions } from './types.js';

export async function startController(opts: ControllerOptions): Promise<Controller> {
  const logger = opts.logger ?? silentLogger;
  const clock = opts.clock ?? realClock;
  const resyncPeriodMs = opts.resyncPeriodMs ?? 30_000;
  const workers = opts.workers ?? 4;
  if (!(workers >= 1)) throw new Error(`workers must be at least 1, got ${workers}`);
  if (!(resyncPeriodMs > 0)) throw new Error(`resyncPeriodMs must be positive, got ${resyncPeriodMs}`);

  const metrics = opts.metrics;
  const queue = new RateLimitingQueue(clock, opts.backoff ?? new ExponentialBackoff(), metrics?.queue);
  const ctx = buildContext({ opts, queue, clock, logger });
  const detachMetrics = metrics?.attach({
    store: opts.store,
    budget: ctx.capacity.budget,
    vms: () => ctx.vms.peek(),
    proxy: opts.proxy,
    workers,
  });
  logger.info(
    { runtime: opts.runtime.name, proxy: opts.proxy.name, budget: ctx.capacity.budget, workers, resyncPeriodMs },
    'controller starting',
  );
  const sources = new EventSources(ctx, opts.accessWriteIntervalMs ?? 30_000);
  sources.start();
  const reconcile = (key: string, run: ReconcileRun) => dispatch(ctx, key, run);
  const observer = observerOf(opts.observer, metrics?.reconciles);
  const running = Array.from({ length: workers }, () =>
    runWorker(queue, reconcile, logger, observer ? { observer } : {}),
  );
  ctx.sleepers.load(opts.store);
  const resync = new Resync(ctx, resyncPeriodMs);
  await resync.run();
  resync.schedule();
  ctx.ide.start();
  const idle = new IdleTracker(ctx);
  idle.start();
  return new RunningController(ctx, sources, resync, running, detachMetrics, idle);
}

/** One observer telling both, when there are two (a caller's and the metrics). */
function observerOf(...all: (ReconcileObserver | undefined)[]): ReconcileObserver | undefined {
  const some = all.filter((o): o is ReconcileObserver => o !== undefined);
  if (some.length <= 1) return some[0];
  return {
    started: (key, controller) => {
      for (const o of some) o.started?.(key, controller);
    },
    finished: (record) => {
      for (const o of some) o.finished(record);
    },
  };
}

/** Hands a key to its reconciler, with the run's own logger (naming the key and the run). */
function dispatch(ctx: Context, key: string, run: ReconcileRun): Promise<Result> {
  const k = parseKey(key);
  if (!k) {
    run.logger.error({}, 'unknown key dropped');
    return Promise.resolve({});
  }
  const runCtx: Context = { ...ctx, logger: run.logger };
  if (k.kind === 'routes') return reconcileRoutes(runCtx);
  if (k.kind === 'template') return reconcileImageTemplate(runCtx, k.name);
  return k.kind === 'workspace' ? reconcileWorkspace(runCtx, k.name) : reconcilePort(runCtx, k.name);
}

class RunningController implements Controller {
  readonly #ctx: Context;
  readonly #sources: EventSources;
  readonly #resync: Resync;
  readonly #workers: Promise<void>[];
  readonly #detachMetrics: (() => void) | undefined;
  readonly #idle: IdleTracker;
  readonly sleep: SleepControl;
  #stopped = false;

  constructor(
    ctx: Context,
    sources: EventSources,
    resync: Resync,
    workers: Promise<void>[],
    detachMetrics: (() => void) | undefined,
    idle: IdleTracker,
  ) {
    this.#ctx = ctx;
    this.#idle = idle;
    this.sleep = new SleepControl(ctx);
    this.#detachMetrics = detachMetrics;
    this.#sources = sources;
    this.#resync = resync;
    this.#workers = workers;
  }

  get orphans() {
    return this.#ctx.orphans;
  }

  idleTick(): Promise<string[]> {
    return this.#idle.tick();
  }

  resync(): Promise<void> {
    return this.#resync.run();
  }

  async idle(): Promise<void> {
    const { queue, status } = this.#ctx;
    const busy = () => queue.len() > 0 || queue.processingCount() > 0 || queue.delayedCount() > 0 || status.pending > 0;
    // Twice in a row: a reconcile's last write may enqueue once more on the way out.
    for (let calm = 0; calm < 2 && !this.#stopped; ) {
      await new Promise((r) => setTimeout(r, 10));
      calm = busy() ? 0 : calm + 1;
    }
    await this.#ctx.events.flush();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#resync.stop();
    this.#ctx.ide.stop();
    await this.#idle.stop();
    this.#sources.stop();
    this.#detachMetrics?.();
    this.#ctx.queue.shutdown();
    await Promise.all(this.#workers);
    this.#ctx.orphans.close();
    // A build in flight is not waited for (it takes minutes): the next build of its template
    // removes the instance it leaves; one queued behind it never starts.
    void this.#ctx.builds.close();
    await this.#ctx.status.drain();
    await this.#ctx.events.close();
    this.#ctx.logger.info({}, 'controller stopped');
  }
}
