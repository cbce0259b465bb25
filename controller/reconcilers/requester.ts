// Who asked for what the controller is doing: the person whose write last set the spec, from
// metadata.managedFields (the API records a write as the person signed in, api/namespaces.ts).
// Events of a create, start or stop name them, so a shared server's event list says who. Tools
// (tidepool-api, tidepool-apply, tidepool-power, tidepool-ui, a sync:NAME) are no person: a
// single-user install's events read as they always did.
import type { Workspace } from '../../specs/index.js';

const TOOL = /^(tidepool-|sync:)/;

/** The person who last set a field of the spec, if a person did. */
export function requesterOf(ws: Workspace): string | undefined {
  const entries = (ws.metadata.managedFields ?? []).filter((m) => m.fields.some((f) => f.startsWith('spec.')));
  const last = entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).at(-1);
  return last && !TOOL.test(last.manager) ? last.manager : undefined;
}

/** " (asked by alice)" when a person asked, else nothing. */
export function askedBy(ws: Workspace): string {
  const who = requesterOf(ws);
  return who ? ` (asked by ${who})` : '';
}
