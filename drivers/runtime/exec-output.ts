// The output of an exec session, kept until someone listens: a command may print before the
// caller (the API's exec bridge) has attached its reader, and that output must not be lost.
type Stream = 'stdout' | 'stderr';
type Listener = (stream: Stream, data: Uint8Array) => void;

export class ExecOutput {
  readonly #listeners: Listener[] = [];
  readonly #pending: [Stream, Uint8Array][] = [];

  deliver(stream: Stream, data: Uint8Array): void {
    if (this.#listeners.length) for (const l of this.#listeners) l(stream, data);
    else this.#pending.push([stream, data]);
  }

  /** Adds a listener and hands it what came before. */
  listen(cb: Listener): void {
    this.#listeners.push(cb);
    for (const [s, d] of this.#pending.splice(0)) cb(s, d);
  }
}
