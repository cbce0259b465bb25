// The controller's metrics on a prom-client registry: controller-runtime's reconcile and
// workqueue series (names.ts), the fleet's (fleet.ts, transitions.ts), and Node's process
// metrics. Built by the composition root and handed to startController, which attaches the
// parts only it has (its queue, its capacity, its runtime snapshot).
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { StoreClient } from '../../store/index.js';
import type { ProxyDriver } from '../../drivers/proxy/types.js';
import { keyOfRoute } from '../../specs/index.js';
import { registerFleetGauges, type FleetSources } from './fleet.js';
import { ControllerRuntimeMetrics, FleetMetrics, WorkqueueMetrics } from './names.js';
import { ReconcileMetrics } from './reconcile.js';
import { timedStore } from './timed-store.js';
import { StartTimes } from './transitions.js';
import { WorkqueueObserver } from './workqueue.js';

export { ReconcileMetrics } from './reconcile.js';
export { StartTimes } from './transitions.js';
export { WorkqueueObserver } from './workqueue.js';
export { ControllerRuntimeMetrics, FleetMetrics, WorkqueueMetrics } from './names.js';

/** The reconcilers sharing the one queue: each is a `controller` / `name` label value. */
export const CONTROLLERS = ['workspace', 'port', 'routes'] as const;

export interface ControllerMetricsOptions {
  /** Add Node's process metrics (process_*, nodejs_*). Defaults to true. */
  processMetrics?: boolean;
}

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles: ReconcileMetrics;
  readonly queue: WorkqueueObserver;
  readonly fleet: FleetMetrics;

  constructor(opts: ControllerMetricsOptions = {}) {
    const registers = [this.registry];
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.reconciles = new ReconcileMetrics(new ControllerRuntimeMetrics(registers));
    const wq = new WorkqueueMetrics(registers, () => this.queue.collect());
    this.queue = new WorkqueueObserver(wq);
    this.queue.declare(CONTROLLERS);
    this.fleet = new FleetMetrics(registers);
  }

  /** Called once by the controller when it starts: the parts only it has. Returns the detach. */
  attach(src: FleetSources & { workers: number; proxy: ProxyDriver }): () => void {
    this.reconciles.declare(CONTROLLERS, src.workers);
    registerFleetGauges([this.registry], src);
    const starts = new StartTimes(this.fleet);
    starts.seed(src.store.list('Workspace').items);
    const offWatch = src.store.watch({ kind: 'Workspace' }, (ev) => starts.onEvent(ev));
    const offAccess = src.proxy.subscribeAccess?.((route) => this.accessed(keyOfRoute(route)));
    return () => {
      offWatch();
      offAccess?.();
    };
  }

  /** `store` with each write timed, labelled `client`. */
  timed(store: StoreClient, client: string): StoreClient {
    return timedStore(store, client, this.fleet);
  }

  /** A request the proxy served for `workspace` (its access stream). */
  accessed(workspace: string): void {
    this.fleet.proxyRequests.inc({ workspace });
  }

  /** The Prometheus text exposition of every series. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
