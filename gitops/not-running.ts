// A Sync object outlives its folder flag: serve started without `--sync-dir NAME=…` still
// holds the Sync object of an earlier run. It is kept (its revisions, inventory and errors are
// history worth keeping, and a later serve with the folder picks it up again) but marked as
// not running: Ready=False with reason NotRunning, as a suspended Flux Kustomization shows. A
// sync that does not run owns nothing: the API lets what it applied be changed and deleted.
import { syncRunning } from '../specs/index.js';
import { timestamp, type StoreClient } from '../store/index.js';
import { mergeConditions, notRunningConditions } from './status.js';
import type { SyncLogger } from './types.js';

/** Marks every Sync object of `store` whose name is not in `running` as NotRunning. */
export async function markNotRunning(
  store: StoreClient,
  running: ReadonlySet<string>,
  log: SyncLogger,
): Promise<string[]> {
  const marked: string[] = [];
  for (const s of store.list('Sync').items) {
    const name = s.metadata.name;
    if (running.has(name) || !syncRunning(s)) continue;
    const folder = s.spec.path;
    const message =
      `No sync "${name}" runs in this Tidepool: serve was started without --sync-dir ${name}=${folder}. ` +
      'The objects it applied stay as they are, and may be changed or deleted by hand; start serve with that flag to resume it.';
    const now = timestamp(store.now());
    try {
      await store.transaction((tx) => {
        const cur = tx.get('Sync', name);
        if (!cur || !syncRunning(cur)) return;
        const conditions = mergeConditions(cur.status?.conditions, notRunningConditions(message), now);
        tx.updateStatus('Sync', name, { ...cur.status, conditions });
      });
      marked.push(name);
      log.info(
        { sync: name, folder },
        `sync ${name} is not running (no --sync-dir for it); its objects are left as they are`,
      );
    } catch (err) {
      log.warn({ sync: name, err }, 'sync: cannot mark the Sync as not running');
    }
  }
  return marked;
}
