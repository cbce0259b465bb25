// What one attempt at a revision came to, as a value: applied, stalled (only a change to the
// folder unblocks it) or retrying (a transient failure, retried with backoff). The sync turns
// an outcome into a queue operation; the report turns it into status and events.
import type { StatusCause, SyncReason } from '../specs/index.js';
import { errorMessage } from '../specs/errors.js';
import { StoreError } from '../store/index.js';
import { isEmptyPruneRefusal, type ApplyResult } from './apply.js';
import { shortRevision, type FolderError } from './files.js';
import { OWNED_ELSEWHERE } from './ownership.js';
import { formatCause } from './status.js';

export type Outcome =
  | { kind: 'applied'; revision: string; results: ApplyResult[] }
  | { kind: 'stalled'; reason: SyncReason; message: string; causes: StatusCause[]; revision?: string }
  | { kind: 'retrying'; reason: SyncReason; message: string; causes: StatusCause[]; revision?: string };

export function plural(n: number, word: string) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A cause as the Sync status holds it: only the known fields, each of its type. */
function pickCause(c: StatusCause): StatusCause {
  const out: StatusCause = { reason: String(c.reason ?? 'Invalid'), message: String(c.message ?? '') };
  if (typeof c.field === 'string' && c.field) out.field = c.field;
  if (Number.isInteger(c.document)) out.document = c.document;
  if (typeof c.file === 'string') out.file = c.file;
  if (Number.isInteger(c.line)) out.line = c.line;
  if (Number.isInteger(c.column)) out.column = c.column;
  return out;
}

/** The folder could not be read: nothing is applied or pruned until it can. */
export function folderOutcome(err: FolderError): Outcome {
  return {
    kind: 'stalled',
    reason: err.reason,
    message: `${err.message}. Nothing is applied or pruned until it can be read; the objects applied from it are kept.`,
    causes: [{ reason: err.reason, message: err.message, ...(err.file ? { file: err.file } : {}) }],
  };
}

/** Objects of the folder that another running sync applied: refused as the apply would refuse them. */
export function ownershipError(conflicts: StatusCause[]): StoreError {
  return new StoreError('Invalid', `${plural(conflicts.length, 'object')} of this folder belong to another sync`, {
    causes: conflicts,
  });
}

/** What a failed build or apply of `revision` (a folder of `fileCount` manifest files) means. */
export function failureOutcome(err: unknown, revision: string, fileCount: number): Outcome {
  if (!(err instanceof StoreError)) {
    const message = errorMessage(err);
    return {
      kind: 'retrying',
      revision,
      reason: 'ApplyFailed',
      causes: [{ reason: 'InternalError', message }],
      message: `Revision ${shortRevision(revision)} could not be applied (${message}); retrying.`,
    };
  }
  const causes = (err.details?.causes ?? []).map(pickCause);
  const orOwn = causes.length ? causes : [{ reason: err.reason, message: err.message }];
  if (err.reason !== 'BadRequest' && err.reason !== 'Invalid') {
    return {
      kind: 'retrying',
      revision,
      reason: 'ApplyFailed',
      causes: orOwn,
      message: `Revision ${shortRevision(revision)} could not be applied (${err.reason}: ${err.message}); retrying.`,
    };
  }
  if (err.reason === 'Invalid' && isEmptyPruneRefusal(causes)) {
    return {
      kind: 'stalled',
      revision,
      reason: 'EmptyFolder',
      causes,
      message:
        `The folder holds no objects (${plural(fileCount, 'manifest file')}); pruning would delete everything this sync applied, so nothing was pruned. ` +
        'Add manifests, or start the sync with allowEmptyPrune (tidepool serve --sync-allow-empty-prune) to let an empty folder prune.',
    };
  }
  const reason =
    err.reason === 'BadRequest'
      ? 'BuildFailed'
      : causes.length && causes.every((c) => c.reason === OWNED_ELSEWHERE)
        ? 'OwnershipConflict'
        : 'ValidationFailed';
  const shown = causes.slice(0, 3).map(formatCause).join('; ');
  return {
    kind: 'stalled',
    revision,
    reason,
    causes: orOwn,
    message:
      `Revision ${shortRevision(revision)} was not applied: ${causes.length ? shown : err.message}` +
      `${causes.length > 3 ? ` (and ${causes.length - 3} more)` : ''}. Nothing was applied or pruned; the previous revision stays in force.`,
  };
}
