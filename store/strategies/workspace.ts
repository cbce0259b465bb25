// Workspace rules that reach other objects: a Port created before its Workspace is adopted
// when the Workspace arrives, and a Workspace's Ports are deleted with it.
import { isDeepStrictEqual } from 'node:util';
import type { Workspace } from '../../specs/index.js';
import { portOwnerRefs } from './port.js';
import type { KindStrategy } from './types.js';

export const workspaceStrategy: KindStrategy<Workspace> = {
  afterCreate(tx, ws) {
    for (const p of tx.portsOf(ws.metadata.name)) {
      const refs = portOwnerRefs(tx, p);
      if (isDeepStrictEqual(refs, p.metadata.ownerReferences)) continue;
      tx.rewrite(p, (next) => {
        next.metadata.ownerReferences = refs;
      });
    }
  },
  afterRemove(tx, ws) {
    // A Port's owner is always the Workspace its spec names (set and kept from spec.workspace).
    for (const p of tx.portsOf(ws.metadata.name)) tx.delete('Port', p.metadata.name);
  },
};
