// The host budget for running workspaces and the check of one more start against it.
import { cpus, totalmem } from 'node:os';
import type { CapacityOptions } from '../types.js';

/** CPU limits are caps, not reservations: the sum of vCPUs may exceed the host's CPUs by this factor. */
export const CPU_OVERCOMMIT = 4;

export interface Budget {
  maxRunning: number;
  cpu: number;
  memoryBytes: number;
}

const GiB = 2 ** 30;

/** Memory kept for the host itself: 10% of it, at least 1 GiB, at most half of it. */
export function hostHeadroomBytes(total: number): number {
  return Math.min(Math.max(GiB, Math.round(total * 0.1)), Math.floor(total / 2));
}

export function resolveBudget(
  opts: CapacityOptions = {},
  host = { cpus: cpus().length, memoryBytes: totalmem() },
): Budget {
  return {
    maxRunning: opts.maxRunning ?? Infinity,
    cpu: opts.cpuBudget ?? host.cpus * CPU_OVERCOMMIT,
    memoryBytes: opts.memoryBudgetBytes ?? host.memoryBytes - hostHeadroomBytes(host.memoryBytes),
  };
}

export interface Usage {
  name: string;
  cpu: number;
  memoryBytes: number;
}

/** "4Gi", "1.5Gi", "512Mi": memory as a person reads it. */
export function showBytes(bytes: number): string {
  if (bytes >= GiB) return `${+(bytes / GiB).toFixed(1)}Gi`;
  return `${+(bytes / 2 ** 20).toFixed(0)}Mi`;
}

/**
 * Why `want` could not start even on an idle host under this budget; empty when it could.
 * Such a workspace is told so (and which flag raises the budget), not to wait for room.
 */
export function neverFits(budget: Budget, want: Usage): string[] {
  const why: string[] = [];
  if (budget.maxRunning < 1) why.push('no workspace may run (--max-running)');
  if (want.cpu > budget.cpu)
    why.push(`it needs ${want.cpu} vCPUs and the whole budget is ${budget.cpu} (raise it with serve --cpu-budget)`);
  if (want.memoryBytes > budget.memoryBytes) {
    why.push(
      `it needs ${showBytes(want.memoryBytes)} of memory and the whole budget is ${showBytes(budget.memoryBytes)} (raise it with serve --memory-budget)`,
    );
  }
  return why;
}
