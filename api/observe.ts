// The observability routes as one plugin: /metrics (metrics.ts), /api/v1/usage (usage.ts) and
// /api/v1/reconciles (reconciles.ts).
// Its settings ride on ServerOptions.observe (declared here, so the server's options stay the
// server's); registered inside the API app, so the API's login and origin checks apply.
import type { FastifyInstance } from 'fastify';
import { metricsRoutes, type MetricsSource } from './metrics.js';
import { usageRoutes, type UsageHolder } from './usage.js';
import { reconcileRoutes } from './reconciles.js';
import type { ReconcileLogService } from '../specs/reconcile-log.js';

export interface ObserveOptions {
  /** What /metrics renders. Defaults to none (404). */
  metrics?: MetricsSource;
  /** Where /api/v1/usage reads from. Defaults to none (501). */
  usage?: UsageHolder;
  /** Where /api/v1/reconciles reads from. Defaults to none (501). */
  reconciles?: ReconcileLogService;
}

declare module './server.js' {
  interface ServerOptions {
    /** /metrics and /api/v1/usage. Defaults to neither. */
    observe?: ObserveOptions;
  }
}

export async function observeRoutes(
  app: FastifyInstance,
  opts: { observe?: ObserveOptions | undefined },
): Promise<void> {
  await app.register(metricsRoutes, { source: opts.observe?.metrics });
  await app.register(usageRoutes, { holder: opts.observe?.usage });
  await app.register(reconcileRoutes, { log: opts.observe?.reconciles });
}
