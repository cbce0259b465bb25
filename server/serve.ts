// The composition root: builds and starts Tidepool from one settings object — the data
// directory lock, the store, the credentials, the API, the runtime and proxy drivers (from
// their registries), the controller and the syncs — and stops them: the API first (its open
// sessions), then the rest in reverse order.
// `tidepool serve` (cli/commands/serve.ts) only turns its flags into these settings.
// Over 300 lines, and runServe over 80, on purpose: the start order and its undoing on failure
// read best in one place; each component it starts is built elsewhere (drivers.ts, sync-dirs.ts).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { imageTemplateAdmission } from '../store/index.js';
import type { ExecHolder } from '../api/exec.js';
import type { OrphansHolder } from '../api/orphans.js';
import {
  loadOrCreateCredentials,
  logsDir,
  loadOrCreateId,
  parseListen,
  storePath,
  type Credentials,
} from '../api/config.js';
import type { Store } from '../store/index.js';
import type { CapacityOptions } from '../controller/types.js';
import {
  createProxy,
  idePortFor,
  createRuntime,
  defaultRuntime,
  imageMapFor,
  isCaddy,
  type ProxySettings,
  type RuntimeSettings,
} from './drivers.js';
import { ServeError } from './errors.js';
import { portTakenMessage } from './port-taken.js';
import { lockDataDir } from './lock.js';
import { loadOrCreateProxySecret } from './proxy-secret.js';
import { readableLog } from './log-format.js';
import { errorMessage } from '../specs/errors.js';
import { IDE_PORT } from '../specs/workspace.js';

/** Where Caddy serves, unless told otherwise: the UI and API, the IDEs, the Ports. */
export { DEFAULT_PORTS } from '../controller/drivers/proxy/types.js';
import { DEFAULT_PORTS } from '../controller/drivers/proxy/types.js';

export interface ServeOptions {
  dataDir: string;
  /** host:port of the API; port 0 picks a free one (the address is logged and returned). */
  listen: string;
  /** Environment for credentials (TIDEPOOL_USER / TIDEPOOL_PASSWORD). Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to JSON logs on stdout at TIDEPOOL_LOG_LEVEL (info). */
  logger?: Logger;
  /** The built UI, served at /app/. Defaults to web/dist of this package when it exists. */
  webRoot?: string;
  /** Runs the API (and UI) only: no runtime, proxy, controller or sync. For tests of the API alone. */
  apiOnly?: boolean;
  /** Defaults to incus on Linux, tart on macOS. */
  runtime?: RuntimeSettings;
  /** Defaults to Caddy on :8080 and :8081, started by Tidepool. */
  proxy?: ProxySettings;
  /** Resync period of the controller. Defaults to 30 s. */
  resyncPeriodMs?: number;
  /** The host budget; each field defaults from the host. */
  capacity?: CapacityOptions;
  /** `--sync-dir` values: `DIR` or `NAME=DIR`. */
  syncDirs?: string[];
  /** Self-heal period of the syncs. Defaults to 60 s. */
  syncIntervalMs?: number;
  syncAllowEmptyPrune?: boolean;
  /** Where the UI sends people for a workspace's IDE. Defaults to the page's own host on the workspace port. */
  workspaceBaseUrl?: string;
  /** On close, leave Caddy and dnsmasq running for the next serve to adopt (connections survive). Default false. */
  keepDataPlane?: boolean;
  /** Serve /metrics on the API (behind its login). Defaults to true. */
  metrics?: boolean;
  /** Also serve /metrics without login on this host:port (loopback). Defaults to none. */
  metricsListen?: string;
  /** Time between two samples of the workspaces' usage (`tidepool top`, graphs). Defaults to 10 s. */
  usageIntervalMs?: number;
}

export interface ServeHandle {
  /** `http://host:port` the API listens on. */
  address: string;
  store: Store;
  /** The Caddy Tidepool supervises (pid, admin URL), when it runs one. */
  caddy?: { pid: number | undefined; adminUrl: string | undefined; dnsmasqPid: number | undefined };
  credentials: Credentials;
  logger: Logger;
  /** Stops every component, last started first; safe to call twice. */
  close(): Promise<void>;
}

