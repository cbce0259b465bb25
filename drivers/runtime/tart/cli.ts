// Running the `tart` CLI with execa: one call, its exit code and output. Exit code 2 from
// tart means: the VM does not exist, is not running, or is already running.
import { execa } from 'execa';
import { RuntimeError, type RuntimeErrorReason } from '../types.js';

export interface TartListEntry {
  Source?: string;
  Name: string;
  Running?: boolean;
  State?: string;
}

export interface TartResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const isLocal = (e: TartListEntry) => !e.Source || e.Source.toLowerCase() === 'local';
export const isRunning = (e: TartListEntry) => e.Running ?? e.State === 'running';

export class TartCli {
  /** The tart executable. */
  readonly path: string;
  /** The environment every call gets on top of this process's (TART_HOME, say). */
  readonly env: Record<string, string>;

  constructor(path: string, env: Record<string, string>) {
    this.path = path;
    this.env = env;
  }

  /** Runs tart; returns exit code and output. Never throws for a non-zero exit; throws when tart cannot run. */
  async run(args: string[], timeoutSeconds = 120): Promise<TartResult> {
    const r = await execa(this.path, args, {
      env: this.env,
      reject: false,
      stdin: 'ignore',
      timeout: timeoutSeconds * 1000,
    });
    if (r.failed && r.exitCode === undefined) {
      const code = (r as { code?: string }).code;
      if (code === 'ENOENT')
        throw new RuntimeError(
          `tart is not available: ${this.path} not found (install Tart: brew install cirruslabs/cli/tart)`,
          'RuntimeUnavailable',
          503,
        );
      if (r.timedOut)
        throw new RuntimeError(`tart ${args[0]} did not finish within ${timeoutSeconds}s`, 'Timeout', 504);
      throw new RuntimeError(
        `tart ${args[0]} could not run: ${r.shortMessage ?? r.message}`,
        'RuntimeUnavailable',
        503,
      );
    }
    return { code: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  /** `tart list --format json`: every VM tart knows, local and OCI. */
  async list(): Promise<TartListEntry[]> {
    const args = ['list', '--format', 'json'];
    const r = await this.run(args, 60);
    if (r.code !== 0) throw tartError(args, r);
    try {
      return JSON.parse(r.stdout) as TartListEntry[];
    } catch {
      throw new RuntimeError(
        `tart list --format json printed something that is not JSON: ${r.stdout.slice(0, 200)}`,
        'TartError',
      );
    }
  }
}

/** The error of a failed tart call: exit 2 is NotFound (404), anything else `reason`. */
export function tartError(
  args: string[],
  r: TartResult,
  reason: RuntimeErrorReason = 'TartError',
  notFound: RuntimeErrorReason = 'NotFound',
): RuntimeError {
  return new RuntimeError(
    `tart ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim() || 'no output'}`,
    r.code === 2 ? notFound : reason,
    r.code === 2 ? 404 : undefined,
  );
}
