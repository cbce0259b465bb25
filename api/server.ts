// The API server: a short composition of Fastify plugins, one per concern, registered in an
// order that matters (the error contract and the OpenAPI collector first, so that they see
// every route; the origin check before the login gate), and started on its address.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AuthInfo, AuthMode } from '../specs/index.js';
import type { EditorSettings, Store } from '../store/index.js';
import { createApp } from './app.js';
import { applyPlugin } from './apply.js';
import { authPlugin, loginGate, signInStep } from './auth.js';
import { authInfoPlugin } from './auth-info.js';
import { portAuthz } from './port-authz.js';
import { namespaceReach } from './ide-authz.js';
import { shareKey } from './port-share.js';
import { portSharePlugin } from './port-share-routes.js';
import { bodyPlugin } from './body.js';
import { parseListen, type Credentials } from './config.js';
import { connectionsPlugin } from './connections.js';
import { execPlugin, type ExecHolder } from './exec.js';
import { quotaUsagePlugin } from './quota-usage.js';
import type { ReachCheck } from './forward-auth.js';
import { healthPlugin } from './health.js';
import { logsPlugin } from './logs.js';
import { settingsPlugin } from './settings.js';
import type { SignInProvider } from './signin/provider.js';
import type { OwnOrigins } from './signin/return-url.js';
import { signInPlugin } from './signin/routes.js';
import { NO_RULES, type SignInRules } from './signin/rules.js';
import type { StartLimitOptions } from './signin/start-limit.js';
import { SessionStore } from './signin/sessions.js';
import { tokenRoutesPlugin } from './signin/token-routes.js';
import { TokenStore } from './signin/tokens.js';
import { openApiPlugin } from './openapi.js';
import { originPlugin } from './origin.js';
import { orphansPlugin, type OrphansHolder } from './orphans.js';
import { nodesPlugin, type NodesHolder } from './nodes.js';
import { probePlugin } from './probe.js';
import { sleepPlugin, type SleepHolder } from './sleep.js';
import { resourcesPlugin } from './resources.js';
import { statusPlugin } from './status.js';
import type { ThrottleOptions } from './throttle.js';
import { uiPlugin } from './ui.js';
import { upgradeIdentity } from './upgrade-gate.js';
import { watchPlugin } from './watch.js';

export { LOG_REDACT } from './app.js';
export { activeWatchCount } from './watch.js';

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
  /** The editor settings that follow each person, for GET and PUT /api/v1/settings and /api/v1/namespaces/{ns}/settings. Defaults to none (404). */
  settings?: EditorSettings;
  /** Runs commands in workspaces (the runtime's exec), for GET /api/v1/workspaces/{name}/exec. Defaults to none (501). */
  exec?: ExecHolder;
  /** Lists and deletes orphans (the controller's), for /api/v1/orphans. Defaults to none (501). */
  orphans?: OrphansHolder;
  /** Lists and cordons the cluster's members (the runtime's), for /api/v1/nodes. Defaults to none (501). */
  nodes?: NodesHolder;
  /** Wakes and puts to sleep (the controller's), for /api/v1/workspaces/{name}/wake, sleep and waking. Defaults to none (501). */
  sleep?: SleepHolder;
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
  /** How people sign in besides the local admin's basic auth. Defaults to basic auth only. */
  signIn?: SignInOptions;
  /** What GET /api/v1/auth/info answers (the sign-in mode sets it). Defaults to `{mode: 'basic'}`. */
  authInfo?: AuthInfo;
}

export interface SignInOptions {
  /** Default basic. */
  mode?: AuthMode;
  /** The identity provider (oidc, github); needed unless the mode is basic. */
  provider?: SignInProvider;
  /** Who may sign in and who is an admin. Defaults to anyone the provider signs in, no admin. */
  rules?: SignInRules;
  /** Browser sessions. Defaults to in memory (lost on restart). */
  sessions?: SessionStore;
  /** Personal access tokens. Defaults to in memory. */
  tokens?: TokenStore;
  /** Tidepool's own origins (the proxy's ports): return URLs and the sign-in redirect. */
  own?: OwnOrigins;
  /** Who may reach which IDE or Port through the proxy (namespaces). Defaults to everyone signed in. */
  reach?: ReachCheck;
  /** How many sign-ins a client may start (a burst of 10, then one every 6 s by default). */
  startLimit?: StartLimitOptions;
}

