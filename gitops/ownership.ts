// Which sync owns what. Two syncs of one name would fight over one Sync object and one
// inventory; two syncs declaring one object would take it from each other at every apply.
// Both are refused: the first when a sync starts, the second as a cause on the revision.
import { kindByName, objectKey, type StatusCause, SYNC_ANNOTATION } from '../specs/index.js';
import type { StoreClient } from '../store/index.js';
import type { ParsedDocuments } from '../store/apply/index.js';

/** The reason of a cause naming an object another running sync applied. */
export const OWNED_ELSEWHERE = 'OwnedByAnotherSync';
/** The applyset (inventory) of the sync `name`. */
export const applysetFor = (name: string) => `sync.${name}`;

/** Syncs running per store (name → folder). */
const running = new WeakMap<StoreClient, Map<string, string>>();

/** Syncs running on `store`, name → folder. */
export function runningSyncs(store: StoreClient): ReadonlyMap<string, string> {
  return running.get(store) ?? new Map();
}

/** Records the sync `name` of `dir` as running on `store`; throws when one of that name already runs. */
export function claimName(store: StoreClient, name: string, dir: string): () => void {
  const names = running.get(store) ?? new Map<string, string>();
  running.set(store, names);
  if (names.has(name)) throw new Error(`a sync named "${name}" is already running`);
  names.set(name, dir);
  return () => {
    names.delete(name);
  };
}

/**
 * Objects of these documents that another running sync applied: declaring one object in
 * two folders would have the two syncs take it from each other at every apply.
 */
export function ownershipConflicts(
  store: StoreClient,
  name: string,
  namespace: string,
  docs: ParsedDocuments,
): StatusCause[] {
  const names = runningSyncs(store);
  const causes: StatusCause[] = [];
  for (const d of docs.documents) {
    const o = d.object as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (!o || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') continue;
    const key = kindByName(o.kind)?.namespaced ? objectKey(namespace, o.metadata.name) : o.metadata.name;
    const owner = store.get(o.kind, key)?.metadata.annotations?.[SYNC_ANNOTATION];
    if (!owner || owner === name || !names.has(owner)) continue;
    const pos = d.locate('metadata.name');
    causes.push({
      field: 'metadata.name',
      reason: OWNED_ELSEWHERE,
      message: `${o.kind} "${o.metadata.name}" belongs to the sync "${owner}" (${names.get(owner)}); an object may be declared by one sync only: remove it from one of the folders`,
      document: d.index,
      ...(d.file !== undefined ? { file: d.file } : {}),
      ...(pos ? { line: pos.line, column: pos.column } : {}),
    });
  }
  return causes;
}
