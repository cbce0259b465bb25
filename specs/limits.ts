// Size limits per object, in the spirit of Kubernetes: label keys and values as it defines
// them (checked by the schema in meta.ts), at most 64 labels, annotations at most 256 KiB
// in all (Kubernetes' TotalAnnotationSizeLimitB), and the whole object at most 512 KiB
// serialized (etcd refuses 1.5 MiB; a manifest here is a few hundred bytes).
import type { StatusCause } from './meta.js';

export const MAX_LABELS = 64;
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;
export const MAX_OBJECT_BYTES = 512 * 1024;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** What makes `obj` too big, one cause per limit it breaks. */
export function sizeCauses(
  obj: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } },
  json?: string,
): StatusCause[] {
  const causes: StatusCause[] = [];
  const labels = obj.metadata?.labels;
  if (labels && Object.keys(labels).length > MAX_LABELS) {
    causes.push({
      field: 'metadata.labels',
      reason: 'FieldValueTooMany',
      message: `Too many: ${Object.keys(labels).length}: must have at most ${MAX_LABELS} labels`,
    });
  }
  const ann = obj.metadata?.annotations;
  if (ann) {
    let total = 0;
    for (const [k, v] of Object.entries(ann)) total += bytes(k) + bytes(String(v));
    if (total > MAX_ANNOTATIONS_BYTES) {
      causes.push({
        field: 'metadata.annotations',
        reason: 'FieldValueTooLong',
        message: `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes in all, got ${total}`,
      });
    }
  }
  const text = json ?? JSON.stringify(obj);
  // UTF-16 length is at most the UTF-8 size times 1; count bytes only when it could matter.
  const size = text.length * 3 <= MAX_OBJECT_BYTES ? text.length : bytes(text);
  if (size > MAX_OBJECT_BYTES) {
    causes.push({
      reason: 'FieldValueTooLong',
      message: `Too long: the object is ${size} bytes serialized; at most ${MAX_OBJECT_BYTES} are allowed`,
    });
  }
  return causes;
}
