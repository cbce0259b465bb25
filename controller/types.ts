// Public types of the controller: its options, its handle, and the logger it accepts.
import type { OrphanService, SleepService } from '../specs/index.js';
import type { EditorSettings, StoreClient } from '../store/index.js';
import type { ProxyDriver } from '../drivers/proxy/types.js';
import type { RuntimeDriver } from '../drivers/runtime/types.js';
import type { IdeHealthOptions } from './ide-health.js';
import type { IdleOptions } from './idle/sleepers.js';
import type { ControllerMetrics } from './metrics/index.js';
import type { Backoff, Clock } from './queue/index.js';
import type { ReconcileObserver } from './reconcile.js';

type LogFn = (obj: object, msg?: string) => void;

/** A logger that drops everything: the default when none is given (the controller's, a sync's). */
export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The subset of a pino logger the controller uses. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger whose every line carries `bindings` (pino's child); optional so plain objects serve in tests. */
  child?(bindings: Record<string, unknown>): Logger;
}

/** `logger` with `bindings` on every line: its own child where it has one, else a wrapper that merges them. */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  if (logger.child) return logger.child(bindings);
  const bound =
    (fn: LogFn): LogFn =>
    (obj, msg) =>
      fn.call(logger, { ...bindings, ...obj }, msg);
  return {
    debug: bound(logger.debug),
    info: bound(logger.info),
    warn: bound(logger.warn),
    error: bound(logger.error),
    child: (more) => childLogger(logger, { ...bindings, ...more }),
  };
}

/** Tells whether something answers HTTP on ip:port. */
export type Probe = (ip: string, port: number) => Promise<boolean>;

export interface CapacityOptions {
  /** Most workspaces running at once. Defaults to no limit. */
  maxRunning?: number;
  /** vCPUs all running workspaces may have together. Defaults to the host's CPUs × 4 (CPU limits are caps, so CPU is overcommitted). */
  cpuBudget?: number;
  /** Memory all running workspaces may have together. Defaults to the host's memory minus a headroom for the host (never overcommitted). */
  memoryBudgetBytes?: number;
}

export interface ControllerOptions {
  store: StoreClient;
  runtime: RuntimeDriver;
  proxy: ProxyDriver;
  /** Defaults to a logger that drops everything. */
  logger?: Logger;
  /** Where `.logs/<workspace>/events.jsonl` goes. Defaults to none (events go to the store only). */
  dataDir?: string;
  /** How often every key is enqueued again. Defaults to 30 s. */
  resyncPeriodMs?: number;
  /** Reconciles run at once (never two on one key). Defaults to 4. */
  workers?: number;
  /** The host budget for running workspaces. Each field defaults from the host, see CapacityOptions. */
  capacity?: CapacityOptions;
  /** Whether the IDE answers. Defaults to an HTTP GET http://ip:port/healthz with a 1 s timeout; any HTTP answer counts. */
  probe?: Probe;
  /** Defaults to the real clock. */
  clock?: Clock;
  /** Retry delays of failed reconciles. Defaults to 500 ms doubling up to 5 minutes, per key. */
  backoff?: Backoff;
  /** How long route changes are gathered before the route table is converged. Defaults to 0 (at once). */
  routesDelayMs?: number;
  /** Least time between two writes of one workspace's status.lastAccessTime while it is used. Defaults to 30 s. */
  accessWriteIntervalMs?: number;
  /** How long the IDE may take to answer after a start before the status says so. Defaults to 2 minutes. */
  ideTimeoutMs?: number;
  /** The port the IDE answers on in each VM. Defaults to 8080 (code-server in the images); the stub may use another. */
  idePort?: number;
  /** Told about every reconcile (its key, id, duration and outcome): where metrics attach. Defaults to none. */
  observer?: ReconcileObserver;
  /** Prometheus metrics (controller_runtime_*, workqueue_*, the fleet's) on this registry. Defaults to none. */
  metrics?: ControllerMetrics;
  /**
   * Where the editor settings that follow each person (one file per namespace) are saved (on stop and delete) and read
   * (for new workspaces). Defaults to none: settings do not follow (serve gives its data directory's).
   */
  settings?: EditorSettings;
  /** Dotfiles installed into every new workspace that names none of its own (spec.source.dotfiles). Defaults to none. */
  dotfiles?: { url: string; ref?: string };
  /** How the IDEs of Ready workspaces keep being probed. Defaults: every 5 s, down after 2 failed rounds, 16 probes at once. */
  ideHealth?: IdeHealthOptions;
  /** Idle sleep: the default idle timeout, the tick, making room. Defaults: never, 30 s, on. */
  idle?: IdleOptions;
}

export interface Controller {
  /** What this Tidepool made for names no Workspace declares: listed and deleted only on request (the API's /orphans). */
  orphans: OrphanService;
  /** Wake and sleep by request, and exec sessions as a sign of use (the API's). */
  sleep: SleepService;
  /** One idle tick now (as the timer runs them); resolves with the workspaces it put to sleep. */
  idleTick(): Promise<string[]>;
  /** Enqueues every key now, as the periodic resync does (after one runtime list that the reconciles share). */
  resync(): Promise<void>;
  /** Resolves when no key is waiting, parked or being processed. */
  idle(): Promise<void>;
  /** Stops the workers (waiting for reconciles in flight), the timers and the subscriptions. Drivers are left open. */
  stop(): Promise<void>;
}
