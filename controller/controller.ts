// startController: wires the event sources to the queue and the queue to the
// reconcilers. Sources only enqueue keys (store watch, resync, runtime and proxy
// subscriptions); the reconcilers never see an event.
import { resolveBudget, Capacity } from './capacity/index.js';
import { EventRecorder } from './events/index.js';
import { IdeHealth } from './ide-health.js';
import { ROUTES_KEY, parseKey, portKey, workspaceKey } from './keys.js';
import { LastAccessWriter } from './last-access.js';
import { Orphans } from './orphans.js';
import { isKind } from '../store/index.js';
import { httpProbe } from './probe.js';
import { ExponentialBackoff, RateLimitingQueue, realClock, type Timer } from './queue/index.js';
import { runWorker, type ReconcileRun, type Result } from './reconcile.js';
import { IDE_PORT } from '../specs/workspace.js';
import type { Context } from './reconcilers/context.js';
import { reconcilePort } from './reconcilers/port.js';
import { reconcileRoutes } from './reconcilers/routes.js';
import { reconcileWorkspace } from './reconcilers/workspace.js';
import { RouteState } from './route-state.js';
import { StatusWriter } from './status.js';
import { silentLogger, type Controller, type ControllerOptions } from './types.js';
import { VMCache } from './vm-cache.js';
import { errorMessage } from '../specs/errors.js';

