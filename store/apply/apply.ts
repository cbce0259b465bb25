// Declarative apply: make the store hold what the documents say. Shared by POST /api/v1/apply
// and the GitOps sync. Every document is validated before anything is written, and all
// writes happen in one store transaction, so a violation anywhere writes nothing.
import {
  DEFAULT_NAMESPACE,
  KINDS,
  kindByName,
  keyOf,
  namespaceOf,
  validateManifest,
  type KindInfo,
  type StatusCause,
} from '../../specs/index.js';
import type { ApplyAction, ApplyResult as ApplyResultDocument, ApplyResultItem } from '../../specs/apply.js';
import { StoreError, badRequest, invalid, timestamp, type Resource, type StoreClient, type Tx } from '../index.js';
import { DEFAULT_MANAGER, applyOwned, fieldPaths } from '../ownership.js';
import {
  describeWhere,
  objectDocuments,
  parseDocuments,
  type ApplySource,
  type ParsedDocument,
  type ParsedDocuments,
} from './parse.js';

export const APPLYSET_ANNOTATION = 'tidepool/applyset';
/** `tidepool/prune: disabled` keeps an object out of every prune. */
export const PRUNE_ANNOTATION = 'tidepool/prune';
/** Annotations under this prefix belong to the server: an apply that does not set one keeps it. */
export const SERVER_ANNOTATION_PREFIX = 'tidepool/';

export type { ApplyAction, ApplyResultItem } from '../../specs/apply.js';

export interface ApplyOptions {
  /** Report what would happen, write nothing. */
  dryRun?: boolean;
  /** Delete objects of `applyset` that these documents no longer contain. Requires `applyset`. */
  prune?: boolean;
  /** Stamped as the `tidepool/applyset` annotation on every applied object. */
  applyset?: string;
  /** Let a prune with zero documents delete objects (refused otherwise: an empty folder is more often a mistake). */
  allowEmptyPrune?: boolean;
  /** Who applies (a sync `sync:NAME`, `tidepool-apply`): it owns the fields its manifests set (store/ownership.ts). Defaults to tidepool-api. */
  fieldManager?: string;
  /** Stamped on every applied object (e.g. the sync that owns it). */
  annotations?: Record<string, string>;
  /**
   * Told what a prune would delete (`Kind/name`), returns those to keep this time: a sync keeps
   * an object whose file has not been gone long enough (an editor's save). Defaults to none.
   */
  holdPrune?: (victims: string[]) => ReadonlySet<string>;
  /** The namespace objects without metadata.namespace go into. Defaults to `default`. */
  namespace?: string;
  /**
   * `namespace` is the only one this apply touches: an object naming another is refused
   * (kubectl's rule for `apply -n`, and a sync's), and a prune deletes only in it.
   */
  onlyNamespace?: boolean;
  /**
   * Called with the namespace of each object before anything is written: throws (403) when
   * the applier may not write there; a prune leaves the objects of such namespaces alone.
   */
  checkNamespace?: (namespace: string) => void;
  /** Called with each server-wide kind applied (an ImageTemplate): throws (403) when the applier may not write it. */
  checkClusterKind?: (info: KindInfo) => void;
}

/** What applyDocuments returns: the results of the API's ApplyResult (specs/apply.ts). */
export type ApplyResult = Pick<ApplyResultDocument, 'results'>;

const APPLYSET_NAME = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/;

/** Every kind users may apply, in the order they are applied: Quotas before the Workspaces they bound,
 * ImageTemplates before the Workspaces that name them in spec.image, Workspaces before Ports (Ports name them). */
const APPLY_ORDER = [
  'Quota',
  'ImageTemplate',
  ...KINDS.filter((k) => k.userWritable && k.kind !== 'ImageTemplate' && k.kind !== 'Quota').map((k) => k.kind),
];

class DryRun {
  constructor(readonly results: ApplyResultItem[]) {}
}

function isSources(input: readonly unknown[]): input is readonly ApplySource[] {
  return input.every(
    (e) =>
      e !== null &&
      typeof e === 'object' &&
      !Array.isArray(e) &&
      typeof (e as ApplySource).text === 'string' &&
      Object.keys(e).every((k) => k === 'text' || k === 'name'),
  );
}

function toDocuments(input: readonly ApplySource[] | ParsedDocuments | readonly unknown[]): ParsedDocuments {
  if (!Array.isArray(input)) return input as ParsedDocuments;
  if (input.length && isSources(input)) return parseDocuments(input);
  return objectDocuments(input);
}

