// Workspace rules that reach other objects: a Port created before its Workspace is adopted
// when the Workspace arrives, and a Workspace's Ports are deleted with it. And the admission
// by the server's own configuration (what the schema cannot know): spec.image must name an
// image template this server maps to a runtime image (the --image flags and the runtime's
// defaults); otherwise the write is refused with the known names, instead of being accepted
// and failing later in the controller. (The range of spec.resources.memory is the schema's
// side: specs/validate.ts.)
import { isDeepStrictEqual } from 'node:util';
import { keyOf, type StatusCause, type Workspace } from '../../specs/index.js';
import { isKind, type Resource } from '../types.js';
import { portOwnerRefs } from './port.js';
import { checkQuota } from './quota.js';
import type { KindStrategy } from './types.js';

export const workspaceStrategy: KindStrategy<Workspace> = {
  prepareCreate(tx, ws) {
    checkQuota(tx, ws, undefined);
  },
  prepareUpdate(tx, next, specChanged) {
    if (specChanged) checkQuota(tx, next, tx.get('Workspace', keyOf(next)));
  },
  afterCreate(tx, ws) {
    for (const p of tx.portsOf(keyOf(ws))) {
      const refs = portOwnerRefs(tx, p);
      if (isDeepStrictEqual(refs, p.metadata.ownerReferences)) continue;
      tx.rewrite(p, (next) => {
        next.metadata.ownerReferences = refs;
      });
    }
  },
  afterRemove(tx, ws) {
    // A Port's owner is always the Workspace its spec names (set and kept from spec.workspace).
    for (const p of tx.portsOf(keyOf(ws))) tx.delete('Port', keyOf(p));
  },
};

/** What an admission may read: the objects as the transaction that writes sees them. */
export type AdmissionLookup = (kind: string, name: string) => Resource | undefined;

/** Store.admission: the violations of a created object or a changed spec. */
export type Admission = (obj: Resource, current: Resource | undefined, lookup?: AdmissionLookup) => StatusCause[];

/**
 * spec.image of a Workspace (and spec.base of an ImageTemplate) must name one of the server's
 * templates or an ImageTemplate object (declared before it, or in the same apply).
 */
export function imageTemplateAdmission(templates: readonly string[]): Admission {
  const known = [...templates].sort();
  return (obj, current, lookup) => {
    const field = isKind(obj, 'Workspace') ? 'image' : isKind(obj, 'ImageTemplate') ? 'base' : undefined;
    if (!field) return [];
    const image: string | undefined = (obj.spec as Record<string, string> | undefined)?.[field];
    // Only a new object, or a changed image, is checked: an old object whose template was
    // removed from the configuration can still be stopped, started or deleted.
    if (
      image === undefined ||
      known.includes(image) ||
      lookup?.('ImageTemplate', image) !== undefined ||
      (current && (current.spec as Record<string, string> | undefined)?.[field] === image)
    )
      return [];
    if (field === 'base' && image === obj.metadata.name)
      return [
        {
          field: 'spec.base',
          reason: 'FieldValueInvalid',
          message: 'Invalid value: a template cannot be its own base',
        },
      ];
    return [
      {
        field: `spec.${field}`,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${image}": supported values: ${known.map((t) => `"${t}"`).join(', ')} (image templates of this server; add one with serve --image ${image}=ALIAS), or the name of an ImageTemplate`,
      },
    ];
  };
}
