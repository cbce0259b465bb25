// How objects are shown: kubectl-style tables per kind (with -o wide columns), and
// -o json | yaml | name.
import { stringify } from 'yaml';
import { namespaceOf, type KindInfo } from '../specs/index.js';
import type { ApiObject } from './client.js';
import { CliError } from './errors.js';
import { age, columnWidths, renderRow } from './format.js';
import { kindInfo } from './kinds.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

export function parseOutput(o: string | undefined): OutputFormat {
  if (o === undefined || o === '') return 'table';
  if (o === 'wide' || o === 'json' || o === 'yaml' || o === 'name') return o;
  throw new CliError(
    `unable to match a printer suitable for the output format "${o}", allowed formats are: json, name, wide, yaml`,
  );
}

export interface Column {
  header: string;
  /** Only with -o wide. */
  wide?: boolean;
  value(o: ApiObject, now: number): string;
}

const NONE = '<none>';
const str = (v: unknown): string => (v === undefined || v === null || v === '' ? NONE : String(v));

export function condition(
  o: ApiObject,
  type: string,
): { status: string; reason?: string; message?: string } | undefined {
  const conds = o.status?.conditions;
  return Array.isArray(conds) ? conds.find((c: { type?: string }) => c?.type === type) : undefined;
}

const ready = (o: ApiObject) => condition(o, 'Ready')?.status ?? 'Unknown';
const phase = (o: ApiObject) => o.status?.phase ?? (o.metadata.deletionTimestamp ? 'Deleting' : 'Pending');
const ageCol: Column = { header: 'AGE', value: (o, now) => age(o.metadata.creationTimestamp, now) };
const nameCol: Column = { header: 'NAME', value: (o) => o.metadata.name };

/** Object reference as kubectl prints it: `workspace/alice`. */
export function objectRef(kind: string | undefined, name: string | undefined): string {
  const info = kind ? kindInfo(kind) : undefined;
  return `${info?.singular ?? (kind ?? '').toLowerCase()}/${name ?? ''}`;
}

const COLUMNS: Record<string, Column[]> = {
  Workspace: [
    nameCol,
    { header: 'PHASE', value: phase },
    { header: 'READY', value: ready },
    { header: 'IP', value: (o) => str(o.status?.ip) },
    ageCol,
    { header: 'IMAGE', wide: true, value: (o) => str(o.spec?.image) },
    { header: 'CPU', wide: true, value: (o) => str(o.spec?.resources?.cpu) },
    { header: 'MEMORY', wide: true, value: (o) => str(o.spec?.resources?.memory) },
    { header: 'RUNNING', wide: true, value: (o) => str(o.spec?.running) },
    { header: 'URL', wide: true, value: (o) => str(o.status?.url) },
    // The runtime's own name, for `incus exec INSTANCE` and friends.
    { header: 'INSTANCE', wide: true, value: (o) => str(o.status?.instance) },
    // The Incus cluster member it runs on (none on one host).
    { header: 'NODE', wide: true, value: (o) => str(o.status?.node) },
    {
      header: 'ACCESSED',
      wide: true,
      value: (o, now) => (o.status?.lastAccessTime ? age(String(o.status.lastAccessTime), now) : '<none>'),
    },
    { header: 'IDLE-TIMEOUT', wide: true, value: (o) => str(o.spec?.idleTimeout ?? '<default>') },
    // How long it has slept (and why), or nothing when it is awake.
    {
      header: 'ASLEEP',
      wide: true,
      value: (o, now) =>
        o.status?.sleep?.since ? `${age(String(o.status.sleep.since), now)} (${str(o.status.sleep.reason)})` : '<none>',
    },
  ],
  Port: [
    nameCol,
    { header: 'WORKSPACE', value: (o) => str(o.spec?.workspace) },
    { header: 'PORT', value: (o) => str(o.spec?.port) },
    { header: 'READY', value: ready },
    { header: 'URL', value: (o) => str(o.status?.url) },
    { header: 'VISIBILITY', wide: true, value: (o) => str(o.spec?.visibility ?? 'private') },
    ageCol,
  ],
  Event: [
    { header: 'LAST SEEN', value: (o, now) => age(String(o.lastTimestamp ?? o.metadata.creationTimestamp ?? ''), now) },
    { header: 'TYPE', value: (o) => str(o.type) },
    { header: 'REASON', value: (o) => str(o.reason) },
    {
      header: 'OBJECT',
      value: (o) => {
        const r = o.regarding as { kind?: string; name?: string } | undefined;
        return objectRef(r?.kind, r?.name);
      },
    },
    { header: 'MESSAGE', value: (o) => str(o.note).replace(/\s*\n\s*/g, ' ') },
    { header: 'FIRST SEEN', wide: true, value: (o, now) => age(String(o.firstTimestamp ?? ''), now) },
    { header: 'COUNT', wide: true, value: (o) => str(o.count) },
    { header: 'NAME', wide: true, value: (o) => o.metadata.name },
  ],
  Sync: [
    nameCol,
    { header: 'PATH', value: (o) => str(o.spec?.path) },
    { header: 'READY', value: ready },
    { header: 'REVISION', value: (o) => str(o.status?.lastAppliedRevision).slice(0, 12) },
    {
      header: 'LAST APPLIED',
      value: (o, now) => (o.status?.lastAppliedTime ? age(o.status.lastAppliedTime, now) : NONE),
    },
    ageCol,
  ],
  ImageTemplate: [
    nameCol,
    { header: 'PHASE', value: phase },
    { header: 'READY', value: ready },
    { header: 'BASE', value: (o) => str(o.spec?.base) },
    { header: 'IMAGE', value: (o) => str(o.status?.image) },
    { header: 'PROGRESS', wide: true, value: (o) => str(o.status?.progress) },
    ageCol,
  ],
  Quota: [
    nameCol,
    { header: 'FOR', value: (o) => str(o.spec?.namespace ?? '(everyone)') },
    { header: 'WORKSPACES', value: (o) => str(o.spec?.workspaces) },
    { header: 'CPU', value: (o) => str(o.spec?.cpu) },
    { header: 'MEMORY', value: (o) => str(o.spec?.memory) },
    ageCol,
  ],
};

