// What every reconciler is given: the store, the drivers, and the controller's shared
// views of the world. Reconcilers do I/O only through these.
import type { Store } from '../../api/store/index.js';
import type { Capacity } from '../capacity/index.js';
import type { ProxyDriver } from '../drivers/proxy/types.js';
import type { RuntimeDriver } from '../drivers/runtime/types.js';
import type { EventRecorder } from '../events/index.js';
import type { PortIndex } from '../port-index.js';
import type { Clock, RateLimitingQueue } from '../queue/index.js';
import type { RouteState } from '../route-state.js';
import type { StatusWriter } from '../status.js';
import type { Logger, Probe } from '../types.js';
import type { VMCache } from '../vm-cache.js';

export interface Context {
  store: Store;
  runtime: RuntimeDriver;
  proxy: ProxyDriver;
  vms: VMCache;
  status: StatusWriter;
  routes: RouteState;
  capacity: Capacity;
  events: EventRecorder;
  ports: PortIndex;
  queue: RateLimitingQueue;
  clock: Clock;
  logger: Logger;
  probe: Probe;
  ideTimeoutMs: number;
  /** Enqueues the route table key after the gathering delay. */
  enqueueRoutes(): void;
  /** When each workspace began waiting for its IDE (in memory; a restart begins again). */
  ideWaitSince: Map<string, number>;
}

/** How often a workspace waiting on the runtime or its IDE looks again. */
export const POLL_MS = 500;
/** How often it looks once the IDE timeout has passed. */
export const SLOW_POLL_MS = 10_000;
export const IDE_PORT = 8080;
/** Held by every Workspace until its VM is deleted. */
export const FINALIZER = 'tidepool/vm';
