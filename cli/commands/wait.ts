// tidepool wait TYPE/NAME... | TYPE --all | TYPE -l SELECTOR --for=condition=Ready|--for=delete [--timeout=30s]
import type { Command } from 'commander';
import { runClient } from '../context.js';
import { CliError } from '../errors.js';
import type { ApiClient } from '../client.js';
import type { KindInfo } from '../../specs/index.js';
import { parseTargets, refName } from '../kinds.js';
import { WaitTimeout, parseFor, parseTimeout, waitFor } from '../waiter.js';

export function registerWait(program: Command): void {
  program
    .command('wait')
    .summary('wait for a condition on one or more objects')
    .description(
      'Waits until every named object meets the condition, by watching it.\n\n' +
        'Examples:\n  tidepool wait workspace/alice --for=condition=Ready --timeout=2m\n' +
        '  tidepool wait ws alice --for=delete\n  tidepool wait ws/alice --for=jsonpath={.status.phase}=Stopped\n' +
        '  tidepool wait workspaces --all --for=condition=Ready --timeout=3m\n' +
        '  tidepool wait ws -l team=web --for=condition=Ready',
    )
    .argument('<TYPE_AND_NAMES...>', 'TYPE/NAME... or TYPE NAME...')
    .option('--for <condition>', 'delete, condition=NAME[=VALUE] (VALUE defaults to True), or jsonpath={.path}=VALUE')
    .option('--timeout <duration>', 'give up after this long (30s, 2m, 1h)', '30s')
    .option('--all', 'every object of the type (those there now)')
    .option('-l, --selector <selector>', 'the objects of the type whose labels match, e.g. team=web')
    .action(async (args: string[], flags: WaitFlags, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        const spec = parseFor(flags.for);
        const timeout = parseTimeout(flags.timeout, '30s');
        const pairs = await waitTargets(ctx.client, args, flags);
        if (!pairs.length) {
          ctx.io.err('No resources found.');
          return;
        }
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

interface WaitFlags {
  for?: string;
  timeout?: string;
  all?: boolean;
  selector?: string;
}

/** The objects to wait for: named ones, or (as kubectl) every one of a type with --all or -l. */
async function waitTargets(client: ApiClient, args: string[], flags: WaitFlags) {
  const targets = parseTargets(args, { verb: 'wait' });
  const pairs: { info: KindInfo; name: string }[] = [];
  for (const t of targets) {
    if (t.names.length) {
      if (flags.all || flags.selector) throw new CliError('names cannot be given together with --all or -l');
      pairs.push(...t.names.map((name) => ({ info: t.info, name })));
    } else if (flags.all || flags.selector) {
      const list = await client.list(t.info, flags.selector ? { labelSelector: flags.selector } : {});
      pairs.push(...list.items.map((o) => ({ info: t.info, name: o.metadata.name })));
    } else {
      throw new CliError(
        `a resource name is required: TYPE/NAME or TYPE NAME, or --all or -l SELECTOR (e.g. tidepool wait ${t.info.plural} --all --for=condition=Ready)`,
      );
    }
  }
  return pairs;
}
