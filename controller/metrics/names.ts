// Every metric the controller exports, in one file (as controller-runtime keeps its own in
// pkg/internal/controller/metrics/metrics.go). The controller_runtime_* and workqueue_*
// series carry controller-runtime's names, labels and buckets so that its dashboards and
// alerts apply unchanged; tidepool_* are the fleet's own.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** controller-runtime's reconcile_time_seconds buckets. */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75,
  2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go's workqueue buckets: 10 ns to 1000 s, ×10 each. */
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);
/** Seconds a start can take: a stub's few ms to an image pull of minutes. */
const START_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class ControllerRuntimeMetrics {
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrent: Gauge<'controller'>;

  constructor(registers: Registry[]) {
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.terminalErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.maxConcurrent = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
  }
}

export class WorkqueueMetrics {
  readonly depth: Gauge<'name'>;
  readonly adds: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly retries: Counter<'name'>;
  readonly unfinishedWork: Gauge<'name'>;
  readonly longestRunning: Gauge<'name'>;

  constructor(registers: Registry[], collect: () => void) {
    const name = (n: string) => `workqueue_${n}`;
    this.depth = new Gauge({
      name: name('depth'),
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
    });
    this.adds = new Counter({
      name: name('adds_total'),
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueDuration = new Histogram({
      name: name('queue_duration_seconds'),
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.workDuration = new Histogram({
      name: name('work_duration_seconds'),
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'],
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: name('retries_total'),
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.unfinishedWork = new Gauge({
      name: name('unfinished_work_seconds'),
      help: 'How many seconds of work has been done that is in progress and hasn’t been observed by work_duration. Large values indicate stuck threads.',
      labelNames: ['name'],
      registers,
      collect,
    });
    this.longestRunning = new Gauge({
      name: name('longest_running_processor_seconds'),
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'],
      registers,
    });
  }
}

export class FleetMetrics {
  readonly applyToReady: Histogram;
  readonly startToIde: Histogram;
  readonly proxyRequests: Counter<'workspace'>;
  readonly storeWrite: Histogram<'client' | 'op'>;
  readonly syncEvents: Counter<'sync' | 'reason' | 'type'>;

  constructor(registers: Registry[]) {
    this.applyToReady = new Histogram({
      name: 'tidepool_workspace_apply_to_ready_seconds',
      help: 'Time from a Workspace spec change (apply) that asks it to run to its Ready=True',
      buckets: START_BUCKETS,
      registers,
    });
    this.startToIde = new Histogram({
      name: 'tidepool_workspace_start_to_ide_seconds',
      help: 'Time from the runtime start (or wake) of a workspace to its IDE answering',
      buckets: START_BUCKETS,
      registers,
    });
    this.proxyRequests = new Counter({
      name: 'tidepool_proxy_requests_total',
      help: 'Requests the proxy served for a workspace (its IDE or a Port), from its access stream',
      labelNames: ['workspace'],
      registers,
    });
    this.storeWrite = new Histogram({
      name: 'tidepool_store_write_duration_seconds',
      help: 'Time of a store write (durable when it settles), by client and operation',
      labelNames: ['client', 'op'],
      buckets: STORE_BUCKETS,
      registers,
    });
    this.syncEvents = new Counter({
      name: 'tidepool_sync_events_total',
      help: 'Outcomes of the folder syncs (applied, pruned, failed...), by sync, event reason and type',
      labelNames: ['sync', 'reason', 'type'],
      registers,
    });
  }
}
