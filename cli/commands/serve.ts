// tidepool serve: the Tidepool server process. Flag parsing (serveFlags, serveOptionsFromFlags)
// is kept apart from what runs (runServe), so that a new component needs three edits in
// this one file: its flags in `addServeFlags`, their values in `ServeOptions` /
// `serveOptionsFromFlags`, and its start in `runServe` (see "Components" there).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { readableLog } from '../log-format.js';
import { imageTemplateAdmission } from '../../store/index.js';
import type { ExecHolder } from '../../api/exec.js';
import { DEFAULT_LISTEN, loadOrCreateCredentials, logsDir, loadOrCreateId, parseListen, resolveDataDir, storePath, type Credentials } from '../../api/config.js';
import type { Store } from '../../store/index.js';
import type { CapacityOptions } from '../../controller/types.js';
import { parseQuantity } from '../../specs/quantity.js';
import { CliError } from '../errors.js';
import { parseDuration } from '../format.js';
import { lockDataDir } from './serve-lock.js';
import { globalFlags } from '../context.js';
import {
  createProxy, createRuntime, defaultRuntime, imageMapFor, isCaddy, PROXIES, RUNTIMES,
  type ProxyName, type ProxySettings, type RuntimeName, type RuntimeSettings,
} from './serve-drivers.js';

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

/** The package root (where package.json is), from src (cli/commands) or dist (dist/cli/commands). */
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
  if (format !== 'text' && format !== 'json') throw new CliError(`TIDEPOOL_LOG_FORMAT must be text or json, got "${format}"`);
  return format === 'text' ? pino({ level }, readableLog(process.stdout)) : pino({ level });
}

/**
 * Starts Tidepool: the store, the credentials, then every component, the API server last
 * (so nothing is served before the rest is up). Throws CliError with a clear message when
 * the store cannot be read or the address cannot be listened on; whatever was started by
 * then is stopped again.
 */
