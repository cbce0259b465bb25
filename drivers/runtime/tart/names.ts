// Tart has no labels: this Tidepool's VMs are the ones named "tp-<8 hex of its id>-<workspace>".
import { createHash } from 'node:crypto';

export const TART_PREFIX = 'tp-';

/** The prefix of this Tidepool's VM names. */
export function tartPrefix(tidepoolId: string): string {
  return `${TART_PREFIX}${createHash('sha256').update(`tidepool:${tidepoolId}`).digest('hex').slice(0, 8)}-`;
}

/**
 * The end of a workspace's VM name: the workspace's key (specs/object-key.ts), its '/' (a
 * namespace's) written '.', which no name holds, since Tart keeps each VM in a folder of its name.
 */
export const vmSuffix = (workspace: string) => workspace.replace('/', '.');

/** The workspace key of a VM name's end (vmSuffix's inverse). */
export const workspaceOfSuffix = (suffix: string) => suffix.replace('.', '/');
