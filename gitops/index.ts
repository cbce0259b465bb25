// GitOps folder sync: a folder of manifests (a git checkout, usually) is the desired state.
// README.md says how it behaves; the parts:
//   sync.ts      the sync itself: a rate-limited queue of one key, one worker, the self-heal tick
//   watcher.ts   chokidar on the folder, and a periodic look at the folder itself
//   revision.ts  when a folder read may be applied (quiet, git done), its documents stamped
//   outcome.ts   what an attempt came to: applied, stalled or retrying
//   report.ts    the Sync object's status and the Events
//   ownership.ts which sync owns a name and an object
//   prune-settle.ts  a prune waits until the object has been missing for a while
//   not-running.ts   a Sync object without its --sync-dir says it is not running
//   tickets.ts   what resync() waits for
//   files.ts / build.ts / debounce.ts / status.ts / apply.ts  reading, parsing, debounce, conditions, the apply path
export { startSync } from './sync.js';
export { startSyncFolders, type SyncFolder, type SyncsHandle } from './syncs.js';
export { applysetFor } from './ownership.js';
// The annotations live in specs/ (the API's delete guard reads them too); exported here as before.
export { SYNC_ANNOTATION, SYNC_FILE_ANNOTATION } from '../specs/index.js';
export { nameForFolder, revisionOf, readManifests, isIgnoredName, isIgnoredRelPath, MANIFEST_EXT } from './files.js';
export type { ApplyFn, ApplyResult } from './apply.js';
export type { SyncEvent, SyncHandle, SyncLogger, SyncOptions } from './types.js';
export { markNotRunning } from './not-running.js';
