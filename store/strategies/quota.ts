// Quota admission (specs/quota.ts): a Workspace created, changed or started is refused (422)
// when its namespace would hold more than its Quota allows: more workspaces, or more vCPUs or
// memory among the workspaces declared running. The message names the quota and the figures;
// the cause names the field. A change that does not add to what is used passes even over a
// quota (one lowered since), so a person over their quota can still stop, shrink or delete.
import {
  DEFAULT_NAMESPACE,
  formatBytes,
  namespaceOf,
  parseQuantity,
  keyOf,
  type Quota,
  type QuotaFigures,
  type StatusCause,
  type Workspace,
} from '../../specs/index.js';
import { invalid } from '../errors.js';
import type { StrategyTx } from './types.js';

const DEFAULT_CPU = 2;
const DEFAULT_MEMORY = 4 * 2 ** 30;

/** The Quota that applies to `namespace`: its own (spec.namespace), else the default (none), first by name. */
export function quotaFor(quotas: readonly Quota[], namespace: string): Quota | undefined {
  const sorted = [...quotas].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  return sorted.find((q) => q.spec.namespace === namespace) ?? sorted.find((q) => q.spec.namespace === undefined);
}

/** What one workspace counts: always one workspace; its CPU and memory while declared running. */
function figuresOf(ws: Workspace): QuotaFigures {
  if (ws.metadata.deletionTimestamp) return { workspaces: 0, cpu: 0, memoryBytes: 0 };
  const running = ws.spec.running !== false;
  const memory = parseQuantity(String(ws.spec.resources?.memory ?? '')) ?? DEFAULT_MEMORY;
  return {
    workspaces: 1,
    cpu: running ? (ws.spec.resources?.cpu ?? DEFAULT_CPU) : 0,
    memoryBytes: running ? memory : 0,
  };
}

/** What the workspaces of `namespace` hold together. */
export function usedIn(workspaces: readonly Workspace[], namespace: string): QuotaFigures {
  const used = { workspaces: 0, cpu: 0, memoryBytes: 0 };
  for (const ws of workspaces) {
    if (namespaceOf(ws) !== namespace) continue;
    const f = figuresOf(ws);
    used.workspaces += f.workspaces;
    used.cpu += f.cpu;
    used.memoryBytes += f.memoryBytes;
  }
  return used;
}

/**
 * Refuses `next` (a Workspace created, or its spec changed: `before` is what it was) when it
 * takes its namespace over its Quota. Throws Invalid naming every figure over.
 */
export function checkQuota(tx: StrategyTx, next: Workspace, before: Workspace | undefined): void {
  const namespace = namespaceOf(next);
  const quota = quotaFor(tx.list('Quota'), namespace);
  if (!quota) return;
  const others = tx.list('Workspace').filter((w) => keyOf(w) !== keyOf(next));
  const base = usedIn(others, namespace);
  const was = before ? figuresOf(before) : { workspaces: 0, cpu: 0, memoryBytes: 0 };
  const now = figuresOf(next);
  const who = namespace === DEFAULT_NAMESPACE ? 'namespace "default"' : `namespace "${namespace}"`;
  const causes: StatusCause[] = [];
  const over = (
    field: string,
    what: string,
    limit: number,
    used: number,
    asked: number,
    show: (n: number) => string = String,
  ) => {
    causes.push({
      field,
      reason: 'QuotaExceeded',
      message: `exceeded quota "${quota.metadata.name}": ${who} would use ${show(used + asked)} ${what} (${show(used)} in use, ${show(asked)} asked), and may use ${show(limit)}`,
    });
  };
  const { workspaces, cpu } = quota.spec;
  const memory = quota.spec.memory === undefined ? undefined : parseQuantity(quota.spec.memory);
  if (workspaces !== undefined && now.workspaces > was.workspaces && base.workspaces + now.workspaces > workspaces)
    over('metadata.name', 'workspaces', workspaces, base.workspaces, now.workspaces);
  // A start (spec.running false → true) is what asks for the CPU and memory: the field is spec.running.
  const starting = before?.spec.running === false && next.spec.running !== false;
  if (cpu !== undefined && now.cpu > was.cpu && base.cpu + now.cpu > cpu)
    over(starting ? 'spec.running' : 'spec.resources.cpu', 'vCPUs', cpu, base.cpu, now.cpu);
  if (memory !== undefined && now.memoryBytes > was.memoryBytes && base.memoryBytes + now.memoryBytes > memory)
    over(
      starting ? 'spec.running' : 'spec.resources.memory',
      'of memory',
      memory,
      base.memoryBytes,
      now.memoryBytes,
      formatBytes,
    );
  if (causes.length) throw invalid('Workspace', next.metadata.name, causes);
}
