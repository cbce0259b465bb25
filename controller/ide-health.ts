// Keeps probing the IDEs of Ready workspaces, so that Ready means "answers now", not
// "answered once". One round probes every watched IDE (a bounded number at a time) and
// reports only changes: an IDE that failed `failures` rounds in a row is down, one that
// answers again is up. Reports enqueue the workspace key; the reconciler says it in status.
// The cost stays off the resync: a resync of 1000 Ready workspaces probes nothing.
import type { Clock, Timer } from './queue/index.js';
import type { Probe } from './types.js';

export interface IdeHealthOptions {
  /** Time between the end of one round and the start of the next. Defaults to 5 s. */
  intervalMs?: number;
  /** Failed rounds in a row before an IDE is down. Defaults to 2. */
  failures?: number;
  /** Probes in flight at once. Defaults to 16. */
  concurrency?: number;
}

interface Target {
  ip: string;
  fails: number;
  down: boolean;
}

export class IdeHealth {
  readonly #probe: Probe;
  readonly #port: number;
  readonly #clock: Clock;
  readonly #onChange: (name: string) => void;
  readonly #intervalMs: number;
  readonly #failures: number;
  readonly #concurrency: number;
  readonly #targets = new Map<string, Target>();
  #timer: Timer | undefined;
  #stopped = true;

  constructor(probe: Probe, port: number, clock: Clock, onChange: (name: string) => void, opts: IdeHealthOptions = {}) {
    this.#probe = probe;
    this.#port = port;
    this.#clock = clock;
    this.#onChange = onChange;
    this.#intervalMs = opts.intervalMs ?? 5000;
    this.#failures = opts.failures ?? 2;
    this.#concurrency = opts.concurrency ?? 16;
  }

  /** The longest an IDE that stops answering stays Ready: its failed rounds, plus the probe timeout. */
  get detectionMs(): number {
    return this.#intervalMs * this.#failures;
  }

  /** Watches the IDE of `name` at `ip` (it just answered); a new ip starts over as up. */
  watch(name: string, ip: string): void {
    const t = this.#targets.get(name);
    if (t && t.ip === ip) return;
    this.#targets.set(name, { ip, fails: 0, down: false });
  }

  unwatch(name: string): void {
    this.#targets.delete(name);
  }

  /** The reconciler's own probe answered: up again, whatever the last round said. */
  markUp(name: string): void {
    const t = this.#targets.get(name);
    if (t) Object.assign(t, { fails: 0, down: false });
  }

  isDown(name: string): boolean {
    return this.#targets.get(name)?.down ?? false;
  }

  get size(): number {
    return this.#targets.size;
  }

  /** Probes every watched IDE once and reports the ones that went down or came back. */
  async round(): Promise<void> {
    const queue = [...this.#targets.entries()];
    const one = async ([name, t]: [string, Target]) => {
      const ok = await this.#probe(t.ip, this.#port).catch(() => false);
      // Unwatched or moved while the probe ran: that answer is about nothing now.
      if (this.#targets.get(name) !== t) return;
      if (ok) {
        t.fails = 0;
        if (t.down) {
          t.down = false;
          this.#onChange(name);
        }
      } else if (++t.fails >= this.#failures && !t.down) {
        t.down = true;
        this.#onChange(name);
      }
    };
    const workers = Array.from({ length: Math.min(this.#concurrency, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await one(next);
    });
    await Promise.all(workers);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const loop = () => {
      this.#timer = this.#clock.setTimeout(() => {
        if (this.#stopped) return;
        void this.round().finally(() => {
          if (!this.#stopped) loop();
        });
      }, this.#intervalMs);
    };
    loop();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }
}
