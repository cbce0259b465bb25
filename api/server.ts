// The Fastify server: auth, body parsing, the Status error contract, resource routes,
// watch, apply, OpenAPI, health, and the built UI at /app/.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Logger } from 'pino';
import { API_VERSION, KINDS, TIDEPOOL_VERSION } from '../specs/index.js';
import { badRequest, isStoreError, type Store, type StoreError } from '../store/index.js';
import { ApiError, isStatusError } from './errors.js';
import { parseListen, type Credentials } from './config.js';
import { basicAuthChecker, LoginRefused, WWW_AUTHENTICATE, loginGate } from './auth.js';
import { gatedServer } from './upgrade-gate.js';
import { ALL_BODY_TYPES, JSON_TYPES, YAML_TYPES, mediaType, parseJson, unsupportedMediaType } from './body.js';
import { METHODS, managerOf, methodNotAllowed, queryBool, queryParam, registerResourceRoutes } from './resources.js';
import { openApiJson } from './openapi.js';
import { registerPortProbe } from './probe.js';
import { registerLogRoutes } from './logs.js';
import { registerExec, type ExecHolder } from './exec.js';
import { registerOrphanRoutes, type OrphansHolder } from './orphans.js';
import { applyDocuments, objectDocuments, parseDocuments, type ApplyOptions } from '../store/apply/index.js';
import type { WatchRegistry } from './watch.js';
import type { ThrottleOptions } from './throttle.js';
import { defaultMaxConnections, framingError } from './framing.js';
import { crossOriginRefusal } from './origin.js';

export interface ServerOptions {
  store: Store;
  credentials: Credentials;
  /** A pino logger, `true` for JSON logs on stdout, `false` (the default) for none. */
  logger?: Logger | boolean;
  /** Largest request body in bytes; larger ones get 413. Defaults to 1 MiB. */
  bodyLimit?: number;
  /** A built UI folder, served at /app/. */
  webRoot?: string;
  /** Served as /app/config.json for the UI (where workspaces are reached). */
  uiConfig?: Record<string, unknown>;
  /** Where the workspaces' activity logs are (`<dataDir>/.logs`), served at /api/v1/workspaces/{name}/log. Defaults to none. */
  logsDir?: string;
  /** Runs commands in workspaces (the runtime's exec), for GET /api/v1/workspaces/{name}/exec. Defaults to none (501). */
  exec?: ExecHolder;
  /** Lists and deletes orphans (the controller's), for /api/v1/orphans. Defaults to none (501). */
  orphans?: OrphansHolder;
  /** Interval of the `: ping` comments on Server-Sent Events streams. Defaults to 15 s. */
  ssePingMs?: number;
  /** Time a client has to send the request headers. Defaults to 10 s. */
  headersTimeoutMs?: number;
  /** Time a client has to send the whole request, body included. Defaults to 30 s. */
  requestTimeoutMs?: number;
  /** Open connections at most; more are closed at once. Defaults to what the file-descriptor limit leaves room for (at most 1024). */
  maxConnections?: number;
  /** How failed logins are slowed (per client). */
  throttle?: ThrottleOptions;
  /** Origins that are not the app's even if their host matched (the IDEs' --workspace-url): refused like any other. */
  foreignOrigins?: string[];
  /** The secret Tidepool's Caddy sends (PROXY_SECRET_HEADER): only then is its X-Forwarded-For believed. */
  proxySecret?: string;
}

export interface StartedServer {
  app: FastifyInstance;
  /** `http://host:port` of the listening socket (the real port when listening on port 0). */
  address: string;
  /** Ends every open session (exec, watch, logs -f) and stops listening; a second call waits for the first. */
  close(): Promise<void>;
}

/** Paths and fields that never reach a log line. */
export const LOG_REDACT = {
  paths: [
    'req.headers.authorization',
    'req.headers["proxy-authorization"]',
    'req.headers.cookie',
    'req.headers["x-tidepool-proxy"]',
    'headers.authorization',
    'headers["proxy-authorization"]',
    'credentials',
    'password',
    '*.password',
    '*.credentials',
  ],
  censor: '[REDACTED]',
};

/** /authz checks the credentials itself (it is what the proxy asks). */
const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/authz']);

function statusReply(reply: FastifyReply, e: ApiError | StoreError) {
  const err = ApiError.from(e);
  if (err.code === 401) reply.header('www-authenticate', WWW_AUTHENTICATE);
  if (err instanceof LoginRefused) reply.headers(err.headers);
  return reply.code(err.code).type('application/json; charset=utf-8').send(JSON.stringify(err.toStatus()));
}

