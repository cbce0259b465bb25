// Field ownership, the idea of Kubernetes server-side apply kept simple. Every writer is a
// manager (a sync folder `sync:NAME`, `tidepool apply`, start/stop, the UI, the API); the
// object records which fields each one last set in `metadata.managedFields`. An apply owns the
// fields its manifest sets: applying again sets them, drops the ones its manifest no longer
// sets (unless another manager owns them), and leaves every other field as it is. So a sync's
// drift repair puts back only what its files say, and a `tidepool stop` of a workspace whose
// file does not set spec.running stays stopped.
//
// Field paths: `spec.resources.cpu` for spec leaves (a list is one leaf), and
// `metadata.labels[KEY]` / `metadata.annotations[KEY]` for map keys (keys may hold dots).
import { isDeepStrictEqual } from 'node:util';
import type { ManagedFieldsEntry } from '../specs/index.js';
import type { Resource } from './types.js';

/** The manager of `tidepool start` / `stop` and of the UI's Start and Stop buttons. */
export const POWER_MANAGER = 'tidepool-power';
/** A request that names no manager. */
export const DEFAULT_MANAGER = 'tidepool-api';
export const syncManager = (sync: string) => `sync:${sync}`;
export const syncOfManager = (manager: string) => (manager.startsWith('sync:') ? manager.slice(5) : undefined);

/** Annotations under this prefix are the server's (applyset, sync name, sync file): never owned. */
const SERVER_PREFIX = 'tidepool/';

type Obj = Record<string, unknown>;
const isMap = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The field paths an object (a manifest, a patch, a body) sets. */
export function fieldPaths(
  o: { spec?: unknown; metadata?: { labels?: unknown; annotations?: unknown } } | null | undefined,
): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (isMap(v) && Object.keys(v).length) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    else if (!isMap(v)) out.push(path);
  };
  if (isMap(o?.spec)) for (const [k, v] of Object.entries(o.spec)) walk(v, `spec.${k}`);
  for (const field of ['labels', 'annotations'] as const) {
    const m = o?.metadata?.[field];
    if (isMap(m)) for (const k of Object.keys(m)) if (!k.startsWith(SERVER_PREFIX)) out.push(`metadata.${field}[${k}]`);
  }
  return [...new Set(out)].sort();
}

function read(o: Obj, path: string): { found: boolean; value?: unknown } {
  const m = /^metadata\.(labels|annotations)\[(.*)\]$/.exec(path);
  if (m) {
    const map = (o.metadata as Obj | undefined)?.[m[1]!] as Obj | undefined;
    return map && m[2]! in map ? { found: true, value: map[m[2]!] } : { found: false };
  }
  let cur: unknown = o;
  for (const k of path.split('.')) {
    if (!isMap(cur) || !(k in cur)) return { found: false };
    cur = cur[k];
  }
  return { found: true, value: cur };
}

function write(o: Obj, path: string, value: unknown): void {
  const m = /^metadata\.(labels|annotations)\[(.*)\]$/.exec(path);
  if (m) {
    const meta = (o.metadata ??= {}) as Obj;
    ((meta[m[1]!] ??= {}) as Obj)[m[2]!] = structuredClone(value);
    return;
  }
  const keys = path.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) cur = (isMap(cur[k]) ? cur[k] : (cur[k] = {})) as Obj;
  cur[keys.at(-1)!] = structuredClone(value);
}

function remove(o: Obj, path: string): void {
  const m = /^metadata\.(labels|annotations)\[(.*)\]$/.exec(path);
  if (m) {
    const map = (o.metadata as Obj | undefined)?.[m[1]!] as Obj | undefined;
    if (map) delete map[m[2]!];
    return;
  }
  const keys = path.split('.');
  let cur: unknown = o;
  for (const k of keys.slice(0, -1)) {
    if (!isMap(cur)) return;
    cur = cur[k];
  }
  if (isMap(cur)) delete cur[keys.at(-1)!];
}

