// The OpenAPI 3.1 document: components from the TypeBox schemas of the kinds, paths from the
// routes themselves (collected as they are added), each operation's parameters from the same
// params and querystring schemas Fastify validates requests with. A route is documented when
// its schema has an operationId; its other OpenAPI fields (responses, requestBody, tags) ride
// along in the schema, where Fastify leaves them alone.
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { ApplyResult } from '../specs/apply.js';
import { API_VERSION, KINDS, StatusObject } from '../specs/index.js';

declare module 'fastify' {
  /** The OpenAPI fields a route schema may carry (as @fastify/swagger declares them). */
  interface FastifySchema {
    operationId?: string;
    tags?: readonly string[];
    summary?: string;
    description?: string;
    security?: readonly unknown[];
    requestBody?: unknown;
    responses?: Record<number, unknown>;
  }
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

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

export const errorResponses = (...codes: number[]) =>
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

export const json = (schema: unknown) => ({ 'application/json': { schema } });

/** The schema keys Fastify validates with; every other key of a route schema is OpenAPI as it is. */
const VALIDATED = new Set(['params', 'querystring', 'body', 'headers', 'response']);

function parameters(schema: TSchema | undefined, where: 'path' | 'query'): unknown[] {
  const props = (schema?.properties ?? {}) as Record<string, TSchema>;
  const required = new Set<string>(schema?.required ?? []);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = plain(s, new Map(), true) as Record<string, unknown>;
    return {
      name,
      in: where,
      ...(where === 'path' || required.has(name) ? { required: true } : {}),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** One operation of a documented route. */
function operation(schema: Record<string, unknown>): Record<string, unknown> {
  const params = [
    ...parameters(schema.params as TSchema | undefined, 'path'),
    ...parameters(schema.querystring as TSchema | undefined, 'query'),
  ];
  const op: Record<string, unknown> = Object.fromEntries(Object.entries(schema).filter(([k]) => !VALIDATED.has(k)));
  return params.length ? { ...op, parameters: params } : op;
}

function components(): Record<string, unknown> {
  const known = new Map<string, string>();
  for (const k of KINDS) known.set(k.kind, k.kind);
  const schemas: Record<string, unknown> = {};
  for (const k of KINDS) {
    schemas[k.kind] = plain(k.schema, known, true);
    schemas[`${k.kind}List`] = plain(k.listSchema, known, true);
  }
  schemas.Status = plain(StatusObject, known, true);
  schemas.ApplyResult = plain(ApplyResult, known, true);
  schemas.DeleteOptions = plain(DeleteOptionsSchema, known, true);
  return { schemas, securitySchemes: { basicAuth: { type: 'http', scheme: 'basic' } } };
}

/** The OpenAPI 3.1 document of these routes. */
export function openApiDocument(routes: readonly RouteOptions[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const schema = route.schema as Record<string, unknown> | undefined;
    if (!schema?.operationId) continue;
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    for (const m of methods) (paths[path] ??= {})[m.toLowerCase()] = operation(schema);
  }
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
    components: components(),
  };
}

/**
 * GET /openapi.json, the document of every route added after this plugin (register it
 * first), serialized once: the routes do not change after the server starts.
 */
export const openApiPlugin = fp(
  async (app: FastifyInstance) => {
    const routes: RouteOptions[] = [];
    app.addHook('onRoute', (route) => {
      routes.push(route);
    });
    let cached: string | undefined;
    app.get(
      '/openapi.json',
      {
        schema: {
          operationId: 'openapi',
          responses: { 200: { description: 'This document', content: json({ type: 'object' }) } },
        },
      },
      async (_req, reply) =>
        reply.type('application/json; charset=utf-8').send((cached ??= JSON.stringify(openApiDocument(routes)))),
    );
  },
  { name: 'tidepool-openapi', fastify: '5.x' },
);