export async function runServe(opts: ServeOptions): Promise<ServeHandle> {
  // Loaded here, not at the top: every other command starts faster without the server's modules.
  const [{ pino }, { Store, StoreOpenError }, { startServer }] = await Promise.all([
    import('pino'), import('../../store/index.js'), import('../../api/server.js'),
  ]);
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? makeLogger(pino, env);
  const components = new Components(logger);
  if (opts.syncDirs?.length && !opts.apiOnly) {
    // A bad --sync-dir is refused before anything starts, not after the drivers are up.
    const { parseSyncDirFlag } = await import('../sync-dir.js');
    for (const v of opts.syncDirs) {
      try {
        parseSyncDirFlag(v);
      } catch (err) {
        throw new CliError((err as Error).message);
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
      store = await Store.open(storePath(opts.dataDir));
    } catch (err) {
      if (err instanceof StoreOpenError) throw new CliError(err.message);
      throw new CliError(`cannot open the store in ${opts.dataDir}: ${(err as Error).message}`);
    }
    components.add('store', () => store.close());
    const templates = await imageTemplates(opts.runtime);
    store.admission = imageTemplateAdmission(templates);

    const { credentials, source, path } = await loadOrCreateCredentials(opts.dataDir, env);
    if (source === 'generated') {
      logger.warn({ credentialsFile: path, user: credentials.username },
        `generated credentials for user "${credentials.username}"; the password is in ${path} (mode 0600). The CLI on this host reads it from there.`);
    } else {
      logger.info({ credentialsFrom: source === 'env' ? 'TIDEPOOL_USER/TIDEPOOL_PASSWORD' : path }, 'credentials loaded');
    }

    const webRoot = opts.webRoot ?? defaultWebRoot();
    const proxySettings = opts.proxy ?? { proxy: 'caddy', appListen: ':8080', workspaceListen: ':8081', previewListen: ':8082' };
    // The API comes up first: the proxy needs its address (--listen may say port 0), and
    // objects stored before the controller runs are simply reconciled when it does.
    let server;
    const exec: ExecHolder = { starting: !opts.apiOnly };
    try {
      server = await startServer({
        store, credentials, logger, listen: opts.listen, ...(webRoot ? { webRoot } : {}),
        logsDir: logsDir(opts.dataDir), exec,
        uiConfig: { ...uiConfig(opts.workspaceBaseUrl, proxySettings), imageTemplates: templates },
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EADDRNOTAVAIL' ? 'address not available on this host'
        : code === 'EACCES' ? 'permission denied' : (err as Error).message;
      throw new CliError(`cannot listen on ${opts.listen}: ${why}`);
    }
    components.add('api server', () => server.close());
    logger.info({ address: server.address, dataDir: opts.dataDir }, `Tidepool API listening on ${server.address}`);
    const handle: ServeHandle = { address: server.address, store, credentials, logger, close: () => components.close() };
    if (opts.apiOnly) return handle;

    // Components: each registers its stop with components.add (stops run in reverse order).
    const [{ startController, EventRecorder, realClock }, { startSyncs }] = await Promise.all([
      import('../../controller/index.js'), import('../sync-dir.js'),
    ]);
    const tidepoolId = await loadOrCreateId(opts.dataDir);
    const runtimeSettings = opts.runtime ?? { runtime: defaultRuntime() };
    const runtime = await createRuntime(runtimeSettings, tidepoolId, opts.dataDir, logger);
    components.add('runtime', async () => { await runtime.close?.(); });
    if (runtime.openExec) exec.exec = runtime.openExec.bind(runtime);
    exec.starting = false;

    const proxy = await createProxy(proxySettings, server.address, credentials, opts.dataDir, logger);
    // The data plane outlives serve when asked: Caddy and dnsmasq keep serving, the next serve adopts them.
    components.add('proxy', async () => { await proxy.close?.({ keepRunning: opts.keepDataPlane ?? false }); });
    if (isCaddy(proxy)) {
      handle.caddy = proxy;
      logger.info({
        app: proxySettings.appListen, workspaces: proxySettings.workspaceListen, previews: proxySettings.previewListen,
        admin: proxy.adminUrl, caddyPid: proxy.pid, dnsmasqPid: proxy.dnsmasqPid, adopted: proxy.adopted,
      }, `Caddy serves the UI and API on ${proxySettings.appListen}, the workspaces on ${proxySettings.workspaceListen} and their Ports on ${proxySettings.previewListen}`);
    }

    const controller = await startController({
      store, runtime, proxy, logger: logger.child({ component: 'controller' }), dataDir: opts.dataDir,
      ...(opts.resyncPeriodMs !== undefined ? { resyncPeriodMs: opts.resyncPeriodMs } : {}),
      ...(opts.capacity ? { capacity: opts.capacity } : {}),
    });
    components.add('controller', () => controller.stop());
    logger.info({ tidepoolId, runtime: runtime.name, proxy: proxy.name }, 'controller started');

    if (opts.syncDirs?.length) {
      const recorder = new EventRecorder({ store, clock: realClock, logger });
      components.add('sync events', () => recorder.close());
      let syncs;
      try {
        syncs = await startSyncs(opts.syncDirs, {
          store, logger: logger.child({ component: 'gitops' }),
          ...(opts.syncIntervalMs !== undefined ? { intervalMs: opts.syncIntervalMs } : {}),
          allowEmptyPrune: opts.syncAllowEmptyPrune ?? false,
          recordEvent: async (ev) => recorder.record(ev.regarding, ev.type, ev.reason, ev.note),
        });
      } catch (err) {
        throw new CliError((err as Error).message);
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
  if (workspaceBaseUrl) return { workspaceBaseUrl };
  return { workspacePort: parseListen(proxy.workspaceListen).port };
}

/** The image template names (spec.image) the server knows, for the UI's create form; the stub offers Incus' names. */
async function imageTemplates(rt: RuntimeSettings | undefined): Promise<string[]> {
  const runtime = (rt?.runtime ?? defaultRuntime()) === 'tart' ? 'tart' : 'incus';
  return Object.keys((await imageMapFor(runtime, rt?.images))[runtime]).sort();
}

interface ServeFlags {
  listen?: string;
  runtime?: string;
  proxy?: string;
  appPort?: string;
  workspacePort?: string;
  previewPort?: string;
  keepDataPlane?: boolean;
  caddyAdmin?: string;
  caddyBinary?: string;
  dnsmasqBinary?: string;
  incusSocket?: string;
  incusUrl?: string;
  incusCert?: string;
  incusKey?: string;
  incusServerCert?: string;
  incusProject?: string;
  tartPath?: string;
  image?: string[];
  resyncPeriod?: string;
  maxRunning?: string;
  cpuBudget?: string;
  memoryBudget?: string;
  syncDir?: string[];
  syncInterval?: string;
  syncAllowEmptyPrune?: boolean;
  workspaceUrl?: string;
  logLevel?: string;
  logFormat?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The flags of `tidepool serve` (besides the global --data-dir). */
export function addServeFlags(cmd: Command): Command {
  return cmd
    .option('--listen <host:port>', `where the API listens (env TIDEPOOL_LISTEN; default ${DEFAULT_LISTEN})`)
    .option('--runtime <name>', `where workspaces run: ${RUNTIMES.join(', ')} (default ${defaultRuntime()} on this host; stub runs fake ones in memory)`)
    .option('--proxy <name>', `how workspaces are reached: ${PROXIES.join(', ')} (default caddy; memory routes nothing, for tests)`)
    .option('--app-port <[host:]port>', 'where Caddy serves the UI and the API (default 8080)')
    .option('--workspace-port <[host:]port>', 'where Caddy serves the workspaces, /workspace/{name}/ (default 8081)')
    .option('--preview-port <[host:]port>', "where Caddy serves the workspaces' Ports, /workspace/{name}/port/{n}/, an origin apart from the IDEs (default 8082)")
    .option('--keep-data-plane', 'on SIGTERM leave Caddy and dnsmasq running (connections stay up); the next serve on this data directory adopts them')
    .option('--caddy-admin <url>', 'drive the Caddy whose admin API is at this URL instead of starting one')
    .option('--caddy-binary <path>', 'the caddy executable Tidepool starts (default caddy on PATH)')
    .option('--dnsmasq-binary <path>', 'the dnsmasq executable that serves the route names (default /usr/sbin/dnsmasq)')
    .option('--incus-socket <path>', 'unix socket of the local Incus (default /var/lib/incus/unix.socket)')
    .option('--incus-url <url>', 'HTTPS endpoint of a remote Incus, with --incus-cert and --incus-key')
    .option('--incus-cert <file>', 'PEM client certificate the remote Incus trusts')
    .option('--incus-key <file>', 'PEM key of --incus-cert')
    .option('--incus-server-cert <file>', "the remote Incus server's PEM certificate, pinned")
    .option('--incus-project <name>', 'Incus project (default: the default project)')
    .option('--tart-path <path>', 'the tart executable (default tart on PATH)')
    .option('--image <template=image>', 'map an image template name (spec.image) to an Incus alias (ALIAS or ALIAS,vm) or a Tart VM/OCI source; repeatable', collect)
    .option('--resync-period <duration>', 'how often every object is reconciled again, e.g. 30s, 5m (default 30s)')
    .option('--max-running <n>', 'most workspaces running at once (default: no limit)')
    .option('--cpu-budget <n>', "vCPUs all running workspaces may have together (default: the host's CPUs x 4)")
    .option('--memory-budget <quantity>', "memory all running workspaces may have together, e.g. 16Gi (default: the host's memory minus a headroom)")
    .option('--sync-dir <[name=]dir>', 'apply the manifests of a folder and keep it applied (GitOps); repeatable', collect)
    .option('--sync-interval <duration>', 'how often a sync folder is applied again to undo drift (default 60s)')
    .option('--sync-allow-empty-prune', 'an empty sync folder may prune everything it applied')
    .option('--workspace-url <url>', 'where the UI links workspaces, e.g. https://ide.example.com (default: the page host on --workspace-port)')
    .option('--log-level <level>', 'trace, debug (adds a line per request), info, warn or error (env TIDEPOOL_LOG_LEVEL; default info)')
    .option('--log-format <format>', 'text (readable lines) or json (env TIDEPOOL_LOG_FORMAT; default text on a terminal, json otherwise)');
}

/** A positive duration as --timeout takes it (`30s`, `1m30s`, `250ms`, plain seconds), in ms. */
function positiveDuration(flag: string, value: string): number {
  const ms = parseDuration(value);
  if (!(ms !== undefined && ms > 0)) throw new CliError(`${flag} must be a positive duration such as 30s, 5m or 1h, got "${value}"`);
  return ms;
}

function parsePositive(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    throw new CliError(`${flag} must be a positive ${integer ? 'whole ' : ''}number, got "${value}"`);
  }
  return n;
}

/** `8081` → `:8081` (every interface); `127.0.0.1:8081` stays. */
function proxyListen(flag: string, value: string | undefined, fallback: number): string {
  const listen = value === undefined ? `:${fallback}` : /^\d+$/.test(value) ? `:${value}` : value;
  try {
    const { port } = parseListen(listen);
    if (port === 0) throw new Error('port 0');
  } catch {
    throw new CliError(`${flag} must be a port or host:port (1..65535), got "${value}"`);
  }
  return listen;
}

function parseImageFlags(values: string[]): Record<string, string> {
  const images: Record<string, string> = {};
  for (const v of values) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=([^,\s]+(,vm)?)$/.exec(v);
    if (!m) throw new CliError(`--image must be TEMPLATE=IMAGE (a DNS-label template name; for Incus ALIAS or ALIAS,vm), got "${v}"`);
    images[m[1]!] = m[3]!;
  }
  return images;
}

/**
 * Whether two listen addresses take the same port: same port, and the same host or either on
 * every interface. `8080` and `127.0.0.1:8080` clash too: Caddy (2.6+) binds with SO_REUSEPORT, so
 * both would come up and loopback requests for the UI would reach the workspace server.
 */
function clash(a: string, b: string): boolean {
  const x = parseListen(a);
  const y = parseListen(b);
  const everywhere = (host: string) => host === '0.0.0.0' || host === '::';
  return x.port === y.port && (x.host === y.host || everywhere(x.host) || everywhere(y.host));
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
}

export function serveOptionsFromFlags(flags: ServeFlags & { dataDir?: string }, env: NodeJS.ProcessEnv = process.env): ServeOptions {
  const listen = flags.listen || env.TIDEPOOL_LISTEN || DEFAULT_LISTEN;
  try {
    parseListen(listen);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const runtime: RuntimeSettings = {
    runtime: flags.runtime ? oneOf<RuntimeName>('--runtime', flags.runtime, RUNTIMES) : defaultRuntime(),
    ...(flags.incusSocket ? { incusSocket: flags.incusSocket } : {}),
    ...(flags.incusUrl ? { incusUrl: flags.incusUrl } : {}),
    ...(flags.incusCert ? { incusCert: flags.incusCert } : {}),
    ...(flags.incusKey ? { incusKey: flags.incusKey } : {}),
    ...(flags.incusServerCert ? { incusServerCert: flags.incusServerCert } : {}),
    ...(flags.incusProject ? { incusProject: flags.incusProject } : {}),
    ...(flags.tartPath ? { tartPath: flags.tartPath } : {}),
    ...(flags.image?.length ? { images: parseImageFlags(flags.image) } : {}),
  };
  const proxy: ProxySettings = {
    proxy: flags.proxy ? oneOf<ProxyName>('--proxy', flags.proxy, PROXIES) : 'caddy',
    appListen: proxyListen('--app-port', flags.appPort, 8080),
    workspaceListen: proxyListen('--workspace-port', flags.workspacePort, 8081),
    previewListen: proxyListen('--preview-port', flags.previewPort, 8082),
    ...(flags.caddyAdmin ? { caddyAdmin: flags.caddyAdmin } : {}),
    ...(flags.caddyBinary ? { caddyBinary: flags.caddyBinary } : {}),
    ...(flags.dnsmasqBinary ? { dnsmasqBinary: flags.dnsmasqBinary } : {}),
  };
  const listens = [['--app-port', proxy.appListen], ['--workspace-port', proxy.workspaceListen], ['--preview-port', proxy.previewListen]] as const;
  for (let i = 0; i < listens.length; i++) {
    for (let j = i + 1; j < listens.length; j++) {
      const [fa, a] = listens[i]!, [fb, b] = listens[j]!;
      const why = fb === '--preview-port' ? 'the API, the workspaces and their Ports' : 'the API and the workspaces';
      if (clash(a, b)) throw new CliError(`${fa} ${a} and ${fb} ${b} take the same port: they must differ, as ${why} are separate origins on purpose`);
    }
  }
  const capacity: CapacityOptions = {};
  if (flags.maxRunning !== undefined) capacity.maxRunning = parsePositive('--max-running', flags.maxRunning, true);
  if (flags.cpuBudget !== undefined) capacity.cpuBudget = parsePositive('--cpu-budget', flags.cpuBudget, false);
  if (flags.memoryBudget !== undefined) {
    const bytes = parseQuantity(flags.memoryBudget);
    if (!(bytes !== undefined && bytes > 0)) throw new CliError(`--memory-budget must be a quantity such as 16Gi or 8192Mi, got "${flags.memoryBudget}"`);
    capacity.memoryBudgetBytes = bytes;
  }
  if (flags.workspaceUrl !== undefined && !/^https?:\/\/[^/]+/.test(flags.workspaceUrl)) {
    throw new CliError(`--workspace-url must be an http(s) URL, got "${flags.workspaceUrl}"`);
  }
  const logEnv = {
    ...(flags.logLevel ? { TIDEPOOL_LOG_LEVEL: oneOf('--log-level', flags.logLevel, ['trace', 'debug', 'info', 'warn', 'error'] as const) } : {}),
    ...(flags.logFormat ? { TIDEPOOL_LOG_FORMAT: oneOf('--log-format', flags.logFormat, ['text', 'json'] as const) } : {}),
  };
  return {
    dataDir: resolveDataDir(flags.dataDir, env), listen, env: { ...env, ...logEnv }, runtime, proxy, capacity,
    ...(flags.resyncPeriod !== undefined ? { resyncPeriodMs: positiveDuration('--resync-period', flags.resyncPeriod) } : {}),
    ...(flags.syncDir?.length ? { syncDirs: flags.syncDir } : {}),
    ...(flags.syncInterval !== undefined ? { syncIntervalMs: positiveDuration('--sync-interval', flags.syncInterval) } : {}),
    ...(flags.syncAllowEmptyPrune ? { syncAllowEmptyPrune: true } : {}),
    ...(flags.workspaceUrl ? { workspaceBaseUrl: flags.workspaceUrl } : {}),
    ...(flags.keepDataPlane ? { keepDataPlane: true } : {}),
  };
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

export function registerServe(program: Command): void {
  addServeFlags(
    program
      .command('serve')
      .summary('run the Tidepool server (API, UI, controller, proxy, syncs)')
      .description(
        'Runs the Tidepool server in the foreground, logging to stdout (readable lines on a terminal, JSON otherwise). State is kept in the ' +
          'data directory (--data-dir, TIDEPOOL_DATA_DIR). Credentials: TIDEPOOL_USER / TIDEPOOL_PASSWORD, ' +
          'else the credentials file of the data directory, else a generated password written there. ' +
          'Stops cleanly on SIGTERM or SIGINT.',
      ),
  ).action(async (flags: ServeFlags, cmd: Command) => {
    try {
      await serveUntilSignalled(serveOptionsFromFlags({ ...flags, ...globalFlags(cmd) }));
    } catch (err) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });
}