/** `entries` with `fields` taken away from every manager but `keep`, and entries left empty dropped. */
function without(
  entries: ManagedFieldsEntry[],
  fields: Set<string>,
  keep?: { manager: string; operation: string },
): ManagedFieldsEntry[] {
  return entries
    .map((e) =>
      keep && e.manager === keep.manager && e.operation === keep.operation
        ? e
        : { ...e, fields: e.fields.filter((f) => !fields.has(f)) },
    )
    .filter((e) => e.fields.length > 0);
}

/**
 * What an apply by `manager` makes of the stored object `cur`: its desired spec, labels and
 * annotations (before defaults are filled) and the new managedFields. `manifest` is the
 * document as written (without defaults), `desired` the same document validated.
 */
export function applyOwned(
  cur: Resource,
  manifest: Obj,
  desired: Resource,
  manager: string,
  time: string,
): { object: Resource; managedFields: ManagedFieldsEntry[] } {
  const sets = fieldPaths(manifest as Parameters<typeof fieldPaths>[0]);
  const entries = cur.metadata.managedFields ?? [];
  const mine = entries.find((e) => e.manager === manager && e.operation === 'Apply');
  const ownedByOthers = new Set(entries.filter((e) => e !== mine).flatMap((e) => e.fields));
  const next = structuredClone({
    spec: cur.spec ?? {},
    metadata: { labels: cur.metadata.labels ?? {}, annotations: cur.metadata.annotations ?? {} },
  }) as Obj;
  for (const f of mine?.fields ?? []) if (!sets.includes(f) && !ownedByOthers.has(f)) remove(next, f);
  for (const f of sets) {
    const v = read(desired, f);
    if (v.found) write(next, f, v.value);
  }
  const others = without(
    entries.filter((e) => e !== mine),
    new Set(sets),
  );
  // The same fields as last time keep their time: re-applying an unchanged manifest (a sync's
  // drift repair, every interval) must write nothing.
  const same = mine && isDeepStrictEqual(mine.fields, sets);
  const entry = { manager, operation: 'Apply' as const, time: same ? mine.time : time, fields: sets };
  const managedFields = sets.length
    ? same
      ? entries.map((e) => (e === mine ? entry : e))
      : [...others, entry]
    : others;
  const meta = next.metadata as { labels: Record<string, string>; annotations: Record<string, string> };
  const object: Resource = {
    ...desired,
    spec: next.spec as Resource['spec'],
    metadata: { ...desired.metadata, labels: meta.labels, annotations: meta.annotations },
  };
  return { object, managedFields };
}

/** The fields an object created by `manager` (not through apply) sets, as its first entry. */
export function createdBy(o: Resource, manager: string, time: string): ManagedFieldsEntry[] {
  const fields = fieldPaths(o);
  return fields.length ? [{ manager, operation: 'Update', time, fields }] : [];
}

/** managedFields after `manager` changed `before` into `after` with an update or a patch. */
export function updatedBy(before: Resource, after: Resource, manager: string, time: string): ManagedFieldsEntry[] {
  const changed = new Set(
    [...new Set([...fieldPaths(before), ...fieldPaths(after)])].filter((f) => {
      const a = read(before, f);
      const b = read(after, f);
      return a.found !== b.found || !isDeepStrictEqual(a.value, b.value);
    }),
  );
  const entries = before.metadata.managedFields ?? [];
  if (!changed.size) return entries;
  const rest = without(entries, changed, { manager, operation: 'Update' });
  const mine = rest.find((e) => e.manager === manager && e.operation === 'Update');
  const present = [...changed].filter((f) => read(after, f).found);
  const fields = [...new Set([...(mine?.fields ?? []), ...present])].filter((f) => read(after, f).found).sort();
  const others = rest.filter((e) => e !== mine);
  return fields.length ? [...others, { manager, operation: 'Update', time, fields }] : others;
}

/** The Apply managers (syncs included) that own `field` of `o`. */
export function appliersOf(o: Resource, field: string): string[] {
  return (o.metadata.managedFields ?? [])
    .filter((e) => e.operation === 'Apply' && e.fields.includes(field))
    .map((e) => e.manager);
}
