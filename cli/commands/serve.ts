// tidepool serve: the Tidepool server process. Flag parsing (serveFlags, serveOptionsFromFlags)
// is kept apart from what runs (runServe), so that a new component needs three edits in
// this one file: its flags in `addServeFlags`, their values in `ServeOptions` /
// `serveOptionsFromFlags`, and its start in `runServe` (see "Components" there).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { DEFAULT_LISTEN, loadOrCreateCredentials, parseListen, resolveDataDir, storePath, type Credentials } from '../../api/config.js';
import type { Store } from '../../api/store/index.js';
import { CliError } from '../errors.js';
import { globalFlags } from '../context.js';

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
}

export interface ServeHandle {
  /** `http://host:port` the API listens on. */
  address: string;
  store: Store;
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
 * Starts Tidepool: the store, the credentials, then every component, the API server last
 * (so nothing is served before the rest is up). Throws CliError with a clear message when
 * the store cannot be read or the address cannot be listened on; whatever was started by
 * then is stopped again.
 */
export async function runServe(opts: ServeOptions): Promise<ServeHandle> {
  // Loaded here, not at the top: every other command starts faster without the server's modules.
  const [{ pino }, { Store, StoreOpenError }, { startServer }] = await Promise.all([
    import('pino'), import('../../api/store/index.js'), import('../../api/server.js'),
  ]);
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? pino({ level: env.TIDEPOOL_LOG_LEVEL || 'info' });
  const components = new Components(logger);
  try {
    let store: Store;
    try {
      store = await Store.open(storePath(opts.dataDir));
    } catch (err) {
      if (err instanceof StoreOpenError) throw new CliError(err.message);
      throw new CliError(`cannot open the store in ${opts.dataDir}: ${(err as Error).message}`);
    }
    components.add('store', () => store.close());

    const { credentials, source, path } = await loadOrCreateCredentials(opts.dataDir, env);
    if (source === 'generated') {
      logger.warn({ credentialsFile: path, user: credentials.username },
        `generated credentials for user "${credentials.username}"; the password is in ${path} (mode 0600). The CLI on this host reads it from there.`);
    } else {
      logger.info({ credentialsFrom: source === 'env' ? 'TIDEPOOL_USER/TIDEPOOL_PASSWORD' : path }, 'credentials loaded');
    }

    // Components: start each here, after the store and before the API server, and register
    // its stop with components.add(name, stop) (stops run in reverse order).
    // e.g. const controller = await startController({ store, logger, runtime, proxy, ... });
    //      components.add('controller', () => controller.stop());

    const webRoot = opts.webRoot ?? defaultWebRoot();
    let server;
    try {
      server = await startServer({ store, credentials, logger, listen: opts.listen, ...(webRoot ? { webRoot } : {}) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EADDRNOTAVAIL' ? 'address not available on this host'
        : code === 'EACCES' ? 'permission denied' : (err as Error).message;
      throw new CliError(`cannot listen on ${opts.listen}: ${why}`);
    }
    components.add('api server', () => server.close());
    logger.info({ address: server.address, dataDir: opts.dataDir }, `Tidepool API listening on ${server.address}`);
    return { address: server.address, store, credentials, logger, close: () => components.close() };
  } catch (err) {
    await components.close();
    throw err;
  }
}

interface ServeFlags {
  listen?: string;
}

/** The flags of `tidepool serve` (besides the global --data-dir). */
export function addServeFlags(cmd: Command): Command {
  return cmd.option('--listen <host:port>', `where the API listens (env TIDEPOOL_LISTEN; default ${DEFAULT_LISTEN})`);
}

export function serveOptionsFromFlags(flags: ServeFlags & { dataDir?: string }, env: NodeJS.ProcessEnv = process.env): ServeOptions {
  const listen = flags.listen || env.TIDEPOOL_LISTEN || DEFAULT_LISTEN;
  try {
    parseListen(listen);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return { dataDir: resolveDataDir(flags.dataDir, env), listen, env };
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
      .summary('run the Tidepool server (API, UI)')
      .description(
        'Runs the Tidepool server in the foreground with JSON logs on stdout. State is kept in the ' +
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
