// The composition root: builds and starts Tidepool from one settings object — the data
// directory lock, the store, the credentials, the API, the runtime and proxy drivers (looked up
// in their registries by name), the controller and the syncs — and stops them: the API first
// (its open sessions), then the rest in reverse order.
// `tidepool serve` (cli/commands/serve.ts) only turns its flags into these settings (serve-flags.ts).
import type { Logger } from 'pino';
import { EditorSettings, imageTemplateAdmission, type Store } from '../store/index.js';
import type { ExecHolder } from '../api/exec.js';
import type { OrphansHolder } from '../api/orphans.js';
import type { NodesHolder } from '../api/nodes.js';
import { nodeService } from './nodes.js';
import type { SleepHolder } from '../api/sleep.js';
import type { ObserveOptions } from '../api/observe.js';
import type { SignInOptions } from '../api/server.js';
import type { AuthInfo } from '../specs/index.js';
import {
  loadOrCreateCredentials,
  logsDir,
  loadOrCreateId,
  parseListen,
  storePath,
  type Credentials,
} from '../api/config.js';
import type { ProxyDriver } from '../drivers/proxy/types.js';
import { IDE_PORT } from '../specs/workspace.js';
import { errorMessage } from '../specs/errors.js';
import { ServeError } from './errors.js';
import { Components, defaultWebRoot, makeLogger, untilSignalled } from './lifecycle.js';
import { lockDataDir } from './lock.js';
import { portTakenMessage } from './port-taken.js';
import { proxyEntry, type ProxyListens } from './proxies.js';
import { loadOrCreateProxySecret } from './proxy-secret.js';
import { imageMapFor, runtimeEntry } from './runtimes.js';
import { defaultServeSettings, type ServeSettings } from './serve-flags.js';
import type { Observability } from './observe.js';

/**
 * The settings of `tidepool serve` (serve-flags.ts: each field's flag says its default; a
 * field left out takes it), and what only a program gives.
 */
export type ServeOptions = Partial<Omit<ServeSettings, 'drivers'>> & {
  dataDir: string;
  /** Each driver's settings by its name; a driver left out takes the defaults of its flags. */
  drivers?: Partial<ServeSettings['drivers']>;
  /** Environment for credentials (TIDEPOOL_USER / TIDEPOOL_PASSWORD). Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to JSON logs on stdout at TIDEPOOL_LOG_LEVEL (info). */
  logger?: Logger;
  /** The built UI, served at /app/. Defaults to web/dist of this package when it exists. */
  webRoot?: string;
  /** Runs the API (and UI) only: no runtime, proxy, controller or sync. For tests of the API alone. */
  apiOnly?: boolean;
  /** Serve /metrics on the API (behind its login) and count for it. Defaults to true. */
  metrics?: boolean;
};

export interface ServeHandle {
  /** `http://host:port` the API listens on. */
  address: string;
  store: Store;
  /** The proxy driver once it runs (Caddy's tells its pids and admin URL). */
  proxy?: ProxyDriver;
  credentials: Credentials;
  logger: Logger;
  /** Stops every component, last started first; safe to call twice. */
  close(): Promise<void>;
}

/** What the start-up steps share. */
interface Serving {
  s: ServeSettings;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  components: Components;
  store: Store;
  credentials: Credentials;
  proxySecret: string;
  address: string;
  exec: ExecHolder;
  orphans: OrphansHolder;
  nodes: NodesHolder;
  sleep: SleepHolder;
  /** Metrics, usage and the reconcile log (observe.ts). */
  observe: Observability;
  /** The editor settings that follow the user, shared by the API (export, import) and the controller. */
  settings: EditorSettings;
}

/**
 * Starts Tidepool: the store, the credentials, then every component, the API server last
 * (so nothing is served before the rest is up). Throws ServeError with a clear message when
 * the store cannot be read or the address cannot be listened on; whatever was started by
 * then is stopped again.
 */
