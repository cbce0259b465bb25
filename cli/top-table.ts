// `tidepool top`'s table, as kubectl top prints one: CPU in millicores and as a share of the
// workspace's vCPUs, memory in binary units and as a share of its limit, the home's size,
// network rates, and when the workspace was last used through the proxy. Pure: tested alone.
import { DEFAULT_NAMESPACE } from '../specs/index.js';
import type { UsageList, WorkspaceUsage } from '../specs/usage.js';
import { age } from './format.js';

export type TopSort = 'cpu' | 'memory' | 'name';
export const TOP_SORTS: readonly TopSort[] = ['cpu', 'memory', 'name'];

export const TOP_HEADER = [
  'NAME',
  'CPU(cores)',
  'CPU%',
  'MEMORY(bytes)',
  'MEMORY%',
  'HOME',
  'NET-IN',
  'NET-OUT',
  'LAST ACCESS',
];

/** kubectl's binary units: 0, 512Ki, 118Mi, 2Gi (whole numbers of the largest unit that fits). */
export function binaryBytes(n: number | undefined): string {
  if (n === undefined) return '<unknown>';
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti'];
  let i = 0;
  while (i < units.length - 1 && n >= 1024 ** (i + 1)) i++;
  return `${Math.round(n / 1024 ** i)}${units[i]}`;
}

const percent = (part: number | undefined, whole: number | undefined): string =>
  part === undefined || !whole ? '<unknown>' : `${Math.round((part / whole) * 100)}%`;

const rate = (n: number | undefined): string => (n === undefined ? '<unknown>' : `${binaryBytes(n)}/s`);

function row(u: WorkspaceUsage, now: number): string[] {
  return [
    u.name,
    u.cpuCores === undefined ? '<unknown>' : `${Math.round(u.cpuCores * 1000)}m`,
    percent(u.cpuCores, u.cpuLimit),
    binaryBytes(u.memoryBytes),
    percent(u.memoryBytes, u.memoryLimitBytes),
    binaryBytes(u.homeUsedBytes),
    rate(u.networkRxBytesPerSecond),
    rate(u.networkTxBytesPerSecond),
    u.lastAccessTime ? age(u.lastAccessTime, now) : '<never>',
  ];
}

const namespaceOfUsage = (u: WorkspaceUsage) => u.namespace ?? DEFAULT_NAMESPACE;

/** The header, with kubectl's NAMESPACE column first for -A. */
export const topHeader = (allNamespaces = false) => (allNamespaces ? ['NAMESPACE', ...TOP_HEADER] : [...TOP_HEADER]);

/** The rows, busiest first by `sort` (then by namespace and name); with `allNamespaces`, each starts with its namespace. */
export function topRows(list: UsageList, sort: TopSort, now: number = Date.now(), allNamespaces = false): string[][] {
  const key = (u: WorkspaceUsage) =>
    sort === 'cpu' ? (u.cpuCores ?? -1) : sort === 'memory' ? (u.memoryBytes ?? -1) : 0;
  const at = (u: WorkspaceUsage) => `${namespaceOfUsage(u)}/${u.name}`;
  const items = [...list.items].sort((a, b) => key(b) - key(a) || (at(a) < at(b) ? -1 : 1));
  return items.map((u) => (allNamespaces ? [namespaceOfUsage(u), ...row(u, now)] : row(u, now)));
}
