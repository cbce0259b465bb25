// tidepool describe TYPE [NAME...] | TYPE/NAME...: metadata, spec, status, conditions, and
// the object's recent Events.
import type { Command } from 'commander';
import { lookupKind, namespaceOf, type KindInfo } from '../../specs/index.js';
import type { ApiObject } from '../client.js';
import { runClient, type Ctx } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { age, renderTable } from '../format.js';
import { parseTargets } from '../kinds.js';
import { objectRef } from '../printers.js';

export function registerDescribe(program: Command): void {
  program
    .command('describe')
    .summary('show an object in detail, with its conditions and recent events')
    .description(
      'Examples:\n  tidepool describe workspace alice\n  tidepool describe port/alice-3000\n  tidepool describe ws   (every workspace)',
    )
    .argument('<TYPE_AND_NAMES...>', 'TYPE [NAME...] or TYPE/NAME...')
    .option('-l, --selector <selector>', 'describe the objects matching this label selector')
    .action(async (args: string[], flags: { selector?: string }, cmd: Command) => {
      await runClient(cmd, (ctx) => describe(ctx, args, flags));
    });
}

const ACRONYMS: Record<string, string> = { ip: 'IP', url: 'URL', cpu: 'CPU', uid: 'UID', id: 'ID', api: 'API' };

