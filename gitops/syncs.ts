// Several folders, each its own sync, started and stopped as one component.
import { startSync } from './sync.js';
import type { SyncHandle, SyncOptions } from './types.js';

export interface SyncFolder {
  name: string;
  dir: string;
  /** Where its objects go (`--sync-dir NS/NAME=DIR`); absent: `default`. */
  namespace?: string;
}

export interface SyncsHandle {
  syncs: SyncFolder[];
  stop(): Promise<void>;
  resync(): Promise<void>;
}

/**
 * Starts one sync per folder (all with the same options). When one cannot start (a name
 * already running, say), those started already are stopped again.
 */
export async function startSyncFolders(
  folders: readonly SyncFolder[],
  common: Omit<SyncOptions, 'name' | 'dir'>,
): Promise<SyncsHandle> {
  const handles: SyncHandle[] = [];
  try {
    for (const f of folders) handles.push(await startSync({ ...common, ...f }));
  } catch (err) {
    for (const h of handles.reverse()) await h.stop();
    throw err;
  }
  return {
    syncs: [...folders],
    async stop() {
      for (const h of [...handles].reverse()) await h.stop();
    },
    async resync() {
      await Promise.all(handles.map((h) => h.resync()));
    },
  };
}