export async function runServe(opts: ServeOptions): Promise<ServeHandle> {
  // Loaded here, not at the top: every other command starts faster without the server's modules.
  const [{ pino }, { Observability }] = await Promise.all([import('pino'), import('./observe.js')]);
  const defaults = defaultServeSettings();
  const s: ServeSettings = { ...defaults, ...opts, drivers: { ...defaults.drivers, ...opts.drivers } };
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? makeLogger(pino, env, s);
  const components = new Components(logger);
  try {
    const store = await openStore(s.dataDir, logger, components);
    const templates = await imageTemplates(s);
    store.admission = imageTemplateAdmission(templates);
    const credentials = await loadCredentials(s.dataDir, env, logger);
    const proxySecret = await loadOrCreateProxySecret(s.dataDir);
    // The API comes up first: the proxy needs its address (--listen may say port 0), and
    // objects stored before the controller runs are simply reconciled when it does.
    const exec: ExecHolder = { starting: !opts.apiOnly };
    const orphans: OrphansHolder = { starting: !opts.apiOnly };
    const nodes: NodesHolder = { starting: !opts.apiOnly };
    const sleep: SleepHolder = { starting: !opts.apiOnly };
    const observe = new Observability({
      metrics: opts.metrics ?? true,
      runtimeComing: !opts.apiOnly,
      ...(s.usageIntervalMs !== undefined ? { usageIntervalMs: s.usageIntervalMs } : {}),
    });
    const settings = new EditorSettings(s.dataDir);
    const parts = {
      store,
      credentials,
      proxySecret,
      logger,
      exec,
      orphans,
      nodes,
      sleep,
      templates,
      settings,
      observe: observe.apiOptions,
    };
    const { signInOptions, authInfoOf } = await import('./signin.js');
    const signIn = await signInOptions(s);
    if (s.auth !== 'basic')
      logger.info(
        { auth: s.auth },
        `people sign in with ${signIn.provider?.label}; basic auth stays the local admin's`,
      );
    const server = await startApi(s, { ...parts, signIn, authInfo: authInfoOf(s) }, opts);
    components.add('api server', () => server.close());
    logger.info({ address: server.address, dataDir: s.dataDir }, `Tidepool API listening on ${server.address}`);
    if (s.metricsListen) components.add('metrics listener', (await observe.listen(s.metricsListen, logger)).close);
    // Stopping starts with the API (its close is idempotent, so its place in the list above only
    // matters when start-up fails): its open sessions (exec, watch, logs -f) end while the runtime
    // that an exec session waits on is still up, and nothing new starts while the rest stops.
    const handle: ServeHandle = {
      address: server.address,
      store,
      credentials,
      logger,
      close: async () => {
        try {
          await server.close();
        } catch (err) {
          logger.error({ err, component: 'api server' }, 'stopping api server failed');
        }
        await components.close();
      },
    };
    if (opts.apiOnly) return handle;
    const serving = {
      s,
      env,
      logger,
      components,
      store,
      credentials,
      proxySecret,
      address: server.address,
      exec,
      orphans,
      nodes,
      sleep,
      observe,
      settings,
    };
    handle.proxy = await startDriversAndController(serving);
    await startSyncs(serving);
    logger.info({ ready: true, address: server.address }, 'Tidepool is up');
    return handle;
  } catch (err) {
    await components.close();
    throw err;
  }
}

/** The data directory (made, locked) and the store in it. */
async function openStore(dataDir: string, logger: Logger, components: Components): Promise<Store> {
  const [{ mkdir }, { Store, StoreOpenError }] = await Promise.all([
    import('node:fs/promises'),
    import('../store/index.js'),
  ]);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  components.add('data directory lock', await lockDataDir(dataDir));
  let store: Store;
  try {
    store = await Store.open(storePath(dataDir), { warn: (message, fields) => logger.warn(fields, message) });
  } catch (err) {
    if (err instanceof StoreOpenError) throw new ServeError(err.message);
    throw new ServeError(`cannot open the store in ${dataDir}: ${errorMessage(err)}`);
  }
  components.add('store', () => store.close());
  return store;
}

async function loadCredentials(dataDir: string, env: NodeJS.ProcessEnv, logger: Logger): Promise<Credentials> {
  const { credentials, source, path } = await loadOrCreateCredentials(dataDir, env);
  if (source === 'generated') {
    logger.warn(
      { credentialsFile: path, user: credentials.username },
      `generated credentials for user "${credentials.username}"; the password is in ${path} (mode 0600). The CLI on this host reads it from there.`,
    );
  } else {
    logger.info({ credentialsFrom: source === 'env' ? 'TIDEPOOL_USER/TIDEPOOL_PASSWORD' : path }, 'credentials loaded');
  }
  return credentials;
}

