// The `tidepool` command line: global flags and every command.
import { Command, CommanderError } from 'commander';
import { registerApply } from './commands/apply.js';
import { registerConfig } from './commands/config.js';
import { registerLogin } from './commands/login.js';
import { registerPort } from './commands/port.js';
import { registerDelete } from './commands/delete.js';
import { registerDescribe } from './commands/describe.js';
import { registerDiff } from './commands/diff.js';
import { registerGet } from './commands/get.js';
import { registerServe } from './commands/serve.js';
import { registerStartStop } from './commands/startstop.js';
import { registerSleepWake } from './commands/sleepwake.js';
import { registerWait } from './commands/wait.js';
import { registerCompletion } from './commands/completion.js';
import { registerEdit } from './commands/edit.js';
import { registerExec } from './commands/exec.js';
import { registerExplain } from './commands/explain.js';
import { registerLabel } from './commands/label.js';
import { registerLogs } from './commands/logs.js';
import { registerOrphans } from './commands/orphans.js';
import { registerNodes } from './commands/nodes.js';
import { registerPatch } from './commands/patch.js';
import { registerRollout } from './commands/rollout.js';
import { registerSettings } from './commands/settings.js';
import { registerToken } from './commands/token.js';
import { registerTop } from './commands/top.js';
import { registerVersion } from './commands/version.js';
import { registerNamespaceFlags } from './namespace.js';
import { errorMessage } from '../specs/errors.js';
import { TIDEPOOL_VERSION } from '../specs/index.js';

export const VERSION = TIDEPOOL_VERSION;

export function buildProgram(): Command {
  const program = new Command('tidepool')
    .description(
      'Tidepool: a self-hosted cloud IDE control plane. Declare Workspaces and Ports in YAML, ' +
        'apply them, and Tidepool makes the instances (Incus containers or VMs, Tart VMs) and routes match.',
    )
    .version(VERSION, '--version', 'print the version')
    .option(
      '--server <url>',
      'the Tidepool API (env TIDEPOOL_SERVER; default http:// + TIDEPOOL_LISTEN or 127.0.0.1:7080)',
    )
    .option(
      '--data-dir <dir>',
      'data directory: the server keeps its state there, the CLI finds its credentials file there (env TIDEPOOL_DATA_DIR)',
    )
    .option(
      '--context <name>',
      'the context of the client config to use (env TIDEPOOL_CONTEXT; default its current context)',
    )
    .option(
      '--config <file>',
      'the client config with the contexts (env TIDEPOOL_CONFIG; default $XDG_CONFIG_HOME/tidepool/config.yaml)',
    )
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nCredentials: TIDEPOOL_USER / TIDEPOOL_PASSWORD, else the context of the client config (tidepool login), ' +
        'else the credentials file in the data directory.',
    )
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });

  registerNamespaceFlags(program);
  registerServe(program);
  registerApply(program);
  registerGet(program);
  registerDescribe(program);
  registerDelete(program);
  registerDiff(program);
  registerWait(program);
  registerStartStop(program);
  registerSleepWake(program);
  registerRollout(program);
  registerSettings(program);
  registerLogs(program);
  registerTop(program);
  registerExec(program);
  registerEdit(program);
  registerPatch(program);
  registerLabel(program);
  registerExplain(program);
  registerOrphans(program);
  registerToken(program);
  registerNodes(program);
  registerPort(program);
  registerLogin(program);
  registerConfig(program);
  registerVersion(program);
  // Last: it reads the table of every command registered before it.
  registerCompletion(program);
  return program;
}

/** Parses and runs; resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : 1;
    }
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
  return Number(process.exitCode ?? 0);
}
