// tidepool wake NAME... / tidepool sleep NAME...: a sleeping workspace (spec.running still true,
// stopped because nobody used it) is woken, or a running one put to sleep now. Unlike stop and
// start, spec.running is not touched: a workspace put to sleep wakes when it is opened.
import type { Command } from 'commander';
import { lookupKind } from '../../specs/index.js';
import type { ApiObject } from '../client.js';
import { runClient } from '../context.js';
import { ServerError } from '../errors.js';
import { refName } from '../kinds.js';
import { WaitTimeout, hasCondition, parseTimeout, waitFor, type Check } from '../waiter.js';

export function registerSleepWake(program: Command): void {
  for (const verb of ['wake', 'sleep'] as const) {
    const waking = verb === 'wake';
    program
      .command(verb)
      .summary(
        waking
          ? 'wake sleeping workspaces (as opening them does)'
          : 'put workspaces to sleep now (stopped, home kept; opening them wakes them)',
      )
      .description(
        waking
          ? 'Wakes each named workspace that sleeps; the controller starts it (making room when the budget is full and the server allows it). A stopped workspace (spec.running false) is not woken: `tidepool start` it. With --wait, waits until it is Ready.'
          : 'Puts each named running workspace to sleep now, whatever its idle timeout: stopped with its home kept, spec.running still true, woken when its IDE or a Port is opened or by `tidepool wake`. With --wait, waits until it is Sleeping.',
      )
      .argument('<NAMES...>', 'workspace names (workspace/NAME also works)')
      .option('--wait', `wait until the workspace is ${waking ? 'Ready' : 'Sleeping'}`)
      .option('--timeout <duration>', 'with --wait: give up after this long', '5m')
      .action(async (names: string[], flags: { wait?: boolean; timeout?: string }, cmd: Command) => {
        await runClient(cmd, async (ctx) => {
          const info = lookupKind('workspace')!;
          const timeout = flags.wait ? parseTimeout(flags.timeout, '5m') : 0;
          const done: string[] = [];
          for (const arg of names) {
            const name = arg.replace(/^(workspaces?|ws)\//, '');
            try {
              const res = await ctx.client.call<{ message?: string }>('POST', ctx.client.pathOf(info, name, verb));
              ctx.out(`${refName(info, name)}: ${res.message ?? verb}`);
              done.push(name);
            } catch (err) {
              if (err instanceof ServerError) ctx.report(err);
              else throw err;
            }
          }
          if (!flags.wait || !done.length) return;
          const ready = hasCondition('Ready');
          const check: Check = waking
            ? (o: ApiObject | undefined) => o !== undefined && !o.status?.sleep && ready(o)
            : (o: ApiObject | undefined) => o?.status?.phase === 'Sleeping';
          const signal = AbortSignal.timeout(timeout);
          const results = await Promise.allSettled(done.map((n) => waitFor(ctx.client, info, n, check, signal)));
          results.forEach((r, i) => {
            if (r.status === 'fulfilled') ctx.out(`${refName(info, done[i]!)} ${waking ? 'ready' : 'asleep'}`);
            else ctx.report(r.reason instanceof WaitTimeout ? new Error(r.reason.message) : r.reason);
          });
        });
      });
  }
}
