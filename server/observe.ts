// What serve adds to be observed: the metrics registry (controller/metrics), the usage
// sampler (controller/usage) behind /api/v1/usage, the per-workspace series, the sync event
// counts, and --metrics-listen (a loopback listener of its own, without login). runServe
// builds one of these and hands each part to the component that needs it.
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { ObserveOptions } from '../api/observe.js';
import { metricsRoutes } from '../api/metrics.js';
import type { UsageHolder } from '../api/usage.js';
import { parseListen } from '../api/config.js';
import { resolveBudget } from '../controller/capacity/index.js';
import type { RuntimeDriver } from '../drivers/runtime/types.js';
import { ControllerMetrics } from '../controller/metrics/index.js';
import { ReconcileLog } from '../controller/metrics/reconcile-log.js';
import { registerUsageMetrics } from '../controller/usage/metrics.js';
import { UsageSampler } from '../controller/usage/sampler.js';
import type { CapacityOptions } from '../controller/types.js';
import type { StoreClient } from '../store/index.js';
import { ServeError } from './errors.js';

export interface ObservabilitySettings {
  /** Serve /metrics (and count for it). Defaults to true. */
  metrics: boolean;
  /** Time between two usage samples. Defaults to 10 s. */
  usageIntervalMs?: number;
  /** The API starts before the runtime: usage requests meanwhile get 503. */
  runtimeComing: boolean;
}

export class Observability {
  readonly metrics: ControllerMetrics | undefined;
  readonly usage: UsageHolder;
  /** The last reconciles, for `tidepool logs --controller`: the controller's observer. */
  readonly reconciles = new ReconcileLog();
  readonly #s: ObservabilitySettings;

  constructor(s: ObservabilitySettings) {
    this.#s = s;
    this.metrics = s.metrics ? new ControllerMetrics() : undefined;
    this.usage = { starting: s.runtimeComing };
  }

  /** The API's /metrics and /api/v1/usage. */
  get apiOptions(): ObserveOptions {
    return {
      ...(this.metrics ? { metrics: this.metrics } : {}),
      usage: this.usage,
      ...(this.#s.runtimeComing ? { reconciles: this.reconciles } : {}),
    };
  }

  /** `--metrics-listen`: /metrics alone, without login, on its own address (loopback is the point). */
  async listen(listen: string, logger: Logger): Promise<{ address: string; close: () => Promise<void> }> {
    if (!this.metrics) throw new ServeError('--metrics-listen needs the metrics on');
    const { host, port } = parseListen(listen);
    const app = Fastify({ logger: false });
    await app.register(metricsRoutes, { source: this.metrics });
    try {
      await app.listen({ host, port });
    } catch (err) {
      throw new ServeError(`cannot listen on ${listen} (--metrics-listen): ${(err as Error).message}`);
    }
    const a = app.server.address();
    const address =
      a && typeof a === 'object'
        ? `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`
        : listen;
    logger.info({ metricsAddress: address }, `Prometheus metrics at ${address}/metrics (no login)`);
    return { address, close: () => app.close() };
  }

  /** Starts sampling the runtime's usage; returns the stop. */
  startUsage(
    runtime: RuntimeDriver,
    store: StoreClient,
    capacity: CapacityOptions | undefined,
    logger: Logger,
  ): () => Promise<void> {
    const sampler = new UsageSampler({
      runtime,
      store,
      budget: resolveBudget(capacity),
      logger,
      ...(this.#s.usageIntervalMs !== undefined ? { intervalMs: this.#s.usageIntervalMs } : {}),
    });
    this.usage.starting = false;
    if (!sampler.supported) return async () => {};
    this.usage.service = sampler;
    if (this.metrics) registerUsageMetrics([this.metrics.registry], sampler);
    sampler.start();
    return () => sampler.stop();
  }

  /** The store as the controller gets it: its writes timed when metrics are on. */
  controllerStore(store: StoreClient): StoreClient {
    return this.metrics ? this.metrics.timed(store, 'controller') : store;
  }

  /** A sync's event (applied, pruned, failed...), counted by sync, reason and type. */
  syncEvent(ev: { regarding: { name: string }; reason: string; type: string }): void {
    this.metrics?.fleet.syncEvents.inc({ sync: ev.regarding.name, reason: ev.reason, type: ev.type });
  }
}