export function columnsFor(info: KindInfo, wide: boolean): Column[] {
  const cols = COLUMNS[info.kind] ?? [nameCol, ageCol];
  return cols.filter((c) => wide || !c.wide);
}

/** Events in the order they last happened; everything else by name. */
export function sortObjects(info: KindInfo, items: ApiObject[]): ApiObject[] {
  const out = [...items];
  if (info.kind === 'Event') {
    const t = (o: ApiObject) => Date.parse(String(o.lastTimestamp ?? o.metadata.creationTimestamp ?? '')) || 0;
    out.sort((a, b) => t(a) - t(b) || a.metadata.name.localeCompare(b.metadata.name));
  } else {
    // By namespace, then name (kubectl's order with -A; one namespace: by name).
    const at = (o: ApiObject) => `${namespaceOf(o)}/${o.metadata.name}`;
    out.sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0));
  }
  return out;
}

/**
 * A table of one kind. `withKind` prefixes names with the kind (`workspace/alice`), as
 * `kubectl get all` does. Returns the header, the rows and the widths (watch mode keeps them).
 */
export function tableOf(info: KindInfo, items: ApiObject[], opts: { wide: boolean; withKind?: boolean; now?: number }) {
  const now = opts.now ?? Date.now();
  const cols = columnsFor(info, opts.wide);
  const header = cols.map((c) => c.header);
  const rows = items.map((o) => tableRow(info, o, cols, now, opts.withKind ?? false));
  return { header, rows, widths: columnWidths([header, ...rows]), cols };
}

export function tableRow(info: KindInfo, o: ApiObject, cols: Column[], now: number, withKind: boolean): string[] {
  return cols.map((c) => (c === nameCol && withKind ? `${info.singular}/${o.metadata.name}` : c.value(o, now)));
}

export function renderLines(header: string[], rows: string[][], widths: number[]): string[] {
  return [header, ...rows].map((r) => renderRow(r, widths));
}

export function toJson(v: unknown): string {
  return JSON.stringify(v, null, 4);
}

export function toYaml(v: unknown): string {
  return stringify(v, { lineWidth: 0, aliasDuplicateObjects: false });
}