/** A cause of document `doc`, with where it is. */
function locatedCause(doc: ParsedDocument, c: StatusCause): StatusCause {
  const pos = doc.locate(c.field, { key: c.reason === 'FieldValueUnknown' });
  return {
    ...c,
    document: doc.index,
    ...(doc.file !== undefined ? { file: doc.file } : {}),
    ...(pos ? { line: pos.line, column: pos.column } : {}),
  };
}

function invalidApply(causes: StatusCause[]): StoreError {
  const lines = causes.map((c) => {
    const pos = c.line !== undefined ? { line: c.line, column: c.column ?? 1 } : undefined;
    return `document ${c.document}${describeWhere(c.file, pos)}: ${c.field ? `${c.field}: ` : ''}${c.message}`;
  });
  const n = causes.length;
  return new StoreError(
    'Invalid',
    `apply is invalid (${n} violation${n === 1 ? '' : 's'}, nothing was written): ${lines.join('; ')}`,
    {
      kind: 'apply',
      causes,
    },
  );
}

function checkOptions(opts: ApplyOptions) {
  if (opts.applyset !== undefined && (!APPLYSET_NAME.test(opts.applyset) || opts.applyset.length > 253)) {
    throw badRequest(
      `invalid applyset name "${opts.applyset}": lowercase letters, digits, '-', '.' and '_', starting and ending alphanumeric, at most 253`,
      [{ field: 'applyset', reason: 'FieldValueInvalid', message: 'invalid applyset name' }],
    );
  }
  if (opts.prune && !opts.applyset) {
    throw badRequest('prune requires an applyset: only objects stamped with the same applyset are ever pruned', [
      { field: 'applyset', reason: 'FieldValueRequired', message: 'Required value: prune needs an applyset' },
    ]);
  }
}

interface Planned {
  doc: ParsedDocument;
  object: Resource;
}

function applyOne(tx: Tx, p: Planned, opts: ApplyOptions, time: string): ApplyAction {
  const obj = p.object;
  const manager = opts.fieldManager ?? DEFAULT_MANAGER;
  const annotations: Record<string, string> = {
    ...obj.metadata.annotations,
    ...opts.annotations,
    ...(opts.applyset ? { [APPLYSET_ANNOTATION]: opts.applyset } : {}),
  };
  const cur = tx.get(obj.kind, keyOf(obj));
  const manifest = p.doc.object as Record<string, unknown>;
  if (!cur) {
    const sets = fieldPaths(manifest);
    const managedFields = sets.length ? [{ manager, operation: 'Apply' as const, time, fields: sets }] : [];
    tx.create({ ...obj, metadata: { ...obj.metadata, annotations, managedFields } });
    return 'created';
  }
  // The manifest's fields replace what this manager set before; fields other managers set stay.
  const owned = applyOwned(cur, manifest, obj, manager, time);
  const merged = validateManifest(owned.object);
  if (!merged.object) throw invalid(obj.kind, obj.metadata.name, merged.causes);
  const next = merged.object as Resource;
  // Server annotations (tidepool/*) are nobody's fields: the manifest's (a sync stamps the file) and the options' win.
  const serverSet = Object.fromEntries(
    Object.entries(obj.metadata.annotations ?? {}).filter(([k]) => k.startsWith(SERVER_ANNOTATION_PREFIX)),
  );
  const ownedAnnotations: Record<string, string> = {
    ...next.metadata.annotations,
    ...serverSet,
    ...opts.annotations,
    ...(opts.applyset ? { [APPLYSET_ANNOTATION]: opts.applyset } : {}),
  };
  for (const [k, v] of Object.entries(cur.metadata.annotations ?? {})) {
    if (k.startsWith(SERVER_ANNOTATION_PREFIX) && !(k in ownedAnnotations)) ownedAnnotations[k] = v;
  }
  const updated: Resource = {
    ...next,
    metadata: {
      name: obj.metadata.name,
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
      ...(next.metadata.labels && Object.keys(next.metadata.labels).length ? { labels: next.metadata.labels } : {}),
      annotations: ownedAnnotations,
      ...(cur.metadata.finalizers ? { finalizers: [...cur.metadata.finalizers] } : {}),
      managedFields: owned.managedFields,
      // A resourceVersion written in the manifest is a precondition, as with kubectl.
      ...(obj.metadata.resourceVersion !== undefined ? { resourceVersion: obj.metadata.resourceVersion } : {}),
    },
  };
  return tx.update(updated) === cur ? 'unchanged' : 'configured';
}