export interface StartedServer {
  app: FastifyInstance;
  /** `http://host:port` of the listening socket (the real port when listening on port 0). */
  address: string;
  /** Ends every open session (exec, watch, logs -f) and stops listening; a second call waits for the first. */
  close(): Promise<void>;
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { store } = opts;
  const bodyLimit = opts.bodyLimit ?? 2 ** 20;
  const signIn = opts.signIn ?? {};
  const mode = signIn.mode ?? 'basic';
  if (mode !== 'basic' && !signIn.provider) throw new Error(`sign-in mode ${mode} needs its provider`);
  const rules = signIn.rules ?? NO_RULES;
  const sessions = signIn.sessions ?? (await SessionStore.open(undefined));
  const tokens = signIn.tokens ?? (await TokenStore.open(undefined));
  const own = signIn.own ?? { ports: [], extra: opts.foreignOrigins ?? [] };
  const gate = loginGate({
    credentials: opts.credentials,
    mode,
    sessions,
    tokens,
    ...(signIn.provider?.verifyBearer ? { bearer: { provider: signIn.provider, rules } } : {}),
    ...(opts.throttle ? { throttle: opts.throttle } : {}),
    ...(opts.proxySecret ? { proxySecret: opts.proxySecret } : {}),
  });
  const origins = { foreign: opts.foreignOrigins ?? [] };
  const app = createApp({ ...opts, bodyLimit, gate, origins });
  await app.register(statusPlugin);
  await app.register(openApiPlugin);
  await app.register(bodyPlugin, { bodyLimit });
  await app.register(watchPlugin);
  await app.register(connectionsPlugin);
  await app.register(originPlugin, origins);
  const shareKeyOfServer = shareKey(opts.proxySecret);
  await app.register(authPlugin, {
    gate,
    origins,
    own,
    proxied: portAuthz(store, shareKeyOfServer),
    // Who may reach which IDE: the namespaces' rule unless the caller gives another.
    reach: signIn.reach ?? namespaceReach,
  });
  if (signIn.provider)
    await app.register(signInPlugin, {
      provider: signIn.provider,
      rules,
      sessions,
      own,
      fromProxy: (req) => gate.fromProxy(req),
      clientOf: (req) => gate.clientOf(req),
      ...(signIn.startLimit ? { startLimit: signIn.startLimit } : {}),
    });
  await app.register(tokenRoutesPlugin, { tokens, authMode: mode });
  await app.register(healthPlugin, { store });
  await app.register(authInfoPlugin, opts.authInfo ? { info: opts.authInfo } : {});
  await app.register(resourcesPlugin, { store, pingMs: opts.ssePingMs ?? 15_000 });
  await app.register(probePlugin, { store });
  await app.register(quotaUsagePlugin, { store });
  await app.register(portSharePlugin, { store, key: shareKeyOfServer });
  if (opts.logsDir) await app.register(logsPlugin, { store, logsDir: opts.logsDir });
  await app.register(execPlugin, {
    store,
    exec: opts.exec,
    authorized: (req) => upgradeIdentity(req) !== undefined,
    origins,
  });
  await app.register(orphansPlugin, { holder: opts.orphans });
  await app.register(nodesPlugin, { holder: opts.nodes });
  await app.register(sleepPlugin, {
    holder: opts.sleep,
    store,
    reach: signIn.reach ?? namespaceReach,
    shareKey: shareKeyOfServer,
    signIn: signInStep(gate, origins),
  });
  if (opts.settings) await app.register(settingsPlugin, { settings: opts.settings });
  await app.register((await import('./observe.js')).observeRoutes, { observe: opts.observe });
  await app.register(applyPlugin, { store });
  if (opts.webRoot) await app.register(uiPlugin, { webRoot: opts.webRoot, uiConfig: opts.uiConfig });
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
