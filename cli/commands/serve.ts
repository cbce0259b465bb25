// tidepool serve: its options made from the one flag table of server/ (serve's own flags and
// every driver's), and what was typed handed back to server/ as settings. Every bad value is
// one `error:` line and exit 1 before anything starts.
import type { Command } from 'commander';
import {
  optionSpec,
  serveFlags,
  serveSettingsFrom,
  serveUntilSignalled,
  type RawFlags,
  type ServeOptions,
} from '../../server/index.js';
import { globalFlags } from '../context.js';
import { errorMessage } from '../../specs/errors.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The flags of `tidepool serve` (besides the global --data-dir). */
export function addServeFlags(cmd: Command): Command {
  for (const flag of serveFlags()) {
    if ('repeatable' in flag) cmd.option(optionSpec(flag), flag.help, collect);
    else cmd.option(optionSpec(flag), flag.help);
  }
  return cmd;
}

export function serveOptionsFromFlags(
  flags: RawFlags & { dataDir?: string },
  env: NodeJS.ProcessEnv = process.env,
): ServeOptions {
  return { ...serveSettingsFrom(flags, env), env };
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
  ).action(async (flags: RawFlags, cmd: Command) => {
    try {
      await serveUntilSignalled(serveOptionsFromFlags({ ...flags, ...globalFlags(cmd) }));
    } catch (err) {
      process.stderr.write(`error: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    }
  });
}
