// What the workspaces use (`tidepool top`, the UI's graphs): figures the server samples from
// the runtime every interval and keeps for an hour in memory. Shared by the controller's
// sampler (which fills it), the API (which serves it at /api/v1/usage) and the CLI and UI.

/** One workspace's latest figures; a figure the runtime cannot tell is absent. */
export interface WorkspaceUsage {
  /** The workspace's name (the sampler itself keeps its key, specs/object-key.ts; the API shows the name). */
  name: string;
  /** Its namespace, where not the default (as the API shows it). */
  namespace?: string;
  /** When these figures were taken (RFC 3339). */
  sampledAt: string;
  /** CPU in use over the last interval, in cores (CPU seconds per second); absent after the first sample. */
  cpuCores?: number;
  /** The vCPUs it may use (spec.resources.cpu). */
  cpuLimit?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
  homeUsedBytes?: number;
  /** Network bytes per second over the last interval. */
  networkRxBytesPerSecond?: number;
  networkTxBytesPerSecond?: number;
  /** From status.lastAccessTime (the proxy's access stream). */
  lastAccessTime?: string;
  /** The last hour: `?history=true` only. */
  history?: UsageHistory;
}

/** Samples oldest first; `t` in ms since the epoch, `cpu` in cores, `memory` in bytes. */
export interface UsageHistory {
  t: number[];
  cpu: number[];
  memory: number[];
}

/** The host budget and how much of it the running workspaces hold (their limits) and use. */
export interface HostUsage {
  cpuBudget: number;
  memoryBudgetBytes: number;
  /** vCPUs and memory of the running workspaces (what admission counts). */
  cpuAllocated: number;
  memoryAllocatedBytes: number;
  /** Cores and memory in use now, summed over the workspaces. */
  cpuCores: number;
  memoryBytes: number;
}

/** What the API serves at /api/v1/usage. */
export interface UsageList {
  apiVersion: string;
  kind: 'UsageList';
  /** Seconds between two samples. */
  intervalSeconds: number;
  host?: HostUsage;
  items: WorkspaceUsage[];
}

/** Implemented by the server's sampler, used by the API. */
export interface UsageService {
  /** Every running workspace's figures, named by key (one, with `name` a key), with the last hour when `history`. */
  list(opts: { history?: boolean; name?: string }): UsageList;
}
