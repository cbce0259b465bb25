// The OpenAPI 3.1 document, generated from the TypeBox schemas and the KINDS table:
// components from the schemas, paths from the kinds. Nothing here is written per kind by hand.
import { Type, type TSchema } from '@sinclair/typebox';
import { ApplyResult } from '../specs/apply.js';
import { API_VERSION, KINDS, StatusObject, type KindInfo } from '../specs/index.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const DeleteOptionsSchema = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.Literal('DeleteOptions')),
  preconditions: Type.Optional(
    Type.Object({ resourceVersion: Type.Optional(Type.String()), uid: Type.Optional(Type.String()) }),
  ),
  propagationPolicy: Type.Optional(
    Type.String({ description: 'Accepted and ignored: dependents are always deleted with their owner.' }),
  ),
});

/** A TypeBox schema as plain JSON Schema: symbols dropped, `$id` dropped, known components as `$ref`. */
function plain(schema: TSchema, components: Map<string, string>, top: boolean): unknown {
  const walk = (v: unknown, isTop: boolean): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (!isTop && typeof o.$id === 'string' && components.has(o.$id)) return ref(components.get(o.$id)!);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      if (k === '$id') continue;
      if (k === 'patternMessage') {
        out['x-pattern-message'] = x;
        continue;
      }
      out[k] = walk(x, false);
    }
    return out;
  };
  return walk(schema, top);
}

const errorResponses = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description:
          (
            {
              400: 'Bad request',
              401: 'Unauthorized',
              404: 'Not found',
              405: 'Method not allowed',
              409: 'Conflict',
              410: 'Gone: resourceVersion too old',
              413: 'Body too large',
              415: 'Unsupported media type',
              422: 'Invalid',
            } as Record<number, string>
          )[c] ?? 'Error',
        content: { 'application/json': { schema: ref('Status') } },
      },
    ]),
  );

const json = (schema: unknown) => ({ 'application/json': { schema } });
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };

function kindPaths(k: KindInfo): Record<string, unknown> {
  const base = `/api/v1/${k.plural}`;
  const tag = [k.kind];
  const obj = ref(k.kind),
    list = ref(`${k.kind}List`);
  const body = { required: true, content: { ...json(obj), 'application/yaml': { schema: obj } } };
  const collection: Record<string, unknown> = {
    get: {
      operationId: `list${k.kind}`,
      tags: tag,
      summary: `List or watch ${k.plural}`,
      parameters: [
        {
          name: 'labelSelector',
          in: 'query',
          schema: { type: 'string' },
          description:
            'Equality (a=b, a!=b) and set-based (a in (x,y), a notin (x), a, !a) requirements, comma-separated.',
        },
        {
          name: 'watch',
          in: 'query',
          schema: { type: 'boolean' },
          description:
            'Stream changes: newline-delimited JSON {type, object}, or Server-Sent Events with Accept: text/event-stream.',
        },
        {
          name: 'resourceVersion',
          in: 'query',
          schema: { type: 'string' },
          description: 'With watch: replay changes after this version (410 Gone when too old).',
        },
        {
          name: 'allowWatchBookmarks',
          in: 'query',
          schema: { type: 'boolean' },
          description: 'With watch: a BOOKMARK event carries the resourceVersion after the initial ADDED events.',
        },
      ],
      responses: {
        200: {
          description: `The ${k.kind} list, or a watch stream`,
          content: { ...json(list), 'text/event-stream': { schema: { type: 'string' } } },
        },
        ...errorResponses(400, 401, 410),
      },
    },
  };
  const item: Record<string, unknown> = {
    parameters: [nameParam],
    get: {
      operationId: `read${k.kind}`,
      tags: tag,
      responses: { 200: { description: 'The object', content: json(obj) }, ...errorResponses(401, 404) },
    },
  };
  if (k.userWritable) {
    collection.post = {
      operationId: `create${k.kind}`,
      tags: tag,
      requestBody: body,
      responses: {
        201: { description: 'Created', content: json(obj) },
        ...errorResponses(400, 401, 409, 413, 415, 422),
      },
    };
    item.put = {
      operationId: `replace${k.kind}`,
      tags: tag,
      requestBody: body,
      responses: {
        200: { description: 'Replaced', content: json(obj) },
        ...errorResponses(400, 401, 404, 409, 413, 415, 422),
      },
    };
    item.patch = {
      operationId: `patch${k.kind}`,
      tags: tag,
      description: 'JSON merge patch (RFC 7386).',
      requestBody: {
        required: true,
        content: {
          'application/merge-patch+json': { schema: { type: 'object' } },
          'application/json': { schema: { type: 'object' } },
        },
      },
      responses: {
        200: { description: 'Patched', content: json(obj) },
        ...errorResponses(400, 401, 404, 409, 413, 415, 422),
      },
    };
    item.delete = {
      operationId: `delete${k.kind}`,
      tags: tag,
      parameters: [{ name: 'resourceVersion', in: 'query', schema: { type: 'string' }, description: 'Precondition.' }],
      requestBody: { required: false, content: json(ref('DeleteOptions')) },
      responses: {
        200: {
          description: 'The object, with deletionTimestamp set while finalizers remain, or as it was when removed',
          content: json(obj),
        },
        ...errorResponses(401, 404, 409),
      },
    };
  }
  const paths: Record<string, unknown> = { [base]: collection, [`${base}/{name}`]: item };
  if (k.statusSchema) {
    paths[`${base}/{name}/status`] = {
      parameters: [nameParam],
      get: {
        operationId: `read${k.kind}Status`,
        tags: tag,
        responses: { 200: { description: 'The object', content: json(obj) }, ...errorResponses(401, 404) },
      },
    };
  }
  if (k.statusSchema && k.userWritable) {
    (paths[`${base}/{name}/status`] as Record<string, unknown>).put = {
      operationId: `replace${k.kind}Status`,
      tags: tag,
      description:
        'Writes status only: the body is the object; only its status (and metadata.resourceVersion as a precondition) is used.',
      requestBody: { required: true, content: json(obj) },
      responses: {
        200: { description: 'Updated', content: json(obj) },
        ...errorResponses(400, 401, 404, 409, 415, 422),
      },
    };
  }
  return paths;
}

