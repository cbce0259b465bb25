// Conditions and status writes: a status is written only when it changed, and a
// condition keeps its lastTransitionTime while its status stays the same.
import { isDeepStrictEqual } from 'node:util';
import { isStoreError, timestamp, type StoreClient } from '../store/index.js';
import type { Condition, SyncReason } from '../specs/index.js';
import type { ProxyErrorReason } from '../drivers/proxy/types.js';
import type { RuntimeErrorReason } from '../drivers/runtime/types.js';

export type ConditionStatus = Condition['status'];

/** Every condition type the controller writes. */
export const CONDITION_TYPES = [
  'Ready',
  'VMReady',
  'RouteReady',
  'HomeReady',
  'SourceReady',
  'ImageApplied',
  'ResourcesApplied',
  'Stalled',
  'Reconciling',
  'Built',
  'DotfilesReady',
  'SettingsApplied',
  'DevcontainerApplied',
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** Every reason the controller's own code writes on a condition; the drivers' and the syncs' reasons join them. */
export const CONDITION_REASONS = [
  // the VM's life (VMReady, Ready)
  'Pending',
  'Cloning',
  'Creating',
  'Recreating',
  'Starting',
  'Running',
  'Stopping',
  'Stopped',
  'Deleting',
  'Unknown',
  'VMNotFound',
  'WaitingForIDE',
  'IDENotAnswering',
  'InsufficientCapacity',
  'ExceedsBudget',
  'NodeUnreachable',
  // sleeping (VMReady, Ready): asleep, or waiting for others to fall asleep to make room
  'Idle',
  'MakingRoom',
  // routes (RouteReady, a Port's Ready)
  'Routed',
  'WaitingForRoute',
  'VMNotReady',
  'WorkspaceNotFound',
  'WorkspaceStopped',
  'WorkspaceNotReady',
  // spec changes on a running workspace (ResourcesApplied, ImageApplied), homes (HomeReady, SourceReady)
  'Applied',
  'Refused',
  'WaitingForRestart',
  'NotSupported',
  'Kept',
  'Cloned',
  'CloneFailed',
  // image templates (an ImageTemplate's Built and Ready, a Workspace's ImageApplied and VMReady)
  'Building',
  'Built',
  'WaitingForBase',
  'NoImage',
  'UpdateWaiting',
  'WaitingForImage',
  // dotfiles (DotfilesReady, VMReady while they install)
  'Installing',
  'Installed',
  'DotfilesFailed',
  'InstallingDotfiles',
  // editor settings (SettingsApplied)
  'SettingsFailed',
  'ExtensionsMissing',
  // a repository's devcontainer.json (DevcontainerApplied)
  'NoDevcontainer',
  'PartlyApplied',
  'CommandFailed',
] as const;
export type ConditionReason = (typeof CONDITION_REASONS)[number] | RuntimeErrorReason | ProxyErrorReason | SyncReason;

export interface ConditionInput {
  type: ConditionType;
  status: ConditionStatus;
  reason: ConditionReason;
  message: string;
}

export function getCondition(status: { conditions?: Condition[] } | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export const isTrue = (status: { conditions?: Condition[] } | undefined, type: string) =>
  getCondition(status, type)?.status === 'True';

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

/**
 * Status writes that do not hold a worker while the disk is written. The store applies a
 * write to memory at once (later reads see it) and makes it durable with its next group
 * commit, so many reconciles' writes share one file write. A failed write is reported to
 * `onError` (which requeues the key); `drain` waits for every write in flight.
 */
export class StatusWriter {
  readonly #store: StoreClient;
  readonly #onError: (kind: string, name: string, err: Error) => void;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(store: StoreClient, onError: (kind: string, name: string, err: Error) => void) {
    this.#store = store;
    this.#onError = onError;
  }

  /** Writes `status` when it differs from the stored one. False when unchanged or the object is gone. */
  write(kind: string, name: string, status: object): boolean {
    const cur = this.#store.get(kind, name);
    if (!cur || isDeepStrictEqual(cur.status, status)) return false;
    this.track(this.#store.updateStatus(kind, name, status), kind, name);
    return true;
  }

  /** Follows another store write made the same way (applied at once, durable later). */
  track(write: Promise<unknown>, kind: string, name: string): void {
    const p = write.then(
      () => {},
      (err: Error) => {
        if (!isStoreError(err, 'NotFound')) this.#onError(kind, name, err);
      },
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  get pending(): number {
    return this.#pending.size;
  }

  async drain(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }
}
