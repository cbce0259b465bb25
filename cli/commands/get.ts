// tidepool get TYPE[,TYPE...] [NAME...] | TYPE/NAME... [-o FORMAT] [-l SELECTOR] [--field-selector F]
//   [--sort-by PATH] [--show-labels] [-w]
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { namespaceOf, type KindInfo } from '../../specs/index.js';
import type { ApiObject } from '../client.js';
import { runClient, type Ctx } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { columnWidths, renderRow } from '../format.js';
import { parseTargets, refName, type Target } from '../kinds.js';
import { withNamespaceColumn } from '../namespace.js';
import { cell, parseOutputSpec, type OutputSpec } from '../output/output-spec.js';
import { labelsCell, matchesFields, parseFieldSelector, sortByPath } from '../output/list-options.js';
import { renderLines, sortObjects, tableOf, tableRow, toJson, toYaml } from '../printers.js';

interface GetFlags {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  sortBy?: string;
  showLabels?: boolean;
  chunkSize?: string;
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
    .option(
      '-o, --output <format>',
      'wide, yaml, json, name, jsonpath=TEMPLATE, jsonpath-file=FILE, custom-columns=HEADER:PATH,... or custom-columns-file=FILE',
    )
    .option('-l, --selector <selector>', 'label selector, e.g. team=web,tier in (a,b)')
    .option(
      '--field-selector <selector>',
      'field selector, e.g. metadata.name=alice, status.phase!=Running, involvedObject.name=alice (events)',
    )
    .option('--sort-by <path>', 'sort by a JSONPath, e.g. .metadata.creationTimestamp')
    .option('--show-labels', 'add a LABELS column')
    .option('--chunk-size <n>', 'list in pages of this many objects (0: in one reply)', '500')
    .option('-w, --watch', 'after listing, print the changes as they happen')
    .option('--watch-only', 'print only the changes, not the current objects')
    .action(async (args: string[], flags: GetFlags, cmd: Command) => {
      await runClient(cmd, (ctx) => get(ctx, args, flags));
    });
}

async function get(ctx: Ctx, args: string[], flags: GetFlags): Promise<void> {
  const spec = parseOutputSpec(flags.output);
  const output = spec.format;
  const targets = parseTargets(args, { allowAll: true, verb: 'get' });
  const watch = flags.watch || flags.watchOnly;
  if (flags.selector && targets.some((t) => t.names.length)) {
    throw new CliError('a name cannot be given together with a label selector (-l)');
  }
  if (watch) {
    if (targets.length !== 1) throw new CliError('you may only watch one resource type at a time');
    return watchObjects(ctx, targets[0]!, spec, flags);
  }
  const fields =
    flags.fieldSelector !== undefined
      ? targets.map((t) => parseFieldSelector(flags.fieldSelector!, t.info.kind))
      : undefined;

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
      const list = await ctx.client.list(t.info, {
        ...(flags.selector ? { labelSelector: flags.selector } : {}),
        chunkSize: chunkSize(flags.chunkSize),
      });
      found.push({ info: t.info, items: sortObjects(t.info, list.items), list });
    }
  }
  found.forEach((f, i) => {
    if (fields) f.items = f.items.filter((o) => matchesFields(o, fields[i]!));
    if (flags.sortBy) f.items = sortByPath(f.items, flags.sortBy);
  });
  const all = found.flatMap((f) => f.items);

  if (output === 'json' || output === 'yaml' || spec.format === 'jsonpath') {
    let doc: unknown;
    const single = targets.length === 1 && targets[0]!.names.length === 1;
    if (single && all.length === 1) doc = all[0];
    else if (single)
      return; // not found, already reported
    else if (found.length === 1 && found[0]!.list) doc = { ...(found[0]!.list as object), items: found[0]!.items };
    else doc = { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: all };
    if (spec.format === 'jsonpath') ctx.io.out(spec.template.render(doc));
    else ctx.out(output === 'json' ? toJson(doc) : toYaml(doc));
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
  if (spec.format === 'custom-columns') {
    const header = spec.columns.map((c) => c.header);
    const rows = all.map((o) => spec.columns.map((c) => cell(c.values(o))));
    ctx.out(renderLines(header, rows, columnWidths([header, ...rows])).join('\n'));
    return;
  }
  const withKind = targets.length > 1;
  const blocks: string[] = [];
  const now = Date.now();
  for (const f of found) {
    if (!f.items.length) continue;
    const t = tableOf(f.info, f.items, { wide: output === 'wide', withKind, now });
    if (ctx.client.allNamespaces && f.info.namespaced) withNamespaceColumn(t.header, t.rows, f.items);
    if (flags.showLabels) {
      t.header.push('LABELS');
      for (const [i, o] of f.items.entries()) t.rows[i]!.push(labelsCell(o));
    }
    blocks.push(renderLines(t.header, t.rows, columnWidths([t.header, ...t.rows])).join('\n'));
  }
  ctx.out(blocks.join('\n\n'));
}

function chunkSize(v: string | undefined): number {
  if (v === undefined) return 500;
  if (!/^\d+$/.test(v)) throw new CliError(`--chunk-size must be a whole number (0 for no paging), got "${v}"`);
  return Number(v);
}

/**
 * Lists (unless --watch-only), then prints each change as it comes, until interrupted. A
 * stream that ends is resumed from the last resourceVersion seen; a 410 Gone lists again.
 */
async function watchObjects(ctx: Ctx, t: Target, spec: OutputSpec, flags: GetFlags): Promise<void> {
  const output = spec.format;
  const wide = output === 'wide';
  const fields = flags.fieldSelector !== undefined ? parseFieldSelector(flags.fieldSelector, t.info.kind) : undefined;
  const names = new Set(t.names);
  const selector = flags.selector ? { labelSelector: flags.selector } : {};
  let widths: number[] | undefined;
  let headerPrinted = false;
  const table = tableOf(t.info, [], { wide });
  const header = spec.format === 'custom-columns' ? spec.columns.map((c) => c.header) : [...table.header];
  if (flags.showLabels && spec.format !== 'custom-columns') header.push('LABELS');
  const byNamespace = ctx.client.allNamespaces && t.info.namespaced && spec.format !== 'custom-columns';
  if (byNamespace) header.unshift('NAMESPACE');
  const row = (o: ApiObject, now: number): string[] => {
    if (spec.format === 'custom-columns') return spec.columns.map((c) => cell(c.values(o)));
    const r = tableRow(t.info, o, table.cols, now, false);
    const cells = flags.showLabels ? [...r, labelsCell(o)] : r;
    return byNamespace ? [namespaceOf(o), ...cells] : cells;
  };

  const print = (all: ApiObject[]) => {
    const items = fields ? all.filter((o) => matchesFields(o, fields)) : all;
    if (!items.length) return;
    if (spec.format === 'jsonpath') {
      for (const o of items) ctx.io.out(spec.template.render(o));
      return;
    }
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
    const rows = items.map((o) => row(o, now));
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
      let items = sortObjects(
        t.info,
        list.items.filter((o) => !names.size || names.has(o.metadata.name)),
      );
      if (flags.sortBy) items = sortByPath(items, flags.sortBy);
      if (!items.length && (output === 'table' || output === 'wide' || output === 'custom-columns') && !headerPrinted) {
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
