// tidepool serve: its one flag table, turned into the settings of the composition root
// (server/). Every bad value is one `error:` line and exit 1 before anything starts.
import type { Command } from 'commander';
import { DEFAULT_LISTEN, parseListen, resolveDataDir } from '../../api/config.js';
import { tlsSettings } from '../../controller/drivers/proxy/caddy/tls.js';
import type { CapacityOptions } from '../../controller/types.js';
import { parseQuantity } from '../../specs/quantity.js';
import {
  DEFAULT_PORTS,
  defaultRuntime,
  PROXIES,
  RUNTIMES,
  serveUntilSignalled,
  type ProxyName,
  type ProxySettings,
  type RuntimeName,
  type RuntimeSettings,
  type ServeOptions,
} from '../../server/index.js';
import { globalFlags } from '../context.js';
import { CliError } from '../errors.js';
import { parseDuration } from '../format.js';
import { errorMessage } from '../../specs/errors.js';

/** Settings that a flag of the same name gives verbatim (paths, URLs, names). */
const RUNTIME_VERBATIM = [
  'incusSocket',
  'incusUrl',
  'incusCert',
  'incusKey',
  'incusServerCert',
  'incusProject',
  'tartPath',
] as const satisfies readonly (keyof RuntimeSettings)[];
const PROXY_VERBATIM = [
  'caddyAdmin',
  'caddyBinary',
  'dnsmasqBinary',
] as const satisfies readonly (keyof ProxySettings)[];
type Verbatim = (typeof RUNTIME_VERBATIM)[number] | (typeof PROXY_VERBATIM)[number];

/** The values of those flags that were given. */
function verbatim<K extends Verbatim>(
  flags: Partial<Record<Verbatim, string>>,
  keys: readonly K[],
): Partial<Record<K, string>> {
  return Object.fromEntries(keys.filter((k) => flags[k]).map((k) => [k, flags[k]])) as Partial<Record<K, string>>;
}

