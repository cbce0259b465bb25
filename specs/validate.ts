// Validation of user manifests against the TypeBox schemas: defaults first, then every
// violation reported with its field path (never just the first one).
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { API_VERSION, type StatusCause } from './meta.js';
import { KINDS, kindByName, type KindInfo } from './kinds.js';
import { parseQuantity } from './quantity.js';
import { portSpecCauses } from './port.js';

const MIN_MEMORY = 64 * 2 ** 20;
const MAX_MEMORY = 2 ** 40;

// TypeBox knows no string formats until they are registered: without this, every timestamp
// (creationTimestamp, lastTransitionTime) fails with "Unknown format 'date-time'".
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));

const compiled = new Map<TSchema, TypeCheck<TSchema>>();
function checker(schema: TSchema): TypeCheck<TSchema> {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  return c;
}

/** `/spec/resources/memory` → `spec.resources.memory`; `/metadata/finalizers/0` → `metadata.finalizers[0]`. */
export function pointerToField(pointer: string, prefix = ''): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = prefix;
  for (const p of parts) out += /^[0-9]+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function causeOf(e: ValueError, prefix: string): StatusCause {
  const field = pointerToField(e.path, prefix);
  const s = e.schema as Record<string, unknown>;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { field, reason: 'FieldValueRequired', message: 'Required value' };
    case ValueErrorType.ObjectAdditionalProperties:
      if (s.patternProperties) {
        const key = e.path.split('/').pop()!.replace(/~1/g, '/').replace(/~0/g, '~');
        return {
          field,
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${show(key)}: a key must be [prefix/]name, the name 1..63 of letters, digits, '-', '_' or '.', starting and ending alphanumeric`,
        };
      }
      return { field, reason: 'FieldValueUnknown', message: `unknown field "${field.split('.').pop()}"` };
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
      return {
        field,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${show(e.value)}: must be between ${s.minimum} and ${s.maximum}, inclusive`,
      };
    case ValueErrorType.StringMaxLength:
      return {
        field,
        reason: 'FieldValueTooLong',
        message: `Too long: may not be more than ${s.maxLength} characters`,
      };
    case ValueErrorType.StringMinLength:
      return { field, reason: 'FieldValueRequired', message: 'Required value: may not be empty' };
    case ValueErrorType.StringPattern:
      return {
        field,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${show(e.value)}: ${s.patternMessage ?? s.description ?? `must match ${s.pattern}`}`,
      };
    case ValueErrorType.ArrayMaxItems:
      return { field, reason: 'FieldValueTooMany', message: `Too many: must have at most ${s.maxItems} items` };
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
    case ValueErrorType.String:
    case ValueErrorType.Boolean:
    case ValueErrorType.Object:
    case ValueErrorType.Array: {
      const want = String(s.type ?? 'value');
      const got = e.value === null ? 'null' : Array.isArray(e.value) ? 'array' : typeof e.value;
      return {
        field,
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: ${show(e.value)}: expected ${want}, got ${got}`,
      };
    }
    case ValueErrorType.Literal:
      return {
        field,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${show(e.value)}: supported value: ${show(s.const)}`,
      };
    default:
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${show(e.value)}: ${e.message}` };
  }
}

/** Every violation of `schema` by `value`, one per field path. */
export function schemaCauses(schema: TSchema, value: unknown, prefix = ''): StatusCause[] {
  // Every write and every load checks whole objects: the valid ones (nearly all) take the fast path.
  if (checker(schema).Check(value)) return [];
  const seen = new Set<string>();
  const causes: StatusCause[] = [];
  for (const e of checker(schema).Errors(value)) {
    // A failed union repeats its members' errors under one path; the first is the one to show.
    if (seen.has(e.path)) continue;
    // A missing object also fails its own type check; "Required" already says it.
    if ([...seen].some((p) => e.path.startsWith(`${p}/`))) continue;
    seen.add(e.path);
    causes.push(causeOf(e, prefix));
  }
  return causes;
}

/** Rules of a kind beyond its schema, one function per kind that has any. */
const SEMANTIC: Record<string, (obj: { spec?: unknown }) => StatusCause[]> = {
  Workspace: (obj) =>
    workspaceMemoryCauses((obj.spec as { resources?: { memory?: unknown } } | undefined)?.resources?.memory),
  Port: (obj) => portSpecCauses(obj.spec as { port?: unknown } | undefined),
};

