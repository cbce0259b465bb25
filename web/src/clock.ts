// One shared timer for every ticking age on the page: it runs only while someone listens,
// and every listener sees the same "now" on a tick.

export type TickListener = (now: number) => void;

const listeners = new Set<TickListener>();
let timer: ReturnType<typeof setInterval> | undefined;

/** Tick period in milliseconds. */
export const TICK_MS = 1000;

/** Calls `fn` once a second until the returned function is called. */
export function onTick(fn: TickListener): () => void {
  listeners.add(fn);
  if (timer === undefined) {
    timer = setInterval(() => {
      const now = Date.now();
      for (const l of listeners) l(now);
    }, TICK_MS);
  }
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** How many listeners the shared timer has (for tests). */
export function tickListenerCount(): number {
  return listeners.size;
}
