// Port rules that span objects: at most MAX_PORTS_PER_WORKSPACE per workspace, one Port per
// port of a workspace, and the Workspace its spec names as its owner (set and kept from
// spec.workspace, or none while that Workspace does not exist).
import { MAX_PORTS_PER_WORKSPACE, keyOf, siblingKey, type OwnerReference, type Port } from '../../specs/index.js';
import { invalid } from '../errors.js';
import type { KindStrategy, StrategyTx } from './types.js';

function checkSiblings(tx: StrategyTx, port: Port) {
  const ws = port.spec.workspace;
  const key = keyOf(port);
  const siblings = tx.portsOf(siblingKey(key, ws)).filter((p) => keyOf(p) !== key);
  if (siblings.length >= MAX_PORTS_PER_WORKSPACE) {
    throw invalid('Port', port.metadata.name, [
      {
        field: 'spec.workspace',
        reason: 'FieldValueTooMany',
        message: `Too many: workspace "${ws}" already has ${siblings.length} Ports (${siblings.map((p) => p.metadata.name).join(', ')}); at most ${MAX_PORTS_PER_WORKSPACE} Ports may name one Workspace`,
      },
    ]);
  }
  const same = siblings.find((p) => p.spec.port === port.spec.port);
  if (same) {
    throw invalid('Port', port.metadata.name, [
      {
        field: 'spec.port',
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${port.spec.port}: port "${same.metadata.name}" already publishes port ${port.spec.port} of workspace "${ws}"`,
      },
    ]);
  }
}

/** The owner references a Port should have: its Workspace, when that exists. */
export function portOwnerRefs(tx: StrategyTx, port: Port): OwnerReference[] | undefined {
  const ws = tx.get('Workspace', siblingKey(keyOf(port), port.spec.workspace));
  if (!ws) return undefined;
  return [
    { apiVersion: ws.apiVersion, kind: 'Workspace', name: ws.metadata.name, uid: ws.metadata.uid!, controller: true },
  ];
}

export const portStrategy: KindStrategy<Port> = {
  prepareCreate(tx, port) {
    checkSiblings(tx, port);
    const refs = portOwnerRefs(tx, port);
    if (refs) port.metadata.ownerReferences = refs;
  },
  prepareUpdate(tx, next, specChanged) {
    if (specChanged) checkSiblings(tx, next);
    const refs = portOwnerRefs(tx, next);
    if (refs) next.metadata.ownerReferences = refs;
    else delete next.metadata.ownerReferences;
  },
};