// One long function on purpose: it is the controller's wiring (queue, caches, watches, workers,
// resync, stop) and every part closes over the same few objects; each job it wires is a
// module of its own (reconcilers/, status.ts, vm-cache.ts, queue/).
export async function startController(opts: ControllerOptions): Promise<Controller> {
  const { store, runtime, proxy } = opts;
  const logger = opts.logger ?? silentLogger;
  const clock = opts.clock ?? realClock;
  const resyncPeriodMs = opts.resyncPeriodMs ?? 30_000;
  const workers = opts.workers ?? 4;
  const routesDelayMs = opts.routesDelayMs ?? 0;
  if (!(workers >= 1)) throw new Error(`workers must be at least 1, got ${workers}`);
  if (!(resyncPeriodMs > 0)) throw new Error(`resyncPeriodMs must be positive, got ${resyncPeriodMs}`);

  const queue = new RateLimitingQueue(clock, opts.backoff ?? new ExponentialBackoff());
  const vms = new VMCache(runtime, clock);
  // The VM snapshot tells capacity when the runtime has been looked at again after a release.
  const capacity = new Capacity(
    resolveBudget(opts.capacity),
    () => vms.peek(),
    () => clock.now(),
  );
  const probe = opts.probe ?? httpProbe();
  const idePort = opts.idePort ?? IDE_PORT;
  const ide = new IdeHealth(probe, idePort, clock, (name) => queue.add(workspaceKey(name)), opts.ideHealth);
  const ctx: Context = {
    store,
    runtime,
    proxy,
    vms,
    capacity,
    queue,
    clock,
    logger,
    routes: new RouteState(),
    status: new StatusWriter(store, (kind, name, err) => {
      logger.warn({ kind, name, err: err.message }, 'status write failed; retrying');
      queue.addRateLimited(kind === 'Port' ? portKey(name) : workspaceKey(name));
    }),
    events: new EventRecorder({ store, clock, logger, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) }),
    probe,
    ide,
    ideTimeoutMs: opts.ideTimeoutMs ?? 120_000,
    idePort,
    // A route change costs a file write, not a reload: no need to gather changes first (the
    // queue still collapses every add made while one routes reconcile runs into one more).
    // While the proxy fails, its retry waits out the backoff (it reads the whole table then).
    enqueueRoutes: () => {
      if (ctx.routes.lastError !== undefined) return;
      if (routesDelayMs > 0) queue.addAfter(ROUTES_KEY, routesDelayMs);
      else queue.add(ROUTES_KEY);
    },
    ideWaitSince: new Map(),
    orphans: new Orphans(store, runtime, queue, clock),
  };
  logger.info(
    { runtime: runtime.name, proxy: proxy.name, budget: capacity.budget, workers, resyncPeriodMs },
    'controller starting',
  );

  // Capacity freed: the workspaces refused for it try again, oldest first.
  vms.onFreed = () => {
    for (const name of capacity.waiting) queue.add(workspaceKey(name));
  };

  const reconcile = (key: string, run: ReconcileRun): Promise<Result> => {
    const k = parseKey(key);
    if (!k) {
      run.logger.error({}, 'unknown key dropped');
      return Promise.resolve({});
    }
    // The run's own view: the same shared objects, with a logger that names the key and run.
    const runCtx: Context = { ...ctx, logger: run.logger };
    if (k.kind === 'routes') return reconcileRoutes(runCtx);
    return k.kind === 'workspace' ? reconcileWorkspace(runCtx, k.name) : reconcilePort(runCtx, k.name);
  };

  const unwatch = store.watch({}, (ev) => {
    const o = ev.object;
    if (isKind(o, 'Workspace')) {
      if (ev.type === 'DELETED') capacity.forget(o.metadata.name);
      queue.add(workspaceKey(o.metadata.name));
      for (const p of store.portsOf(o.metadata.name)) queue.add(portKey(p.metadata.name));
      ctx.enqueueRoutes();
    } else if (isKind(o, 'Port')) {
      queue.add(portKey(o.metadata.name));
      queue.add(workspaceKey(o.spec.workspace));
      // A Port moved to another workspace: the one it named before is reconciled too.
      const before = ev.previous && isKind(ev.previous, 'Port') ? ev.previous.spec.workspace : undefined;
      if (before !== undefined && before !== o.spec.workspace) queue.add(workspaceKey(before));
      ctx.enqueueRoutes();
    }
  });
  const unsubscribeRuntime = runtime.subscribe?.((name) => {
    vms.markDirty(name);
    queue.add(workspaceKey(name));
  });
  const unsubscribeProxy = proxy.subscribe?.(() => queue.add(ROUTES_KEY));
  const lastAccess = new LastAccessWriter(store, ctx.status, clock, opts.accessWriteIntervalMs ?? 30_000);
  // "Least recently accessed" in capacity refusals: what the access log says, also between writes.
  for (const ws of store.list('Workspace').items) {
    const at = Date.parse(String(ws.status?.lastAccessTime ?? ''));
    if (!Number.isNaN(at)) capacity.noteAccess(ws.metadata.name, at);
  }
  const unsubscribeAccess = proxy.subscribeAccess?.((name) => {
    capacity.noteAccess(name, clock.now());
    lastAccess.accessed(name);
  });

  const running = Array.from({ length: workers }, () =>
    runWorker(queue, reconcile, logger, opts.observer ? { observer: opts.observer } : {}),
  );

  let stopped = false;
  let resyncTimer: Timer | undefined;

  /** One list for the whole resync: every reconcile it enqueues shares that snapshot. */
  const resync = async (): Promise<void> => {
    vms.invalidate();
    let vmNames: string[] = [];
    try {
      vmNames = [...(await vms.get()).keys()];
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'resync: the runtime could not list its instances');
    }
    let homeNames: string[] = [];
    try {
      homeNames = (await runtime.homes?.list?.()) ?? [];
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'resync: the runtime could not list its homes');
    }
    if (stopped) return;
    queue.add(ROUTES_KEY);
    for (const ws of store.list('Workspace').items) queue.add(workspaceKey(ws.metadata.name));
    // A VM or home with no Workspace gets its key too: the workspace reconciler keeps and reports orphans.
    for (const name of new Set([...vmNames, ...homeNames])) queue.add(workspaceKey(name));
    for (const p of store.list('Port').items) queue.add(portKey(p.metadata.name));
  };

  const scheduleResync = () => {
    resyncTimer = clock.setTimeout(() => {
      if (stopped) return;
      void resync().finally(() => {
        if (!stopped) scheduleResync();
      });
    }, resyncPeriodMs);
  };

  await resync();
  scheduleResync();
  ide.start();

  return {
    orphans: ctx.orphans,
    resync,
    async idle() {
      const busy = () =>
        queue.len() > 0 || queue.processingCount() > 0 || queue.delayedCount() > 0 || ctx.status.pending > 0;
      // Twice in a row: a reconcile's last write may enqueue once more on the way out.
      for (let calm = 0; calm < 2 && !stopped; ) {
        await new Promise((r) => setTimeout(r, 10));
        calm = busy() ? 0 : calm + 1;
      }
      await ctx.events.flush();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      resyncTimer?.cancel();
      ide.stop();
      unwatch();
      unsubscribeRuntime?.();
      unsubscribeProxy?.();
      unsubscribeAccess?.();
      lastAccess.stop();
      queue.shutdown();
      await Promise.all(running);
      ctx.orphans.close();
      await ctx.status.drain();
      await ctx.events.close();
      logger.info({}, 'controller stopped');
    },
  };
}
