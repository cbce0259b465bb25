// tidepool logs WORKSPACE [-f] [--since 10m | --since-time T] [--tail N]: a workspace's
// activity log (every event the controller recorded about it, one line each), as
// `kubectl logs` prints a pod's: -f keeps following until interrupted.
import type { Command } from 'commander';
import { lookupKind } from '../../specs/index.js';
import { runClient } from '../context.js';
import { CliError } from '../errors.js';
import { parseDuration } from '../format.js';

interface LogsFlags {
  controller?: boolean;
  follow?: boolean;
  since?: string;
  sinceTime?: string;
  tail?: string;
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .summary("print a workspace's activity log")
    .description(
      'Prints what Tidepool did and saw for one workspace (created, started, stopped, probe failures, ...), oldest first.\n\n' +
        "With --controller, prints the controller's reconciles instead (of WORKSPACE and its Ports, or all): each with its " +
        'key, reconcile id (as in the server log), duration and outcome, and the error of a failed one.\n\n' +
        'Examples:\n  tidepool logs alice\n  tidepool logs alice -f\n  tidepool logs alice --since 10m --tail 20\n' +
        '  tidepool logs --controller -f\n  tidepool logs --controller alice\n  tidepool logs imagetemplate/python -f',
    )
    .argument('[WORKSPACE]', 'workspace name (workspace/NAME also works), or imagetemplate/NAME for its last build log')
    .option('--controller', "the controller's reconcile log (of WORKSPACE when given) instead of the activity log")
    .option('-f, --follow', 'keep printing new lines as they are written')
    .option('--since <duration>', 'only lines newer than this, e.g. 10m, 1h')
    .option('--since-time <time>', 'only lines at or after this RFC 3339 time')
    .option('--tail <lines>', 'only the last N lines (before following)')
    .action(async (arg: string | undefined, flags: LogsFlags, cmd: Command) => {
      if (arg === undefined && !flags.controller) throw new CliError('a workspace name is required (or --controller)');
      await runClient(cmd, async (ctx) => {
        const template = /^(imagetemplates?|it)\//.test(arg ?? '');
        const name = arg?.replace(/^(workspaces?|ws|imagetemplates?|it)\//, '');
        if (template && flags.controller) throw new CliError('--controller is for workspaces, not image templates');
        const query = flags.controller ? controllerQuery(flags, name) : logQuery(flags);
        const kind = lookupKind(template ? 'imagetemplate' : 'workspace')!;
        const path = flags.controller ? '/api/v1/reconciles' : `${ctx.client.pathOf(kind, name!)}/log`;
        if (!flags.follow) {
          let text = '';
          for await (const chunk of ctx.client.streamText(path, query)) text += chunk;
          if (text) ctx.io.out(text);
          return;
        }
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once('SIGINT', stop);
        try {
          for await (const chunk of ctx.client.streamText(path, { ...query, follow: 'true' }, ac.signal))
            process.stdout.write(chunk);
        } catch (err) {
          if (!ac.signal.aborted) throw err;
        } finally {
          process.off('SIGINT', stop);
        }
      });
    });
}

/** The reconcile log takes a workspace and --tail; --since is the activity log's. */
function controllerQuery(flags: LogsFlags, workspace: string | undefined): Record<string, string | undefined> {
  if (flags.since || flags.sinceTime)
    throw new CliError('--since and --since-time are for the activity log, not --controller');
  return { ...(workspace ? { workspace } : {}), ...(flags.tail !== undefined ? logQuery({ tail: flags.tail }) : {}) };
}

export function logQuery(flags: LogsFlags): Record<string, string | undefined> {
  if (flags.since && flags.sinceTime) throw new CliError('at most one of --since-time or --since may be specified');
  const q: Record<string, string | undefined> = {};
  if (flags.since) {
    const ms = parseDuration(flags.since);
    if (ms === undefined || ms < 0)
      throw new CliError(`invalid --since "${flags.since}": use a duration such as 30s, 10m or 1h`);
    q.sinceSeconds = String(Math.ceil(ms / 1000));
  }
  if (flags.sinceTime) q.sinceTime = flags.sinceTime;
  if (flags.tail !== undefined) {
    if (!/^\d+$/.test(flags.tail)) throw new CliError(`invalid --tail "${flags.tail}": a number of lines`);
    q.tailLines = flags.tail;
  }
  return q;
}
