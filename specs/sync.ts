import { Type, type Static } from '@sinclair/typebox';
import { API_VERSION, Condition, ListOf, ObjectMeta, StatusCause } from './meta.js';

/** A watched folder of manifests (GitOps). Created by `tidepool serve --sync-dir`, written by the server only. */
export const SyncSpec = Type.Object(
  {
    path: Type.String({ description: 'Absolute path of the watched folder.' }),
    intervalSeconds: Type.Integer({
      minimum: 1,
      default: 60,
      description: 'Self-heal: the folder is applied again this often. Defaults to 60.',
    }),
    allowEmptyPrune: Type.Boolean({
      default: false,
      description: 'A folder with no objects may prune everything the sync created. Defaults to false.',
    }),
  },
  { additionalProperties: false },
);
export type SyncSpec = Static<typeof SyncSpec>;

/**
 * The reasons of a Sync's conditions (and of its Warning events), one list: Progressing at
 * start, Applied when in force, else what stopped the revision.
 */
export const SYNC_REASONS = [
  'Progressing',
  'Applied',
  'BuildFailed',
  'ValidationFailed',
  'OwnershipConflict',
  'EmptyFolder',
  'ApplyFailed',
  'FolderNotFound',
  'FolderUnreadable',
  'FolderTooLarge',
  'LinkOutsideFolder',
  'NotRunning',
] as const;
export type SyncReason = (typeof SYNC_REASONS)[number];

/**
 * Whether the sync behind a Sync object runs in this server: a Sync object stays when serve
 * starts without its --sync-dir (its history is worth keeping), and says so with reason
 * NotRunning. A sync that does not run owns nothing: what it applied may be changed or deleted.
 */
export function syncRunning(s: { status?: { conditions?: { reason?: string }[] } } | undefined): boolean {
  return s !== undefined && !s.status?.conditions?.some((c) => c.reason === 'NotRunning');
}

/** Set by a sync on every object it applies: the name of that sync. */
export const SYNC_ANNOTATION = 'tidepool/sync';
/** Set by a sync on every object it applies: the file that declares it, relative to the sync's folder. */
export const SYNC_FILE_ANNOTATION = 'tidepool/sync-file';

export const InventoryEntry = Type.Object({ kind: Type.String(), name: Type.String() });

export const SyncStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  /** Content hash of the last revision applied in full. */
  lastAppliedRevision: Type.Optional(Type.String()),
  /** Content hash of the last revision read, applied or not. */
  lastAttemptedRevision: Type.Optional(Type.String()),
  lastAppliedTime: Type.Optional(Type.String({ format: 'date-time' })),
  lastAttemptedTime: Type.Optional(Type.String({ format: 'date-time' })),
  /** Why the last attempt failed: each problem with file, line, column and field path. */
  errors: Type.Optional(Type.Array(StatusCause)),
  inventory: Type.Optional(Type.Array(InventoryEntry)),
  conditions: Type.Optional(Type.Array(Condition)),
});
export type SyncStatus = Static<typeof SyncStatus>;

export const Sync = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('Sync'),
    metadata: ObjectMeta,
    spec: SyncSpec,
    status: Type.Optional(SyncStatus),
  },
  { additionalProperties: false, $id: 'Sync' },
);
export type Sync = Static<typeof Sync>;
export const SyncList = ListOf('Sync', Sync);
