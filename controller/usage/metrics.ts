// Each running workspace's usage as Prometheus series, read on scrape from the sampler's last
// sample (a scrape never waits on the runtime): CPU seconds and network bytes as counters,
// memory, its limit and the home's bytes as gauges, labelled `workspace`.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { VMUsage } from '../../drivers/runtime/types.js';
import type { UsageSampler } from './sampler.js';

type Figure = Exclude<keyof VMUsage, 'name'>;

const GAUGES: [name: string, figure: Figure, help: string][] = [
  ['tidepool_workspace_memory_bytes', 'memoryBytes', 'Memory a running workspace uses now'],
  ['tidepool_workspace_memory_limit_bytes', 'memoryLimitBytes', 'The memory limit of a running workspace'],
  ['tidepool_workspace_home_used_bytes', 'homeUsedBytes', "Bytes used on a workspace's home volume"],
];
const COUNTERS: [name: string, figure: Figure, help: string][] = [
  ['tidepool_workspace_cpu_seconds_total', 'cpuSeconds', 'CPU time a running workspace used since it started'],
  [
    'tidepool_workspace_network_receive_bytes_total',
    'networkRxBytes',
    'Bytes a running workspace received since it started',
  ],
  [
    'tidepool_workspace_network_transmit_bytes_total',
    'networkTxBytes',
    'Bytes a running workspace sent since it started',
  ],
];

export function registerUsageMetrics(registers: Registry[], sampler: UsageSampler): void {
  for (const [name, figure, help] of GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: ['workspace'],
      registers,
      collect() {
        this.reset();
        for (const u of sampler.raw()) {
          const v = u[figure];
          if (typeof v === 'number') this.set({ workspace: u.name }, v);
        }
      },
    });
  }
  for (const [name, figure, help] of COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: ['workspace'],
      registers,
      // The runtime keeps the count; the series shows it as it is (it starts again with the VM, as a counter may).
      collect() {
        this.reset();
        for (const u of sampler.raw()) {
          const v = u[figure];
          if (typeof v === 'number' && v >= 0) this.inc({ workspace: u.name }, v);
        }
      },
    });
  }
}
