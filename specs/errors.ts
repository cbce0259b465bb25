// Words about errors, one definition each: the message of whatever was thrown, and a cause
// (a StatusCause) as one line. In specs/ because every other layer (store, api, controller,
// server, cli) may import it.
import type { StatusCause } from './meta.js';

/** The message of an Error, or the thrown value as text (a string, a number, an object). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

/**
 * One cause as compilers print them: `file:line:column: field: message`, with whatever of
 * the location is known. Without a file, `document N:line:column` when `byDocument` is set
 * (a folder sync names the document), else no location at all.
 */
export function formatCause(c: StatusCause, opts: { byDocument?: boolean } = {}): string {
  let where = c.file ?? (opts.byDocument && c.document !== undefined ? `document ${c.document}` : '');
  if (where && c.line !== undefined) where += `:${c.line}${c.column !== undefined ? `:${c.column}` : ''}`;
  const what = c.field ? `${c.field}: ${c.message}` : c.message;
  return where ? `${where}: ${what}` : what;
}
