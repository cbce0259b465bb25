// tidepool diff -f FILE|DIR [-R] [--prune --applyset NAME]: a unified diff of what the server
// holds against what apply would make of it. Exit 0: no changes; 1: changes; 2: error.
import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { validateManifest } from '../../specs/index.js';
import type { ApiObject } from '../client.js';
import { runClient, type Ctx } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { kindInfo } from '../kinds.js';
import { identity } from '../manifests.js';
import { objectRef, toYaml } from '../printers.js';
import { fileFlags, loadBundle, type ApplyFlags } from './apply.js';

/** Annotations under this prefix belong to the server; apply keeps those it does not set. */
const SERVER_ANNOTATION_PREFIX = 'tidepool/';

export const DIFF_ERROR_EXIT = 2;

export function registerDiff(program: Command): void {
  fileFlags(
    program
      .command('diff')
      .summary('show what apply would change')
      .description(
        'Compares the objects on the server with what "tidepool apply" of the same manifests would ' +
          'make of them (spec, labels and annotations), as a unified diff. New objects show as all ' +
          'added; with --prune, objects that would be pruned show as all removed.\n\n' +
          'Exit status: 0 no changes, 1 changes, 2 (or more) an error.',
      ),
    'compare',
  )
    .option('--prune', 'also show the objects an apply with --prune would delete')
    .option('--applyset <name>', 'the applyset of --prune')
    .action(async (flags: ApplyFlags, cmd: Command) => {
      await runClient(cmd, (ctx) => diff(ctx, flags), { errorExitCode: DIFF_ERROR_EXIT });
    });
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** The part of an object that apply writes: spec, labels and annotations. */
export function normalize(o: {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: any;
  spec?: unknown;
}): Record<string, unknown> {
  const md = o.metadata ?? {};
  const labels = md.labels && Object.keys(md.labels).length ? md.labels : undefined;
  const annotations = md.annotations && Object.keys(md.annotations).length ? md.annotations : undefined;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: sortKeys({ name: md.name, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }),
    ...(o.spec !== undefined ? { spec: sortKeys(o.spec) } : {}),
  };
}

/** What apply would store for `manifest` (already defaulted) given the live object. */
export function merged(manifest: Record<string, any>, live: ApiObject | undefined): Record<string, unknown> {
  const annotations: Record<string, string> = { ...(manifest.metadata?.annotations ?? {}) };
  for (const [k, v] of Object.entries(live?.metadata.annotations ?? {})) {
    if (k.startsWith(SERVER_ANNOTATION_PREFIX) && !(k in annotations)) annotations[k] = v;
  }
  return normalize({ ...manifest, metadata: { ...manifest.metadata, annotations } });
}

export function unifiedDiff(ref: string, live: string, next: string): string {
  return createTwoFilesPatch(`live/${ref}`, `merged/${ref}`, live, next, undefined, undefined, { context: 3 })
    .replace(/^=+\n/m, '')
    .replace(/^Index: .*\n/m, '');
}

async function diff(ctx: Ctx, flags: ApplyFlags): Promise<void> {
  if (flags.prune && !flags.applyset) throw new CliError('--prune requires --applyset NAME');
  const b = await loadBundle(flags, 'diff');
  if (!b.docs.length) throw new CliError('no objects passed to diff');
  // The server checks everything first (and tells what prune would delete); errors point at files.
  let dry;
  try {
    dry = await ctx.client.apply(b.body, {
      dryRun: true,
      ...(flags.prune ? { prune: true, applyset: flags.applyset! } : {}),
    });
  } catch (err) {
    if (err instanceof ServerError) {
      ctx.report(err, { bundle: b });
      ctx.exitCode = DIFF_ERROR_EXIT;
      return;
    }
    throw err;
  }

  const patches: string[] = [];
  for (const d of b.docs) {
    const r = validateManifest(d.object);
    const { kind, name } = identity(d.object);
    const info = kind ? kindInfo(kind) : undefined;
    if (!r.object || !info || !name) throw new CliError(`${d.file}:${d.fileLine}: the manifest is not valid`);
    let live: ApiObject | undefined;
    try {
      live = await ctx.client.get(info, name);
    } catch (err) {
      if (!(err instanceof ServerError && err.code === 404)) throw err;
    }
    const before = live ? toYaml(normalize(live)) : '';
    const after = toYaml(merged(r.object, live));
    if (before !== after) patches.push(unifiedDiff(objectRef(kind, name), before, after));
  }
  for (const p of dry.results.filter((x) => x.action === 'pruned')) {
    const info = kindInfo(p.kind);
    if (!info) continue;
    try {
      const live = await ctx.client.get(info, p.name);
      patches.push(unifiedDiff(objectRef(p.kind, p.name), toYaml(normalize(live)), ''));
    } catch (err) {
      if (!(err instanceof ServerError && err.code === 404)) throw err;
    }
  }
  if (patches.length) {
    ctx.out(patches.join('').replace(/\n$/, ''));
    ctx.exitCode = 1;
  }
}
