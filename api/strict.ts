// Strict input beyond the schemas: one value per JSON key (JSON.parse keeps the last of
// duplicates silently, the YAML parser refuses them), and status objects without unknown
// fields (the status schemas leave them open for the controller's own writes).
import type { TSchema } from '@sinclair/typebox';
import { schemaCauses, type KindInfo, type StatusCause } from '../specs/index.js';

/** Offset of the second occurrence of a key in one JSON object of `s` (valid JSON), or -1. */
export function duplicateKeyOffset(s: string): { offset: number; key: string } | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 /* " */) {
      const start = i;
      for (i++; i < s.length && s.charCodeAt(i) !== 34; i++) if (s.charCodeAt(i) === 92) i++;
      const top = stack.at(-1);
      if (top && expectKey) {
        const key = JSON.parse(s.slice(start, i + 1)) as string;
        if (top.has(key)) return { offset: start, key };
        top.add(key);
        expectKey = false;
      }
    } else if (c === 123 /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 91 /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 125 || c === 93) {
      stack.pop();
      expectKey = false;
    } else if (c === 44 /* , */) expectKey = stack.at(-1) instanceof Set;
  }
  return undefined;
}

function closed(schema: TSchema): TSchema {
  const s: TSchema & Record<string, any> = schema;
  if (Array.isArray(s.anyOf)) return { ...s, anyOf: s.anyOf.map(closed) };
  if (s.type === 'array' && s.items) return { ...s, items: closed(s.items) };
  if (s.type !== 'object' || !s.properties) return schema;
  const properties = Object.fromEntries(
    Object.entries(s.properties as Record<string, TSchema>).map(([k, v]) => [k, closed(v)]),
  );
  return { ...s, properties, additionalProperties: s.additionalProperties ?? false };
}

const strictSchemas = new Map<string, TSchema>();

/** Every problem of a status written through the status subresource, unknown fields included. */
export function strictStatusCauses(info: KindInfo, status: unknown): StatusCause[] {
  if (!info.statusSchema)
    return [{ field: 'status', reason: 'FieldValueForbidden', message: `${info.kind} has no status subresource` }];
  let schema = strictSchemas.get(info.kind);
  if (!schema) strictSchemas.set(info.kind, (schema = closed(info.statusSchema)));
  return schemaCauses(schema, status, 'status');
}
