// The store file is checked at start with the schemas the API checks input with: an object
// the API would refuse (null, `cpu: "lots"`, an unknown field), a counter lower than an
// object's resourceVersion (versions would repeat), a journal line out of order: the start
// is refused with the file, the object and the field, and nothing on disk is changed.
// So is a journal that is not whole: one without the snapshot it follows (starting from the
// journal alone would drop every object written before it), and one with lines missing at
// its start or in its middle (each line names the one before it: `prev`). A store missing
// objects is not harmless: the controller would see their workspaces' containers as orphans.
import { loadFile, type LoadedFile } from './journal.js';
import { keyOf } from '../specs/index.js';
import { storedObjectCauses } from './stored-object.js';
import type { Resource } from './types.js';

export class StoreOpenError extends Error {}

export interface LoadedState {
  rv: number;
  objects: Map<string, Map<string, Resource>>;
}

function objectProblem(kind: string, name: string, o: unknown): string | undefined {
  const causes = storedObjectCauses(kind, name, o);
  if (!causes.length) return undefined;
  return `${kind} "${name}": ${causes.map((c) => `${c.field ?? '(object)'}: ${c.message}`).join('; ')}`;
}

export interface BuildOptions {
  /**
   * A journal with records needs its snapshot (the main store file: its journal holds only the
   * changes since the snapshot). Events may go without: they are disposable. Defaults to true.
   */
  requireSnapshot?: boolean;
}

const openError = (where: string, why: string, fix = 'repair it or move it away, then start again') =>
  new StoreOpenError(`store file ${where} cannot be loaded: ${why}. It was left untouched; ${fix}.`);

type Objects = Map<string, Map<string, Resource>>;
type JournalEntry = LoadedFile['entries'][number];

/** Builds the state from snapshot + journal, or throws StoreOpenError naming the first problem. */
export function buildState(path: string, file: LoadedFile, opts: BuildOptions = {}): LoadedState {
  if (file.snapshot === undefined && file.entries.length > 0 && (opts.requireSnapshot ?? true)) {
    const journals = [...new Set(file.entries.map((e) => e.file))].join(' and ');
    throw openError(
      journals,
      `it holds ${file.entries.length} records but its snapshot ${path} is missing, and the journal holds only the changes since that snapshot: starting from it alone would lose every object written before`,
      `restore ${path} from a backup; or, to start with an empty store, move ${journals} away (the containers and homes of the workspaces lost are kept and listed by \`tidepool orphans\`)`,
    );
  }
  const objects: Objects = new Map();
  const rv = file.snapshot === undefined ? 0 : loadSnapshot(path, file.snapshot as unknown, objects);
  return { rv: replayJournal(file.entries, rv, objects), objects };
}

/** Fills `objects` from the snapshot after checking its shape; returns its resourceVersion. */
function loadSnapshot(path: string, snap: unknown, objects: Objects): number {
  const s = snap as Record<string, unknown> | null;
  if (s === null || typeof s !== 'object' || Array.isArray(s) || s.format !== 'tidepool.store/v1') {
    throw openError(path, 'it is not a Tidepool store file (expected {"format": "tidepool.store/v1", ...})');
  }
  if (!Number.isSafeInteger(s.resourceVersion) || (s.resourceVersion as number) < 0) {
    throw openError(path, `resourceVersion: must be a non-negative integer, got ${JSON.stringify(s.resourceVersion)}`);
  }
  const rv = s.resourceVersion as number;
  if (s.objects === null || typeof s.objects !== 'object' || Array.isArray(s.objects))
    throw openError(path, 'objects: expected an object of kinds');
  for (const [kind, byName] of Object.entries(s.objects as Record<string, unknown>)) {
    if (byName === null || typeof byName !== 'object' || Array.isArray(byName))
      throw openError(path, `objects.${kind}: expected an object of names`);
    const m = new Map<string, Resource>();
    for (const [name, o] of Object.entries(byName as Record<string, unknown>)) {
      const why = objectProblem(kind, name, o);
      if (why) throw openError(path, why);
      const orv = Number((o as Resource).metadata.resourceVersion);
      if (orv > rv)
        throw openError(
          path,
          `resourceVersion ${rv} is lower than that of ${kind} "${name}" (${orv}): versions would repeat`,
        );
      m.set(name, o as Resource);
    }
    objects.set(kind, m);
  }
  return rv;
}

