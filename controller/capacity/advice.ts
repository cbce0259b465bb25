// What a refused start is told: which workspaces would have to stop for it to fit, least
// recently accessed first and as many as it takes, with the figures that make it add up
// ("it needs 4 vCPU, 2 of 8 are free; stopping "bob" (1 vCPU, idle for 3h) and "carol"
// (2 vCPU, idle for 5 min) would free 3 vCPU"). Naming only the least recently accessed one
// left a 4-vCPU workspace waiting for good after a 1-vCPU one was stopped as told.
import { showBytes, type Budget, type Usage } from './budget.js';

export interface Candidate extends Usage {
  /** Last access (ms); undefined when unknown. */
  accessedAt?: number;
}

/** How far `want` is from fitting, per limit; only positive figures are short. */
export interface Shortfall {
  cpu: number;
  memoryBytes: number;
  running: number;
}

export interface StopPlan {
  /** The workspaces to stop, in the order they were chosen (least recently accessed first). */
  stop: Candidate[];
  /** Whether stopping them makes room; false when even every candidate would not. */
  enough: boolean;
}

export function shortfall(budget: Budget, using: Usage[], want: Usage): Shortfall {
  const cpu = using.reduce((s, u) => s + u.cpu, 0);
  const mem = using.reduce((s, u) => s + u.memoryBytes, 0);
  return {
    cpu: cpu + want.cpu - budget.cpu,
    memoryBytes: mem + want.memoryBytes - budget.memoryBytes,
    running: using.length + 1 - budget.maxRunning,
  };
}

/**
 * The fewest least-recently-accessed candidates (in that order) whose stopping covers every
 * shortfall. `candidates` come sorted, least recently accessed first; one that frees nothing
 * that is short (a 0-vCPU workspace when only vCPUs are short) is passed over.
 */
export function planStops(short: Shortfall, candidates: Candidate[]): StopPlan {
  const left = { ...short };
  const stop: Candidate[] = [];
  const isShort = () => left.cpu > 0 || left.memoryBytes > 0 || left.running > 0;
  for (const c of candidates) {
    if (!isShort()) break;
    const helps = (left.cpu > 0 && c.cpu > 0) || (left.memoryBytes > 0 && c.memoryBytes > 0) || left.running > 0;
    if (!helps) continue;
    stop.push(c);
    left.cpu -= c.cpu;
    left.memoryBytes -= c.memoryBytes;
    left.running -= 1;
  }
  return { stop, enough: !isShort() };
}

/** The refusal's message: what is short, by how much, and what stopping would free. */
export function refusalMessage(budget: Budget, using: Usage[], want: Usage, plan: StopPlan, nowMs: number): string {
  const short = shortfall(budget, using, want);
  const head = `Not enough capacity to start it (${want.cpu} vCPU, ${showBytes(want.memoryBytes)}): ${whatIsShort(budget, using, want, short).join('; ')}.`;
  const tail = ' It starts by itself once there is room.';
  if (plan.stop.length === 0)
    return `${head} No running workspace can be stopped to make room: wait for one to stop, or raise the budget.${tail}`;
  const names = listOf(plan.stop.map((c) => `"${c.name}" (${figures(c, nowMs)})`));
  const freed = freedText(plan.stop, short);
  if (!plan.enough) {
    return `${head} Even stopping every running workspace that can be stopped, ${names}, would free only ${freed}; the rest is held by workspaces starting, stopping or being deleted: wait for them, or raise the budget.${tail}`;
  }
  const them = plan.stop.length === 1 ? 'its' : 'their';
  return `${head} Stopping ${names} would free ${freed}: set ${them} spec.running to false, or raise the budget.${tail}`;
}

/** Each limit that is short, with its figures and the flag that raises it. */
export function whatIsShort(budget: Budget, using: Usage[], want: Usage, short: Shortfall): string[] {
  const why: string[] = [];
  if (short.running > 0)
    why.push(`${using.length} of at most ${budget.maxRunning} workspaces are running (--max-running)`);
  if (short.cpu > 0) {
    const used = using.reduce((s, u) => s + u.cpu, 0);
    why.push(
      `${used} of ${budget.cpu} vCPUs are in use and it needs ${want.cpu} (${Math.max(0, budget.cpu - used)} free; --cpu-budget)`,
    );
  }
  if (short.memoryBytes > 0) {
    const used = using.reduce((s, u) => s + u.memoryBytes, 0);
    const free = showBytes(Math.max(0, budget.memoryBytes - used));
    why.push(
      `${showBytes(used)} of ${showBytes(budget.memoryBytes)} memory is in use and it needs ${showBytes(want.memoryBytes)} (${free} free; --memory-budget)`,
    );
  }
  return why;
}

/** "3 vCPU and 4Gi": what the stops free, in the limits that are short. */
function freedText(stop: Candidate[], short: Shortfall): string {
  const parts: string[] = [];
  if (short.cpu > 0) parts.push(`${stop.reduce((s, c) => s + c.cpu, 0)} vCPU`);
  if (short.memoryBytes > 0) parts.push(showBytes(stop.reduce((s, c) => s + c.memoryBytes, 0)));
  if (short.running > 0) parts.push(`${stop.length} of the running slots`);
  return listOf(parts);
}

function figures(c: Candidate, nowMs: number): string {
  const idle = c.accessedAt === undefined ? 'never accessed' : `idle for ${duration(nowMs - c.accessedAt)}`;
  return `${c.cpu} vCPU, ${showBytes(c.memoryBytes)}, ${idle}`;
}

/** "a", "a and b", "a, b and c". */
function listOf(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "under a minute", "12 min", "3h 5min", "4 days": how long, as a person says it. */
export function duration(ms: number): string {
  const min = Math.floor(Math.max(0, ms) / 60_000);
  if (min < 1) return 'under a minute';
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h}h ${min % 60}min` : `${h}h`;
  return `${Math.floor(h / 24)} days`;
}