/** Things that were started, stopped in reverse order. */
class Components {
  readonly #stops: { name: string; stop: () => Promise<void> }[] = [];
  #closing: Promise<void> | undefined;
  constructor(readonly logger: Logger) {}

  add(name: string, stop: () => Promise<void>): void {
    this.#stops.push({ name, stop });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const { name, stop } of this.#stops.reverse()) {
        try {
          await stop();
        } catch (err) {
          this.logger.error({ err, component: name }, `stopping ${name} failed`);
        }
      }
    })();
    return this.#closing;
  }
}

/** The package root (where package.json is), from src (server/) or dist (dist/server/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export function defaultWebRoot(): string | undefined {
  const dir = join(packageRoot(), 'web', 'dist');
  return existsSync(join(dir, 'index.html')) ? dir : undefined;
}

/**
 * JSON lines for machines; readable lines when a person watches a terminal (or
 * TIDEPOOL_LOG_FORMAT=text). TIDEPOOL_LOG_LEVEL=debug adds a line per request.
 */
function makeLogger(pino: typeof import('pino').pino, env: NodeJS.ProcessEnv): Logger {
  const level = env.TIDEPOOL_LOG_LEVEL || 'info';
  const format = env.TIDEPOOL_LOG_FORMAT || (process.stdout.isTTY ? 'text' : 'json');
  if (format !== 'text' && format !== 'json')
    throw new ServeError(`TIDEPOOL_LOG_FORMAT must be text or json, got "${format}"`);
  return format === 'text' ? pino({ level }, readableLog(process.stdout)) : pino({ level });
}

/**
 * Starts Tidepool: the store, the credentials, then every component, the API server last
 * (so nothing is served before the rest is up). Throws ServeError with a clear message when
 * the store cannot be read or the address cannot be listened on; whatever was started by
 * then is stopped again.
 */
