// The NodeService the API's /api/v1/nodes serves, over a clustered runtime: the runtime lists
// and cordons members; after a cordon the controller looks at every workspace at once (a
// resync), so a drain starts moving now rather than at the next periodic resync.
import type { RuntimeDriver } from '../drivers/runtime/types.js';
import type { NodeService } from '../specs/index.js';

export function nodeService(runtime: RuntimeDriver, resync: () => Promise<void>): NodeService | undefined {
  const { nodes, cordon } = runtime;
  if (!nodes || !cordon) return undefined;
  return {
    list: () => nodes.call(runtime),
    async cordon(name, on) {
      const node = await cordon.call(runtime, name, on);
      void resync().catch(() => undefined);
      return node;
    },
  };
}