/** A schema-valid object's rules beyond the schema (the Workspace memory range); the store's loader checks them too. */
export function semanticCauses(
  info: KindInfo,
  obj: { spec?: unknown; metadata?: { namespace?: string } },
): StatusCause[] {
  const namespace = obj.metadata?.namespace;
  if (!info.namespaced && namespace !== undefined)
    return [
      {
        field: 'metadata.namespace',
        reason: 'FieldValueForbidden',
        message: `Forbidden: ${info.kind} is not namespaced (one for the whole server); remove metadata.namespace (${show(namespace)})`,
      },
    ];
  return SEMANTIC[info.kind]?.(obj) ?? [];
}

/** spec.resources.memory of a Workspace: 64Mi..1Ti. */
function workspaceMemoryCauses(memory: unknown): StatusCause[] {
  if (typeof memory !== 'string') return [];
  const bytes = parseQuantity(memory);
  if (bytes === undefined) return [];
  if (bytes < MIN_MEMORY || bytes > MAX_MEMORY) {
    return [
      {
        field: 'spec.resources.memory',
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${memory}": must be between 64Mi and 1Ti`,
      },
    ];
  }
  return [];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Fills in schema defaults, descending only into plain objects. (TypeBox's Value.Default
 * also turns an array given for an object into an object with keys "0", "1", ..., so that
 * `spec: [1]` was reported as an unknown field "spec[0]" rather than as a wrong type.)
 */
function withDefaults(schema: TSchema, value: unknown): unknown {
  const s = schema as { default?: unknown; type?: string; properties?: Record<string, TSchema> };
  let v = value === undefined && 'default' in s ? structuredClone(s.default) : value;
  if (s.type === 'object' && s.properties && isPlainObject(v)) {
    const out: Record<string, unknown> = { ...v };
    for (const [k, sub] of Object.entries(s.properties)) {
      const d = withDefaults(sub, out[k]);
      if (d !== undefined) out[k] = d;
    }
    v = out;
  }
  return v;
}

export interface ManifestResult {
  info?: KindInfo;
  /** The manifest with defaults applied and `status` dropped; present only when valid. */
  object?: Record<string, any>;
  causes: StatusCause[];
}

/**
 * Checks one user manifest (any object a user sent: apply, POST, PUT) and applies defaults.
 * `status` is ignored: only the status subresource writes it.
 */
export function validateManifest(doc: unknown): ManifestResult {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return {
      causes: [
        {
          reason: 'FieldValueTypeInvalid',
          message: `expected an object with apiVersion, kind, metadata and spec, got ${doc === null ? 'null' : Array.isArray(doc) ? 'a list' : typeof doc}`,
        },
      ],
    };
  }
  const raw = doc as Record<string, any>;
  const causes: StatusCause[] = [];
  if (raw.apiVersion !== API_VERSION) {
    causes.push(
      raw.apiVersion === undefined
        ? { field: 'apiVersion', reason: 'FieldValueRequired', message: `Required value: must be "${API_VERSION}"` }
        : {
            field: 'apiVersion',
            reason: 'FieldValueNotSupported',
            message: `Unsupported value: ${show(raw.apiVersion)}: supported value: "${API_VERSION}"`,
          },
    );
  }
  const info = typeof raw.kind === 'string' ? kindByName(raw.kind) : undefined;
  if (!info?.userWritable) {
    const supported = KINDS.filter((k) => k.userWritable)
      .map((k) => `"${k.kind}"`)
      .join(', ');
    causes.push(
      raw.kind === undefined
        ? { field: 'kind', reason: 'FieldValueRequired', message: `Required value: one of ${supported}` }
        : {
            field: 'kind',
            reason: 'FieldValueNotSupported',
            message: `Unsupported value: ${show(raw.kind)}: supported values: ${supported}`,
          },
    );
  }
  if (!info?.userWritable) return { causes };

  const { status: _ignored, ...rest } = raw;
  const obj = structuredClone(rest);
  obj.spec = withDefaults(info.specSchema!, obj.spec ?? {});
  causes.push(...schemaCauses(info.schema, obj));
  if (causes.length === 0) causes.push(...semanticCauses(info, obj));
  return causes.length ? { info, causes } : { info, object: obj, causes };
}

/** Checks a status written through the status subresource. */
export function validateStatus(info: KindInfo, status: unknown): StatusCause[] {
  if (!info.statusSchema)
    return [{ field: 'status', reason: 'FieldValueForbidden', message: `${info.kind} has no status subresource` }];
  return schemaCauses(info.statusSchema, status, 'status');
}
