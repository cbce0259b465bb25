// What the composition root runs in: the list of started components (stopped in reverse), the
// logger, where the built UI is, and running until a signal.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ServeError } from './errors.js';
import { readableLog } from './log-format.js';

/** Things that were started, stopped in reverse order. */
export class Components {
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
 * TIDEPOOL_LOG_FORMAT=text). TIDEPOOL_LOG_LEVEL=debug adds a line per request. --log-level and
 * --log-format come before the environment.
 */
export function makeLogger(
  pino: typeof import('pino').pino,
  env: NodeJS.ProcessEnv,
  flags: { logLevel?: string | undefined; logFormat?: string | undefined },
): Logger {
  const level = flags.logLevel || env.TIDEPOOL_LOG_LEVEL || 'info';
  const format = flags.logFormat || env.TIDEPOOL_LOG_FORMAT || (process.stdout.isTTY ? 'text' : 'json');
  if (format !== 'text' && format !== 'json')
    throw new ServeError(`TIDEPOOL_LOG_FORMAT must be text or json, got "${format}"`);
  return format === 'text' ? pino({ level }, readableLog(process.stdout)) : pino({ level });
}

/** Runs until SIGTERM or SIGINT, then stops cleanly (a second signal exits at once). */
export async function untilSignalled(handle: { logger: Logger; close(): Promise<void> }): Promise<void> {
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
