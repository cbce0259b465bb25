// What every client command gets: the resolved configuration, an API client, output
// functions, and error reporting that remembers a failure for the exit code.
import type { Command } from 'commander';
import { ApiClient } from './client.js';
import { namespaceFlags } from './namespace.js';
import { resolveClientConfig, type ClientConfig, type GlobalFlags } from './config.js';
import { errorLines, exitCodeOf, type ErrorContext } from './report.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

export class Ctx {
  exitCode = 0;
  constructor(
    readonly config: ClientConfig,
    readonly client: ApiClient,
    readonly io: Io,
  ) {}

  out(text: string): void {
    this.io.out(text);
  }

  /** Prints an error as kubectl does and remembers the exit code; the command goes on. */
  report(err: unknown, extra: Omit<ErrorContext, 'config'> = {}): void {
    for (const l of errorLines(err, { ...extra, config: this.config })) this.io.err(l);
    this.exitCode = Math.max(this.exitCode, exitCodeOf(err));
  }
}

/** Global flags (--server, --data-dir, --context, --config) wherever they were written on the command line. */
export function globalFlags(cmd: Command): GlobalFlags {
  const o = cmd.optsWithGlobals() as GlobalFlags;
  return {
    ...(o.server ? { server: o.server } : {}),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.context ? { context: o.context } : {}),
    ...(o.config ? { config: o.config } : {}),
  };
}

/**
 * Runs a client command: resolves the configuration, opens a client, reports a thrown error
 * and sets the process exit code.
 */
export async function runClient(
  cmd: Command,
  fn: (ctx: Ctx) => Promise<void>,
  opts: { io?: Io /** Exit code of a thrown error (diff uses 2). */; errorExitCode?: number } = {},
): Promise<void> {
  const io = opts.io ?? processIo;
  let ctx: Ctx | undefined;
  try {
    const config = await resolveClientConfig(globalFlags(cmd));
    const scope = namespaceFlags(cmd);
    const client = new ApiClient(config);
    client.namespace = scope.namespace;
    client.allNamespaces = scope.allNamespaces === true;
    ctx = new Ctx(config, client, io);
    await fn(ctx);
    process.exitCode = ctx.exitCode;
  } catch (err) {
    for (const l of errorLines(err, ctx ? { config: ctx.config } : {})) io.err(l);
    process.exitCode = Math.max(ctx?.exitCode ?? 0, opts.errorExitCode ?? exitCodeOf(err));
  } finally {
    await ctx?.client.close();
  }
}
