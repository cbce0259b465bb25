// Turns any error into what the user sees and the exit code, as kubectl prints them.
import type { ClientConfig } from './config.js';
import { CliError, ConnectionError, ServerError, formatCause } from './errors.js';
import { ManifestError, locate, type Bundle } from './manifests.js';

export interface ErrorContext {
  config?: ClientConfig;
  /** The manifests behind the request, to point causes at files and lines. */
  bundle?: Bundle;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function unauthorizedHint(config: ClientConfig | undefined): string {
  if (!config) return 'check TIDEPOOL_USER and TIDEPOOL_PASSWORD';
  switch (config.credentialsSource) {
    case 'env':
      return `the server at ${config.server} rejected the user and password in TIDEPOOL_USER / TIDEPOOL_PASSWORD`;
    case 'context':
      return (
        `the server at ${config.server} rejected the sign-in of context "${config.context}" (${config.configFile}); ` +
        `run tidepool login ${config.server}`
      );
    case 'file':
      return (
        `the server at ${config.server} rejected the credentials in ${config.credentialsFile}; ` +
        'is that the data directory of this server? Set --data-dir (TIDEPOOL_DATA_DIR) to it, or TIDEPOOL_USER / TIDEPOOL_PASSWORD'
      );
    default:
      return (
        `no credentials: there is no credentials file at ${config.credentialsFile}; set --data-dir (TIDEPOOL_DATA_DIR) ` +
        "to the server's data directory, or TIDEPOOL_USER / TIDEPOOL_PASSWORD"
      );
  }
}

/** The lines to print on stderr for one error. */
export function errorLines(err: unknown, ctx: ErrorContext = {}): string[] {
  if (err instanceof ServerError) {
    if (err.code === 401)
      return [`error: You must be logged in to the server (Unauthorized): ${unauthorizedHint(ctx.config)}`];
    const causes = err.causes;
    const located =
      ctx.bundle && causes.length > 0 && causes.some((c) => c.line !== undefined || c.document !== undefined);
    if (located) {
      const whole =
        err.code === 400 || err.code === 413 || err.code === 415 || err.code === 422 ? '; nothing was applied' : '';
      return [
        `Error from server (${err.reason}): ${plural(causes.length, 'problem')}${whole}:`,
        ...causes.map((c) => formatCause(locate(ctx.bundle!, c))),
      ];
    }
    return [`Error from server (${err.reason}): ${err.message}`];
  }
  if (err instanceof ManifestError) {
    return [
      `error: ${plural(err.causes.length, 'problem')} in the manifests; nothing was sent:`,
      ...err.causes.map(formatCause),
    ];
  }
  if (err instanceof CliError || err instanceof ConnectionError) return [`error: ${err.message}`];
  if (err instanceof Error) return [`error: ${err.message}`];
  return [`error: ${String(err)}`];
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : 1;
}
