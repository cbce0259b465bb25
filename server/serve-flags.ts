// The flags of `tidepool serve`, each declared once: the table of serve's own settings, with
// every driver's flags (from the registries) between where it serves and how it runs. The CLI
// makes its options from `serveFlags()` and hands what was typed to `serveOptionsFrom`. A new
// flag is one entry here (or in its driver's entry).
import { DEFAULT_LISTEN, resolveDataDir } from '../api/config.js';
import { DEFAULT_PORTS } from '../drivers/proxy/types.js';
import { ServeError } from './errors.js';
import {
  apiListen,
  clash,
  dotfilesFlag,
  httpUrl,
  idleDuration,
  imageFlags,
  memoryQuantity,
  oneOf,
  positiveDuration,
  positiveNumber,
  proxyListen,
} from './flag-values.js';
import { defineFlags, type Flag, type RawFlags, settingsFrom } from './flags.js';
import { PROXIES, proxyFlags, proxySettingsFrom } from './proxies.js';
import { checkSignInFlags, SIGNIN_FLAGS } from './signin-flags.js';
import { defaultRuntime, RUNTIMES, runtimeFlags, runtimeSettingsFrom } from './runtimes.js';
import { parseSyncDirFlag } from './sync-dirs.js';

/** Where Tidepool serves and with which drivers. */
const WHERE = defineFlags([
  {
    name: '--listen',
    value: '<host:port>',
    help: `where the API listens (env TIDEPOOL_LISTEN; default ${DEFAULT_LISTEN})`,
    env: 'TIDEPOOL_LISTEN',
    default: DEFAULT_LISTEN,
    setting: 'listen',
    parse: apiListen,
  },
  {
    name: '--runtime',
    value: '<name>',
    help: `where workspaces run: ${RUNTIMES.join(', ')} (default ${defaultRuntime()} on this host; stub runs fake ones in memory)`,
    default: defaultRuntime(),
    setting: 'runtime',
    parse: oneOf(RUNTIMES),
  },
  {
    name: '--proxy',
    value: '<name>',
    help: `how workspaces are reached: ${PROXIES.join(', ')} (default caddy; memory routes nothing, for tests)`,
    default: 'caddy',
    setting: 'proxy',
    parse: oneOf(PROXIES),
  },
  {
    name: '--app-port',
    value: '<[host:]port>',
    help: `where Caddy serves the UI and the API (default ${DEFAULT_PORTS.app})`,
    default: `${DEFAULT_PORTS.app}`,
    setting: 'appListen',
    parse: proxyListen,
  },
  {
    name: '--workspace-port',
    value: '<[host:]port>',
    help: `where Caddy serves the workspaces, /workspace/{name}/ (default ${DEFAULT_PORTS.workspace})`,
    default: `${DEFAULT_PORTS.workspace}`,
    setting: 'workspaceListen',
    parse: proxyListen,
  },
  {
    name: '--preview-port',
    value: '<[host:]port>',
    help: `where Caddy serves the workspaces' Ports, /workspace/{name}/port/{n}/, an origin apart from the IDEs (default ${DEFAULT_PORTS.preview})`,
    default: `${DEFAULT_PORTS.preview}`,
    setting: 'previewListen',
    parse: proxyListen,
  },
  {
    name: '--keep-data-plane',
    help: 'on SIGTERM leave Caddy and dnsmasq running (connections stay up); the next serve on this data directory adopts them',
    setting: 'keepDataPlane',
  },
]);

