// Trailing debounce with a maximum wait: a burst of file events (an editor's save by
// rename, a `git checkout` of many files) becomes one call, made `waitMs` after the last
// event, and never later than `maxWaitMs` after the first one, so that a folder that keeps
// changing is still read now and then. Time comes from the injected clock.
import { realClock, type Clock, type Timer } from '../controller/queue/index.js';

export class Debouncer {
  readonly #fn: () => void;
  readonly #waitMs: number;
  readonly #maxWaitMs: number;
  readonly #clock: Clock;
  #timer: Timer | undefined;
  /** When the first event not yet handed on arrived; undefined when none is pending. */
  #firstAt: number | undefined;

  constructor(fn: () => void, waitMs: number, maxWaitMs: number, clock: Clock = realClock) {
    this.#fn = fn;
    this.#clock = clock;
    this.#waitMs = Math.max(0, waitMs);
    this.#maxWaitMs = Math.max(this.#waitMs, maxWaitMs);
  }

  /** An event arrived: (re)start the quiet period. */
  trigger(): void {
    const now = this.#clock.now();
    this.#firstAt ??= now;
    const due = Math.min(now + this.#waitMs, this.#firstAt + this.#maxWaitMs);
    this.#timer?.cancel();
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, due - now));
  }

  /** True while events wait to be handed on. */
  get pending(): boolean {
    return this.#firstAt !== undefined;
  }

  /** True when the pending events have waited their maximum: the caller should not wait any longer. */
  get overdue(): boolean {
    return this.#firstAt !== undefined && this.#clock.now() - this.#firstAt >= this.#maxWaitMs;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#firstAt = undefined;
    this.#fn();
  }

  /** Drops whatever is pending. */
  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#firstAt = undefined;
  }
}