function pruneVictims(tx: Tx, applyset: string, keep: Set<string>): Resource[] {
  const victims: Resource[] = [];
  // Dependents first: a Workspace's deletion removes its Ports.
  for (const kind of [...APPLY_ORDER].reverse()) {
    const objs = tx.list(kind).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    for (const o of objs) {
      const ann = o.metadata.annotations ?? {};
      if (ann[APPLYSET_ANNOTATION] !== applyset) continue;
      if (ann[PRUNE_ANNOTATION] === 'disabled') continue;
      if (o.metadata.deletionTimestamp) continue;
      if (keep.has(`${o.kind}/${keyOf(o)}`)) continue;
      victims.push(o);
    }
  }
  return victims;
}

/** Gives the event loop a turn every 20 ms of work: thousands of objects are handled in slices,
 * so the server keeps answering meanwhile. */
class Slicer {
  #since = performance.now();
  async pause(): Promise<void> {
    if (performance.now() - this.#since <= 20) return;
    await new Promise<void>((r) => setImmediate(r));
    this.#since = performance.now();
  }
}

const whereOf = (doc: ParsedDocument): string =>
  `document ${doc.index}${describeWhere(doc.file, doc.line ? { line: doc.line, column: doc.column ?? 1 } : undefined)}`;

/**
 * Applies documents: creates what is missing, replaces spec, labels and annotations of
 * what differs (keeping finalizers, status and `tidepool/*` annotations it does not set),
 * leaves equal objects unwritten, and with `prune` deletes objects of the applyset that
 * the documents no longer contain. Throws a StoreError: BadRequest for syntax errors, Invalid listing
 * every violation (document index, field, file, line, column), Conflict for a stale
 * resourceVersion in a manifest. On any throw nothing has been written.
 */
export async function applyDocuments(
  store: StoreClient,
  input: readonly ApplySource[] | ParsedDocuments | readonly unknown[],
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  checkOptions(opts);
  const { documents } = toDocuments(input);
  const { planned, keys } = await planDocuments(documents, opts);
  const applyTime = timestamp(store.now());
  const order = [...planned].sort((a, b) => APPLY_ORDER.indexOf(a.object.kind) - APPLY_ORDER.indexOf(b.object.kind));
  try {
    return await store.transactionAsync(async (tx) => {
      const actions = await writePlanned(tx, order, opts, applyTime);
      const results: ApplyResultItem[] = planned.map((p) => ({
        kind: p.object.kind,
        name: p.object.metadata.name,
        ...(p.object.metadata.namespace ? { namespace: p.object.metadata.namespace } : {}),
        action: actions.get(p)!,
      }));
      if (opts.prune && opts.applyset) results.push(...prune(tx, opts, keys, documents.length === 0));
      if (opts.dryRun) throw new DryRun(results);
      return { results };
    });
  } catch (err) {
    if (err instanceof DryRun) return { results: err.results };
    throw err;
  }
}

/** Validates every document and refuses two of one kind and name; every violation at once, located. */
async function planDocuments(
  documents: readonly ParsedDocument[],
  opts: ApplyOptions,
): Promise<{ planned: Planned[]; keys: Set<string> }> {
  const causes: StatusCause[] = [];
  const planned: Planned[] = [];
  const seen = new Map<string, ParsedDocument>();
  const slicer = new Slicer();
  for (const doc of documents) {
    await slicer.pause();
    const r = validateManifest(doc.object);
    if (!r.object) {
      for (const c of r.causes) causes.push(locatedCause(doc, c));
      continue;
    }
    const object = r.object as Resource;
    const wrongNamespace = intoNamespace(object, opts);
    if (wrongNamespace) {
      causes.push(locatedCause(doc, wrongNamespace));
      continue;
    }
    const key = `${object.kind}/${keyOf(object)}`;
    const first = seen.get(key);
    if (first) {
      causes.push(
        locatedCause(doc, {
          field: 'metadata.name',
          reason: 'FieldValueDuplicate',
          message: `Duplicate value: ${object.kind} "${keyOf(object)}" is already defined by ${whereOf(first)}`,
        }),
      );
      continue;
    }
    seen.set(key, doc);
    planned.push({ doc, object });
  }
  if (causes.length) throw invalidApply(causes);
  for (const p of planned) {
    const info = kindByName(p.object.kind)!;
    if (info.namespaced) opts.checkNamespace?.(namespaceOf(p.object));
    else opts.checkClusterKind?.(info);
  }
  return { planned, keys: new Set(seen.keys()) };
}

/**
 * Puts a namespaced object without metadata.namespace into `namespace` (left absent for the
 * default one, as an object written before namespaces has it); the cause when it names another.
 */
function intoNamespace(object: Resource, opts: ApplyOptions): StatusCause | undefined {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  if (!kindByName(object.kind)?.namespaced) return undefined;
  const own = object.metadata.namespace;
  if (own === undefined) {
    if (namespace !== DEFAULT_NAMESPACE) object.metadata.namespace = namespace;
    return undefined;
  }
  if (own === namespace || !opts.onlyNamespace) return undefined;
  return {
    field: 'metadata.namespace',
    reason: 'FieldValueInvalid',
    message: `Invalid value: "${own}": the namespace of the object does not match the namespace "${namespace}" it is applied into (pass --namespace=${own}, or remove metadata.namespace)`,
  };
}

/** Writes each planned object in order; the store's refusals are gathered (located) and thrown together. */
async function writePlanned(
  tx: Tx,
  order: readonly Planned[],
  opts: ApplyOptions,
  applyTime: string,
): Promise<Map<Planned, ApplyAction>> {
  const actions = new Map<Planned, ApplyAction>();
  const storeCauses: StatusCause[] = [];
  const slicer = new Slicer();
  for (const p of order) {
    await slicer.pause();
    try {
      actions.set(p, applyOne(tx, p, opts, applyTime));
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      if (err.reason === 'Invalid') {
        const cs = err.details?.causes?.length ? err.details.causes : [{ reason: err.reason, message: err.message }];
        for (const c of cs) storeCauses.push(locatedCause(p.doc, c));
        continue;
      }
      throw new StoreError(err.reason, `${whereOf(p.doc)}: ${err.message}`, err.details);
    }
  }
  if (storeCauses.length) throw invalidApply(storeCauses.sort((a, b) => a.document! - b.document!));
  return actions;
}

/** Whether a prune of this apply may delete `v`: in its namespace when it has only one, and where its applier may write. */
function mayPrune(v: Resource, opts: ApplyOptions): boolean {
  if (!kindByName(v.kind)?.namespaced) return true;
  const ns = namespaceOf(v);
  if (opts.onlyNamespace && ns !== (opts.namespace ?? DEFAULT_NAMESPACE)) return false;
  try {
    opts.checkNamespace?.(ns);
    return true;
  } catch {
    return false;
  }
}

/** Deletes the applyset's objects the documents no longer hold; an empty apply may not prune everything unless allowed. */
function prune(tx: Tx, opts: ApplyOptions, keep: Set<string>, empty: boolean): ApplyResultItem[] {
  const applyset = opts.applyset!;
  const victims = pruneVictims(tx, applyset, keep).filter((v) => mayPrune(v, opts));
  if (empty && victims.length && !opts.allowEmptyPrune) {
    throw new StoreError(
      'Invalid',
      `refusing to prune every object of applyset "${applyset}" (${victims.length}: ${victims.map((v) => `${v.kind.toLowerCase()}/${v.metadata.name}`).join(', ')}) because the apply contains no objects; allow it explicitly (allowEmptyPrune) if that is what you want`,
      {
        kind: 'apply',
        causes: [
          {
            field: 'allowEmptyPrune',
            reason: 'FieldValueForbidden',
            message: 'an empty apply would prune every object of the applyset',
          },
        ],
      },
    );
  }
  const held = opts.holdPrune?.(victims.map((v) => `${v.kind}/${keyOf(v)}`));
  const pruned: ApplyResultItem[] = [];
  for (const v of victims) {
    if (held?.has(`${v.kind}/${keyOf(v)}`)) continue;
    if (!tx.get(v.kind, keyOf(v))) continue;
    tx.delete(v.kind, keyOf(v));
    pruned.push({
      kind: v.kind,
      name: v.metadata.name,
      ...(v.metadata.namespace ? { namespace: v.metadata.namespace } : {}),
      action: 'pruned',
    });
  }
  return pruned;
}
