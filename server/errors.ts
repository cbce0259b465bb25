/**
 * Tidepool cannot start as configured (a flag's value, the store, a busy address, a missing
 * Incus): the message says what and where; `tidepool serve` prints it as one `error:` line.
 */
export class ServeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServeError';
  }
}
