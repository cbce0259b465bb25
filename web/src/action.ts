// What the elements with a button that calls the API share (a create, a delete, a port to add, a
// start or stop): whether the call is in flight (the button is disabled meanwhile) and the
// message of the last failure. A plain helper the element holds; each change re-renders the
// element, as a state property would.
import type { ReactiveControllerHost } from 'lit';
import { errorMessage } from '../../specs/errors.js';

export class ActionState {
  #busy = false;
  #error = '';

  constructor(private readonly host: ReactiveControllerHost) {}

  /** A call is in flight. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Why the last call failed (or what the element found wrong before calling); '' when nothing did. */
  get error(): string {
    return this.#error;
  }

  set error(message: string) {
    if (message === this.#error) return;
    this.#error = message;
    this.host.requestUpdate();
  }

  /**
   * Runs `call` unless one is in flight: busy meanwhile, the error cleared first and, if it fails,
   * set to what `message` makes of the failure. Never rejects.
   */
  async run(call: () => Promise<unknown>, message: (err: unknown) => string = errorMessage): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.#error = '';
    this.host.requestUpdate();
    try {
      await call();
    } catch (err) {
      this.error = message(err);
    } finally {
      this.#busy = false;
      this.host.requestUpdate();
    }
  }
}
