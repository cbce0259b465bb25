// status.lastAccessTime from the proxy's access log: what "least recently accessed" means.
// A workspace in use gets one status write at most every `intervalMs` (the first access
// at once, later ones gathered until the interval is over), and the write touches that one
// field of the status as it is at that moment (the workspace reconciler keeps it).
import { timestamp, type StoreClient } from '../store/index.js';
import type { Clock, Timer } from './queue/index.js';
import type { StatusWriter } from './status.js';

export class LastAccessWriter {
  readonly #written = new Map<string, number>();
  readonly #pending = new Map<string, { at: number; timer: Timer }>();

  constructor(
    private readonly store: StoreClient,
    private readonly status: StatusWriter,
    private readonly clock: Clock,
    /** Least time between two writes for one workspace. */
    private readonly intervalMs: number,
  ) {}

  /** A request for `workspace` was served now. */
  accessed(workspace: string): void {
    const now = this.clock.now();
    const pending = this.#pending.get(workspace);
    if (pending) {
      pending.at = now;
      return;
    }
    const last = this.#written.get(workspace);
    if (last === undefined || now - last >= this.intervalMs) {
      this.#write(workspace, now);
      return;
    }
    const timer = this.clock.setTimeout(
      () => {
        const p = this.#pending.get(workspace);
        this.#pending.delete(workspace);
        if (p) this.#write(workspace, p.at);
      },
      last + this.intervalMs - now,
    );
    this.#pending.set(workspace, { at: now, timer });
  }

  #write(workspace: string, at: number): void {
    this.#written.set(workspace, at);
    const ws = this.store.get('Workspace', workspace);
    if (!ws || ws.metadata.deletionTimestamp) {
      this.#written.delete(workspace);
      return;
    }
    const when = timestamp(at);
    const prev = ws.status?.lastAccessTime;
    if (typeof prev === 'string' && prev >= when) return;
    this.status.write('Workspace', workspace, { ...(ws.status ?? {}), lastAccessTime: when });
  }

  stop(): void {
    for (const p of this.#pending.values()) p.timer.cancel();
    this.#pending.clear();
  }
}