export async function runServe(opts: ServeOptions): Promise<ServeHandle> {
  // Loaded here, not at the top: every other command starts faster without the server's modules.
  const [{ pino }, { Store, StoreOpenError }, { startServer }, { Observability }] = await Promise.all([
    import('pino'),
    import('../store/index.js'),
    import('../api/server.js'),
    import('./observe.js'),
  ]);
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? makeLogger(pino, env);
  const components = new Components(logger);
  if (opts.syncDirs?.length && !opts.apiOnly) {
    // A bad --sync-dir is refused before anything starts, not after the drivers are up.
    const { parseSyncDirFlag } = await import('./sync-dirs.js');
    for (const v of opts.syncDirs) {
      try {
        parseSyncDirFlag(v);
      } catch (err) {
        throw new ServeError(errorMessage(err));
      }
    }
  }
  try {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    const unlock = await lockDataDir(opts.dataDir);
    components.add('data directory lock', unlock);
    let store: Store;
    try {
      store = await Store.open(storePath(opts.dataDir), { warn: (message, fields) => logger.warn(fields, message) });
    } catch (err) {
      if (err instanceof StoreOpenError) throw new ServeError(err.message);
      throw new ServeError(`cannot open the store in ${opts.dataDir}: ${errorMessage(err)}`);
    }
    components.add('store', () => store.close());
    const templates = await imageTemplates(opts.runtime);
    store.admission = imageTemplateAdmission(templates);

    const { credentials, source, path } = await loadOrCreateCredentials(opts.dataDir, env);
    if (source === 'generated') {
      logger.warn(
        { credentialsFile: path, user: credentials.username },
        `generated credentials for user "${credentials.username}"; the password is in ${path} (mode 0600). The CLI on this host reads it from there.`,
      );
    } else {
      logger.info(
        { credentialsFrom: source === 'env' ? 'TIDEPOOL_USER/TIDEPOOL_PASSWORD' : path },
        'credentials loaded',
      );
    }

    const proxySecret = await loadOrCreateProxySecret(opts.dataDir);
    const webRoot = opts.webRoot ?? defaultWebRoot();
    const proxySettings = opts.proxy ?? {
      proxy: 'caddy',
      appListen: `:${DEFAULT_PORTS.app}`,
      workspaceListen: `:${DEFAULT_PORTS.workspace}`,
      previewListen: `:${DEFAULT_PORTS.preview}`,
    };
    // The API comes up first: the proxy needs its address (--listen may say port 0), and
    // objects stored before the controller runs are simply reconciled when it does.
    let server;
    const exec: ExecHolder = { starting: !opts.apiOnly };
    const orphans: OrphansHolder = { starting: !opts.apiOnly };
    const observe = new Observability({
      metrics: opts.metrics ?? true,
      runtimeComing: !opts.apiOnly,
      usageIntervalMs: opts.usageIntervalMs,
    });
    try {
      server = await startServer({
        store,
        credentials,
        proxySecret,
        logger,
        listen: opts.listen,
        ...(webRoot ? { webRoot } : {}),
        logsDir: logsDir(opts.dataDir),
        exec,
        // The IDEs' origin is never the app's, even behind a proxy that gives both one host name.
        ...(opts.workspaceBaseUrl ? { foreignOrigins: [opts.workspaceBaseUrl] } : {}),
        orphans,
        observe: observe.apiOptions,
        uiConfig: { ...uiConfig(opts.workspaceBaseUrl, proxySettings), imageTemplates: templates },
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        const port = parseListen(opts.listen).port;
        throw new ServeError(
          `cannot listen on ${opts.listen}: ${await portTakenMessage(port, [{ flag: '--listen', listen: opts.listen }])}`,
        );
      }
      const why =
        code === 'EADDRNOTAVAIL'
          ? 'address not available on this host'
          : code === 'EACCES'
            ? 'permission denied'
            : errorMessage(err);
      throw new ServeError(`cannot listen on ${opts.listen}: ${why}`);
    }
    components.add('api server', () => server.close());
    logger.info({ address: server.address, dataDir: opts.dataDir }, `Tidepool API listening on ${server.address}`);
    if (opts.metricsListen)
      components.add('metrics listener', (await observe.listen(opts.metricsListen, logger)).close);
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

    // Components: each registers its stop with components.add (stops run in reverse order).
    const [{ startController, EventRecorder, realClock }, { startSyncs }] = await Promise.all([
      import('../controller/index.js'),
      import('./sync-dirs.js'),
    ]);
    const tidepoolId = await loadOrCreateId(opts.dataDir);
    const runtimeSettings = opts.runtime ?? { runtime: defaultRuntime() };
    const idePort = await idePortFor(runtimeSettings, env);
    if (idePort !== IDE_PORT) {
      logger.info(
        { idePort },
        `the stub's IDEs answer on port ${idePort} (${IDE_PORT} is taken on this host, or TIDEPOOL_STUB_IDE_PORT asked for it)`,
      );
    }
    const runtime = await createRuntime(runtimeSettings, tidepoolId, opts.dataDir, logger, idePort);
    components.add('runtime', async () => {
      await runtime.close?.();
    });
    if (runtime.openExec) exec.exec = runtime.openExec.bind(runtime);
    components.add('usage sampler', observe.startUsage(runtime, store, opts.capacity, logger));
    exec.starting = false;

    const proxy = await createProxy(proxySettings, {
      apiAddress: server.address,
      credentials,
      proxySecret,
      dataDir: opts.dataDir,
      logger,
      idePort,
    });
    // The data plane outlives serve when asked: Caddy and dnsmasq keep serving, the next serve adopts them.
    components.add('proxy', async () => {
      await proxy.close?.({ keepRunning: opts.keepDataPlane ?? false });
    });
    if (isCaddy(proxy)) {
      handle.caddy = proxy;
      logger.info(
        {
          app: proxySettings.appListen,
          workspaces: proxySettings.workspaceListen,
          previews: proxySettings.previewListen,
          admin: proxy.adminUrl,
          caddyPid: proxy.pid,
          dnsmasqPid: proxy.dnsmasqPid,
          adopted: proxy.adopted,
          ...(proxySettings.tls ? { tls: proxySettings.tls.mode, tlsNames: proxySettings.tls.names } : {}),
        },
        `Caddy serves the UI and API on ${proxySettings.appListen}, the workspaces on ${proxySettings.workspaceListen} and their Ports on ${proxySettings.previewListen}`,
      );
      if (proxy.caCertPath) {
        logger.info(
          { caCert: proxy.caCertPath, tlsNames: proxySettings.tls?.names },
          `TLS by Caddy's own CA (not installed in this host's trust store): trust ${proxy.caCertPath} in your browser, or curl --cacert ${proxy.caCertPath}`,
        );
      } else if (proxySettings.tls?.mode === 'acme') {
        logger.info(
          { tlsNames: proxySettings.tls.names },
          `TLS by ACME for ${proxySettings.tls.names.join(', ')}: Caddy gets the certificate once port 80 or 443 of this host is reachable at that name`,
        );
      }
    }

    const controller = await startController({
      idePort,
      store: observe.controllerStore(store),
      runtime,
      proxy,
      ...(observe.metrics ? { metrics: observe.metrics } : {}),
      observer: observe.reconciles,
      logger: logger.child({ component: 'controller' }),
      dataDir: opts.dataDir,
      ...(opts.resyncPeriodMs !== undefined ? { resyncPeriodMs: opts.resyncPeriodMs } : {}),
      ...(opts.capacity ? { capacity: opts.capacity } : {}),
    });
    components.add('controller', () => controller.stop());
    orphans.service = controller.orphans;
    orphans.starting = false;
    logger.info({ tidepoolId, runtime: runtime.name, proxy: proxy.name }, 'controller started');

    if (opts.syncDirs?.length) {
      const recorder = new EventRecorder({ store, clock: realClock, logger });
      components.add('sync events', () => recorder.close());
      let syncs;
      try {
        syncs = await startSyncs(opts.syncDirs, {
          store,
          logger: logger.child({ component: 'gitops' }),
          ...(opts.syncIntervalMs !== undefined ? { intervalMs: opts.syncIntervalMs } : {}),
          allowEmptyPrune: opts.syncAllowEmptyPrune ?? false,
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
    logger.info({ ready: true, address: server.address }, 'Tidepool is up');
    return handle;
  } catch (err) {
    await components.close();
    throw err;
  }
}

/** What the UI reads from /app/config.json: where workspaces are reached. */
function uiConfig(workspaceBaseUrl: string | undefined, proxy: ProxySettings): Record<string, unknown> {
  // Port links need no key of their own: /workspace/{ws}/port/{n}/ on the workspace port redirects to the preview port.
  // Caddy's access log is what tells a workspace's last access; without it there is none to show.
  const reportsAccess = proxy.proxy === 'caddy';
  if (workspaceBaseUrl) return { workspaceBaseUrl, reportsAccess };
  return { workspacePort: parseListen(proxy.workspaceListen).port, reportsAccess };
}

/** The image template names (spec.image) the server knows, for the UI's create form; the stub offers Incus' names. */
async function imageTemplates(rt: RuntimeSettings | undefined): Promise<string[]> {
  const runtime = (rt?.runtime ?? defaultRuntime()) === 'tart' ? 'tart' : 'incus';
  return Object.keys((await imageMapFor(runtime, rt?.images))[runtime]).sort();
}

/** Runs until SIGTERM or SIGINT, then stops cleanly (a second signal exits at once). */
export async function serveUntilSignalled(opts: ServeOptions): Promise<void> {
  const handle = await runServe(opts);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        handle.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      handle.logger.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        handle.logger.error('shutdown took longer than 15s: exiting');
        process.exit(1);
      }, 15_000);
      force.unref();
      handle.close().then(() => {
        handle.logger.info('stopped');
        clearTimeout(force);
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
