// tidepool delete -f FILE|DIR [-R] | TYPE NAME... | TYPE/NAME... | TYPE --all | TYPE -l SELECTOR
//   [--wait] [--timeout=5m] [--ignore-not-found]
import type { Command } from 'commander';
import type { KindInfo } from '../../specs/index.js';
import { runClient, type Ctx } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { kindInfo, parseTargets } from '../kinds.js';
import { bundle, identity, readSources } from '../manifests.js';
import { WaitTimeout, gone, parseTimeout, waitFor } from '../waiter.js';

interface DeleteFlags {
  filename?: string[];
  recursive?: boolean;
  all?: boolean;
  selector?: string;
  wait?: boolean;
  timeout?: string;
  ignoreNotFound?: boolean;
  force?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .summary('delete objects by file, by name, or by label')
    .description(
      "Deletes objects. A workspace's disk is deleted with it: this cannot be undone. " +
        'Ports of a deleted workspace go with it. With --wait, returns once the objects are gone. ' +
        'What a sync folder manages is refused unless --force: the sync would create it again.\n\n' +
        'Examples:\n  tidepool delete -f examples/workspace.yaml\n  tidepool delete workspace alice --wait\n' +
        '  tidepool delete ports -l team=web',
    )
    .argument('[TYPE_AND_NAMES...]', 'TYPE NAME... or TYPE/NAME...')
    .option('-f, --filename <path>', 'a manifest file, a directory, or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'with -f DIR: also the files of its subdirectories')
    .option('--all', 'every object of the type')
    .option('-l, --selector <selector>', 'the objects matching this label selector')
    .option('--wait', 'wait until the objects are gone (finalizers done)')
    .option('--timeout <duration>', 'with --wait: give up after this long', '5m')
    .option('--ignore-not-found', 'an object that does not exist is not an error')
    .option(
      '--force',
      'also delete what a sync folder manages (the sync creates it again, with an empty home, unless its file goes)',
    )
    .action(async (args: string[], flags: DeleteFlags, cmd: Command) => {
      await runClient(cmd, (ctx) => del(ctx, args, flags));
    });
}

/** Dependents first: a Port before its Workspace (whose deletion would take the Port along), and
 * Workspaces before the ImageTemplates they name. */
const ORDER = ['Port', 'Workspace', 'ImageTemplate'];
const rank = (info: KindInfo) => (ORDER.includes(info.kind) ? ORDER.indexOf(info.kind) : -1);

async function del(ctx: Ctx, args: string[], flags: DeleteFlags): Promise<void> {
  const timeout = flags.wait ? parseTimeout(flags.timeout, '5m') : 0;
  const victims: { info: KindInfo; name: string }[] = [];

  if (flags.filename?.length) {
    if (args.length) throw new CliError('give either -f FILE or TYPE NAME, not both');
    const b = bundle(await readSources(flags.filename, flags.recursive ?? false));
    if (!b.docs.length) throw new CliError('no objects passed to delete');
    for (const d of b.docs) {
      const { kind, name } = identity(d.object);
      const info = kind ? kindInfo(kind) : undefined;
      if (!info || !name)
        throw new CliError(
          `${d.file}:${d.fileLine}: a manifest needs a known kind and metadata.name (got kind ${JSON.stringify(kind ?? null)})`,
        );
      victims.push({ info, name });
    }
  } else {
    const targets = parseTargets(args, { verb: 'delete' });
    for (const t of targets) {
      if (t.names.length) {
        if (flags.all || flags.selector) throw new CliError('names cannot be given together with --all or -l');
        for (const name of t.names) victims.push({ info: t.info, name });
      } else if (flags.all || flags.selector) {
        const list = await ctx.client.list(t.info, flags.selector ? { labelSelector: flags.selector } : {});
        for (const o of list.items) victims.push({ info: t.info, name: o.metadata.name });
      } else {
        throw new CliError(
          `resource(s) were provided, but no name was specified: use "tidepool delete ${t.info.plural} NAME", --all or -l SELECTOR`,
        );
      }
    }
    if (!victims.length) {
      ctx.io.err('No resources found.');
      return;
    }
  }

  const ordered = victims.map((v, i) => ({ ...v, i })).sort((a, b) => rank(a.info) - rank(b.info) || a.i - b.i);
  const deleted: typeof victims = [];
  for (const v of ordered) {
    try {
      await ctx.client.delete(v.info, v.name, { force: flags.force ?? false });
      ctx.out(`${v.info.singular} "${v.name}" deleted`);
      deleted.push(v);
    } catch (err) {
      if (!(err instanceof ServerError)) throw err;
      if (err.code === 404 && flags.ignoreNotFound) continue;
      ctx.report(err);
    }
  }
  if (!flags.wait || !deleted.length) return;
  const signal = AbortSignal.timeout(timeout);
  const results = await Promise.allSettled(deleted.map((v) => waitFor(ctx.client, v.info, v.name, gone, signal)));
  for (const r of results) {
    if (r.status === 'rejected') ctx.report(r.reason instanceof WaitTimeout ? new Error(r.reason.message) : r.reason);
  }
}
