// kubectl's namespace flags, global to every client command: `-n/--namespace NS` addresses
// NS (/api/v1/namespaces/NS/...; apply puts every object there and refuses one naming
// another), `-A/--all-namespaces` lists and watches every namespace (admins), with a
// NAMESPACE column. Without either, requests use today's paths, which the server reads as
// the person's own namespace: a single-user install sees exactly what it saw before.
import type { Command } from 'commander';
import { isDnsLabel, namespaceOf } from '../specs/index.js';
import type { ApiObject } from './client.js';
import { CliError } from './errors.js';

export interface NamespaceFlags {
  namespace?: string;
  allNamespaces?: boolean;
}

export function registerNamespaceFlags(program: Command): void {
  program
    .option(
      '-n, --namespace <namespace>',
      'the namespace to work in (default: your own; `default` on a single-user server)',
    )
    .option('-A, --all-namespaces', 'list and watch objects of every namespace (admins), with a NAMESPACE column');
}

/** The namespace flags given anywhere on the command line, checked. */
export function namespaceFlags(cmd: Command): NamespaceFlags {
  const o = cmd.optsWithGlobals() as NamespaceFlags;
  if (o.namespace !== undefined && !isDnsLabel(o.namespace))
    throw new CliError(
      `--namespace must be a DNS label (lowercase letters, digits and '-', 1..63, starting and ending alphanumeric), got "${o.namespace}"`,
    );
  return { ...(o.namespace !== undefined ? { namespace: o.namespace } : {}), allNamespaces: o.allNamespaces === true };
}

/** A table with kubectl's NAMESPACE column first (for -A). */
export function withNamespaceColumn(header: string[], rows: string[][], items: readonly ApiObject[]): void {
  header.unshift('NAMESPACE');
  for (const [i, r] of rows.entries()) r.unshift(namespaceOf(items[i]!));
}
