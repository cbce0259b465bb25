// tidepool apply -f FILE|DIR|- [-f ...] [-R] [--dry-run=server|none] [--prune --applyset NAME]
//   [--allow-empty-prune]
import type { Command } from 'commander';
import type { ApplyOptions } from '../client.js';
import { runClient, type Ctx } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { bundle, readSources, type Bundle } from '../manifests.js';
import { objectRef } from '../printers.js';

export interface ApplyFlags {
  filename?: string[];
  recursive?: boolean;
  dryRun?: string | boolean;
  prune?: boolean;
  applyset?: string;
  allowEmptyPrune?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Adds the -f/-R flags shared by apply and diff. */
export function fileFlags(cmd: Command, verb: string): Command {
  return cmd
    .option(
      '-f, --filename <path>',
      `a manifest file, a directory of *.yaml/*.yml/*.json, or - for stdin (repeatable) to ${verb}`,
      collect,
    )
    .option('-R, --recursive', 'with -f DIR: also the files of its subdirectories');
}

export function registerApply(program: Command): void {
  fileFlags(
    program
      .command('apply')
      .summary('create or update objects from manifests')
      .description(
        'Sends every manifest in one request: the server checks them all before it writes any. ' +
          'Prints what happened to each object: created, configured, unchanged or pruned.\n\n' +
          'Examples:\n  tidepool apply -f examples/workspace.yaml\n  tidepool apply -f team/ -R --dry-run=server\n' +
          '  tidepool apply -f team/ --prune --applyset team   (also deletes what an earlier apply of "team" created and the files no longer hold)',
      ),
    'apply',
  )
    .option(
      '--dry-run [strategy]',
      'server: the server checks and reports what it would do, and writes nothing; none (default)',
    )
    .option(
      '--prune',
      'delete the objects an earlier apply of the same --applyset created that these manifests no longer contain',
    )
    .option('--applyset <name>', 'the name of the set of objects this apply manages (required with --prune)')
    .option(
      '--allow-empty-prune',
      'with --prune: allow manifests with no objects at all, which prunes everything in the applyset',
    )
    .action(async (flags: ApplyFlags, cmd: Command) => {
      await runClient(cmd, (ctx) => apply(ctx, flags));
    });
}

export function parseDryRun(v: string | boolean | undefined): boolean {
  if (v === undefined || v === false || v === 'none') return false;
  if (v === true || v === 'server') return true;
  if (v === 'client')
    throw new CliError(
      '--dry-run=client is not supported: use --dry-run=server, which checks the manifests on the server and writes nothing',
    );
  throw new CliError(`invalid --dry-run value "${v}": use server or none`);
}

export async function loadBundle(flags: ApplyFlags, verb: string): Promise<Bundle> {
  if (!flags.filename?.length) throw new CliError(`must specify -f FILE|DIR|- to ${verb}`);
  return bundle(await readSources(flags.filename, flags.recursive ?? false));
}

async function apply(ctx: Ctx, flags: ApplyFlags): Promise<void> {
  const dryRun = parseDryRun(flags.dryRun);
  if (flags.prune && !flags.applyset)
    throw new CliError('--prune requires --applyset NAME: the set of objects to prune from');
  if (flags.allowEmptyPrune && !flags.prune) throw new CliError('--allow-empty-prune only makes sense with --prune');
  const b = await loadBundle(flags, 'apply');
  // With --prune, an empty set goes to the server, which refuses to prune everything unless allowed.
  if (!b.docs.length && !flags.prune) throw new CliError('no objects passed to apply');
  const opts: ApplyOptions = {
    dryRun,
    ...(flags.prune ? { prune: true } : {}),
    ...(flags.applyset ? { applyset: flags.applyset } : {}),
    ...(flags.allowEmptyPrune ? { allowEmptyPrune: true } : {}),
  };
  let result;
  try {
    result = await ctx.client.apply(b.body, opts);
  } catch (err) {
    if (err instanceof ServerError) {
      ctx.report(err, { bundle: b });
      if (err.causes.some((c) => c.field === 'allowEmptyPrune')) {
        ctx.io.err('hint: add --allow-empty-prune if deleting every object of the applyset is what you want');
      }
      return;
    }
    throw err;
  }
  const suffix = dryRun ? ' (server dry run)' : '';
  for (const r of result.results ?? []) ctx.out(`${objectRef(r.kind, r.name)} ${r.action}${suffix}`);
}
