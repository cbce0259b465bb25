// The one shape of a driver's failure, shared by the runtime and proxy contracts: the
// driver's own message (Incus's, Caddy's, tart's words) and a machine-readable `reason`, a
// CamelCase word the controller puts in a condition as it is. RuntimeError and ProxyError
// extend it with their own reason lists, so `instanceof` still tells which side failed.
export class DriverError<Reason extends string = string> extends Error {
  constructor(
    message: string,
    readonly reason: Reason,
  ) {
    super(message);
    // The subclass's name (RuntimeError, ProxyError) in stack traces and logs.
    this.name = new.target.name;
  }
}
