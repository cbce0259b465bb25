// The runtime registry: where workspaces run (incus, tart, stub). Each entry declares its
// flags, how it is built, which image templates it offers and, for the stub, the port its IDEs
// answer on; server/serve.ts looks an entry up by the name of --runtime.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { platform } from 'node:os';
import type { Logger } from 'pino';
import type { RuntimeDriver } from '../drivers/runtime/types.js';
import { DEFAULT_INCUS_SOCKET } from '../drivers/runtime/incus/client.js';
import { errorMessage } from '../specs/errors.js';
import { IDE_PORT } from '../specs/workspace.js';
import { type DriverEntry, settingsOfEach } from './drivers.js';
import { ServeError } from './errors.js';
import { text } from './flag-values.js';
import { defineFlags, type Flag, type RawFlags } from './flags.js';

export { DEFAULT_INCUS_SOCKET };

export interface RuntimeContext {
  tidepoolId: string;
  dataDir: string;
  logger: Logger;
  /** The port the IDEs answer on (IDE_PORT but for a stub on a host where it is taken). */
  idePort: number;
  /** `--image TEMPLATE=IMAGE`: extra or replaced entries of the image map. */
  images: Record<string, string> | undefined;
}

export interface RuntimeEntry<F extends readonly Flag[], S, D extends RuntimeDriver = RuntimeDriver>
  extends DriverEntry<F, S, RuntimeContext, D> {
  /** Whose image templates it runs: the stub offers Incus' names. */
  readonly imageFamily: 'incus' | 'tart';
  /** The port its IDEs answer on when it may not be IDE_PORT; it logs why. */
  idePort?(env: NodeJS.ProcessEnv, logger: Logger): Promise<number>;
}

const defineRuntime = <const F extends readonly Flag[], S = import('./flags.js').Resolved<F>>(
  entry: RuntimeEntry<F, S>,
) => entry;

/** incus on Linux, tart on macOS: what this host can run. */
export function defaultRuntime(): RuntimeName {
  return platform() === 'darwin' ? 'tart' : 'incus';
}

/**
 * The image map with `--image` entries. Incus: `TEMPLATE=ALIAS` (a container) or
 * `TEMPLATE=ALIAS,vm`; Tart: `TEMPLATE=SOURCE` (a local VM name or an OCI reference).
 */
export async function imageMapFor(runtime: 'incus' | 'tart', images: Record<string, string> | undefined) {
  const { withImages, defaultImageMap } = await import('../drivers/runtime/images.js');
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

/** `--warm-pool TEMPLATE=N`, repeatable: started instances kept ready per image template. */
function warmPoolFlags(values: string[]): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const v of values) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(\d{1,3})$/.exec(v);
    if (!m)
      throw new ServeError(`--warm-pool must be TEMPLATE=N (a DNS-label template name, N from 0 to 999), got "${v}"`);
    sizes[m[1]!] = Number(m[3]);
  }
  return sizes;
}

const incus = defineRuntime({
  imageFamily: 'incus',
  flags: defineFlags([
    {
      name: '--incus-socket',
      value: '<path>',
      help: `unix socket of the local Incus (default ${DEFAULT_INCUS_SOCKET})`,
      default: DEFAULT_INCUS_SOCKET,
      setting: 'socket',
      parse: text,
    },
    {
      name: '--incus-url',
      value: '<url>',
      help: 'HTTPS endpoint of a remote Incus, with --incus-cert and --incus-key',
      setting: 'url',
      parse: text,
    },
    {
      name: '--incus-cert',
      value: '<file>',
      help: 'PEM client certificate the remote Incus trusts',
      setting: 'cert',
      parse: text,
    },
    { name: '--incus-key', value: '<file>', help: 'PEM key of --incus-cert', setting: 'key', parse: text },
    {
      name: '--incus-server-cert',
      value: '<file>',
      help: "the remote Incus server's PEM certificate, pinned",
      setting: 'serverCert',
      parse: text,
    },
    {
      name: '--incus-project',
      value: '<name>',
      help: 'Incus project (default: the default project)',
      setting: 'project',
      parse: text,
    },
    {
      name: '--incus-target',
      value: '<member|@group>',
      help: 'on an Incus cluster, where workspaces without spec.placement go: a member or @group (default: the least busy online member)',
      setting: 'target',
      parse: text,
    },
    {
      name: '--warm-pool',
      value: '<template=n>',
      repeatable: true,
      help: 'keep N started instances of an image template ready (IDE not yet running) for new workspaces, e.g. default=2; Incus only; repeatable',
      setting: 'warmPool',
      parse: warmPoolFlags,
    },
  ]),
  settings(flags, chosen) {
    if (flags.warmPool && chosen !== 'incus')
      throw new ServeError(`--warm-pool works with --runtime incus only (this is --runtime ${chosen})`);
    return flags;
  },
  async create(s, { tidepoolId, logger, images }) {
    const { readFile } = await import('node:fs/promises');
    const { createIncusRuntime } = await import('../drivers/runtime/incus/index.js');
    const common = {
      tidepoolId,
      log: (msg: string) => logger.info({ runtime: 'incus' }, msg),
      imageMap: await imageMapFor('incus', images),
      ...(s.project ? { project: s.project } : {}),
      ...(s.target ? { target: s.target } : {}),
      ...(s.warmPool ? { warmPool: s.warmPool } : {}),
    };
    if (s.url) {
      if (!s.cert || !s.key)
        throw new ServeError(
          '--incus-url needs --incus-cert and --incus-key (a client certificate the remote Incus trusts)',
        );
      const read = (flag: string, path: string) =>
        readFile(path).catch((err: Error) => {
          throw new ServeError(`${flag} ${path}: ${err.message}`);
        });
      return createIncusRuntime({
        ...common,
        url: s.url,
        cert: await read('--incus-cert', s.cert),
        key: await read('--incus-key', s.key),
        ...(s.serverCert ? { serverCert: await read('--incus-server-cert', s.serverCert) } : {}),
      });
    }
    if (!existsSync(s.socket)) {
      throw new ServeError(
        `the Incus socket ${s.socket} does not exist: set up the host with \`make host\` (scripts/setup-host.sh), ` +
          'point --incus-socket at it, or run without Incus: --runtime stub',
      );
    }
    const runtime = createIncusRuntime({ ...common, socketPath: s.socket });
    try {
      await runtime.list();
    } catch (err) {
      await runtime.close?.();
      throw new ServeError(`Incus at ${s.socket} does not answer: ${errorMessage(err)}`);
    }
    return runtime;
  },
});

