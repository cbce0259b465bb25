// The strategy of each kind (store/strategies/types.ts), one table per store (Event
// retention has the store's settings); kinds without rules of their own (Sync) have none.
import type { KindName, KindTypes } from '../../specs/index.js';
import { type EventRetention, eventStrategy } from './event.js';
import { portStrategy } from './port.js';
import type { KindStrategy } from './types.js';
import { workspaceStrategy } from './workspace.js';

export type { KindStrategy, StrategyTx } from './types.js';
export { EventRetention, type EventRetentionOptions, type SweepTarget } from './event.js';
export { imageTemplateAdmission, type Admission, type AdmissionLookup } from './workspace.js';

type StrategyTable = { [K in KindName]?: KindStrategy<KindTypes[K]> };

const NONE: KindStrategy = {};

/** The strategies of one store: `strategyOf(kind)` is that kind's, or none. */
export function strategies(events: EventRetention): (kind: string) => KindStrategy {
  const table: StrategyTable = {
    Workspace: workspaceStrategy,
    Port: portStrategy,
    Event: eventStrategy(events),
  };
  const byKind = new Map<string, KindStrategy>(Object.entries(table));
  return (kind) => byKind.get(kind) ?? NONE;
}
