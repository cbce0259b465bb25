// The status of a Sync object: conditions in the Kubernetes / kstatus style (Ready as the
// summary, Stalled when only a person can unblock it, Reconciling while work is under way).
import { formatCause as formatCauseLine } from '../specs/errors.js';
import type { Condition, StatusCause, SyncReason, SyncStatus } from '../specs/index.js';

export type ConditionType = 'Ready' | 'Stalled' | 'Reconciling';
const ORDER: ConditionType[] = ['Ready', 'Stalled', 'Reconciling'];

export interface ConditionInput {
  type: ConditionType;
  status: Condition['status'];
  reason: SyncReason;
  message: string;
}

/**
 * The next condition list: each given condition replaces the one of its type, keeping its
 * lastTransitionTime when its status did not change.
 */
export function mergeConditions(
  prev: readonly Condition[] | undefined,
  next: ConditionInput[],
  now: string,
  generation?: number,
): Condition[] {
  const out = new Map<string, Condition>();
  for (const c of prev ?? []) out.set(c.type, c);
  for (const c of next) {
    const old = out.get(c.type);
    out.set(c.type, {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    });
  }
  const rank = (t: string) => ORDER.indexOf(t as ConditionType) + 1 || 99;
  return [...out.values()].sort((a, b) => rank(a.type) - rank(b.type));
}

/** Ready=True, Stalled=False, Reconciling=False. */
export function readyConditions(message: string): ConditionInput[] {
  return [
    { type: 'Ready', status: 'True', reason: 'Applied', message },
    { type: 'Stalled', status: 'False', reason: 'Applied', message: 'The last revision was applied.' },
    {
      type: 'Reconciling',
      status: 'False',
      reason: 'Applied',
      message: 'Nothing to do until the folder changes or the next self-heal.',
    },
  ];
}

/** Ready=False, Stalled=True: the folder must change (or come back) before anything more is applied. */
export function stalledConditions(reason: SyncReason, message: string): ConditionInput[] {
  return [
    { type: 'Ready', status: 'False', reason, message },
    { type: 'Stalled', status: 'True', reason, message },
    { type: 'Reconciling', status: 'False', reason, message: 'Waiting for the folder to change.' },
  ];
}

/** Ready=False, Stalled=False, Reconciling=False: no sync of this name runs in this server. */
export function notRunningConditions(message: string): ConditionInput[] {
  return [
    { type: 'Ready', status: 'False', reason: 'NotRunning', message },
    { type: 'Stalled', status: 'False', reason: 'NotRunning', message: 'Not running, so not stalled.' },
    { type: 'Reconciling', status: 'False', reason: 'NotRunning', message: 'Not running: nothing is read or applied.' },
  ];
}

/** Ready=False (or Unknown), Reconciling=True: work under way, or a transient failure being retried. */
export function reconcilingConditions(
  reason: SyncReason,
  message: string,
  ready: Condition['status'] = 'Unknown',
): ConditionInput[] {
  return [
    { type: 'Ready', status: ready, reason, message },
    { type: 'Stalled', status: 'False', reason, message: 'Not stalled: retrying.' },
    { type: 'Reconciling', status: 'True', reason, message },
  ];
}

/** One line per cause, `file:line:column: field: message` (or `document N:…` without a file). */
export function formatCause(c: StatusCause): string {
  return formatCauseLine(c, { byDocument: true });
}

/** A status with `undefined` fields dropped, so that comparing two says whether a write is needed. */
export function cleanStatus(s: SyncStatus): SyncStatus {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as SyncStatus;
}
