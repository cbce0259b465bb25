// Builds the Context every reconciler is given: the shared views of the world (instance cache,
// capacity, port index, route state) and the writers (status, events), from the options.
import { resolveBudget, Capacity } from './capacity/index.js';
import { EventRecorder } from './events/index.js';
import { IdeHealth } from './ide-health.js';
import { ImageBuilds } from './builds.js';
import { ROUTES_KEY, keyOf, workspaceKey, templateKey } from './keys.js';
import { Orphans } from './orphans.js';
import { httpProbe } from './probe.js';
import type { Clock, RateLimitingQueue } from './queue/index.js';
import type { Context } from './reconcilers/context.js';
import { RouteState } from './route-state.js';
import { StatusWriter } from './status.js';
import type { ControllerOptions, Logger } from './types.js';
import { VMCache } from './vm-cache.js';
import { Activity } from './idle/activity.js';
import { Sleepers } from './idle/sleepers.js';
import { IDE_PORT } from '../specs/workspace.js';

export interface ContextParts {
  opts: ControllerOptions;
  queue: RateLimitingQueue;
  clock: Clock;
  logger: Logger;
}

export function buildContext({ opts, queue, clock, logger }: ContextParts): Context {
  const { store, runtime, proxy } = opts;
  const vms = new VMCache(runtime, clock);
  // The instance snapshot tells capacity when the runtime has been looked at again after a release.
  const capacity = new Capacity(
    resolveBudget(opts.capacity),
    () => vms.peek(),
    () => clock.now(),
  );
  // Capacity freed: the workspaces refused for it try again, oldest first.
  vms.onFreed = () => {
    for (const name of capacity.waiting) queue.add(workspaceKey(name));
  };
  const probe = opts.probe ?? httpProbe();
  const idePort = opts.idePort ?? IDE_PORT;
  const routesDelayMs = opts.routesDelayMs ?? 0;
  const routes = new RouteState();
  return {
    store,
    runtime,
    proxy,
    vms,
    capacity,
    queue,
    clock,
    logger,
    routes,
    status: new StatusWriter(store, (kind, name, err) => {
      logger.warn({ kind, name, err: err.message }, 'status write failed; retrying');
      queue.addRateLimited(keyOf(kind, name));
    }),
    events: new EventRecorder({ store, clock, logger, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) }),
    probe,
    ide: new IdeHealth(probe, idePort, clock, (name) => queue.add(workspaceKey(name)), opts.ideHealth),
    ideTimeoutMs: opts.ideTimeoutMs ?? 120_000,
    idePort,
    // A route change costs a file write, not a reload: no need to gather changes first (the
    // queue still collapses every add made while one routes reconcile runs into one more).
    // While the proxy fails, its retry waits out the backoff (it reads the whole table then).
    enqueueRoutes: () => {
      if (routes.lastError !== undefined) return;
      if (routesDelayMs > 0) queue.addAfter(ROUTES_KEY, routesDelayMs);
      else queue.add(ROUTES_KEY);
    },
    ideWaitSince: new Map(),
    orphans: new Orphans(store, runtime, queue, clock),
    sleepers: new Sleepers(opts.idle),
    activity: new Activity(opts.idle?.thresholds),
    ...(opts.dotfiles ? { defaultDotfiles: opts.dotfiles } : {}),
    postStartDone: new Map(),
    ...(opts.settings ? { settings: opts.settings } : {}),
    builds: new ImageBuilds(runtime, opts.dataDir, clock, (name) => queue.add(templateKey(name))),
  };
}
