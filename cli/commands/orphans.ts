// tidepool orphans [list] / tidepool orphans delete NAME...: what this Tidepool made (an
// instance, a home volume) for a name that no Workspace declares. They are not resources (no
// YAML, nothing to apply), so they are not under `get`; like `kubectl certificate approve` or
// `kubectl rollout undo`, an operation on something outside the object model gets a verb group.
// The controller keeps orphans stopped; a person deletes them here, or applies a Workspace of
// the same name to adopt one back.
import type { Command } from 'commander';
import type { OrphanList } from '../../specs/index.js';
import { runClient } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { renderTable } from '../format.js';
import { toJson, toYaml } from '../printers.js';

function registerList(group: Command): void {
  group
    .command('list', { isDefault: true })
    .summary('list the orphans: instances and homes of this Tidepool that no Workspace declares')
    .option('-o, --output <format>', 'yaml or json')
    .action(async (flags: { output?: string }, cmd: Command) => {
      if (flags.output && flags.output !== 'json' && flags.output !== 'yaml')
        throw new CliError(`--output must be 'yaml' or 'json', got "${flags.output}"`);
      await runClient(cmd, async (ctx) => {
        const list = await ctx.client.call<OrphanList>('GET', '/api/v1/orphans');
        if (flags.output === 'json') return ctx.out(toJson(list));
        if (flags.output === 'yaml') return ctx.out(toYaml(list));
        if (!list.items.length)
          return ctx.io.err('No orphans: every instance and home of this Tidepool has its Workspace.');
        ctx.out(
          renderTable(
            ['NAME', 'INSTANCE', 'STATE', 'HOME'],
            list.items.map((o) => [
              o.name,
              o.state ? o.instance : '<none>',
              o.state ?? '<none>',
              o.home ? 'kept' : '<none>',
            ]),
          ),
        );
      });
    });
}

export function registerOrphans(program: Command): void {
  const group = program
    .command('orphans')
    .summary('instances and homes no Workspace declares: list them, delete them')
    .description(
      'An orphan is an instance or a home volume this Tidepool made for a workspace name that no Workspace ' +
        'declares any more (a store restored from an old backup, a Workspace lost with a damaged store). ' +
        'Tidepool never deletes one by itself: it stops it, keeps it and reports it (an OrphanKept event). ' +
        'Apply a Workspace of the same name to adopt it again (its home with it), or delete it here for good.',
    );
  registerList(group);
  group
    .command('delete')
    .summary("delete orphans for good: each one's instance and home")
    .argument('<NAMES...>', 'orphan names (the workspace names they were made for)')
    .action(async (names: string[], _flags: unknown, cmd: Command) => {
      await runClient(cmd, async (ctx) => {
        for (const name of names) {
          try {
            const s = await ctx.client.call<{ message?: string }>(
              'DELETE',
              `/api/v1/orphans/${encodeURIComponent(name)}`,
            );
            ctx.out(s.message ?? `orphan "${name}" deleted`);
          } catch (err) {
            if (err instanceof ServerError) ctx.report(err);
            else throw err;
          }
        }
      });
    });
}
