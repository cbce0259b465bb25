// tidepool get TYPE[,TYPE...] [NAME...] | TYPE/NAME... [-o wide|yaml|json|name] [-l SELECTOR] [-w]
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KindInfo } from '../../specs/index.js';
import type { ApiObject } from '../client.js';
import { runClient, type Ctx } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { columnWidths, renderRow } from '../format.js';
import { parseTargets, refName, type Target } from '../kinds.js';
import {
  parseOutput,
  renderLines,
  sortObjects,
  tableOf,
  tableRow,
  toJson,
  toYaml,
  type OutputFormat,
} from '../printers.js';

interface GetFlags {
  output?: string;
  selector?: string;
  watch?: boolean;
  watchOnly?: boolean;
}

export function registerGet(program: Command): void {
  program
    .command('get')
    .summary('list objects as tables, or one object in full')
    .description(
      'Shows objects of one or more types: workspaces (ws), ports (pt), events (ev), syncs, or all ' +
        '(workspaces and ports). Names narrow it to those objects; TYPE/NAME also works.\n\n' +
        'Examples:\n  tidepool get workspaces\n  tidepool get ws alice -o yaml\n  tidepool get all -l team=web\n  tidepool get ports -w',
    )
    .argument('[TYPE_AND_NAMES...]', 'TYPE[,TYPE...] [NAME...] or TYPE/NAME...')
    .option('-o, --output <format>', 'wide, yaml, json or name')
    .option('-l, --selector <selector>', 'label selector, e.g. team=web,tier in (a,b)')
    .option('-w, --watch', 'after listing, print the changes as they happen')
    .option('--watch-only', 'print only the changes, not the current objects')
    .action(async (args: string[], flags: GetFlags, cmd: Command) => {
      await runClient(cmd, (ctx) => get(ctx, args, flags));
    });
}

async function get(ctx: Ctx, args: string[], flags: GetFlags): Promise<void> {
  const output = parseOutput(flags.output);
  const targets = parseTargets(args, { allowAll: true, verb: 'get' });
  const watch = flags.watch || flags.watchOnly;
  if (flags.selector && targets.some((t) => t.names.length)) {
    throw new CliError('a name cannot be given together with a label selector (-l)');
  }
  if (watch) {
    if (targets.length !== 1) throw new CliError('you may only watch one resource type at a time');
    return watchObjects(ctx, targets[0]!, output, flags);
  }

  const found: { info: KindInfo; items: ApiObject[]; list?: unknown }[] = [];
  for (const t of targets) {
    if (t.names.length) {
      const items: ApiObject[] = [];
      for (const name of t.names) {
        try {
          items.push(await ctx.client.get(t.info, name));
        } catch (err) {
          if (err instanceof ServerError && err.code === 404) ctx.report(err);
          else throw err;
        }
      }
      found.push({ info: t.info, items });
    } else {
      const list = await ctx.client.list(t.info, { ...(flags.selector ? { labelSelector: flags.selector } : {}) });
      found.push({ info: t.info, items: sortObjects(t.info, list.items), list });
    }
  }
  const all = found.flatMap((f) => f.items);

  if (output === 'json' || output === 'yaml') {
    let doc: unknown;
    const single = targets.length === 1 && targets[0]!.names.length === 1;
    if (single && all.length === 1) doc = all[0];
    else if (single)
      return; // not found, already reported
    else if (found.length === 1 && found[0]!.list) doc = { ...(found[0]!.list as object), items: found[0]!.items };
    else doc = { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: all };
    ctx.out(output === 'json' ? toJson(doc) : toYaml(doc));
    return;
  }
  if (output === 'name') {
    for (const f of found) for (const o of f.items) ctx.out(refName(f.info, o.metadata.name));
    return;
  }
  if (all.length === 0) {
    if (ctx.exitCode === 0) ctx.io.err('No resources found.');
    return;
  }
  const withKind = targets.length > 1;
  const blocks: string[] = [];
  const now = Date.now();
  for (const f of found) {
    if (!f.items.length) continue;
    const t = tableOf(f.info, f.items, { wide: output === 'wide', withKind, now });
    blocks.push(renderLines(t.header, t.rows, t.widths).join('\n'));
  }
  ctx.out(blocks.join('\n\n'));
}

/**
 * Lists (unless --watch-only), then prints each change as it comes, until interrupted. A
 * stream that ends is resumed from the last resourceVersion seen; a 410 Gone lists again.
 */
async function watchObjects(ctx: Ctx, t: Target, output: OutputFormat, flags: GetFlags): Promise<void> {
  const wide = output === 'wide';
  const names = new Set(t.names);
  const selector = flags.selector ? { labelSelector: flags.selector } : {};
  let widths: number[] | undefined;
  let headerPrinted = false;
  const { header, cols } = tableOf(t.info, [], { wide });

  const print = (items: ApiObject[]) => {
    if (!items.length) return;
    if (output === 'json') {
      for (const o of items) ctx.out(toJson(o));
      return;
    }
    if (output === 'yaml') {
      for (const o of items) ctx.out(`---\n${toYaml(o)}`);
      return;
    }
    if (output === 'name') {
      for (const o of items) ctx.out(refName(t.info, o.metadata.name));
      return;
    }
    const now = Date.now();
    const rows = items.map((o) => tableRow(t.info, o, cols, now, false));
    // Columns only ever widen, so later rows stay aligned with the header.
    widths = columnWidths([header, ...rows], widths);
    if (!headerPrinted) {
      ctx.out(renderRow(header, widths));
      headerPrinted = true;
    }
    for (const r of rows) ctx.out(renderRow(r, widths));
  };

  let listFirst = !flags.watchOnly;
  for (;;) {
    const list = await ctx.client.list(t.info, selector);
    if (listFirst) {
      const items = sortObjects(
        t.info,
        list.items.filter((o) => !names.size || names.has(o.metadata.name)),
      );
      if (!items.length && output !== 'json' && output !== 'yaml' && output !== 'name' && !headerPrinted) {
        ctx.io.err('No resources found.');
      }
      print(items);
    }
    let rv = list.metadata.resourceVersion;
    try {
      for (;;) {
        for await (const ev of ctx.client.watch(t.info, { resourceVersion: rv, ...selector })) {
          rv = ev.object.metadata.resourceVersion ?? rv;
          if (names.size && !names.has(ev.object.metadata.name)) continue;
          print([ev.object]);
        }
        // The server ended the stream (a restart, a timeout): resume, without spinning.
        await sleep(500);
      }
    } catch (err) {
      if (!(err instanceof ServerError && err.code === 410)) throw err;
      listFirst = true; // too old: list again, then watch from there
    }
  }
}