interface ServeFlags extends Partial<Record<Verbatim, string>> {
  listen?: string;
  runtime?: string;
  proxy?: string;
  appPort?: string;
  workspacePort?: string;
  previewPort?: string;
  keepDataPlane?: boolean;
  tls?: string;
  domain?: string;
  acmeEmail?: string;
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
  metricsListen?: string;
  usageInterval?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The flags of `tidepool serve` (besides the global --data-dir). */
export function addServeFlags(cmd: Command): Command {
  return cmd
    .option('--listen <host:port>', `where the API listens (env TIDEPOOL_LISTEN; default ${DEFAULT_LISTEN})`)
    .option(
      '--runtime <name>',
      `where workspaces run: ${RUNTIMES.join(', ')} (default ${defaultRuntime()} on this host; stub runs fake ones in memory)`,
    )
    .option(
      '--proxy <name>',
      `how workspaces are reached: ${PROXIES.join(', ')} (default caddy; memory routes nothing, for tests)`,
    )
    .option('--app-port <[host:]port>', `where Caddy serves the UI and the API (default ${DEFAULT_PORTS.app})`)
    .option(
      '--workspace-port <[host:]port>',
      `where Caddy serves the workspaces, /workspace/{name}/ (default ${DEFAULT_PORTS.workspace})`,
    )
    .option(
      '--preview-port <[host:]port>',
      `where Caddy serves the workspaces' Ports, /workspace/{name}/port/{n}/, an origin apart from the IDEs (default ${DEFAULT_PORTS.preview})`,
    )
    .option(
      '--keep-data-plane',
      'on SIGTERM leave Caddy and dnsmasq running (connections stay up); the next serve on this data directory adopts them',
    )
    .option(
      '--tls <mode>',
      "Caddy terminates TLS on the app, workspace and preview ports: internal (Caddy's own CA, not installed in the host's trust store; the CA file is logged) or acme (Let's Encrypt, needs --domain) (default: plain HTTP)",
    )
    .option(
      '--domain <name>',
      'the name users reach Tidepool by, certified besides localhost, 127.0.0.1 and ::1 (--tls internal; may be an IP address) or alone (--tls acme)',
    )
    .option('--acme-email <address>', 'ACME account e-mail, for expiry notices (--tls acme)')
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
    .option(
      '--image <template=image>',
      'map an image template name (spec.image) to an Incus alias (ALIAS or ALIAS,vm) or a Tart VM/OCI source; repeatable',
      collect,
    )
    .option('--resync-period <duration>', 'how often every object is reconciled again, e.g. 30s, 5m (default 30s)')
    .option('--max-running <n>', 'most workspaces running at once (default: no limit)')
    .option('--cpu-budget <n>', "vCPUs all running workspaces may have together (default: the host's CPUs x 4)")
    .option(
      '--memory-budget <quantity>',
      "memory all running workspaces may have together, e.g. 16Gi (default: the host's memory minus a headroom)",
    )
    .option(
      '--sync-dir <[name=]dir>',
      'apply the manifests of a folder and keep it applied (GitOps); repeatable',
      collect,
    )
    .option('--sync-interval <duration>', 'how often a sync folder is applied again to undo drift (default 60s)')
    .option('--sync-allow-empty-prune', 'an empty sync folder may prune everything it applied')
    .option(
      '--workspace-url <url>',
      'where the UI links workspaces, e.g. https://ide.example.com (default: the page host on --workspace-port)',
    )
    .option(
      '--log-level <level>',
      'trace, debug (adds a line per request), info, warn or error (env TIDEPOOL_LOG_LEVEL; default info)',
    )
    .option(
      '--log-format <format>',
      'text (readable lines) or json (env TIDEPOOL_LOG_FORMAT; default text on a terminal, json otherwise)',
    )
    .option(
      '--metrics-listen <host:port>',
      'also serve /metrics without login here, e.g. 127.0.0.1:9464 (default: only on the API, with login)',
    )
    .option(
      '--usage-interval <duration>',
      "how often the workspaces' CPU, memory, disk and network are sampled (default 10s)",
    );
}

/** A positive duration as --timeout takes it (`30s`, `1m30s`, `250ms`, plain seconds), in ms. */
function positiveDuration(flag: string, value: string): number {
  const ms = parseDuration(value);
  if (!(ms !== undefined && ms > 0))
    throw new CliError(`${flag} must be a positive duration such as 30s, 5m or 1h, got "${value}"`);
  return ms;
}

function listenFlag(flag: string, value: string): string {
  try {
    parseListen(value);
  } catch (err) {
    throw new CliError(`${flag}: ${errorMessage(err)}`);
  }
  return value;
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
    if (!m)
      throw new CliError(
        `--image must be TEMPLATE=IMAGE (a DNS-label template name; for Incus ALIAS or ALIAS,vm), got "${v}"`,
      );
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

/** `--tls`, `--domain`, `--acme-email`: TLS is Caddy's, so it needs --proxy caddy. */
function tlsFromFlags(flags: ServeFlags): Pick<ProxySettings, 'tls'> {
  if (flags.tls === undefined) {
    const stray = flags.domain !== undefined ? '--domain' : flags.acmeEmail !== undefined ? '--acme-email' : undefined;
    if (stray) throw new CliError(`${stray} is for --tls (internal or acme); without --tls Caddy serves plain HTTP`);
    return {};
  }
  if ((flags.proxy ?? 'caddy') !== 'caddy')
    throw new CliError(`--tls is served by Caddy: it needs --proxy caddy, got --proxy ${flags.proxy}`);
  try {
    return { tls: tlsSettings(flags.tls, flags.domain, flags.acmeEmail) };
  } catch (err) {
    throw new CliError(errorMessage(err));
  }
}

export function serveOptionsFromFlags(
  flags: ServeFlags & { dataDir?: string },
  env: NodeJS.ProcessEnv = process.env,
): ServeOptions {
  const listen = flags.listen || env.TIDEPOOL_LISTEN || DEFAULT_LISTEN;
  try {
    parseListen(listen);
  } catch (err) {
    throw new CliError(errorMessage(err));
  }
  const runtime: RuntimeSettings = {
    runtime: flags.runtime ? oneOf<RuntimeName>('--runtime', flags.runtime, RUNTIMES) : defaultRuntime(),
    ...verbatim(flags, RUNTIME_VERBATIM),
    ...(flags.image?.length ? { images: parseImageFlags(flags.image) } : {}),
  };
  const proxy: ProxySettings = {
    proxy: flags.proxy ? oneOf<ProxyName>('--proxy', flags.proxy, PROXIES) : 'caddy',
    appListen: proxyListen('--app-port', flags.appPort, DEFAULT_PORTS.app),
    workspaceListen: proxyListen('--workspace-port', flags.workspacePort, DEFAULT_PORTS.workspace),
    previewListen: proxyListen('--preview-port', flags.previewPort, DEFAULT_PORTS.preview),
    ...verbatim(flags, PROXY_VERBATIM),
    ...tlsFromFlags(flags),
  };
  const listens = [
    ['--app-port', proxy.appListen],
    ['--workspace-port', proxy.workspaceListen],
    ['--preview-port', proxy.previewListen],
  ] as const;
  for (let i = 0; i < listens.length; i++) {
    for (let j = i + 1; j < listens.length; j++) {
      const [fa, a] = listens[i]!,
        [fb, b] = listens[j]!;
      const why = fb === '--preview-port' ? 'the API, the workspaces and their Ports' : 'the API and the workspaces';
      if (clash(a, b))
        throw new CliError(
          `${fa} ${a} and ${fb} ${b} take the same port: they must differ, as ${why} are separate origins on purpose`,
        );
    }
  }
  const capacity: CapacityOptions = {};
  if (flags.maxRunning !== undefined) capacity.maxRunning = parsePositive('--max-running', flags.maxRunning, true);
  if (flags.cpuBudget !== undefined) capacity.cpuBudget = parsePositive('--cpu-budget', flags.cpuBudget, false);
  if (flags.memoryBudget !== undefined) {
    const bytes = parseQuantity(flags.memoryBudget);
    if (!(bytes !== undefined && bytes > 0))
      throw new CliError(`--memory-budget must be a quantity such as 16Gi or 8192Mi, got "${flags.memoryBudget}"`);
    capacity.memoryBudgetBytes = bytes;
  }
  if (flags.workspaceUrl !== undefined && !/^https?:\/\/[^/]+/.test(flags.workspaceUrl)) {
    throw new CliError(`--workspace-url must be an http(s) URL, got "${flags.workspaceUrl}"`);
  }
  const logEnv = {
    ...(flags.logLevel
      ? {
          TIDEPOOL_LOG_LEVEL: oneOf('--log-level', flags.logLevel, [
            'trace',
            'debug',
            'info',
            'warn',
            'error',
          ] as const),
        }
      : {}),
    ...(flags.logFormat
      ? { TIDEPOOL_LOG_FORMAT: oneOf('--log-format', flags.logFormat, ['text', 'json'] as const) }
      : {}),
  };
  return {
    dataDir: resolveDataDir(flags.dataDir, env),
    listen,
    env: { ...env, ...logEnv },
    runtime,
    proxy,
    capacity,
    ...(flags.resyncPeriod !== undefined
      ? { resyncPeriodMs: positiveDuration('--resync-period', flags.resyncPeriod) }
      : {}),
    ...(flags.syncDir?.length ? { syncDirs: flags.syncDir } : {}),
    ...(flags.syncInterval !== undefined
      ? { syncIntervalMs: positiveDuration('--sync-interval', flags.syncInterval) }
      : {}),
    ...(flags.syncAllowEmptyPrune ? { syncAllowEmptyPrune: true } : {}),
    ...(flags.workspaceUrl ? { workspaceBaseUrl: flags.workspaceUrl } : {}),
    ...(flags.keepDataPlane ? { keepDataPlane: true } : {}),
    ...(flags.metricsListen ? { metricsListen: listenFlag('--metrics-listen', flags.metricsListen) } : {}),
    ...(flags.usageInterval ? { usageIntervalMs: positiveDuration('--usage-interval', flags.usageInterval) } : {}),
  };
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
      process.stderr.write(`error: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    }
  });
}
