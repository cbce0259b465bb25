// The Incus driver's pure part: what an instance as Incus reports it means as a VM, and the
// size and image-source formats Incus takes. No I/O, so it is tested without Incus
// (test/controller/incus-mapping.test.ts); index.ts does the talking.
import type { IncusImage } from '../images.js';
import type { VM, VMState } from '../types.js';
import { CONFIG_BUILD, CONFIG_IMAGE } from './names.js';

/** The parts of an instance (GET /1.0/instances?recursion=2) the driver reads. */
export interface Instance {
  name: string;
  status: string;
  status_code?: number;
  type?: string;
  /** The cluster member it is on; "none" (or absent) on a standalone Incus. */
  location?: string;
  config?: Record<string, string>;
  state?: {
    status?: string;
    network?: Record<string, { addresses?: { family: string; address: string; scope: string }[] }> | null;
  } | null;
}

/** The VM of workspace `workspace` that instance `i` is. */
export function vmOf(i: Instance, workspace: string): VM {
  const cfg = i.config ?? {};
  const status = i.state?.status ?? i.status;
  const vm: VM = { name: workspace, state: mapState(status) };
  if (status === 'Frozen') vm.message = 'frozen (paused); start resumes it';
  if (vm.state === 'Error') vm.message = `Incus reports the instance in status ${status}`;
  const node = nodeOf(i);
  if (node) vm.node = node;
  if (node && isOfflineStub(i)) {
    vm.nodeUnreachable = true;
    vm.message = `cluster member ${node} does not answer; Incus cannot tell the instance's state until it is back`;
  }
  const ip = vm.state === 'Running' ? ipv4Of(i) : undefined;
  if (ip) vm.ip = ip;
  if (cfg[CONFIG_IMAGE]) vm.image = cfg[CONFIG_IMAGE];
  if (cfg[CONFIG_BUILD]) vm.build = cfg[CONFIG_BUILD];
  const cpu = Number(cfg['limits.cpu']);
  if (Number.isInteger(cpu) && cpu > 0) vm.cpu = cpu;
  const mem = parseBytes(cfg['limits.memory']);
  if (mem !== undefined) vm.memoryBytes = mem;
  return vm;
}

/** The cluster member an instance is on, or undefined on a standalone Incus. */
export function nodeOf(i: Instance): string | undefined {
  return i.location && i.location !== 'none' ? i.location : undefined;
}

/**
 * How Incus lists an instance on a member that is offline: status Error, its location, and no
 * config at all (the member holds it). A real Error of a reachable instance keeps its config.
 */
export function isOfflineStub(i: Instance): boolean {
  return i.status === 'Error' && !!nodeOf(i) && Object.keys(i.config ?? {}).length === 0;
}

export function sourceOf(image: IncusImage): Record<string, string> {
  if (/^[0-9a-f]{64}$/.test(image.alias) && !image.server) return { type: 'image', fingerprint: image.alias };
  const src: Record<string, string> = { type: 'image', alias: image.alias };
  if (image.server) {
    src.server = image.server;
    src.protocol = image.protocol ?? 'simplestreams';
  }
  return src;
}

/** The body of `POST /1.0/instances` for an instance of `image` on `profile` with these limits and config keys. */
export function instanceBody(o: {
  name: string;
  image: IncusImage;
  cpu: number;
  memoryBytes: number;
  config: Record<string, string>;
  profile: string;
}): { name: string; type: string; source: Record<string, string>; config: Record<string, string>; profiles: string[] } {
  return {
    name: o.name,
    type: o.image.type ?? 'container',
    source: sourceOf(o.image),
    config: { 'limits.cpu': String(o.cpu), 'limits.memory': formatBytes(o.memoryBytes), ...o.config },
    profiles: [o.profile],
  };
}

export function mapState(status: string | undefined): VMState {
  switch (status) {
    case 'Running':
      return 'Running';
    case 'Stopped':
      return 'Stopped';
    case 'Frozen':
      return 'Stopped';
    case 'Starting':
      return 'Starting';
    case 'Stopping':
      return 'Stopping';
    case 'Error':
      return 'Error';
    default:
      return 'Unknown';
  }
}

export function ipv4Of(i: Instance): string | undefined {
  const net = i.state?.network ?? {};
  const names = Object.keys(net).filter((n) => n !== 'lo');
  names.sort((a, b) => (a === 'eth0' ? -1 : b === 'eth0' ? 1 : a.localeCompare(b)));
  for (const n of names) {
    const hit = net[n]?.addresses?.find((a) => a.family === 'inet' && a.scope === 'global');
    if (hit) return hit.address;
  }
  return undefined;
}

const UNITS: [string, number][] = [
  ['TiB', 2 ** 40],
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
];

/** Bytes as an Incus size string: the largest binary unit that divides it, else plain bytes. */
export function formatBytes(bytes: number): string {
  for (const [u, n] of UNITS) if (bytes % n === 0) return `${bytes / n}${u}`;
  return `${Math.round(bytes)}B`;
}

/** An Incus size string (4GiB, 512MB, 1073741824) in bytes; undefined for percentages and junk. */
export function parseBytes(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTPE]i?B|B)?$/i.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'B').toUpperCase();
  if (unit === 'B') return n;
  const pow = 'KMGTPE'.indexOf(unit[0]!) + 1;
  const base = unit.includes('I') ? 1024 : 1000;
  return Math.round(n * base ** pow);
}
