// The runtime driver contract: how the controller sees VMs and system containers.
// Implementations: stub (in memory), incus (REST over the unix socket), tart (CLI).
// The controller imports only this file, never a concrete driver.

export type VMState = 'Running' | 'Stopped' | 'Starting' | 'Stopping' | 'Error' | 'Unknown';

export interface VM {
  /** The Workspace name this VM belongs to (the driver maps it to its own instance name). */
  name: string;
  state: VMState;
  /** IPv4 address reachable from the host; absent until the guest has one (DHCP). */
  ip?: string;
  /** Image template name it was created from, when the driver knows it. */
  image?: string;
  cpu?: number;
  memoryBytes?: number;
  /** The runtime's own words when state is Error. */
  message?: string;
}

export interface CreateVMRequest {
  /** Workspace name. */
  name: string;
  /** Image template name (Workspace spec.image); the driver maps it to its runtime image through its image map. */
  image: string;
  cpu: number;
  memoryBytes: number;
  /** Start it as part of creation (one operation where the runtime allows). */
  start: boolean;
}

/** A command to run inside a running VM (`tidepool exec`, `tidepool shell`). */
export interface ExecRequest {
  command: string[];
  /** A terminal: stdout and stderr arrive merged on stdout, and `resize` applies. */
  tty: boolean;
  width?: number;
  height?: number;
  /** Run as this uid/gid (the workspace's `dev` user is 1000). Defaults to root. */
  uid?: number;
  gid?: number;
  cwd?: string;
  env?: Record<string, string>;
}

/** A running command: its input, its output, and how it ended. */
export interface ExecSession {
  write(data: Uint8Array): void;
  /** End of input (the command sees EOF on its stdin). */
  endInput(): void;
  resize(width: number, height: number): void;
  /** Delivers output as it comes; stderr only without a tty. */
  onOutput(cb: (stream: 'stdout' | 'stderr', data: Uint8Array) => void): void;
  /** The command's exit code once it ended (and its output was delivered). */
  readonly exitCode: Promise<number>;
  /** Ends the command (SIGKILL) and the session. */
  kill(): void;
}

export interface RuntimeDriver {
  readonly name: string;
  /**
   * Every VM that this Tidepool manages (marked with its id at creation), with state and IP,
   * in one call. VMs of other Tidepools and unmanaged ones are never listed.
   */
  list(): Promise<VM[]>;
  /** Creates the VM (and starts it when asked). Fails if it already exists. */
  create(req: CreateVMRequest): Promise<void>;
  /** Starts a stopped VM; starting a running one is not an error. */
  start(name: string): Promise<void>;
  /** Stops gracefully, forcing after a timeout; stopping a stopped one is not an error. */
  stop(name: string): Promise<void>;
  /** Deletes the VM and its disk, stopping it first if needed; a missing VM is not an error. */
  delete(name: string): Promise<void>;
  /** Reports VMs that changed behind Tidepool's back (by Workspace name), when the runtime can tell. Returns an unsubscribe. */
  subscribe?(onChange: (name: string) => void): () => void;
  /** Runs a command in a running VM, when the runtime can (Incus exec websockets). */
  exec?(name: string, req: ExecRequest): Promise<ExecSession>;
  close?(): Promise<void>;
}

/** Every reason a RuntimeError may carry (a CamelCase word for conditions), from all drivers. */
export const RUNTIME_ERROR_REASONS = [
  'RuntimeError', 'InvalidConfig', 'RuntimeUnavailable', 'Timeout', 'UnknownImage', 'ImageNotFound',
  'NotFound', 'NotRunning', 'AlreadyExists', 'NameConflict', 'Conflict', 'BadRequest', 'Forbidden',
  // Incus
  'IncusError', 'OperationFailed',
  // Tart: which `tart` command failed
  'TartError', 'CloneFailed', 'CreateFailed', 'StartFailed', 'StopFailed', 'DeleteFailed',
] as const;
export type RuntimeErrorReason = (typeof RUNTIME_ERROR_REASONS)[number];

/** A failure the runtime reported, with its own message; `reason` is a CamelCase word for conditions. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly reason: RuntimeErrorReason = 'RuntimeError',
    /** HTTP-like status from the runtime when it has one (Incus error_code). */
    readonly code?: number,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}
