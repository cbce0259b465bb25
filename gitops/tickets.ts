// What resync() and the first run wait for: each request takes a ticket, and a finished run
// resolves every ticket taken before it started. A run cut short (files still changing)
// resolves nothing: the run that follows does.

/** Waiters of resync(): resolved once a run that started after their request has finished. */
export class Tickets {
  #made = 0;
  #waiters: { ticket: number; resolve: () => void }[] = [];

  /** A new request; its promise resolves when `finish(covers)` is called with covers >= it. */
  take(): Promise<void> {
    const ticket = ++this.#made;
    return new Promise<void>((res) => this.#waiters.push({ ticket, resolve: res }));
  }

  /** The requests made so far (what a run starting now covers). */
  get made(): number {
    return this.#made;
  }

  finish(covers: number): void {
    const due = this.#waiters.filter((w) => w.ticket <= covers);
    this.#waiters = this.#waiters.filter((w) => w.ticket > covers);
    for (const w of due) w.resolve();
  }

  releaseAll(): void {
    for (const w of this.#waiters.splice(0)) w.resolve();
  }
}
