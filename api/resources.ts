// The resource routes, generated from the KINDS table: API discovery, list/watch, create, read,
// replace, merge-patch, delete, and the status subresource; 405 for every other method.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { API_VERSION, KINDS, objectKey, type KindInfo } from '../specs/index.js';
import { notFound, type Store } from '../store/index.js';
import { objectJson } from './json.js';
import { namespacePath, requestNamespace } from './namespaces.js';
import { DeleteQuery, ListQuery, NameParams, type TypeBoxProvider, WriteQuery } from './params.js';
import { resourceDocs } from './resource-docs.js';
import { collectionReader, sendJson } from './resource-list.js';
import { createObject, deleteObject, patchObject, replaceObject, writeStatus } from './resource-write.js';
import { rest405 } from './status.js';

export interface ResourceRouteOptions {
  store: Store;
  /** Interval of the `: ping` comments on Server-Sent Events streams. */
  pingMs: number;
}

/** GET /api/v1: the kinds, their verbs and subresources, as kubectl discovers them. */
function discovery(): string {
  const verbs = (k: KindInfo) =>
    k.userWritable ? ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] : ['get', 'list', 'watch'];
  const resources = KINDS.map((k) => ({
    name: k.plural,
    singularName: k.singular,
    kind: k.kind,
    shortNames: k.shortNames,
    namespaced: k.namespaced,
    verbs: verbs(k),
  })).concat(
    KINDS.filter((k) => k.statusSchema).map((k) => ({
      name: `${k.plural}/status`,
      singularName: '',
      kind: k.kind,
      shortNames: [],
      namespaced: k.namespaced,
      verbs: k.userWritable ? ['get', 'update'] : ['get'],
    })),
  );
  return JSON.stringify({ apiVersion: 'v1', kind: 'APIResourceList', groupVersion: API_VERSION, resources });
}

/**
 * The routes of one kind under `prefix`: /api/v1, and for a namespaced kind also
 * /api/v1/namespaces/:namespace (api/namespaces.ts). Server-written kinds (Events, Syncs) are
 * read and watched only.
 */
function kindRoutes(
  app: FastifyInstance,
  store: Store,
  info: KindInfo,
  list: ReturnType<typeof collectionReader>,
  prefix: string,
) {
  const r = app.withTypeProvider<TypeBoxProvider>();
  const base = `${prefix}/${info.plural}`;
  const item = `${base}/:name`;
  const statusUrl = `${item}/status`;
  const docs = resourceDocs(info);
  const read = async (req: FastifyRequest, name: string) => {
    const key = info.namespaced ? objectKey(requestNamespace(req), name) : name;
    const o = store.get(info.kind, key);
    if (!o) throw notFound(info.plural, key);
    return objectJson(o);
  };

  r.get(base, { schema: { ...docs.list, querystring: ListQuery } }, (req, rep) => list(info, req, rep));
  r.get(item, { schema: { ...docs.read, params: NameParams } }, async (req, rep) =>
    sendJson(rep, 200, await read(req, req.params.name)),
  );
  if (info.statusSchema)
    r.get(statusUrl, { schema: { ...docs.readStatus, params: NameParams } }, async (req, rep) =>
      sendJson(rep, 200, await read(req, req.params.name)),
    );
  if (!info.userWritable) {
    rest405(app, base, ['GET']);
    rest405(app, item, ['GET']);
    if (info.statusSchema) rest405(app, statusUrl, ['GET']);
    return;
  }

  r.post(base, { schema: { ...docs.create, querystring: WriteQuery } }, async (req, rep) =>
    sendJson(rep, 201, objectJson(await createObject(store, info, req))),
  );
  rest405(app, base, ['GET', 'POST']);
  const itemSchema = { params: NameParams, querystring: WriteQuery };
  r.put(item, { schema: { ...docs.replace, ...itemSchema } }, async (req, rep) =>
    sendJson(rep, 200, objectJson(await replaceObject(store, info, req))),
  );
  r.patch(item, { schema: { ...docs.patch, ...itemSchema } }, async (req, rep) =>
    sendJson(rep, 200, objectJson(await patchObject(store, info, req))),
  );
  r.delete(item, { schema: { ...docs.delete, params: NameParams, querystring: DeleteQuery } }, async (req, rep) =>
    sendJson(rep, 200, objectJson(await deleteObject(store, info, req))),
  );
  rest405(app, item, ['GET', 'PUT', 'PATCH', 'DELETE']);
  if (info.statusSchema) {
    r.put(statusUrl, { schema: { ...docs.replaceStatus, params: NameParams } }, async (req, rep) =>
      sendJson(rep, 200, objectJson(await writeStatus(store, info, req))),
    );
    rest405(app, statusUrl, ['GET', 'PUT']);
  }
}

export const resourcesPlugin = fp(
  async (app: FastifyInstance, opts: ResourceRouteOptions) => {
    if (!opts.store) throw new Error('resourcesPlugin needs a store');
    const body = discovery();
    app.get('/api/v1', async (_req, reply) => reply.type('application/json; charset=utf-8').send(body));
    const list = collectionReader(opts.store, opts.pingMs);
    for (const info of KINDS) {
      kindRoutes(app, opts.store, info, list, '/api/v1');
      if (info.namespaced) kindRoutes(app, opts.store, info, list, namespacePath(':namespace'));
    }
  },
  { name: 'tidepool-resources', fastify: '5.x', dependencies: ['tidepool-watch'] },
);