/** Applies the journal's lines after the snapshot's `rv`, checking that none is missing; returns the last resourceVersion. */
function replayJournal(entries: readonly JournalEntry[], rv: number, objects: Objects): number {
  let last = rv;
  /** The resourceVersion of the line before, in file order (folded lines included). */
  let preceding: number | undefined;
  for (const { entry, file: f, line } of entries) {
    const before = preceding;
    preceding = entry.rv;
    // Lines already folded into the snapshot (a compaction stopped before it removed them).
    if (entry.rv <= rv) continue;
    const where = `${f}, line ${line}`;
    const gap = journalGap(entry.prev, before, rv);
    if (gap) {
      throw openError(
        where,
        `${gap}: the journal was cut, and the changes in between are missing`,
        `restore the journal from a backup; or, to start with what comes before the gap, keep only the lines before line ${line} (\`head -n ${line - 1} ${f} > ${f}.kept && mv ${f}.kept ${f}\`; the containers and homes of the workspaces lost are kept and listed by \`tidepool orphans\`)`,
      );
    }
    // A line without changes: the store checking that the disk takes writes again.
    if (!entry.put?.length && !entry.del?.length) {
      if (entry.rv < last) throw openError(where, `resourceVersion ${entry.rv} is below ${last}`);
      continue;
    }
    if (entry.rv <= last) throw openError(where, `resourceVersion ${entry.rv} does not follow ${last}`);
    applyLine(entry, where, objects);
    last = entry.rv;
  }
  return last;
}

/** One journal line's puts and deletes, each object checked as the loader checks every object. */
function applyLine(entry: JournalEntry['entry'], where: string, objects: Objects): void {
  for (const o of entry.put ?? []) {
    const kind = (o as Resource | null)?.kind;
    if (typeof kind !== 'string' || typeof (o as Resource | null)?.metadata?.name !== 'string')
      throw openError(where, 'an object without kind or metadata.name');
    const name = keyOf(o);
    const why = objectProblem(kind, name, o);
    if (why) throw openError(where, why);
    if (Number(o.metadata.resourceVersion) > entry.rv)
      throw openError(
        where,
        `${kind} "${name}": metadata.resourceVersion ${o.metadata.resourceVersion} is above the line's ${entry.rv}`,
      );
    let m = objects.get(kind);
    if (!m) objects.set(kind, (m = new Map()));
    m.set(name, o);
  }
  for (const d of entry.del ?? []) {
    if (!Array.isArray(d) || typeof d[0] !== 'string' || typeof d[1] !== 'string')
      throw openError(where, 'del: expected [kind, name] pairs');
    objects.get(d[0])?.delete(d[1]);
  }
}

/**
 * Why a line does not follow the one before it (undefined when it does). `prev` is what the
 * line says came before it, `before` the resourceVersion of the line before it in the file,
 * `snapshotRv` the snapshot's: a first unfolded line must follow a line the snapshot holds.
 */
function journalGap(prev: number | undefined, before: number | undefined, snapshotRv: number): string | undefined {
  // Lines written before `prev` existed cannot be checked.
  if (prev === undefined) return undefined;
  if (before !== undefined && before > snapshotRv) {
    return prev === before
      ? undefined
      : `this line follows resourceVersion ${prev}, but the line before it is ${before}`;
  }
  return prev <= snapshotRv
    ? undefined
    : `this line follows resourceVersion ${prev}, but the snapshot is at ${snapshotRv} and no line before it reaches ${prev}`;
}

/**
 * What is on disk for a store file, as the {format, resourceVersion, objects} document the
 * store file always held (snapshot plus journal; Events from their own file). For tools and tests.
 */
export async function readStoreState(path: string): Promise<{
  format: 'tidepool.store/v1';
  resourceVersion: number;
  objects: Record<string, Record<string, Resource>>;
}> {
  const events = path.replace(/(\.json)?$/, '.events.json');
  const a = buildState(path, await loadFile(path));
  const b = buildState(events, await loadFile(events), { requireSnapshot: false });
  const objects: Record<string, Record<string, Resource>> = {};
  for (const [kind, m] of [...a.objects, ...b.objects]) objects[kind] = { ...objects[kind], ...Object.fromEntries(m) };
  return { format: 'tidepool.store/v1', resourceVersion: Math.max(a.rv, b.rv), objects };
}
