// The runtime and proxy drivers Tidepool runs with, built from its settings through two
// registries (a name -> a factory), so the composition root never switches on names and a
// driver's modules load only when it is chosen.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { platform } from 'node:os';
import type { Logger } from 'pino';
import { serverUrlForListen, type Credentials } from '../api/config.js';
import type { CaddyProxy, TlsSettings } from '../controller/drivers/proxy/caddy/index.js';
import type { ProxyDriver } from '../controller/drivers/proxy/types.js';
import type { RuntimeDriver } from '../controller/drivers/runtime/types.js';
import { ServeError } from './errors.js';
import { portTakenMessage, takenPortIn } from './port-taken.js';

export type RuntimeName = 'incus' | 'tart' | 'stub';
export type ProxyName = 'caddy' | 'memory';

export { DEFAULT_INCUS_SOCKET } from '../controller/drivers/runtime/incus/client.js';
import { DEFAULT_INCUS_SOCKET } from '../controller/drivers/runtime/incus/client.js';
import { errorMessage } from '../specs/errors.js';
import { IDE_PORT } from '../specs/workspace.js';

export interface RuntimeSettings {
  runtime: RuntimeName;
  incusSocket?: string;
  incusUrl?: string;
  /** Paths of PEM files for a remote Incus (client certificate, key, and the server's certificate). */
  incusCert?: string;
  incusKey?: string;
  incusServerCert?: string;
  incusProject?: string;
  tartPath?: string;
  /** `--image TEMPLATE=IMAGE`: extra or replaced entries of the image map for the chosen runtime. */
  images?: Record<string, string>;
  /** `--warm-pool TEMPLATE=N`: started instances kept ready per image template (Incus only). */
  warmPool?: Record<string, number>;
}

export interface ProxySettings {
  proxy: ProxyName;
  /** host:port, or :port for every interface. */
  appListen: string;
  workspaceListen: string;
  /** Where Ports are served, an origin apart from the IDEs. */
  previewListen: string;
  caddyAdmin?: string;
  caddyBinary?: string;
  dnsmasqBinary?: string;
  /** `--tls`: Caddy terminates TLS on the three ports; plain HTTP when absent. */
  tls?: TlsSettings;
}

/** incus on Linux, tart on macOS: what this host can run. */
export function defaultRuntime(): RuntimeName {
  return platform() === 'darwin' ? 'tart' : 'incus';
}

/**
 * The image map with `--image` entries. Incus: `TEMPLATE=ALIAS` (a container) or
 * `TEMPLATE=ALIAS,vm`; Tart: `TEMPLATE=SOURCE` (a local VM name or an OCI reference).
 */
export async function imageMapFor(runtime: 'incus' | 'tart', images: Record<string, string> | undefined) {
  const { withImages, defaultImageMap } = await import('../controller/drivers/runtime/images.js');
  if (!images) return defaultImageMap;
  const entries = Object.entries(images);
  if (runtime === 'tart')
    return withImages({ tart: Object.fromEntries(entries.map(([t, source]) => [t, { source }])) });
  return withImages({
    incus: Object.fromEntries(
      entries.map(([t, v]) => {
        const [alias, type] = v.split(',');
        return [t, { alias: alias!, type: type === 'vm' ? ('virtual-machine' as const) : ('container' as const) }];
      }),
    ),
  });
}

interface RuntimeContext {
  tidepoolId: string;
  dataDir: string;
  logger: Logger;
  /** The port the IDEs answer on (8080 but for a stub on a host where 8080 is taken). */
  idePort: number;
}

