// What the running instances use, from the instance list with state (one GET
// /1.0/instances?recursion=2 for all of them) and, for the homes, one GET
// /1.0/storage-pools/POOL/volumes/custom/NAME/state per home, kept for a minute (a home's
// size moves slowly and each look may walk the volume on some storage drivers). Where the
// storage driver cannot tell (btrfs without quotas, which Tidepool's pool is: qgroups slow
// every snapshot and delete; dir without project quotas), the home is measured from inside
// with `du` at the lowest priority, at most every five minutes.
import type { VMUsage } from '../types.js';
import type { IncusHomes } from './homes.js';
import { parseBytes, type Instance } from './mapping.js';
import type { IncusScope } from './scope.js';

/** The state fields `usageAll` reads, beyond what vmOf reads. */
interface StateFigures {
  cpu?: { usage?: number };
  memory?: { usage?: number; total?: number };
  network?: Record<string, { type?: string; counters?: { bytes_received?: number; bytes_sent?: number } }> | null;
}

interface WithDevices {
  expanded_devices?: Record<string, Record<string, string>>;
}

const HOME_TTL_MS = 60_000;
/** A home measured inside walks every file of it: seldom. */
const DU_TTL_MS = 300_000;
/** du of "$0" at the lowest priority where the image has `nice` (busybox images may not). */
const DU = 'if command -v nice >/dev/null; then exec nice -n 19 du -skx "$0"; fi; exec du -skx "$0"';

export class IncusUsage {
  readonly #scope: IncusScope;
  readonly #homes: IncusHomes;
  readonly #homeCache = new Map<string, { atMs: number; ttlMs: number; bytes: number | undefined }>();

  constructor(scope: IncusScope, homes: IncusHomes) {
    this.#scope = scope;
    this.#homes = homes;
  }

  /** The usage of each running instance of `own` (this Tidepool's, from a recursion=2 list). */
  async of(own: { instance: Instance; workspace: string }[]): Promise<VMUsage[]> {
    const running = own.filter(({ instance }) => (instance.state?.status ?? instance.status) === 'Running');
    return Promise.all(running.map(({ instance, workspace }) => this.#one(instance, workspace)));
  }

  async #one(i: Instance, workspace: string): Promise<VMUsage> {
    const st = (i.state ?? {}) as StateFigures;
    const u: VMUsage = { name: workspace };
    if (typeof st.cpu?.usage === 'number') u.cpuSeconds = st.cpu.usage / 1e9;
    if (typeof st.memory?.usage === 'number') u.memoryBytes = st.memory.usage;
    const limit = parseBytes(i.config?.['limits.memory']) ?? (st.memory?.total || undefined);
    if (limit !== undefined) u.memoryLimitBytes = limit;
    let rx = 0;
    let tx = 0;
    for (const [nic, n] of Object.entries(st.network ?? {})) {
      if (nic === 'lo' || n.type === 'loopback') continue;
      rx += n.counters?.bytes_received ?? 0;
      tx += n.counters?.bytes_sent ?? 0;
    }
    u.networkRxBytes = rx;
    u.networkTxBytes = tx;
    const home = await this.#homeUsed(i as Instance & WithDevices, workspace);
    if (home !== undefined) u.homeUsedBytes = home;
    return u;
  }

  /** Bytes used by the home volume, as its storage driver tells or else as `du` inside finds (a failure is no figure, not an error). */
  async #homeUsed(i: Instance & WithDevices, workspace: string): Promise<number | undefined> {
    const cached = this.#homeCache.get(workspace);
    if (cached && Date.now() - cached.atMs < cached.ttlMs) return cached.bytes;
    const volume = this.#homes.volumeName(workspace);
    const dev = Object.values(i.expanded_devices ?? {}).find((d) => d.type === 'disk' && d.source === volume);
    if (!dev?.pool) return undefined;
    const path = `/1.0/storage-pools/${encodeURIComponent(dev.pool)}/volumes/custom/${encodeURIComponent(volume)}/state`;
    let bytes = await this.#scope.client
      .call<{ usage?: { used?: number } }>('GET', this.#scope.query(path))
      .then((s) => s?.usage?.used)
      .catch(() => undefined);
    // Incus answers without a figure (or refuses) when its driver cannot tell: measure inside.
    const measuredInside = bytes === undefined;
    if (measuredInside) bytes = await this.#du(i.name, dev.path ?? this.#homes.path);
    this.#homeCache.set(workspace, { atMs: Date.now(), ttlMs: measuredInside ? DU_TTL_MS : HOME_TTL_MS, bytes });
    return bytes;
  }

  /** Bytes of disk under `dir` in the instance, on that file system only, by `du` at the lowest priority (POSIX -k: busybox has it too). */
  async #du(instance: string, dir: string): Promise<number | undefined> {
    try {
      const r = await this.#scope.exec(instance, ['sh', '-c', DU, dir], { timeoutSeconds: 60 });
      // du exits 1 when a file vanished or one was unreadable while it walked: the sum still counts.
      const kib = Number(/^(\d+)\s/.exec(r.stdout)?.[1]);
      return Number.isFinite(kib) ? kib * 1024 : undefined;
    } catch {
      return undefined;
    }
  }
}
