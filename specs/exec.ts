// A command run in a workspace: the contract between the API's exec endpoint (api/exec.ts)
// and the runtime drivers that run it (drivers/runtime). Types only.

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

/** Opens an exec session in the VM of `workspace`. */
export type ExecFunction = (workspace: string, req: ExecRequest) => Promise<ExecSession>;
