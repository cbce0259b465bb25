// Personal access tokens over the API, and who you are:
//   POST   /api/v1/tokens        {name, expiresIn?: "720h"}  -> 201, the token (shown this once)
//   GET    /api/v1/tokens        -> the caller's tokens (name, id, dates; never a secret)
//   DELETE /api/v1/tokens/{name} -> revoked: its next request gets 401
//   GET    /api/v1/whoami        -> the caller's identity and how this server signs people in
// A token is made by a signed-in person (any way in) and acts as them.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { parseDuration } from '../../specs/duration.js';
import { API_VERSION, type TokenCreated, type TokenList, type WhoAmI } from '../../specs/index.js';
import { JSON_TYPES, parseObjectBody } from '../body.js';
import { ApiError } from '../errors.js';
import { identityOf } from '../identity.js';
import { NameParams, type TypeBoxProvider } from '../params.js';
import { TOKEN_NAME, type TokenStore } from './tokens.js';

export interface TokenRoutesOptions {
  tokens: TokenStore;
  /** basic, oidc or github: for the UI and `tidepool whoami`. */
  authMode: string;
}

const invalid = (field: string, message: string) =>
  new ApiError(422, 'Invalid', `Token is invalid: ${field}: ${message}`, {
    causes: [{ field, reason: 'FieldValueInvalid', message }],
  });

const object = (description: string, code = 200) => ({
  [code]: { description, content: { 'application/json': { schema: { type: 'object' } } } },
});

export const tokenRoutesPlugin = fp(
  async (app: FastifyInstance, o: TokenRoutesOptions) => {
    const whoami = {
      operationId: 'whoAmI',
      tags: ['Identity'],
      responses: object('An Identity: who the request comes from'),
    };
    app.get('/api/v1/whoami', { schema: whoami }, async (req): Promise<WhoAmI> => {
      const who = identityOf(req);
      return {
        apiVersion: API_VERSION,
        kind: 'Identity',
        ...who,
        groups: [...who.groups],
        authMode: o.authMode,
        ...(who.via === 'session' ? { signOut: '/auth/logout' } : {}),
      };
    });
    const tags = ['Token'];

    const create = {
      operationId: 'createToken',
      tags,
      responses: object('A Token, with its secret (shown once)', 201),
    };
    app.post('/api/v1/tokens', { schema: create }, async (req, reply) => {
      const body = parseObjectBody(req.body ?? '{}', req.headers['content-type'] ?? 'application/json', JSON_TYPES) as {
        name?: unknown;
        expiresIn?: unknown;
      };
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw invalid('body', 'must be an object {name, expiresIn}');
      const name = body.name;
      if (typeof name !== 'string' || !TOKEN_NAME.test(name))
        throw invalid(
          'name',
          `must be 1-63 of a-z, 0-9, '-', '_', '.', starting and ending with a letter or digit (got ${JSON.stringify(name)})`,
        );
      let expiresAt: Date | undefined;
      if (body.expiresIn !== undefined) {
        const ms = typeof body.expiresIn === 'string' ? parseDuration(body.expiresIn) : undefined;
        if (!ms || ms <= 0)
          throw invalid('expiresIn', `must be a duration such as 720h or 30m (got ${JSON.stringify(body.expiresIn)})`);
        expiresAt = new Date(Date.now() + ms);
      }
      const who = identityOf(req);
      if (o.tokens.list(who.name).some((t) => t.name === name))
        throw new ApiError(
          409,
          'AlreadyExists',
          `a token named ${name} of ${who.name} exists already: revoke it first or pick another name`,
        );
      const made = await o.tokens.create(who, name, expiresAt);
      const created: TokenCreated = { apiVersion: API_VERSION, kind: 'Token', ...made };
      return reply.code(201).send(created);
    });

    const list = {
      operationId: 'listTokens',
      tags,
      responses: object("A TokenList: the caller's tokens, without secrets"),
    };
    app.get(
      '/api/v1/tokens',
      { schema: list },
      async (req): Promise<TokenList> => ({
        apiVersion: API_VERSION,
        kind: 'TokenList',
        items: o.tokens.list(identityOf(req).name),
      }),
    );

    const revoke = { operationId: 'revokeToken', tags, params: NameParams, responses: object('A Status') };
    app.withTypeProvider<TypeBoxProvider>().delete('/api/v1/tokens/:name', { schema: revoke }, async (req) => {
      const who = identityOf(req);
      if (!(await o.tokens.revoke(who.name, req.params.name)))
        throw new ApiError(404, 'NotFound', `${who.name} has no token named ${req.params.name}`);
      return {
        apiVersion: 'v1',
        kind: 'Status',
        status: 'Success',
        code: 200,
        message: `token ${req.params.name} revoked`,
      };
    });
  },
  { name: 'tidepool-tokens', fastify: '5.x' },
);
