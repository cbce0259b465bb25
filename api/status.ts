// Every error as a Status object: the errors routes throw (ApiError, StoreError), Fastify's own
// (body too large, bad media type, a refused parameter), unknown routes, and 405s.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { StoreError } from '../store/index.js';
import { ApiError, isStatusError } from './errors.js';
import { LoginRefused, WWW_AUTHENTICATE } from './auth.js';
import { ALL_BODY_TYPES, mediaType, unsupportedMediaType } from './body.js';
import { validatorCompiler } from './params.js';

export function statusReply(reply: FastifyReply, e: ApiError | StoreError) {
  const err = ApiError.from(e);
  if (err.code === 401) reply.header('www-authenticate', WWW_AUTHENTICATE);
  if (err instanceof LoginRefused) reply.headers(err.headers);
  return reply.code(err.code).type('application/json; charset=utf-8').send(JSON.stringify(err.toStatus()));
}

function notFound(request: FastifyRequest): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `the server could not find the requested resource (${request.method} ${request.url.split('?')[0]})`,
  );
}

/** Fastify's own errors (body too large, bad media type, ...) as Status objects. */
export function toApiError(err: unknown, request: FastifyRequest): ApiError {
  if (isStatusError(err)) return ApiError.from(err);
  const e = err as { statusCode?: number; code?: string; message?: string };
  const code = e.statusCode;
  switch (code) {
    case 413:
      return new ApiError(
        413,
        'RequestEntityTooLarge',
        `the request body is too large: the limit is ${request.routeOptions.bodyLimit ?? 'the configured'} bytes`,
      );
    case 415:
      return unsupportedMediaType(mediaType(request.headers['content-type']), ALL_BODY_TYPES);
    case 400:
      return new ApiError(400, 'BadRequest', `bad request: ${e.message ?? 'malformed request'}`);
    case 404:
      return notFound(request);
    default:
      if (code !== undefined && code >= 400 && code < 500)
        return new ApiError(code, 'BadRequest', e.message ?? 'bad request');
      return new ApiError(
        500,
        'InternalError',
        `an internal error occurred (request ${request.id}); the server log has the details`,
      );
  }
}

export function methodNotAllowed(method: string, url: string, allow: readonly string[]): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    `the server does not allow method ${method} on ${url.split('?')[0]} (allowed: ${allow.join(', ')})`,
  );
}

/** The methods a route table answers at all; the others of a path get 405 there. */
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Every method of METHODS not in `allowed` gets 405 on `url`, before any body is read. */
export function rest405(app: FastifyInstance, url: string, allowed: readonly string[]): void {
  const others = METHODS.filter((m) => !allowed.includes(m));
  const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])];
  app.route({
    method: others,
    url,
    onRequest: async (req, reply) => {
      reply.header('allow', allow.join(', '));
      throw methodNotAllowed(req.method, req.url, allow);
    },
    handler: async () => undefined,
  });
}

export const statusPlugin = fp(
  async (app: FastifyInstance) => {
    app.setValidatorCompiler(validatorCompiler);
    app.setErrorHandler((err, request, reply) => {
      const apiErr = toApiError(err, request);
      if (apiErr.code >= 500) request.log.error({ err }, 'request failed');
      return statusReply(reply, apiErr);
    });
    app.setNotFoundHandler((request, reply) => statusReply(reply, notFound(request)));
  },
  { name: 'tidepool-status', fastify: '5.x' },
);
