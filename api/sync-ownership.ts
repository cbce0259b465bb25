// What a GitOps sync owns may not be deleted by hand without saying so: the sync would create
// it again a moment later, with an empty home, while the user believes it gone. A DELETE of an
// object that a live sync applied is refused (409) with the sync, folder and file named,
// unless `?force=true` (`tidepool delete --force`).
import type { KindInfo } from '../specs/index.js';
import type { Resource, Store, Tx } from '../store/index.js';
import { ApiError } from './errors.js';
import { appliersOf, syncOfManager } from '../store/ownership.js';

import { SYNC_ANNOTATION, SYNC_FILE_ANNOTATION, syncRunning } from '../specs/index.js';

export interface SyncOwner {
  sync: string;
  folder?: string;
  file?: string;
}

/** The live sync that applied `o`, if any (a sync that is gone owns nothing). */
export function syncOwnerOf(store: Store, o: Resource): SyncOwner | undefined {
  const sync = o.metadata.annotations?.[SYNC_ANNOTATION];
  if (!sync) return undefined;
  const s = store.get('Sync', sync);
  if (!s || !syncRunning(s)) return undefined;
  const folder = (s.spec as { path?: string } | undefined)?.path;
  const file = o.metadata.annotations?.[SYNC_FILE_ANNOTATION];
  return { sync, ...(folder ? { folder } : {}), ...(file ? { file } : {}) };
}

export function describeOwner(owner: SyncOwner): string {
  const where = [owner.folder ? `folder ${owner.folder}` : '', owner.file ? `file ${owner.file}` : '']
    .filter(Boolean)
    .join(', ');
  return `sync "${owner.sync}"${where ? ` (${where})` : ''}`;
}

/** Throws the 409 for a delete of a synced object without force. */
export function refuseSyncedDelete(store: Store, info: KindInfo, name: string, force: boolean): void {
  if (force) return;
  const o = store.get(info.kind, name);
  const owner = o && syncOwnerOf(store, o);
  if (!owner) return;
  const home = info.kind === 'Workspace' ? ', with an empty home' : '';
  throw new ApiError(
    409,
    'Conflict',
    `${info.plural} "${name}" is managed by ${describeOwner(owner)}: deleted now, the sync would create it again${home}. ` +
      `To delete it for good, remove it from ${owner.file ?? 'the sync folder'}; to delete it anyway, delete with --force (?force=true).`,
  );
}

/**
 * Start or stop (the power manager) of a workspace whose sync file sets spec.running: the sync
 * would undo it at its next pass, so it is refused, saying where to change it instead.
 */
export function refusePowerOverSync(tx: Tx, cur: Resource, next: Resource): void {
  const running = (next.spec as { running?: boolean } | undefined)?.running;
  if (running === undefined || running === (cur.spec as { running?: boolean } | undefined)?.running) return;
  for (const manager of appliersOf(cur, 'spec.running')) {
    const sync = syncOfManager(manager);
    const s = sync ? tx.get('Sync', sync) : undefined;
    if (!sync || !s || !syncRunning(s)) continue;
    const folder = (s.spec as { path?: string } | undefined)?.path;
    const file = cur.metadata.annotations?.[SYNC_FILE_ANNOTATION];
    const where = file ? (folder ? `${folder.replace(/\/$/, '')}/${file}` : file) : (folder ?? 'its folder');
    throw new ApiError(
      409,
      'Conflict',
      `workspace/${cur.metadata.name} is managed by sync ${sync} (${where} sets spec.running): ` +
        `the sync will ${running ? 'stop' : 'start'} it again; edit the file`,
    );
  }
}