/** Fastify's own errors (body too large, bad media type, ...) as Status objects. */
function toApiError(err: unknown, request: FastifyRequest): ApiError {
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
      return new ApiError(
        404,
        'NotFound',
        `the server could not find the requested resource (${request.method} ${request.url.split('?')[0]})`,
      );
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

function applyOptions(q: Record<string, string | string[] | undefined>): ApplyOptions {
  const dry = queryParam(q, 'dryRun');
  let dryRun: boolean;
  if (dry === undefined || dry === '' || dry === 'false' || dry === 'None' || dry === 'none') dryRun = false;
  else if (dry === 'true' || dry === 'All' || dry === 'all' || dry === 'server' || dry === '1') dryRun = true;
  else throw badRequest(`dryRun must be true, All or server, got "${dry}"`);
  const applyset = queryParam(q, 'applyset');
  // Checked as every other write path checks it (a 400 naming it), or the store would refuse it later as a 422.
  const fieldManager = queryParam(q, 'fieldManager') ? managerOf(q) : undefined;
  return {
    dryRun,
    prune: queryBool(q, 'prune'),
    allowEmptyPrune: queryBool(q, 'allowEmptyPrune'),
    ...(applyset !== undefined && applyset !== '' ? { applyset } : {}),
    ...(fieldManager ? { fieldManager } : {}),
  };
}

const openWatches = new WeakMap<FastifyInstance, WatchRegistry>();

/** How many watch streams a server has open (each holds one store listener). */
export function activeWatchCount(app: FastifyInstance): number {
  return openWatches.get(app)?.size ?? 0;
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { store } = opts;
  const bodyLimit = opts.bodyLimit ?? 2 ** 20;
  const loggerOpts =
    opts.logger && typeof opts.logger === 'object'
      ? { loggerInstance: opts.logger.child({}, { redact: LOG_REDACT }) }
      : { logger: opts.logger ? { level: 'info', redact: LOG_REDACT } : false };
  const gate = loginGate({
    credentials: opts.credentials,
    ...(opts.throttle ? { throttle: opts.throttle } : {}),
    ...(opts.proxySecret ? { proxySecret: opts.proxySecret } : {}),
  });
  const origins = { foreign: opts.foreignOrigins ?? [] };
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    ...loggerOpts,
    bodyLimit,
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
        gate,
        (req) => crossOriginRefusal(req, origins, true),
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
  }) as unknown as FastifyInstance;
  app.server.maxConnections = opts.maxConnections ?? defaultMaxConnections();
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      { method: req.method, url: req.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  // Every accepted body type arrives as a string; handlers parse it (errors with line/column).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([...ALL_BODY_TYPES], { parseAs: 'string', bodyLimit }, (_req, body, done) =>
    done(null, body),
  );

  const authorized = basicAuthChecker(opts.credentials);
  // Before authentication: a page of another origin is refused whatever credentials its
  // browser attaches, and its guesses never reach the login throttle.
  app.addHook('onRequest', async (req) => {
    const refused = crossOriginRefusal(req.raw, origins);
    if (refused) throw refused;
  });
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0]!;
    if (PUBLIC_PATHS.has(path)) return;
    await gate.check(req);
  });

  app.setErrorHandler((err, request, reply) => {
    const apiErr = toApiError(err, request);
    if (apiErr.code >= 500) request.log.error({ err }, 'request failed');
    return statusReply(reply, apiErr);
  });
  app.setNotFoundHandler((request, reply) =>
    statusReply(
      reply,
      new ApiError(
        404,
        'NotFound',
        `the server could not find the requested resource (${request.method} ${request.url.split('?')[0]})`,
      ),
    ),
  );

  const watches: WatchRegistry = new Set();
  openWatches.set(app, watches);
  // Closing: end every watch stream, and drop connections that carry no request (Node's
  // closeIdleConnections misses a keep-alive connection a client opened but never used),
  // so that close() is not held up by a client's connection pool.
  const sockets = new Map<Socket, number>();
  app.server.on('connection', (sock: Socket) => {
    sockets.set(sock, 0);
    sock.once('close', () => sockets.delete(sock));
  });
  app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const sock = req.socket;
    sockets.set(sock, (sockets.get(sock) ?? 0) + 1);
    res.once('close', () => {
      if (sockets.has(sock)) sockets.set(sock, Math.max(0, sockets.get(sock)! - 1));
    });
  });
  // An upgraded socket is the WebSocket's now: exec closes it with a reason on close.
  app.server.on('upgrade', (req: IncomingMessage) => sockets.delete(req.socket));
  app.addHook('preClose', async () => {
    for (const stop of [...watches]) stop();
    for (const [sock, inFlight] of sockets) if (inFlight === 0) sock.destroy();
  });

  app.get('/healthz', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('ok'));
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
  // The proxy's forward auth: 204 for the right credentials, else 401 after the throttle.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/authz',
    handler: async (req, reply) => {
      await gate.check(req);
      return reply.code(204).send();
    },
  });
  app.get('/openapi.json', async (_req, reply) => reply.type('application/json; charset=utf-8').send(openApiJson()));

  const discovery = JSON.stringify({
    apiVersion: 'v1',
    kind: 'APIResourceList',
    groupVersion: API_VERSION,
    resources: KINDS.map((k) => ({
      name: k.plural,
      singularName: k.singular,
      kind: k.kind,
      shortNames: k.shortNames,
      namespaced: false,
      verbs: k.userWritable
        ? ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']
        : ['get', 'list', 'watch'],
    })).concat(
      KINDS.filter((k) => k.statusSchema).map((k) => ({
        name: `${k.plural}/status`,
        singularName: '',
        kind: k.kind,
        shortNames: [],
        namespaced: false,
        verbs: k.userWritable ? ['get', 'update'] : ['get'],
      })),
    ),
  });
  app.get('/api/v1', async (_req, reply) => reply.type('application/json; charset=utf-8').send(discovery));

  registerResourceRoutes(app, { store, watches, pingMs: opts.ssePingMs ?? 15_000 });
  registerPortProbe(app, store);
  if (opts.logsDir) registerLogRoutes(app, { store, logsDir: opts.logsDir });
  registerExec(app, {
    store,
    exec: opts.exec,
    authorized,
    origins,
    log: (fields, msg) => app.log.warn(fields, msg),
  });
  registerOrphanRoutes(app, opts.orphans);
  await app.register((await import('./observe.js')).observeRoutes, { observe: opts.observe });

  app.post(
    '/api/v1/apply',
    async (req: FastifyRequest<{ Querystring: Record<string, string | string[] | undefined> }>, reply) => {
      const options = applyOptions(req.query);
      const type = mediaType(req.headers['content-type']);
      const accepted: string[] = [...JSON_TYPES, ...YAML_TYPES];
      if (req.body === undefined || req.body === null)
        throw badRequest('a request body (YAML or JSON manifests) is required');
      if (!accepted.includes(type)) throw unsupportedMediaType(type, accepted);
      const text = String(req.body);
      let results;
      if ((JSON_TYPES as readonly string[]).includes(type)) {
        // JSON is applied from JSON.parse (the YAML parser takes seconds per MiB, blocking the
        // server); only when it is refused is the text read again by the YAML parser, for the
        // line and column of every problem. A refused apply wrote nothing, so trying again is safe.
        const value = parseJson(text);
        try {
          ({ results } = await applyDocuments(store, objectDocuments([value]), options));
        } catch (err) {
          if (!isStoreError(err, 'Invalid', 'BadRequest')) throw err;
          ({ results } = await applyDocuments(store, parseDocuments([{ text }]), options));
        }
      } else {
        ({ results } = await applyDocuments(store, parseDocuments([{ text }]), options));
      }
      return reply
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ apiVersion: API_VERSION, kind: 'ApplyResult', dryRun: !!options.dryRun, results }));
    },
  );
  app.route({
    method: METHODS.filter((m) => m !== 'POST') as unknown as string[],
    url: '/api/v1/apply',
    onRequest: async (req, reply) => {
      reply.header('allow', 'POST');
      throw methodNotAllowed(req.method, req.url, ['POST']);
    },
    handler: async () => undefined,
  });

  if (opts.webRoot) {
    await app.register(fastifyStatic, { root: opts.webRoot, prefix: '/app/', index: ['index.html'], wildcard: true });
    app.get('/app', async (_req, reply) => reply.redirect('/app/', 301));
    // The UI routes in the browser: a deep link (reload, a shared URL) gets the page itself.
    app.get('/app/workspaces/*', async (_req, reply) =>
      reply.header('cache-control', 'no-cache').sendFile('index.html'),
    );
    const uiConfig = JSON.stringify(opts.uiConfig ?? {});
    app.get('/app/config.json', async (_req, reply) =>
      reply.type('application/json').header('cache-control', 'no-cache').send(uiConfig),
    );
  }

  return app;
}

export async function startServer(opts: ServerOptions & { listen: string }): Promise<StartedServer> {
  const app = await buildServer(opts);
  const { host, port } = parseListen(opts.listen);
  await app.listen({ host, port });
  const addr = app.server.address();
  const bound = addr && typeof addr === 'object' ? addr : { address: host, port };
  const h = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    app,
    address: `http://${h}:${bound.port}`,
    close: () => (closing ??= app.close()),
  };
}
