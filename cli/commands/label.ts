// tidepool label / annotate TYPE NAME KEY=VALUE... KEY-: sets or removes labels or
// annotations with a JSON merge patch, as kubectl does: changing an existing key needs
// --overwrite, and --resource-version makes the change conditional.
import type { Command } from 'commander';
import type { ApiObject } from '../client.js';
import { runClient } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { parseTargets, refName } from '../kinds.js';

interface LabelFlags {
  overwrite?: boolean;
  resourceVersion?: string;
  list?: boolean;
}

export function registerLabel(program: Command): void {
  for (const field of ['labels', 'annotations'] as const) {
    const verb = field === 'labels' ? 'label' : 'annotate';
    program
      .command(verb)
      .summary(`update the ${field} of objects`)
      .description(
        `Sets (KEY=VALUE) or removes (KEY-) ${field}. A key that already has another value is changed only with --overwrite.\n\n` +
          `Examples:\n  tidepool ${verb} ws alice team=web\n  tidepool ${verb} ws alice team-\n  tidepool ${verb} workspace/alice team=api --overwrite`,
      )
      .argument('<TYPE_NAME_AND_CHANGES...>', 'TYPE NAME... or TYPE/NAME..., then KEY=VALUE and KEY- items')
      .option('--overwrite', 'allow changing a key that already has a value')
      .option('--resource-version <rv>', 'only change the object if it still has this resourceVersion')
      .option('--list', `print the ${field} of each object instead`)
      .action(async (args: string[], flags: LabelFlags, cmd: Command) => {
        await runClient(cmd, async (ctx) => {
          const isChange = (a: string) => a.includes('=') || (a.endsWith('-') && !a.includes('/'));
          const changes = args.filter(isChange);
          const targets = parseTargets(
            args.filter((a) => !isChange(a)),
            { verb },
          );
          if (!changes.length && !flags.list) throw new CliError('at least one label update is required');
          const { set, remove } = parseChanges(changes, verb);
          for (const t of targets) {
            if (!t.names.length) throw new CliError(`resource(s) were provided, but no name was specified`);
            for (const name of t.names) {
              try {
                const cur: ApiObject = await ctx.client.get(t.info, name);
                const have = cur.metadata[field] ?? {};
                if (flags.list) {
                  for (const k of Object.keys(have).sort()) ctx.out(`${k}=${have[k]}`);
                  continue;
                }
                for (const [k, v] of Object.entries(set)) {
                  if (k in have && have[k] !== v && !flags.overwrite) {
                    throw new CliError(`'${k}' already has a value (${have[k]}), and --overwrite is false`);
                  }
                }
                const patch: Record<string, string | null> = { ...set };
                for (const k of remove) patch[k] = null;
                const unchanged =
                  Object.entries(set).every(([k, v]) => have[k] === v) && remove.every((k) => !(k in have));
                if (unchanged) {
                  ctx.out(`${refName(t.info, name)} not ${verb === 'label' ? 'labeled' : 'annotated'}`);
                  continue;
                }
                const metadata: Record<string, unknown> = { [field]: patch };
                if (flags.resourceVersion) metadata.resourceVersion = flags.resourceVersion;
                await ctx.client.mergePatch(t.info, name, { metadata });
                ctx.out(`${refName(t.info, name)} ${verb === 'label' ? 'labeled' : 'annotated'}`);
              } catch (err) {
                if (err instanceof ServerError) ctx.report(err);
                else throw err;
              }
            }
          }
        });
      });
  }
}

export function parseChanges(items: string[], verb: string): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const it of items) {
    if (it.endsWith('-') && !it.includes('=')) {
      remove.push(it.slice(0, -1));
    } else {
      const i = it.indexOf('=');
      const key = it.slice(0, i);
      if (!key) throw new CliError(`invalid ${verb} spec: ${it}, expected KEY=VALUE or KEY-`);
      if (key in set)
        throw new CliError(
          `can not both modify and remove a ${verb === 'label' ? 'label' : 'annotation'} in the same command: ${key}`,
        );
      set[key] = it.slice(i + 1);
    }
  }
  for (const k of remove) if (k in set) throw new CliError(`can not both modify and remove ${k} in the same command`);
  return { set, remove };
}
