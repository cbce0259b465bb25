// GET /api/v1/auth/info, without credentials: how this server checks who you are, so that
// `tidepool login SERVER` can pick its flow (a password, a token, or OpenID Connect at this
// issuer as this client). The sign-in mode fills `info`; a server without one says `basic`.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AUTH_INFO_PATH, type AuthInfo } from '../specs/index.js';

export { AUTH_INFO_PATH };

export interface AuthInfoOptions {
  /** What to answer. Defaults to `{mode: 'basic'}`. */
  info?: AuthInfo;
}

export const authInfoPlugin = fp(
  async (app: FastifyInstance, opts: AuthInfoOptions) => {
    const info: AuthInfo = opts.info ?? { mode: 'basic' };
    app.get(AUTH_INFO_PATH, { schema: { operationId: 'authInfo', security: [] } }, async (_req, reply) =>
      reply.header('Cache-Control', 'no-store').send(info),
    );
  },
  { name: 'tidepool-auth-info', fastify: '5.x' },
);
