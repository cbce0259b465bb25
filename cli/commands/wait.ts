// tidepool wait TYPE/NAME... --for=condition=Ready|--for=delete [--timeout=30s]
import type { Command } from 'commander';
import { runClient } from '../context.js';
import { CliError } from '../errors.js';
import { parseTargets, refName } from '../kinds.js';
import { WaitTimeout, parseFor, parseTimeout, waitFor } from '../waiter.js';

export function registerWait(program: Command): void {
  program
    .command('wait')
    .summary('wait for a condition on one or more objects')
    .description(
      'Waits until every named object meets the condition, by watching it.\n\n' +
        'Examples:\n  tidepool wait workspace/alice --for=condition=Ready --timeout=2m\n' +
        '  tidepool wait ws alice --for=delete\n  tidepool wait ws/alice --for=jsonpath={.status.phase}=Stopped',
    )
    .argument('<TYPE_AND_NAMES...>', 'TYPE/NAME... or TYPE NAME...')
    .option('--for <condition>', 'delete, condition=NAME[=VALUE] (VALUE defaults to True), or jsonpath={.path}=VALUE')
    .option('--timeout <duration>', 'give up after this long (30s, 2m, 1h)', '30s')
    .action(async (args: string[], flags: { for?: string; timeout?: string }, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        const spec = parseFor(flags.for);
        const timeout = parseTimeout(flags.timeout, '30s');
        const targets = parseTargets(args, { verb: 'wait' });
        const pairs = targets.flatMap((t) => t.names.map((name) => ({ info: t.info, name })));
        if (!pairs.length) throw new CliError('a resource name is required: TYPE/NAME or TYPE NAME');
        const signal = AbortSignal.timeout(timeout);
        // Existence first: waiting for a condition on an object that is not there is an error.
        if (!spec.deletion) {
          for (const p of pairs) await ctx.client.get(p.info, p.name);
        }
        const results = await Promise.allSettled(
          pairs.map((p) => waitFor(ctx.client, p.info, p.name, spec.check, signal)),
        );
        results.forEach((r, i) => {
          const p = pairs[i]!;
          if (r.status === 'fulfilled') ctx.out(`${refName(p.info, p.name)} condition met`);
          else ctx.report(r.reason instanceof WaitTimeout ? new Error(r.reason.message) : r.reason);
        });
      });
    });
}
