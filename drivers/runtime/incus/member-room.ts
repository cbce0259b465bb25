// Room on one cluster member: a workspace must fit where it is placed, not only in the sum of
// the cluster. Each member's budget follows the server's own rule for one host
// (controller/capacity/budget.ts): vCPU limits up to 4x its CPUs, memory limits up to its
// memory less a headroom (10%, at least 1 GiB, at most half). What is in use is the limits of
// the instances running (or frozen) on it, anyone's. Incus itself does not refuse on limits
// (it overcommits), so without this a member could be handed more than it holds.
import { formatBytes, parseBytes, type Instance } from './mapping.js';

const CPU_OVERCOMMIT = 4;
const GiB = 2 ** 30;

export interface Want {
  cpu: number;
  memoryBytes: number;
}

/** A member's size as GET /1.0/resources?target=NAME reports it. */
export interface MemberSize {
  cpus: number;
  memoryBytes: number;
}

export interface MemberUse {
  instances: number;
  cpu: number;
  memoryBytes: number;
}

/** How many instances each member has, and the limits of those that run: one listing of them all. */
export function useByMember(all: Instance[]): Map<string, MemberUse> {
  const use = new Map<string, MemberUse>();
  for (const i of all) {
    if (!i.location) continue;
    const u = use.get(i.location) ?? { instances: 0, cpu: 0, memoryBytes: 0 };
    u.instances++;
    if (i.status === 'Running' || i.status === 'Frozen') {
      u.cpu += Number(i.config?.['limits.cpu']) || 1;
      u.memoryBytes += parseBytes(i.config?.['limits.memory']) ?? 0;
    }
    use.set(i.location, u);
  }
  return use;
}

/** Why `want` does not fit on a member of `size` using `use`, or undefined when it fits. */
export function noRoom(size: MemberSize, use: MemberUse | undefined, want: Want): string | undefined {
  const headroom = Math.min(Math.max(GiB, Math.round(size.memoryBytes * 0.1)), Math.floor(size.memoryBytes / 2));
  const cpuBudget = size.cpus * CPU_OVERCOMMIT;
  const memBudget = size.memoryBytes - headroom;
  const cpu = use?.cpu ?? 0;
  const mem = use?.memoryBytes ?? 0;
  const short: string[] = [];
  if (cpu + want.cpu > cpuBudget) short.push(`${want.cpu} vCPU more than the ${cpuBudget - cpu} of ${cpuBudget} left`);
  if (mem + want.memoryBytes > memBudget)
    short.push(
      `${formatBytes(want.memoryBytes)} more than the ${formatBytes(Math.max(0, memBudget - mem))} of ${formatBytes(memBudget)} left`,
    );
  return short.length ? short.join(', ') : undefined;
}