const tart = defineRuntime({
  imageFamily: 'tart',
  flags: defineFlags([
    {
      name: '--tart-path',
      value: '<path>',
      help: 'the tart executable (default tart on PATH)',
      setting: 'path',
      parse: text,
    },
  ]),
  async create(s, { tidepoolId, dataDir, logger, images }) {
    const { createTartRuntime } = await import('../drivers/runtime/tart/index.js');
    return createTartRuntime({
      tidepoolId,
      logDir: join(dataDir, 'tart'),
      imageMap: await imageMapFor('tart', images),
      log: (msg: string) => logger.info({ runtime: 'tart' }, msg),
      ...(s.path ? { tartPath: s.path } : {}),
    });
  },
});

const stub = defineRuntime({
  imageFamily: 'incus',
  flags: defineFlags([]),
  async create(_s, { idePort }) {
    const { createStubRuntime } = await import('../drivers/runtime/stub/index.js');
    // Real HTTP servers on 127.77.x.y:idePort stand in for the IDEs, so a real proxy has something to reach.
    return createStubRuntime({ ideServers: true, idePort });
  },
  /**
   * IDE_PORT, unless something on this host holds it (a `make run`'s Caddy on *:8080 blocks
   * every 127.77 address): then a free one, which the stub, the controller and the proxy all use.
   */
  async idePort(env, logger) {
    const { pickIdePort } = await import('../drivers/runtime/stub/ide-server.js');
    // TIDEPOOL_STUB_IDE_PORT: the port the stub tries first (tests use it to stand in for 8080).
    const preferred = Number(env.TIDEPOOL_STUB_IDE_PORT);
    const port = await pickIdePort(
      Number.isInteger(preferred) && preferred > 0 && preferred < 65536 ? preferred : IDE_PORT,
    );
    if (port !== IDE_PORT) {
      logger.info(
        { idePort: port },
        `the stub's IDEs answer on port ${port} (${IDE_PORT} is taken on this host, or TIDEPOOL_STUB_IDE_PORT asked for it)`,
      );
    }
    return port;
  },
});

const RUNTIME_REGISTRY = { incus, tart, stub };

export type RuntimeName = keyof typeof RUNTIME_REGISTRY;
export const RUNTIMES = Object.keys(RUNTIME_REGISTRY) as RuntimeName[];

/** Every runtime's settings, by name (those of the runtimes not chosen are read and kept, unused). */
export const runtimeSettingsFrom = (given: RawFlags, chosen: RuntimeName) =>
  settingsOfEach(RUNTIME_REGISTRY, given, chosen);
export type RuntimeSettings = ReturnType<typeof runtimeSettingsFrom>;

/** The entry of a runtime, its settings' type left open: serve hands it the settings its own flags made. */
export const runtimeEntry = (name: RuntimeName): RuntimeEntry<readonly Flag[], unknown> => RUNTIME_REGISTRY[name];

/** The flags of every runtime, in registry order. */
export const runtimeFlags = (): Flag[] => Object.values(RUNTIME_REGISTRY).flatMap((e): readonly Flag[] => e.flags);
