// /healthz (the process answers), /readyz (the store takes writes) and /version.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { TIDEPOOL_VERSION } from '../specs/index.js';
import type { Store } from '../store/index.js';
import { ApiError } from './errors.js';
import { statusReply } from './status.js';

const text = { 200: { description: 'ok', content: { 'text/plain': { schema: { type: 'string' } } } } };

export const healthPlugin = fp(
  async (app: FastifyInstance, opts: { store: Store }) => {
    const { store } = opts;
    app.get('/healthz', { schema: { operationId: 'healthz', security: [], responses: text } }, async (_req, reply) =>
      reply.type('text/plain; charset=utf-8').send('ok'),
    );
    app.get('/version', async (_req, reply) =>
      reply.type('application/json; charset=utf-8').send({
        gitVersion: `v${TIDEPOOL_VERSION}`,
        platform: `${process.platform}/${process.arch}`,
        nodeVersion: process.version,
      }),
    );
    // Ready means able to take writes: a store whose disk refuses them says so here (and
    // turns ready again by itself once a retry gets through).
    app.get('/readyz', async (_req, reply) => {
      const h = store.health();
      if (h.writable) return reply.type('text/plain; charset=utf-8').send('ok');
      return statusReply(
        reply,
        new ApiError(503, 'ServiceUnavailable', `the store cannot be written since ${h.since}: ${h.error}; retrying`),
      );
    });
  },
  { name: 'tidepool-health', fastify: '5.x' },
);
