// Tart has no labels: this Tidepool's VMs are the ones named "tp-<8 hex of its id>-<workspace>".
import { createHash } from 'node:crypto';

export const TART_PREFIX = 'tp-';

/** The prefix of this Tidepool's VM names. */
export function tartPrefix(tidepoolId: string): string {
  return `${TART_PREFIX}${createHash('sha256').update(`tidepool:${tidepoolId}`).digest('hex').slice(0, 8)}-`;
}
