// What an object must be to be stored: the kind's schema, its rules beyond the schema, and the
// server-owned metadata (a decimal resourceVersion, a uid). One check for both directions:
// the loader refuses a file holding anything else (store/load.ts), and every write refuses to
// store anything else (Store's commit), so what the store accepts it can always load again.
import { keyOf, kindByName, schemaCauses, semanticCauses, type StatusCause } from '../specs/index.js';
import type { Resource } from './types.js';

const DECIMAL = /^(0|[1-9][0-9]*)$/;

const cause = (field: string | undefined, message: string): StatusCause => ({
  ...(field ? { field } : {}),
  reason: 'FieldValueInvalid',
  message,
});

/** Every reason `o`, stored as `kind` / `key` (specs/object-key.ts), could not be loaded again (none when it can). */
export function storedObjectCauses(kind: string, key: string, o: unknown): StatusCause[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o))
    return [
      cause(undefined, `expected an object, got ${o === null ? 'null' : Array.isArray(o) ? 'a list' : typeof o}`),
    ];
  const info = kindByName(kind);
  if (!info) return [cause('kind', `unknown kind "${kind}"`)];
  const r = o as Resource;
  if (r.kind !== kind) return [cause('kind', `stored under ${kind} but says ${JSON.stringify(r.kind)}`)];
  if (typeof r.metadata?.name !== 'string' || keyOf(r) !== key)
    return [cause('metadata.name', `stored under "${key}" but says ${JSON.stringify(r.metadata?.name)}`)];
  const causes = schemaCauses(info.schema, o);
  if (causes.length) return causes;
  const rv = r.metadata.resourceVersion;
  if (typeof rv !== 'string' || !DECIMAL.test(rv))
    return [cause('metadata.resourceVersion', `must be a decimal integer, got ${JSON.stringify(rv)}`)];
  if (typeof r.metadata.uid !== 'string' || r.metadata.uid === '')
    return [{ field: 'metadata.uid', reason: 'FieldValueRequired', message: 'Required value' }];
  return semanticCauses(info, r);
}