/** `observedGeneration` → `Observed Generation`, `ip` → `IP`, as kubectl describe titles fields. */
export function titleCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .map((w) => ACRONYMS[w.toLowerCase()] ?? w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '<none>';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** A nested object as indented `Key:  value` lines; values of one level aligned. */
export function fields(obj: Record<string, unknown>, indent: number, skip: string[] = []): string[] {
  const entries = Object.entries(obj).filter(([k, v]) => !skip.includes(k) && v !== undefined);
  const width = Math.max(0, ...entries.filter(([, v]) => !isNested(v)).map(([k]) => titleCase(k).length + 1)) + 2;
  const pad = ' '.repeat(indent);
  const out: string[] = [];
  for (const [k, v] of entries) {
    const title = `${titleCase(k)}:`;
    if (isNested(v)) {
      out.push(`${pad}${title}`);
      if (Array.isArray(v)) {
        for (const item of v) {
          if (item && typeof item === 'object') {
            const lines = fields(item as Record<string, unknown>, indent + 4);
            if (lines[0]) lines[0] = `${pad}  - ${lines[0].trimStart()}`;
            out.push(...lines);
          } else out.push(`${pad}  - ${scalar(item)}`);
        }
      } else out.push(...fields(v as Record<string, unknown>, indent + 2));
    } else out.push(`${pad}${title.padEnd(width)}${scalar(v)}`);
  }
  return out;
}

const isNested = (v: unknown) =>
  v !== null &&
  typeof v === 'object' &&
  (Array.isArray(v) ? v.length > 0 && v.some((x) => x && typeof x === 'object') : Object.keys(v as object).length > 0);

const indentLines = (text: string, n: number) =>
  text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

function labelsLine(m: Record<string, string> | undefined, width: number): string[] {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  if (!entries.length) return ['<none>'];
  return entries.map(([k, v], i) => `${i === 0 ? '' : ' '.repeat(width)}${k}=${v}`);
}

export function describeObject(info: KindInfo, o: ApiObject, events: ApiObject[], now = Date.now()): string {
  const W = 14;
  const line = (k: string, v: string) => `${`${k}:`.padEnd(W)}${v}`;
  const md = o.metadata;
  const out: string[] = [];
  out.push(line('Name', md.name));
  // kubectl's line: which of two same-named objects (each person's `dev`) this is.
  if (info.namespaced) out.push(line('Namespace', namespaceOf(o)));
  out.push(line('Kind', o.kind));
  out.push(line('Labels', labelsLine(md.labels, W).join('\n')));
  out.push(line('Annotations', labelsLine(md.annotations, W).join('\n')));
  out.push(
    line(
      'Created',
      md.creationTimestamp ? `${md.creationTimestamp} (${age(md.creationTimestamp, now)} ago)` : '<unknown>',
    ),
  );
  if (md.deletionTimestamp)
    out.push(line('Deleting', `since ${md.deletionTimestamp} (${age(md.deletionTimestamp, now)} ago)`));
  if (md.finalizers?.length) out.push(line('Finalizers', md.finalizers.join(', ')));
  if (md.ownerReferences?.length)
    out.push(line('Owner', md.ownerReferences.map((r) => objectRef(r.kind, r.name)).join(', ')));
  out.push(line('Generation', String(md.generation ?? '<none>')));
  out.push(line('Version', String(md.resourceVersion ?? '<none>')));
  out.push(line('UID', md.uid ?? '<none>'));

  if (o.spec && typeof o.spec === 'object') {
    out.push('Spec:', ...fields(o.spec, 2));
  }
  // Kinds without spec/status (events) show their top-level fields.
  const { apiVersion: _a, kind: _k, metadata: _m, spec: _s, status, ...rest } = o;
  if (Object.keys(rest).length) out.push(...fields(rest, 0));

  const st = (status ?? {}) as Record<string, unknown>;
  const statusLines = fields(st, 2, ['conditions']);
  out.push(statusLines.length ? 'Status:' : 'Status:       <none>', ...statusLines);

  const conds = Array.isArray(st.conditions) ? (st.conditions as Record<string, unknown>[]) : [];
  if (conds.length) {
    const rows = conds.map((c) => [
      String(c.type ?? ''),
      String(c.status ?? ''),
      String(c.reason ?? ''),
      c.lastTransitionTime ? age(String(c.lastTransitionTime), now) : '<unknown>',
      String(c.message ?? '').replace(/\s*\n\s*/g, ' '),
    ]);
    out.push('Conditions:', indentLines(renderTable(['Type', 'Status', 'Reason', 'Age', 'Message'], rows), 2));
  } else if (info.statusSchema) {
    out.push('Conditions:   <none>');
  }

  if (info.kind !== 'Event') {
    if (events.length) {
      const rows = events.map((e) => [
        String(e.type ?? ''),
        String(e.reason ?? ''),
        age(String(e.lastTimestamp ?? e.metadata.creationTimestamp ?? ''), now) +
          (Number(e.count) > 1 ? ` (x${e.count} over ${age(String(e.firstTimestamp ?? ''), now)})` : ''),
        String(e.reportingController ?? ''),
        String(e.note ?? '').replace(/\s*\n\s*/g, ' '),
      ]);
      out.push('Events:', indentLines(renderTable(['Type', 'Reason', 'Age', 'From', 'Message'], rows), 2));
    } else {
      out.push('Events:       <none>');
    }
  }
  return out.join('\n');
}

/** The Events regarding an object, oldest first (the last 20). */
export function eventsFor(events: ApiObject[], o: ApiObject): ApiObject[] {
  return events
    .filter((e) => {
      const r = e.regarding as { kind?: string; name?: string; uid?: string } | undefined;
      if (!r || r.kind !== o.kind || r.name !== o.metadata.name) return false;
      return !r.uid || !o.metadata.uid || r.uid === o.metadata.uid;
    })
    .sort((a, b) => (Date.parse(String(a.lastTimestamp)) || 0) - (Date.parse(String(b.lastTimestamp)) || 0))
    .slice(-20);
}

async function describe(ctx: Ctx, args: string[], flags: { selector?: string }): Promise<void> {
  const targets = parseTargets(args, { verb: 'describe' });
  const objects: { info: KindInfo; o: ApiObject }[] = [];
  for (const t of targets) {
    if (t.names.length) {
      if (flags.selector) throw new CliError('a name cannot be given together with a label selector (-l)');
      for (const name of t.names) {
        try {
          objects.push({ info: t.info, o: await ctx.client.get(t.info, name) });
        } catch (err) {
          if (err instanceof ServerError && err.code === 404) ctx.report(err);
          else throw err;
        }
      }
    } else {
      const list = await ctx.client.list(t.info, flags.selector ? { labelSelector: flags.selector } : {});
      for (const o of list.items) objects.push({ info: t.info, o });
    }
  }
  if (!objects.length) {
    if (ctx.exitCode === 0) ctx.io.err('No resources found.');
    return;
  }
  let events: ApiObject[] = [];
  if (objects.some((x) => x.info.kind !== 'Event')) {
    try {
      events = (await ctx.client.list(lookupKind('events')!)).items;
    } catch (err) {
      // Describing works without events; a server without them is not an error here.
      if (!(err instanceof ServerError && (err.code === 404 || err.code === 405))) throw err;
    }
  }
  const now = Date.now();
  ctx.out(objects.map(({ info, o }) => describeObject(info, o, eventsFor(events, o), now)).join('\n\n\n'));
}