type ApiParts = Pick<
  Serving,
  'store' | 'credentials' | 'proxySecret' | 'logger' | 'exec' | 'orphans' | 'nodes' | 'sleep'
> & {
  templates: string[];
  observe: ObserveOptions;
  signIn: SignInOptions;
  authInfo: AuthInfo;
};

/** The API server on --listen; a busy or foreign address is a ServeError that says so. */
async function startApi(s: ServeSettings, parts: ApiParts, opts: ServeOptions) {
  const { startServer } = await import('../api/server.js');
  const { templates, ...rest } = parts;
  const webRoot = opts.webRoot ?? defaultWebRoot();
  try {
    return await startServer({
      ...rest,
      listen: s.listen,
      ...(webRoot ? { webRoot } : {}),
      logsDir: logsDir(s.dataDir),
      // The IDEs' origin is never the app's, even behind a proxy that gives both one host name.
      ...(s.workspaceBaseUrl ? { foreignOrigins: [s.workspaceBaseUrl] } : {}),
      uiConfig: { ...uiConfig(s), imageTemplates: templates },
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      const port = parseListen(s.listen).port;
      throw new ServeError(
        `cannot listen on ${s.listen}: ${await portTakenMessage(port, [{ flag: '--listen', listen: s.listen }])}`,
      );
    }
    const why =
      code === 'EADDRNOTAVAIL'
        ? 'address not available on this host'
        : code === 'EACCES'
          ? 'permission denied'
          : errorMessage(err);
    throw new ServeError(`cannot listen on ${s.listen}: ${why}`);
  }
}

/** The runtime, the proxy and the controller, from their registry entries; returns the proxy. */
async function startDriversAndController(x: Serving): Promise<ProxyDriver> {
  const { s, logger, components } = x;
  const { startController } = await import('../controller/index.js');
  const tidepoolId = await loadOrCreateId(s.dataDir);
  const runtimes = runtimeEntry(s.runtime);
  const idePort = (await runtimes.idePort?.(x.env, logger)) ?? IDE_PORT;
  const runtime = await runtimes.create(s.drivers[s.runtime], {
    tidepoolId,
    dataDir: s.dataDir,
    logger,
    idePort,
    images: s.images,
  });
  components.add('runtime', async () => {
    await runtime.close?.();
  });
  if (runtime.openExec) x.exec.exec = runtime.openExec.bind(runtime);
  x.exec.starting = false;
  const capacity = {
    ...(s.maxRunning !== undefined ? { maxRunning: s.maxRunning } : {}),
    ...(s.cpuBudget !== undefined ? { cpuBudget: s.cpuBudget } : {}),
    ...(s.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: s.memoryBudgetBytes } : {}),
  };
  components.add('usage sampler', x.observe.startUsage(runtime, x.store, capacity, logger));

  const proxies = proxyEntry(s.proxy);
  const proxySettings = s.drivers[s.proxy];
  const ctx = {
    apiAddress: x.address,
    credentials: x.credentials,
    proxySecret: x.proxySecret,
    dataDir: s.dataDir,
    logger,
    idePort,
    listens: listensOf(s),
  };
  const proxy = await proxies.create(proxySettings, ctx);
  // The data plane outlives serve when asked: Caddy and dnsmasq keep serving, the next serve adopts them.
  components.add('proxy', async () => {
    await proxy.close?.({ keepRunning: s.keepDataPlane ?? false });
  });
  proxies.describe?.(proxy, proxySettings, ctx);

  const controller = await startController({
    idePort,
    store: x.observe.controllerStore(x.store),
    runtime,
    proxy,
    ...(x.observe.metrics ? { metrics: x.observe.metrics } : {}),
    observer: x.observe.reconciles,
    logger: logger.child({ component: 'controller' }),
    dataDir: s.dataDir,
    ...(s.resyncPeriodMs !== undefined ? { resyncPeriodMs: s.resyncPeriodMs } : {}),
    ...(s.dotfiles ? { dotfiles: s.dotfiles } : {}),
    settings: x.settings,
    capacity,
    idle: idleOptions(s),
  });
  components.add('controller', () => controller.stop());
  x.sleep.service = controller.sleep;
  x.sleep.starting = false;
  x.exec.opened = (name) => controller.sleep.execOpened(name);
  x.orphans.service = controller.orphans;
  x.orphans.starting = false;
  const nodes = nodeService(runtime, () => controller.resync());
  if (nodes) x.nodes.service = nodes;
  x.nodes.starting = false;
  logger.info({ tidepoolId, runtime: runtime.name, proxy: proxy.name }, 'controller started');
  return proxy;
}

