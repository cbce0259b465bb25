// The stub's bookkeeping of calls and the failures a test injects: every driver call counts
// itself and first asks here whether it should fail.
import { RuntimeError } from '../types.js';

export type StubOp =
  | 'list'
  | 'get'
  | 'create'
  | 'start'
  | 'stop'
  | 'delete'
  | 'update'
  | 'exec'
  | 'home'
  | 'buildImage';

/** Asked before every call; a message (or true) makes that call fail. */
export type FailNext = (op: StubOp, name: string | undefined) => string | boolean | undefined;

interface Failure {
  op: StubOp;
  name?: string;
  times: number;
  message: string;
}

export class StubFaults {
  /** Calls made through the driver interface, by operation. */
  readonly calls: Record<StubOp, number> = {
    list: 0,
    get: 0,
    create: 0,
    start: 0,
    stop: 0,
    delete: 0,
    update: 0,
    exec: 0,
    home: 0,
    buildImage: 0,
  };
  readonly #failures: Failure[] = [];
  readonly #failNext: FailNext | undefined;

  constructor(failNext: FailNext | undefined) {
    this.#failNext = failNext;
  }

  /** Makes the next `times` calls of `op` (on `name` only, when given) fail with `message`. */
  fail(op: StubOp, times: number, message: string, name: string | undefined): void {
    this.#failures.push({ op, times, message, ...(name !== undefined ? { name } : {}) });
  }

  /** Counts a call of `op` and throws the RuntimeError injected for it, if any. */
  check(op: StubOp, name?: string): void {
    this.calls[op]++;
    const f = this.#failures.find((f) => f.op === op && (f.name === undefined || f.name === name));
    if (f) {
      if (--f.times <= 0) this.#failures.splice(this.#failures.indexOf(f), 1);
      throw new RuntimeError(f.message);
    }
    const hook = this.#failNext?.(op, name);
    if (hook)
      throw new RuntimeError(
        typeof hook === 'string' ? hook : `stub: injected failure of ${op}${name ? ` ${name}` : ''}`,
      );
  }
}
