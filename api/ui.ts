// The built UI at /app/ (a deep link gets the page itself: the UI routes in the browser) and
// /app/config.json, where the UI reads how workspaces are reached.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface UiOptions {
  /** The built UI folder. */
  webRoot: string;
  /** Served as /app/config.json. */
  uiConfig?: Record<string, unknown> | undefined;
}

export const uiPlugin = fp(
  async (app: FastifyInstance, opts: UiOptions) => {
    if (!opts.webRoot) throw new Error('uiPlugin needs the folder of the built UI (webRoot)');
    await app.register(fastifyStatic, { root: opts.webRoot, prefix: '/app/', index: ['index.html'], wildcard: true });
    app.get('/app', async (_req, reply) => reply.redirect('/app/', 301));
    app.get('/app/workspaces/*', async (_req, reply) =>
      reply.header('cache-control', 'no-cache').sendFile('index.html'),
    );
    const config = JSON.stringify(opts.uiConfig ?? {});
    app.get('/app/config.json', async (_req, reply) =>
      reply.type('application/json').header('cache-control', 'no-cache').send(config),
    );
  },
  { name: 'tidepool-ui', fastify: '5.x' },
);
