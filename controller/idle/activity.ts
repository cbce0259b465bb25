// What the idle decision is fed: when each signal last saw each workspace used. The signals,
// all measured by Tidepool itself (nothing runs inside the workspace for it):
//   proxy    a request through Caddy to the IDE or a Port (the access stream, as lastAccessTime);
//   network  the instance's network counters (the runtime's usage) moved faster than a threshold
//            between two ticks: an open IDE WebSocket being typed in, a terminal printing, a
//            download. Caddy logs a WebSocket only when it closes, so this is what sees an IDE
//            in use. An IDE tab left open with no input exchanges only keep-alives, which stay
//            under the threshold;
//   exec     an exec or shell session is open (the API tells when one opens and closes);
//   cpu      the instance used more CPU than a threshold between two ticks (a build, tests);
//   start    when it was last started (a workspace nobody opened sleeps a timeout after it).
import type { VMUsage } from '../../drivers/runtime/types.js';
import type { IdleSignal } from './decision.js';

export interface ActivityThresholds {
  /** CPU above this many cores on average between two samples is use. Defaults to 0.1. */
  cpuCores?: number;
  /** Network traffic (received + sent) above this rate between two samples is use. Defaults to 2048 B/s. */
  networkBytesPerSecond?: number;
}

interface Sample {
  atMs: number;
  cpuSeconds?: number;
  networkBytes?: number;
}

export class Activity {
  readonly cpuCores: number;
  readonly networkBytesPerSecond: number;
  readonly #seen = new Map<string, Partial<Record<IdleSignal, number>>>();
  readonly #samples = new Map<string, Sample>();
  readonly #execOpen = new Map<string, number>();

  constructor(t: ActivityThresholds = {}) {
    this.cpuCores = t.cpuCores ?? 0.1;
    this.networkBytesPerSecond = t.networkBytesPerSecond ?? 2048;
  }

  /** When each signal last saw `name` used, with the open exec sessions counted as now. */
  seen(name: string, nowMs: number): Partial<Record<IdleSignal, number>> {
    const out = { ...this.#seen.get(name) };
    if ((this.#execOpen.get(name) ?? 0) > 0) out.exec = nowMs;
    return out;
  }

  /**
   * Whether work is going on in `name` now: an exec session open, or CPU or network use seen
   * within `windowMs`. Making room never puts such a workspace to sleep (a build would die).
   */
  busy(name: string, nowMs: number, windowMs: number): boolean {
    const s = this.seen(name, nowMs);
    return [s.exec, s.cpu, s.network].some((at) => at !== undefined && nowMs - at <= windowMs);
  }

  note(name: string, signal: IdleSignal, atMs: number): void {
    let s = this.#seen.get(name);
    if (!s) this.#seen.set(name, (s = {}));
    if (atMs > (s[signal] ?? -Infinity)) s[signal] = atMs;
  }

  /** An exec session opened on `name`; the function it returns closes it. */
  execOpened(name: string, atMs: number): (atMs: number) => void {
    this.#execOpen.set(name, (this.#execOpen.get(name) ?? 0) + 1);
    this.note(name, 'exec', atMs);
    let open = true;
    return (closedMs) => {
      if (!open) return;
      open = false;
      const left = (this.#execOpen.get(name) ?? 1) - 1;
      if (left > 0) this.#execOpen.set(name, left);
      else this.#execOpen.delete(name);
      this.note(name, 'exec', closedMs);
    };
  }

  /**
   * One usage sample of a running workspace: CPU and network over the time since the previous
   * one count as use when above the thresholds. A counter that went back (the instance was
   * restarted) starts a new baseline.
   */
  sample(u: VMUsage, atMs: number): void {
    const prev = this.#samples.get(u.name);
    const networkBytes =
      u.networkRxBytes === undefined && u.networkTxBytes === undefined
        ? undefined
        : (u.networkRxBytes ?? 0) + (u.networkTxBytes ?? 0);
    const cur: Sample = { atMs, ...(u.cpuSeconds !== undefined ? { cpuSeconds: u.cpuSeconds } : {}) };
    if (networkBytes !== undefined) cur.networkBytes = networkBytes;
    this.#samples.set(u.name, cur);
    if (!prev) return;
    const dt = (atMs - prev.atMs) / 1000;
    if (!(dt > 0)) return;
    const rate = (a?: number, b?: number) => (a !== undefined && b !== undefined && a >= b ? (a - b) / dt : 0);
    if (rate(cur.cpuSeconds, prev.cpuSeconds) > this.cpuCores) this.note(u.name, 'cpu', atMs);
    if (rate(cur.networkBytes, prev.networkBytes) > this.networkBytesPerSecond) this.note(u.name, 'network', atMs);
  }

  /** Forgets the samples of `name` (it stopped: its counters start again with it). */
  resetSamples(name: string): void {
    this.#samples.delete(name);
  }

  forget(name: string): void {
    this.#seen.delete(name);
    this.#samples.delete(name);
    this.#execOpen.delete(name);
  }
}
