// The path parameters and query strings of the API's routes, as TypeBox schemas: Fastify
// validates each request against its route's schemas before the handler runs (so `req.query`
// is typed), and /openapi.json describes the parameters from the same schemas. A query value
// is a string as it arrived (a repeated one an array): booleans and numbers stay strings with a
// pattern, so that '1', '0' and '' keep the meaning they had, and a refused value is a 400
// Status naming the parameter.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifySchemaCompiler, FastifyTypeProvider } from 'fastify';
import { ManagedFieldsEntry, schemaCauses, type StatusCause } from '../specs/index.js';
import { badRequest } from '../store/index.js';

/** Lets route schemas type `req.params` and `req.query` (what @fastify/type-provider-typebox declares). */
export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** A query flag: true, 1; false, 0 or empty (as `?watch` alone) are false. */
export const QueryBool = (description: string) =>
  Type.Optional(Type.String({ pattern: '^(true|false|1|0|)$', patternMessage: 'must be true or false', description }));

export const isTrue = (v: string | undefined): boolean => v === 'true' || v === '1';

const NO_CONTROL = '^[^\\x00-\\x1f\\x7f]*$';

/**
 * The writer named by `?fieldManager=` (kubectl's flag), for managedFields: a name the store
 * could not load again (longer than the schema's limit) or could not show (control characters)
 * is refused before anything is written.
 */
export const FieldManager = Type.Optional(
  Type.String({
    maxLength: ManagedFieldsEntry.properties.manager.maxLength ?? 128,
    pattern: NO_CONTROL,
    patternMessage: 'may not contain control characters',
    description: 'The writer recorded in metadata.managedFields (default: tidepool).',
  }),
);

export const NameParams = Type.Object({ name: Type.String({ description: 'The object name.' }) });

/** The namespace on a /api/v1/namespaces/{namespace}/... path (checked by api/namespaces.ts). */
export const NamespaceParams = Type.Object({ namespace: Type.String({ description: 'The namespace.' }) });

export const WriteQuery = Type.Object({ fieldManager: FieldManager });

export const ListQuery = Type.Object({
  labelSelector: Type.Optional(
    Type.String({
      description: 'Equality (a=b, a!=b) and set-based (a in (x,y), a notin (x), a, !a) requirements, comma-separated.',
    }),
  ),
  watch: QueryBool(
    'Stream changes: newline-delimited JSON {type, object}, or Server-Sent Events with Accept: text/event-stream.',
  ),
  resourceVersion: Type.Optional(
    Type.String({
      description: 'A list not older than this; with watch: replay changes after it (410 Gone when too old).',
    }),
  ),
  allowWatchBookmarks: QueryBool(
    'With watch: a BOOKMARK event carries the resourceVersion after the initial ADDED events.',
  ),
  limit: Type.Optional(
    Type.String({
      pattern: '^(0|[1-9][0-9]{0,8})$',
      patternMessage: 'must be a positive whole number',
      description: 'At most this many objects (by name); metadata.continue names the next page.',
    }),
  ),
  continue: Type.Optional(Type.String({ description: 'The metadata.continue of the page before.' })),
  allNamespaces: QueryBool(
    'On /api/v1/{plural}: objects of every namespace (admins only, as kubectl -A); without it, the requester’s own namespace.',
  ),
});

export const DeleteQuery = Type.Object({
  fieldManager: FieldManager,
  resourceVersion: Type.Optional(Type.String({ description: 'Precondition.' })),
  force: QueryBool('Delete an object a GitOps sync manages (the sync would create it again).'),
});

export const ApplyQuery = Type.Object({
  dryRun: Type.Optional(
    Type.String({
      pattern: '^(true|All|all|server|1|false|None|none|)$',
      patternMessage: 'must be true, All or server',
      description: 'Validate and report, write nothing.',
    }),
  ),
  prune: QueryBool('Delete the objects of the applyset that the body no longer declares.'),
  applyset: Type.Optional(Type.String({ description: 'The set these objects belong to (for prune).' })),
  allowEmptyPrune: QueryBool('Let an empty body prune every object of the applyset.'),
  fieldManager: FieldManager,
});

export const LogQuery = Type.Object({
  follow: Type.Optional(Type.String({ description: 'true: keep the response open and send new lines.' })),
  sinceSeconds: Type.Optional(
    Type.String({
      pattern: '^[0-9]+$',
      patternMessage: 'must be a non-negative integer',
      description: 'Lines of the last N seconds.',
    }),
  ),
  sinceTime: Type.Optional(Type.String({ description: 'Lines since this RFC 3339 time.' })),
  tailLines: Type.Optional(
    Type.String({
      pattern: '^[0-9]+$',
      patternMessage: 'must be a non-negative integer',
      description: 'The last N lines.',
    }),
  ),
});

/** The 400 of a refused path parameter or query string, naming each parameter. */
function refusal(schema: TSchema, part: string, data: unknown, causes: StatusCause[]): Error {
  const values = (data ?? {}) as Record<string, unknown>;
  const named = causes.map((c) => ({ ...c, field: c.field || part }));
  const field = named[0]!.field;
  const value = values[field];
  if (Array.isArray(value))
    return badRequest(`query parameter "${field}" was given ${value.length} times; give it once`, named);
  const prop = (schema.properties as Record<string, Record<string, unknown>> | undefined)?.[field] ?? {};
  let why = named[0]!.message;
  if (named[0]!.reason === 'FieldValueTooLong')
    why = `may not be more than ${prop.maxLength} characters (got ${String(value).length})`;
  else if (typeof value === 'string' && prop.patternMessage)
    why = `${prop.patternMessage}, got ${JSON.stringify(value)}`;
  return badRequest(`${field} ${why}`, named);
}

/** Fastify's validator for every route schema: the project's TypeBox checker, refusals as Status objects. */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const part = httpPart === 'querystring' ? 'query' : (httpPart ?? 'request');
  return (data: unknown) => {
    const causes = schemaCauses(schema, data);
    return causes.length ? { error: refusal(schema, part, data, causes) } : { value: data };
  };
};
