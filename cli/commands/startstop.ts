// tidepool start NAME... / tidepool stop NAME...: sets spec.running with a JSON merge patch.
import type { Command } from 'commander';
import { lookupKind } from '../../specs/index.js';
import type { ApiObject } from '../client.js';
import { runClient } from '../context.js';
import { ServerError } from '../errors.js';
import { refName } from '../kinds.js';
import { WaitTimeout, hasCondition, parseTimeout, waitFor, type Check } from '../waiter.js';

export function registerStartStop(program: Command): void {
  for (const verb of ['start', 'stop'] as const) {
    const running = verb === 'start';
    program
      .command(verb)
      .summary(
        running
          ? 'start workspaces (spec.running: true)'
          : 'stop workspaces, keeping their disks (spec.running: false)',
      )
      .description(
        `${running ? 'Starts' : 'Stops'} each named workspace by setting spec.running to ${running}; the controller does the rest. ` +
          `With --wait, waits until ${running ? 'it is Ready' : 'it is Stopped'}.`,
      )
      .argument('<NAMES...>', 'workspace names (workspace/NAME also works)')
      .option('--wait', `wait until the workspace is ${running ? 'Ready' : 'Stopped'}`)
      .option('--timeout <duration>', 'with --wait: give up after this long', '5m')
      .action(async (names: string[], flags: { wait?: boolean; timeout?: string }, cmd: Command) => {
        await runClient(cmd, async (ctx) => {
          const info = lookupKind('workspace')!;
          const timeout = flags.wait ? parseTimeout(flags.timeout, '5m') : 0;
          const done: string[] = [];
          for (const arg of names) {
            const name = arg.replace(/^(workspaces?|ws)\//, '');
            try {
              const before = await ctx.client.get(info, name);
              if (before.spec?.running === running) {
                ctx.out(`${refName(info, name)} ${running ? 'started' : 'stopped'} (no change)`);
              } else {
                // The power manager: the server refuses it (409, naming the file) when a sync's file sets spec.running.
                await ctx.client.mergePatch(info, name, { spec: { running } }, { fieldManager: 'tidepool-power' });
                // With --wait, "stopped" is said once, when it is (a stop takes a while to happen).
                ctx.out(`${refName(info, name)} ${running ? 'started' : flags.wait ? 'stopping' : 'stopped'}`);
              }
              done.push(name);
            } catch (err) {
              if (err instanceof ServerError) ctx.report(err);
              else throw err;
            }
          }
          if (!flags.wait || !done.length) return;
          // Only a status written for the current spec counts (not a Ready left over from before).
          const current = (o: ApiObject) => (o.status?.observedGeneration ?? 0) >= (o.metadata.generation ?? 0);
          const ready = hasCondition('Ready');
          const check: Check = running
            ? (o) => o !== undefined && current(o) && ready(o)
            : (o) => o !== undefined && current(o) && o.status?.phase === 'Stopped';
          const signal = AbortSignal.timeout(timeout);
          const results = await Promise.allSettled(done.map((n) => waitFor(ctx.client, info, n, check, signal)));
          results.forEach((r, i) => {
            if (r.status === 'fulfilled') ctx.out(`${refName(info, done[i]!)} ${running ? 'ready' : 'stopped'}`);
            else ctx.report(r.reason instanceof WaitTimeout ? new Error(r.reason.message) : r.reason);
          });
        });
      });
  }
}
