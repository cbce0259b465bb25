// tidepool rollout restart workspace/NAME | imagetemplate/NAME: as `kubectl rollout restart`,
// sets the annotation tidepool/restartedAt to now with a JSON merge patch. A workspace whose
// ImageTemplate was rebuilt is made again now from the new image (its home kept); an
// ImageTemplate whose last build failed is built again.
import type { Command } from 'commander';
import { RESTARTED_AT_ANNOTATION } from '../../specs/index.js';
import { runClient } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { parseTargets, refName } from '../kinds.js';

const KINDS = new Set(['Workspace', 'ImageTemplate']);

export function registerRollout(program: Command): void {
  const rollout = program
    .command('rollout')
    .summary('take a new image now: restart workspaces, rebuild image templates');
  rollout
    .command('restart')
    .summary('make workspaces again from their rebuilt image, or build an image template again')
    .description(
      'Sets the annotation tidepool/restartedAt to now. A workspace whose image template was rebuilt since it was made ' +
        'is made again from the new image (its home is kept; a running IDE reconnects); one that is current is left as it is. ' +
        'An image template whose last build failed is built again.\n\n' +
        'Examples:\n  tidepool rollout restart workspace alice\n  tidepool rollout restart ws/alice ws/bob\n  tidepool rollout restart imagetemplate/python',
    )
    .argument('<TARGETS...>', 'TYPE NAME... or TYPE/NAME... (workspace, imagetemplate)')
    .action(async (args: string[], _flags: unknown, cmd: Command) => {
      const targets = parseTargets(args, { verb: 'rollout restart' });
      for (const t of targets) {
        if (!KINDS.has(t.info.kind))
          throw new CliError(`rollout restart takes workspaces and imagetemplates, not ${t.info.plural}`);
        if (!t.names.length) throw new CliError(`name the ${t.info.plural} to restart`);
      }
      await runClient(cmd, async (ctx) => {
        const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
        for (const t of targets)
          for (const name of t.names) {
            try {
              await ctx.client.mergePatch(t.info, name, {
                metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } },
              });
              ctx.out(`${refName(t.info, name)} restarted`);
            } catch (err) {
              if (err instanceof ServerError) ctx.report(err);
              else throw err;
            }
          }
      });
    });
}