/** How it runs: images, reconciles, capacity, syncs, the UI's links, logs. */
const HOW = defineFlags([
  {
    name: '--image',
    value: '<template=image>',
    repeatable: true,
    help: 'map an image template name (spec.image) to an Incus alias (ALIAS or ALIAS,vm) or a Tart VM/OCI source; repeatable',
    setting: 'images',
    parse: imageFlags,
  },
  {
    name: '--dotfiles',
    value: '<url[#ref]>',
    help: 'dotfiles repository installed into every new workspace that names none in spec.source.dotfiles (run install.sh and the like, or linked into ~)',
    setting: 'dotfiles',
    parse: dotfilesFlag,
  },
  {
    name: '--resync-period',
    value: '<duration>',
    help: 'how often every object is reconciled again, e.g. 30s, 5m (default 30s)',
    setting: 'resyncPeriodMs',
    parse: positiveDuration,
  },
  {
    name: '--max-running',
    value: '<n>',
    help: 'most workspaces running at once (default: no limit)',
    setting: 'maxRunning',
    parse: positiveNumber(true),
  },
  {
    name: '--cpu-budget',
    value: '<n>',
    help: "vCPUs all running workspaces may have together (default: the host's CPUs x 4)",
    setting: 'cpuBudget',
    parse: positiveNumber(false),
  },
  {
    name: '--memory-budget',
    value: '<quantity>',
    help: "memory all running workspaces may have together, e.g. 16Gi (default: the host's memory minus a headroom)",
    setting: 'memoryBudgetBytes',
    parse: memoryQuantity,
  },
  {
    name: '--idle-timeout',
    value: '<duration>',
    help: 'how long a workspace without spec.idleTimeout may go unused before it sleeps (stopped, home kept, woken when opened), e.g. 30m; 0 is never (default 0)',
    setting: 'idleTimeoutMs',
    parse: idleDuration,
  },
  {
    name: '--idle-tick',
    value: '<duration>',
    help: "how often idleness is looked at and the workspaces' CPU and network counters read (default 30s; shorter for tests)",
    setting: 'idleTickMs',
    parse: positiveDuration,
  },
  {
    name: '--idle-cpu',
    value: '<cores>',
    help: 'CPU use above this between two idle ticks counts as use, e.g. 0.25 (default 0.1 core)',
    setting: 'idleCpuCores',
    parse: positiveNumber(false),
  },
  {
    name: '--idle-network',
    value: '<bytes/s>',
    help: "network traffic above this between two idle ticks counts as use (an open IDE being typed in; an idle tab's keep-alives stay under it; default 2048)",
    setting: 'idleNetworkBytesPerSecond',
    parse: positiveNumber(false),
  },
  {
    name: '--make-room',
    value: '<on|off>',
    help: 'on: a start that does not fit the budget puts idle workspaces with an idle timeout to sleep, least recently used first (never one without); off: it is refused (default on)',
    setting: 'makeRoom',
    parse: oneOf(['on', 'off']),
  },
  {
    name: '--sync-dir',
    value: '<[[ns/]name=]dir>',
    repeatable: true,
    help: 'apply the manifests of a folder and keep it applied (GitOps), into namespace ns (default: default; an object naming another is refused); repeatable',
    setting: 'syncDirs',
    parse: syncDirs,
  },
  {
    name: '--sync-interval',
    value: '<duration>',
    help: 'how often a sync folder is applied again to undo drift (default 60s)',
    setting: 'syncIntervalMs',
    parse: positiveDuration,
  },
  {
    name: '--sync-allow-empty-prune',
    help: 'an empty sync folder may prune everything it applied',
    setting: 'syncAllowEmptyPrune',
  },
  {
    name: '--sync-prune-settle',
    value: '<duration>',
    help: "how long an object must be missing from its sync folder before it is pruned (an editor's save leaves a file missing for a moment; default 5s)",
    setting: 'syncPruneSettleMs',
    parse: positiveDuration,
  },
  {
    name: '--workspace-url',
    value: '<url>',
    help: 'where the UI links workspaces, e.g. https://ide.example.com (default: the page host on --workspace-port)',
    setting: 'workspaceBaseUrl',
    parse: httpUrl,
  },
  {
    name: '--log-level',
    value: '<level>',
    help: 'trace, debug (adds a line per request), info, warn or error (env TIDEPOOL_LOG_LEVEL; default info)',
    setting: 'logLevel',
    parse: oneOf(['trace', 'debug', 'info', 'warn', 'error']),
  },
  {
    name: '--log-format',
    value: '<format>',
    help: 'text (readable lines) or json (env TIDEPOOL_LOG_FORMAT; default text on a terminal, json otherwise)',
    setting: 'logFormat',
    parse: oneOf(['text', 'json']),
  },
  {
    name: '--metrics-listen',
    value: '<host:port>',
    help: 'also serve /metrics without login here, e.g. 127.0.0.1:9464 (default: only on the API, with its login)',
    setting: 'metricsListen',
    parse: apiListen,
  },
  {
    name: '--usage-interval',
    value: '<duration>',
    help: "how often the workspaces' CPU, memory, disk and network are sampled, e.g. 5s (default 10s)",
    setting: 'usageIntervalMs',
    parse: positiveDuration,
  },
]);

/** Every flag of `tidepool serve` (besides the global --data-dir), in the order of its help. */
export const serveFlags = (): Flag[] => [...WHERE, ...proxyFlags(), ...runtimeFlags(), ...HOW, ...SIGNIN_FLAGS];

/** What serve's flags say, every driver's settings by driver name, and the data directory. */
export type ServeSettings = ReturnType<typeof serveSettingsFrom>;

/** The settings of `tidepool serve` from its flags (and --data-dir, and the environment); throws the first bad one. */
export function serveSettingsFrom(given: RawFlags & { dataDir?: string }, env: NodeJS.ProcessEnv) {
  const where = settingsFrom(WHERE, given, env);
  const drivers = {
    ...proxySettingsFrom(given, where.proxy),
    ...runtimeSettingsFrom(given, where.runtime),
  };
  refuseClashes(where);
  const signIn = settingsFrom(SIGNIN_FLAGS, given, env);
  checkSignInFlags(signIn);
  return {
    ...where,
    ...settingsFrom(HOW, given, env),
    ...signIn,
    dataDir: resolveDataDir(given.dataDir, env),
    drivers,
  };
}

/** `--sync-dir` values, each checked: a bad one is refused before anything starts, not after the drivers are up. */
function syncDirs(dirs: string[]): string[] | undefined {
  for (const dir of dirs) parseSyncDirFlag(dir);
  return dirs.length ? dirs : undefined;
}

/** The three proxy ports must be three origins. */
function refuseClashes(s: { appListen: string; workspaceListen: string; previewListen: string }): void {
  const listens = [
    ['--app-port', s.appListen],
    ['--workspace-port', s.workspaceListen],
    ['--preview-port', s.previewListen],
  ] as const;
  for (let i = 0; i < listens.length; i++) {
    for (let j = i + 1; j < listens.length; j++) {
      const [fa, a] = listens[i]!;
      const [fb, b] = listens[j]!;
      const why = fb === '--preview-port' ? 'the API, the workspaces and their Ports' : 'the API and the workspaces';
      if (clash(a, b))
        throw new ServeError(
          `${fa} ${a} and ${fb} ${b} take the same port: they must differ, as ${why} are separate origins on purpose`,
        );
    }
  }
}

/** Serve's settings when nothing was typed: every default of the tables. */
export const defaultServeSettings = () => serveSettingsFrom({}, {});
