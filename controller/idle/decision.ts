// The idle decision: given when each signal last saw a workspace used, is it idle for longer
// than its idle timeout? Pure (the caller passes the clock), so it is tested with a fake one.
// The signals and how they are measured are in ./activity.ts.

/** What can show a workspace is used (see ./activity.ts for how each is measured). */
export const IDLE_SIGNALS = ['start', 'proxy', 'network', 'exec', 'cpu'] as const;
export type IdleSignal = (typeof IDLE_SIGNALS)[number];

/** How each signal reads in an event or a condition. */
export const SIGNAL_WORDS: Record<IdleSignal, string> = {
  start: 'its start (nothing used it since)',
  proxy: 'a request through the proxy to its IDE or a Port',
  network: 'traffic on its network (an open IDE being used, a download)',
  exec: 'an exec or shell session',
  cpu: 'CPU use above the threshold (a build, a test run)',
};

export interface IdleInput {
  /** Now, ms. */
  nowMs: number;
  /** The workspace's idle timeout, ms; 0 or less means never. */
  timeoutMs: number;
  /** When each signal last saw it used (ms); an absent signal never did. */
  seen: Partial<Record<IdleSignal, number>>;
}

export type IdleVerdict =
  | { idle: false; reason: 'NoTimeout' | 'NoSignal' }
  | {
      idle: boolean;
      /** The signal that saw it used last. */
      lastSignal: IdleSignal;
      /** When that was (ms). */
      lastActiveMs: number;
      /** When it falls asleep if nothing uses it meanwhile (ms). */
      sleepAtMs: number;
    };

/**
 * Idle when the latest of the signals is at least `timeoutMs` old. Without a timeout, never;
 * without any signal (not even its start), never either: nothing is known, so nothing is done.
 * A signal in the future (a clock step back) counts as now.
 */
export function decideIdle(input: IdleInput): IdleVerdict {
  if (!(input.timeoutMs > 0)) return { idle: false, reason: 'NoTimeout' };
  let last: { signal: IdleSignal; at: number } | undefined;
  for (const signal of IDLE_SIGNALS) {
    const at = input.seen[signal];
    if (at === undefined || Number.isNaN(at)) continue;
    if (!last || at >= last.at) last = { signal, at };
  }
  if (!last) return { idle: false, reason: 'NoSignal' };
  const lastActiveMs = Math.min(last.at, input.nowMs);
  const sleepAtMs = lastActiveMs + input.timeoutMs;
  return { idle: input.nowMs >= sleepAtMs, lastSignal: last.signal, lastActiveMs, sleepAtMs };
}
