// The list options of `get` that kubectl users reach for: --field-selector, --sort-by and
// --show-labels. Field selectors are evaluated by the CLI on the listed objects, over the
// fields kubectl supports for the same kinds (plus a few of Tidepool's own).
import type { ApiObject } from '../client.js';
import { CliError } from '../errors.js';
import { compilePath } from './jsonpath.js';

type Getter = (o: ApiObject) => string | undefined;

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
const regarding = (o: ApiObject) => (o.regarding ?? {}) as { kind?: string; name?: string };

/** Field labels by kind; `metadata.name` works for every kind, as in Kubernetes. */
const FIELDS: Record<string, Record<string, Getter>> = {
  Workspace: {
    'status.phase': (o) => str(o.status?.phase),
    'spec.image': (o) => str(o.spec?.image),
    'spec.running': (o) => str(o.spec?.running),
  },
  Port: {
    'spec.workspace': (o) => str(o.spec?.workspace),
    'spec.port': (o) => str(o.spec?.port),
  },
  Event: {
    'involvedObject.name': (o) => regarding(o).name,
    'involvedObject.kind': (o) => regarding(o).kind,
    'regarding.name': (o) => regarding(o).name,
    'regarding.kind': (o) => regarding(o).kind,
    type: (o) => str(o.type),
    reason: (o) => str(o.reason),
  },
  Sync: {},
};

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
  get: Getter;
}

/** `metadata.name=alice,status.phase!=Running` for one kind. */
export function parseFieldSelector(selector: string, kind: string): FieldRequirement[] {
  return selector
    .split(',')
    .filter((s) => s.trim())
    .map((term) => {
      const m = /^\s*([A-Za-z.]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(term);
      if (!m)
        throw new CliError(`invalid field selector "${term}": expected field=value, field==value or field!=value`);
      const [, field, op, value] = m as unknown as [string, string, string, string];
      const get = field === 'metadata.name' ? (o: ApiObject) => o.metadata.name : FIELDS[kind]?.[field];
      if (!get) {
        const known = ['metadata.name', ...Object.keys(FIELDS[kind] ?? {})].join(', ');
        throw new CliError(`field label not supported for ${kind}: "${field}" (supported: ${known})`);
      }
      return { field, operator: op === '!=' ? '!=' : '=', value, get };
    });
}

export function matchesFields(o: ApiObject, reqs: FieldRequirement[]): boolean {
  return reqs.every((r) => ((r.get(o) ?? '') === r.value) === (r.operator === '='));
}

/** --sort-by: a JSONPath (`.metadata.creationTimestamp`, `{.spec.resources.cpu}`). */
export function sortByPath(items: ApiObject[], path: string): ApiObject[] {
  const find = compilePath(path);
  const key = (o: ApiObject) => {
    const found = find(o);
    if (found.length > 1)
      throw new CliError(
        `--sort-by ${path}: the path finds ${found.length} values in ${o.metadata.name}; it must find one`,
      );
    return found[0];
  };
  const keyed = items.map((o) => ({ o, k: key(o) }));
  keyed.sort((a, b) => compareKeys(a.k, b.k) || a.o.metadata.name.localeCompare(b.o.metadata.name));
  return keyed.map((x) => x.o);
}

function compareKeys(a: unknown, b: unknown): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const as = typeof a === 'string' ? a : JSON.stringify(a);
  const bs = typeof b === 'string' ? b : JSON.stringify(b);
  return as < bs ? -1 : as > bs ? 1 : 0;
}

/** The LABELS column of --show-labels: `team=web,tier=db`, or `<none>`. */
export function labelsCell(o: ApiObject): string {
  const l = o.metadata.labels ?? {};
  const parts = Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`);
  return parts.length ? parts.join(',') : '<none>';
}
