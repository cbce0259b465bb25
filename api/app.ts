// The bare Fastify instance the plugins are registered on: its logger, its HTTP server (the
// upgrade gate, deadlines, a connection cap) and the errors Fastify and Node raise before any
// route or hook runs, answered as Status objects.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { badRequest } from '../store/index.js';
import { ApiError } from './errors.js';
import type { LoginGate } from './auth.js';
import { gatedServer } from './upgrade-gate.js';
import { crossOriginRefusal, type OriginPolicy } from './origin.js';
import { defaultMaxConnections, framingError } from './framing.js';
import { statusReply, toApiError } from './status.js';

export interface AppOptions {
  logger?: Logger | boolean;
  bodyLimit: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxConnections?: number;
  gate: LoginGate;
  origins: OriginPolicy;
}

/** Paths and fields that never reach a log line. */
export const LOG_REDACT = {
  paths: [
    'req.headers.authorization',
    'req.headers["proxy-authorization"]',
    'req.headers.cookie',
    'req.headers["x-tidepool-proxy"]',
    // A public Port's share token (./port-authz.ts).
    'req.headers["x-tidepool-share"]',
    'req.headers["x-forwarded-uri"]',
    'headers.authorization',
    'headers["proxy-authorization"]',
    'credentials',
    'password',
    '*.password',
    '*.credentials',
  ],
  censor: '[REDACTED]',
};

/** A pino logger (its child, redacted), JSON logs on stdout, or none. */
function loggerOptions(logger: Logger | boolean | undefined) {
  if (logger && typeof logger === 'object')
    return { loggerInstance: logger.child({}, { redact: LOG_REDACT }) as FastifyBaseLogger };
  return { logger: logger ? { level: 'info', redact: LOG_REDACT } : false };
}

export function createApp(opts: AppOptions): FastifyInstance {
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    ...loggerOptions(opts.logger),
    bodyLimit: opts.bodyLimit,
    // A name longer than any name reaches the route (404 / 422 naming the field); only a
    // path segment longer than this is refused by the router (414, as a Status).
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 2048 },
    return503OnClosing: true,
    // A line per request is for debugging (TIDEPOOL_LOG_LEVEL=debug); the log a person reads says what changed.
    logController: new LogController({ disableRequestLogging: true }),
    // Header and whole-request (body) deadlines, checked every second: a client that sends
    // half a request holds its socket for seconds, not forever.
    // Upgrades (exec) pass the Origin check, then the same login gate as every route, before
    // any upgrade listener.
    serverFactory: (handler) =>
      gatedServer(
        {
          headersTimeout,
          requestTimeout,
          connectionsCheckingInterval: Math.min(1000, headersTimeout),
          keepAliveTimeout: 5000,
        },
        handler,
        opts.gate,
        (req) => crossOriginRefusal(req, opts.origins, true),
      ),
    // Malformed framing (two Content-Length, Content-Length with Transfer-Encoding, a bad
    // chunk size, obs-fold) is refused by Node's parser before any route: as a Status too.
    clientErrorHandler: (err, socket) => framingError(err as Error & { code?: string }, socket),
    frameworkErrors: (err, request, reply) => {
      const e = err as { code?: string; message: string };
      if (e.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return statusReply(
          reply,
          new ApiError(
            414,
            'RequestURITooLong',
            `a path segment of ${request.url.split('?')[0]!.slice(0, 80)}... is longer than 2048 characters; no name is that long`,
          ),
        );
      }
      if (e.code === 'FST_ERR_BAD_URL') return statusReply(reply, badRequest(`the URL is malformed (${e.message})`));
      return statusReply(reply, toApiError(err, request));
    },
  });
  app.server.maxConnections = opts.maxConnections ?? defaultMaxConnections();
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      { method: req.method, url: req.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });
  return app;
}