/** Every runtime by name: how it is built from the settings. */
const RUNTIME_FACTORIES: Record<RuntimeName, (s: RuntimeSettings, ctx: RuntimeContext) => Promise<RuntimeDriver>> = {
  async incus(s, { tidepoolId, logger }) {
    const { readFile } = await import('node:fs/promises');
    const { createIncusRuntime } = await import('../controller/drivers/runtime/incus/index.js');
    const log = (msg: string) => logger.info({ runtime: 'incus' }, msg);
    if (s.incusUrl) {
      if (!s.incusCert || !s.incusKey)
        throw new ServeError(
          '--incus-url needs --incus-cert and --incus-key (a client certificate the remote Incus trusts)',
        );
      const read = (flag: string, path: string) =>
        readFile(path).catch((err: Error) => {
          throw new ServeError(`${flag} ${path}: ${err.message}`);
        });
      return createIncusRuntime({
        tidepoolId,
        log,
        url: s.incusUrl,
        imageMap: await imageMapFor('incus', s.images),
        ...(s.warmPool ? { warmPool: s.warmPool } : {}),
        cert: await read('--incus-cert', s.incusCert),
        key: await read('--incus-key', s.incusKey),
        ...(s.incusServerCert ? { serverCert: await read('--incus-server-cert', s.incusServerCert) } : {}),
        ...(s.incusProject ? { project: s.incusProject } : {}),
      });
    }
    const socketPath = s.incusSocket ?? DEFAULT_INCUS_SOCKET;
    if (!existsSync(socketPath)) {
      throw new ServeError(
        `the Incus socket ${socketPath} does not exist: set up the host with \`make host\` (scripts/setup-host.sh), ` +
          'point --incus-socket at it, or run without Incus: --runtime stub',
      );
    }
    const runtime = createIncusRuntime({
      tidepoolId,
      log,
      socketPath,
      imageMap: await imageMapFor('incus', s.images),
      ...(s.warmPool ? { warmPool: s.warmPool } : {}),
      ...(s.incusProject ? { project: s.incusProject } : {}),
    });
    try {
      await runtime.list();
    } catch (err) {
      await runtime.close?.();
      throw new ServeError(`Incus at ${socketPath} does not answer: ${errorMessage(err)}`);
    }
    return runtime;
  },
  async tart(s, { tidepoolId, dataDir, logger }) {
    const { createTartRuntime } = await import('../controller/drivers/runtime/tart/index.js');
    return createTartRuntime({
      tidepoolId,
      logDir: join(dataDir, 'tart'),
      imageMap: await imageMapFor('tart', s.images),
      log: (msg: string) => logger.info({ runtime: 'tart' }, msg),
      ...(s.tartPath ? { tartPath: s.tartPath } : {}),
    });
  },
  async stub(_s, { idePort }) {
    const { createStubRuntime } = await import('../controller/drivers/runtime/stub/index.js');
    // Real HTTP servers on 127.77.x.y:idePort stand in for the IDEs, so a real proxy has something to reach.
    return createStubRuntime({ ideServers: true, idePort });
  },
};

export const RUNTIMES = Object.keys(RUNTIME_FACTORIES) as RuntimeName[];

export function createRuntime(
  s: RuntimeSettings,
  tidepoolId: string,
  dataDir: string,
  logger: Logger,
  idePort: number,
): Promise<RuntimeDriver> {
  return RUNTIME_FACTORIES[s.runtime](s, { tidepoolId, dataDir, logger, idePort });
}

/**
 * The port the IDEs answer on: 8080 (code-server in the images), except for the stub when
 * something on this host holds 8080 (a `make run`'s Caddy on *:8080 blocks every 127.77
 * address): then a free one, which the stub, the controller and the proxy all use.
 */
export async function idePortFor(s: RuntimeSettings, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { pickIdePort } = await import('../controller/drivers/runtime/stub/ide-server.js');
  if (s.runtime !== 'stub') return IDE_PORT;
  // TIDEPOOL_STUB_IDE_PORT: the port the stub tries first (tests use it to stand in for 8080).
  const preferred = Number(env.TIDEPOOL_STUB_IDE_PORT);
  return pickIdePort(Number.isInteger(preferred) && preferred > 0 && preferred < 65536 ? preferred : IDE_PORT);
}

/** Where Caddy reaches the API: an API on every interface (0.0.0.0, ::) is reached on loopback, as the CLI reaches it. */
export function loopbackUpstream(apiAddress: string): string {
  return new URL(serverUrlForListen(new URL(apiAddress).host)).host;
}

