// The fleet as gauges computed on scrape: workspaces by phase, and the host budget with what
// the running workspaces hold of it (from the runtime snapshot the controller keeps anyway).
import { keyOf } from '../../specs/index.js';
import { Gauge, type Registry } from 'prom-client';
import { WORKSPACE_PHASES } from '../../specs/workspace.js';
import type { StoreClient } from '../../store/index.js';
import type { Budget } from '../capacity/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import { HOLDS_CAPACITY } from '../vm-cache.js';

export interface FleetSources {
  store: StoreClient;
  budget: Budget;
  /** The runtime's VMs as last listed. */
  vms: () => ReadonlyMap<string, VM>;
}

const RESOURCES = ['cpu', 'memory_bytes', 'workspaces'] as const;

export function registerFleetGauges(registers: Registry[], src: FleetSources): void {
  new Gauge({
    name: 'tidepool_workspaces',
    help: 'Workspaces by status.phase (Unknown: not reconciled yet)',
    labelNames: ['phase'],
    registers,
    collect() {
      const counts = new Map<string, number>([...WORKSPACE_PHASES, 'Unknown'].map((p) => [p, 0]));
      for (const ws of src.store.list('Workspace').items) {
        const phase = ws.status?.phase ?? 'Unknown';
        counts.set(phase, (counts.get(phase) ?? 0) + 1);
      }
      for (const [phase, n] of counts) this.set({ phase }, n);
    },
  });
  new Gauge({
    name: 'tidepool_workspace_ready',
    help: 'Whether a workspace that should run (spec.running) is Ready: 1 or 0',
    labelNames: ['workspace'],
    registers,
    collect() {
      this.reset();
      for (const ws of src.store.list('Workspace').items) {
        if (ws.spec.running === false || ws.metadata.deletionTimestamp) continue;
        const ready = ws.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        this.set({ workspace: keyOf(ws) }, ready ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'tidepool_capacity_budget',
    help: 'The host budget for running workspaces: vCPUs, memory bytes, workspaces running at once (+Inf: no limit)',
    labelNames: ['resource'],
    registers,
    collect() {
      const b = src.budget;
      this.set({ resource: 'cpu' }, b.cpu);
      this.set({ resource: 'memory_bytes' }, b.memoryBytes);
      this.set({ resource: 'workspaces' }, b.maxRunning);
    },
  });
  new Gauge({
    name: 'tidepool_capacity_used',
    help: 'What the workspaces holding capacity (running, starting, stopping) have of the budget',
    labelNames: ['resource'],
    registers,
    collect() {
      const used = { cpu: 0, memory_bytes: 0, workspaces: 0 };
      for (const vm of src.vms().values()) {
        if (!HOLDS_CAPACITY.has(vm.state)) continue;
        used.cpu += vm.cpu ?? 0;
        used.memory_bytes += vm.memoryBytes ?? 0;
        used.workspaces += 1;
      }
      for (const r of RESOURCES) this.set({ resource: r }, used[r]);
    },
  });
}
