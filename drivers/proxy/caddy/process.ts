// The Caddy Tidepool runs: `caddy run --config <state>/caddy.json` with its admin API on a unix
// socket inside the 0700 state dir (mode 0600), an environment holding nothing of Tidepool's
// (no credentials: /proc/<pid>/environ is readable by its user), supervised by a Daemon so that
// it outlives Tidepool and is adopted by the next one.
import { chmod, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Daemon, type Logger } from '../daemon.js';
import type { CaddyAdmin } from './admin.js';

export type { Logger } from '../daemon.js';

/** A free TCP port on `host` (bind 0, read it, close). */
export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface CaddyDaemonOptions {
  binary: string;
  stateDir: string;
  /** The admin unix socket (its path is in the config's admin block). */
  adminSocket: string;
  client: CaddyAdmin;
  /** The config to boot with (written to caddy.json before each spawn). */
  config(): string;
  logger: Logger;
  onRestart(): void;
}

export const caddyConfigPath = (stateDir: string) => join(stateDir, 'caddy.json');
/** Caddy's XDG_DATA_HOME: its storage (certificates, the local CA) is in `caddy/` under it. */
export const caddyDataHome = (stateDir: string) => join(stateDir, 'caddy-data');

export function caddyDaemon(o: CaddyDaemonOptions): Daemon {
  const configPath = caddyConfigPath(o.stateDir);
  const args = ['run', '--config', configPath];
  return new Daemon({
    name: 'caddy',
    binary: o.binary,
    args,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // Keep Caddy's storage and autosave away from the user's own Caddy.
      HOME: o.stateDir,
      XDG_DATA_HOME: caddyDataHome(o.stateDir),
      XDG_CONFIG_HOME: join(o.stateDir, 'caddy-config'),
    },
    pidFile: join(o.stateDir, 'caddy.pid'),
    logFile: join(o.stateDir, 'caddy.log'),
    // Same binary and config path; what the config says is compared once it answers.
    accept: (argv) => argv.join('\0') === [o.binary, ...args].join('\0'),
    probe: async () => {
      await o.client.call('GET', '/config/');
    },
    // `caddy run` logs it once its initial config is loaded and serving; a config that fails
    // (a port taken) never gets there, though the admin API may answer just before the exit.
    startedWhen: '"msg":"serving initial configuration"',
    beforeSpawn: async () => {
      await writeFile(configPath, o.config(), { mode: 0o600 });
      await rm(o.adminSocket, { force: true }); // a stale socket would make Caddy's listen fail
    },
    // Caddy 2.6 cannot set a socket's mode; the 0700 dir already keeps others out.
    afterReady: () => chmod(o.adminSocket, 0o600),
    onRestart: o.onRestart,
    logger: o.logger,
  });
}