export const isCaddy = (proxy: ProxyDriver): proxy is CaddyProxy => proxy.name === 'caddy';

export interface ProxyContext {
  apiAddress: string;
  credentials: Credentials;
  /** Sent by Caddy to the API with every request (server/proxy-secret.ts). */
  proxySecret: string;
  dataDir: string;
  logger: Logger;
  idePort: number;
}

/** Every proxy by name: how it is built and brought up from the settings. */
const PROXY_FACTORIES: Record<ProxyName, (s: ProxySettings, ctx: ProxyContext) => Promise<ProxyDriver | CaddyProxy>> = {
  caddy: startCaddy,
  async memory() {
    const { createMemoryProxy } = await import('../controller/drivers/proxy/memory/index.js');
    return createMemoryProxy();
  },
};

export const PROXIES = Object.keys(PROXY_FACTORIES) as ProxyName[];

export function createProxy(s: ProxySettings, ctx: ProxyContext): Promise<ProxyDriver | CaddyProxy> {
  return PROXY_FACTORIES[s.proxy](s, ctx);
}

async function startCaddy(
  s: ProxySettings,
  { apiAddress, credentials, proxySecret, dataDir, logger, idePort }: ProxyContext,
): Promise<CaddyProxy> {
  const { createCaddyProxy } = await import('../controller/drivers/proxy/caddy/index.js');
  const proxy = createCaddyProxy({
    apiUpstream: loopbackUpstream(apiAddress),
    idePort,
    credentials: { username: credentials.username, password: credentials.password },
    proxySecret,
    appListen: s.appListen,
    workspaceListen: s.workspaceListen,
    previewListen: s.previewListen,
    stateDir: join(dataDir, 'caddy'),
    logger: logger.child({ component: 'caddy' }),
    ...(s.caddyAdmin ? { adminUrl: s.caddyAdmin } : {}),
    ...(s.caddyBinary ? { caddyBinary: s.caddyBinary } : {}),
    ...(s.dnsmasqBinary ? { dnsmasqBinary: s.dnsmasqBinary } : {}),
    ...(s.tls ? { tls: s.tls } : {}),
  });
  try {
    await proxy.start();
  } catch (err) {
    // A Caddy Tidepool does not run may come up after it (another service, boot order): that
    // is the controller's business, not a reason to refuse to start. Every route reconcile
    // tries again with backoff and the Workspace and Port conditions carry the error meanwhile.
    if (s.caddyAdmin && (err as { reason?: unknown }).reason === 'ProxyUnreachable') {
      logger.warn(
        { admin: s.caddyAdmin, err: errorMessage(err) },
        `the Caddy admin API at ${s.caddyAdmin} does not answer yet; routes are applied once it does (the Workspace conditions say why meanwhile)`,
      );
      return proxy;
    }
    await proxy.close().catch(() => {});
    throw new ServeError(`cannot start the Caddy proxy: ${await explainProxyFailure(errorMessage(err), s)}`);
  }
  return proxy;
}

/**
 * Caddy's start-up failure in words that say what to do: a taken port is named with its flag
 * and holder (Caddy's own words buried it in its log lines); a missing program gets the
 * install hint; anything else is Caddy's message as it is.
 */
async function explainProxyFailure(message: string, s: ProxySettings): Promise<string> {
  const taken = takenPortIn(message);
  if (taken !== undefined) {
    const log = /\(log: ([^)]+)\)/.exec(message)?.[1];
    const said = await portTakenMessage(taken, [
      { flag: '--app-port', listen: s.appListen },
      { flag: '--workspace-port', listen: s.workspaceListen },
      { flag: '--preview-port', listen: s.previewListen },
    ]);
    return `${said}${log ? ` (Caddy's log: ${log})` : ''}`;
  }
  const missing = /ENOENT|not found|no such file/i.test(message);
  return missing
    ? `${message} (are caddy and dnsmasq installed? \`make host\` installs them; --proxy memory runs without them)`
    : message;
}
