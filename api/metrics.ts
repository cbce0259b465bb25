// GET /metrics: the Prometheus text exposition, behind the API's login like every route
// (a scraper sends basic auth), or on serve's --metrics-listen, a loopback listener of its
// own without login (server/metrics-listener.ts registers this same plugin there).
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';

/** Renders every series; the server's registry (controller/metrics) implements it. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsRoutesOptions {
  /** Without one, /metrics answers 404 saying that metrics are off. */
  source?: MetricsSource | undefined;
}

export async function metricsRoutes(app: FastifyInstance, opts: MetricsRoutesOptions): Promise<void> {
  app.get('/metrics', async (_req, reply) => {
    const source = opts.source;
    if (!source)
      throw new ApiError(404, 'NotFound', 'metrics are off on this server (serve without --no-metrics serves them)');
    const text = await source.render();
    return reply.type(source.contentType).header('cache-control', 'no-store').send(text);
  });
}
