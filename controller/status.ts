// Conditions and status writes: a status is written only when it changed, and a
// condition keeps its lastTransitionTime while its status stays the same.
import { isDeepStrictEqual } from 'node:util';
import { ApiError, timestamp, type Store } from '../api/store/index.js';
import type { Condition } from '../specs/index.js';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export function getCondition(status: { conditions?: Condition[] } | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export const isTrue = (status: { conditions?: Condition[] } | undefined, type: string) => getCondition(status, type)?.status === 'True';

/** Sets one condition in `conditions` (in place), keeping lastTransitionTime when its status did not change. */
export function setCondition(conditions: Condition[], c: ConditionInput, nowMs: number, generation?: number): void {
  const i = conditions.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? conditions[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : timestamp(nowMs),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
}

/** Writes `status` when it differs from the stored one. False when unchanged or the object is gone. */
export async function writeStatus(store: Store, kind: string, name: string, status: object): Promise<boolean> {
  const cur = store.get(kind, name);
  if (!cur || isDeepStrictEqual(cur.status, status)) return false;
  try {
    await store.updateStatus(kind, name, status);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return false;
    throw err;
  }
}