/** Idle sleep from the flags: the default timeout, the tick, making room, what counts as use. */
function idleOptions(s: ServeSettings) {
  return {
    ...(s.idleTimeoutMs !== undefined ? { defaultTimeoutMs: s.idleTimeoutMs } : {}),
    ...(s.idleTickMs !== undefined ? { tickMs: s.idleTickMs } : {}),
    makeRoom: s.makeRoom !== 'off',
    thresholds: {
      ...(s.idleCpuCores !== undefined ? { cpuCores: s.idleCpuCores } : {}),
      ...(s.idleNetworkBytesPerSecond !== undefined ? { networkBytesPerSecond: s.idleNetworkBytesPerSecond } : {}),
    },
  };
}

/**
 * One GitOps sync per --sync-dir, with their events; the Sync object of an earlier run whose
 * folder this serve does not sync says so (and owns nothing).
 */
async function startSyncs({ s, store, logger, components, observe }: Serving): Promise<void> {
  const [{ EventRecorder, realClock }, { startSyncs, parseSyncDirFlag }, { markNotRunning }] = await Promise.all([
    import('../controller/index.js'),
    import('./sync-dirs.js'),
    import('../gitops/index.js'),
  ]);
  const gitopsLogger = logger.child({ component: 'gitops' });
  const dirs = s.syncDirs ?? [];
  if (dirs.length) {
    const recorder = new EventRecorder({ store, clock: realClock, logger });
    components.add('sync events', () => recorder.close());
    let syncs;
    try {
      syncs = await startSyncs(dirs, {
        store,
        logger: gitopsLogger,
        ...(s.syncIntervalMs !== undefined ? { intervalMs: s.syncIntervalMs } : {}),
        allowEmptyPrune: s.syncAllowEmptyPrune ?? false,
        ...(s.syncPruneSettleMs !== undefined ? { pruneSettleMs: s.syncPruneSettleMs } : {}),
        recordEvent: async (ev) => {
          observe.syncEvent(ev);
          await recorder.record(ev.regarding, ev.type, ev.reason, ev.note);
        },
      });
    } catch (err) {
      throw new ServeError(errorMessage(err));
    }
    components.add('gitops', () => syncs.stop());
    logger.info({ syncs: syncs.syncs }, `syncing ${syncs.syncs.map((x) => `${x.name}=${x.dir}`).join(', ')}`);
  }
  await markNotRunning(store, new Set(dirs.map((v) => parseSyncDirFlag(v).name)), gitopsLogger);
}

const listensOf = (s: ServeSettings): ProxyListens => ({
  appListen: s.appListen,
  workspaceListen: s.workspaceListen,
  previewListen: s.previewListen,
});

/** What the UI reads from /app/config.json: where workspaces are reached. */
function uiConfig(s: ServeSettings): Record<string, unknown> {
  // Port links need no key of their own: /workspace/{ws}/port/{n}/ on the workspace port redirects to the preview port.
  // The proxy's access log is what tells a workspace's last access; without it there is none to show.
  const reportsAccess = proxyEntry(s.proxy).reportsAccess;
  if (s.workspaceBaseUrl) return { workspaceBaseUrl: s.workspaceBaseUrl, reportsAccess };
  return { workspacePort: parseListen(s.workspaceListen).port, reportsAccess };
}

/** The image template names (spec.image) the server knows, for the UI's create form. */
async function imageTemplates(s: ServeSettings): Promise<string[]> {
  const family = runtimeEntry(s.runtime).imageFamily;
  return Object.keys((await imageMapFor(family, s.images))[family]).sort();
}

/** Runs until SIGTERM or SIGINT, then stops cleanly (a second signal exits at once). */
export async function serveUntilSignalled(opts: ServeOptions): Promise<void> {
  await untilSignalled(await runServe(opts));
}