let cached: string | undefined;

/** The OpenAPI 3.1 document. */
export function openApiDocument(): Record<string, unknown> {
  const components = new Map<string, string>();
  for (const k of KINDS) components.set(k.kind, k.kind);
  const schemas: Record<string, unknown> = {};
  for (const k of KINDS) {
    schemas[k.kind] = plain(k.schema, components, true);
    schemas[`${k.kind}List`] = plain(k.listSchema, components, true);
  }
  schemas.Status = plain(StatusObject, components, true);
  schemas.ApplyResult = plain(ApplyResult, components, true);
  schemas.DeleteOptions = plain(DeleteOptionsSchema, components, true);

  const paths: Record<string, unknown> = {};
  for (const k of KINDS) Object.assign(paths, kindPaths(k));
  const applyBody = { schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] } };
  paths['/api/v1/apply'] = {
    post: {
      operationId: 'apply',
      tags: ['Apply'],
      description:
        'Creates or updates every object of a multi-document YAML or JSON body (an object, an array, or a List). Every document is validated before any is written.',
      parameters: [
        { name: 'dryRun', in: 'query', schema: { type: 'string', enum: ['true', 'false', 'All', 'server'] } },
        { name: 'prune', in: 'query', schema: { type: 'boolean' } },
        { name: 'applyset', in: 'query', schema: { type: 'string' } },
        { name: 'allowEmptyPrune', in: 'query', schema: { type: 'boolean' } },
        { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
      ],
      requestBody: {
        required: true,
        content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': applyBody },
      },
      responses: {
        200: { description: 'What happened to each object', content: json(ref('ApplyResult')) },
        ...errorResponses(400, 401, 409, 413, 415, 422),
      },
    },
  };
  paths['/healthz'] = {
    get: {
      operationId: 'healthz',
      security: [],
      responses: { 200: { description: 'ok', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  };
  paths['/openapi.json'] = {
    get: {
      operationId: 'openapi',
      responses: { 200: { description: 'This document', content: json({ type: 'object' }) } },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Tidepool API',
      version: API_VERSION,
      description: 'Kubernetes-style resource API of Tidepool. Errors are Status objects.',
    },
    servers: [{ url: '/' }],
    security: [{ basicAuth: [] }],
    tags: [...KINDS.map((k) => ({ name: k.kind })), { name: 'Apply' }],
    paths,
    components: { schemas, securitySchemes: { basicAuth: { type: 'http', scheme: 'basic' } } },
  };
}

/** The document serialized once: it depends only on the schemas. */
export function openApiJson(): string {
  return (cached ??= JSON.stringify(openApiDocument()));
}
