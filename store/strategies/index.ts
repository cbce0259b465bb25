// The strategy of each kind (store/strategies/types.ts); kinds without rules of their own
// (Event, Sync) have none. Events' caps and TTL are the store's (store.ts #pruneEvents).
import type { Resource } from '../types.js';
import { portStrategy } from './port.js';
import type { KindStrategy } from './types.js';
import { workspaceStrategy } from './workspace.js';

export type { KindStrategy, StrategyTx } from './types.js';
export { imageTemplateAdmission, type Admission } from './workspace.js';

const STRATEGIES: Record<string, KindStrategy> = {
  Workspace: workspaceStrategy as unknown as KindStrategy,
  Port: portStrategy as unknown as KindStrategy,
};

const NONE: KindStrategy = {};

export function strategyOf(obj: Resource): KindStrategy {
  return STRATEGIES[obj.kind] ?? NONE;
}
