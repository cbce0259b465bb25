// The writes of a kind's objects: create, replace, merge-patch, delete and the status
// subresource. Bodies arrive as strings (body.ts parses them, with line and column on error);
// the query strings have passed their route's schemas (params.ts).
import type { Static } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { DEFAULT_NAMESPACE, objectKey, validateManifest, type KindInfo, type StatusCause } from '../specs/index.js';
import { badRequest, invalid, notFound, timestamp, type Resource, type Store } from '../store/index.js';
import { POWER_MANAGER, createdBy, updatedBy } from '../store/ownership.js';
import {
  JSON_TYPES,
  MERGE_PATCH_TYPES,
  YAML_TYPES,
  mediaType,
  mergePatch,
  parseJson,
  parseObjectBody,
  unsupportedMediaType,
} from './body.js';
import { authorizeClusterWrite, managerOf, requestNamespace } from './namespaces.js';
import { identityOf } from './identity.js';
import { isTrue, type DeleteQuery, type NameParams, type WriteQuery } from './params.js';
import { strictStatusCauses } from './strict.js';
import { refusePowerOverSync, refuseSyncedDelete } from './sync-ownership.js';

const OBJECT_TYPES = [...JSON_TYPES, ...YAML_TYPES];

type Params = Static<typeof NameParams>;
export type CreateRequest = FastifyRequest<{ Querystring: Static<typeof WriteQuery> }>;
export type UpdateRequest = FastifyRequest<{ Params: Params; Querystring: Static<typeof WriteQuery> }>;
export type DeleteRequest = FastifyRequest<{ Params: Params; Querystring: Static<typeof DeleteQuery> }>;
export type StatusRequest = FastifyRequest<{ Params: Params }>;

export { managerOf } from './namespaces.js';

/**
 * Where a request writes: the namespace it addresses (403 when its person may not), and the
 * key of the object named on the path (specs/object-key.ts).
 */
function target(info: KindInfo, req: FastifyRequest, name?: string): { namespace: string; key: string } {
  authorizeClusterWrite(identityOf(req), info);
  const namespace = info.namespaced ? requestNamespace(req) : DEFAULT_NAMESPACE;
  return { namespace, key: objectKey(namespace, name ?? '') };
}

/**
 * The namespace a body must carry to match the URL: absent, it is the URL's (left out for the
 * default namespace, as objects written before namespaces have it); another is 400.
 */
function intoNamespace(info: KindInfo, body: unknown, namespace: string): void {
  if (!info.namespaced || body === null || typeof body !== 'object' || Array.isArray(body)) return;
  const meta = (body as { metadata?: Record<string, unknown> }).metadata;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return;
  const given = meta.namespace;
  if (given === undefined) {
    if (namespace !== DEFAULT_NAMESPACE) meta.namespace = namespace;
    return;
  }
  if (given === namespace) return;
  throw badRequest(
    `the namespace of the object (${JSON.stringify(given)}) does not match the namespace on the request ("${namespace}")`,
    [
      {
        field: 'metadata.namespace',
        reason: 'FieldValueInvalid',
        message: `must be "${namespace}", the namespace on the request`,
      },
    ],
  );
}

/** The name and kind a body must carry to match the URL. */
function checkIdentity(info: KindInfo, body: unknown, urlName: string | undefined): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return; // validation says what is wrong
  const b = body as Record<string, any>;
  if (b.kind !== undefined && b.kind !== info.kind) {
    throw badRequest(
      `the kind of the object ("${String(b.kind)}") does not match the URL (${info.plural}: ${info.kind})`,
      [{ field: 'kind', reason: 'FieldValueInvalid', message: `must be "${info.kind}" on /api/v1/${info.plural}` }],
    );
  }
  const name = b.metadata?.name;
  if (urlName !== undefined && name !== undefined && name !== urlName) {
    throw badRequest(
      `the name of the object (${JSON.stringify(name)}) does not match the name on the URL ("${urlName}")`,
      [{ field: 'metadata.name', reason: 'FieldValueInvalid', message: `must be "${urlName}", the name on the URL` }],
    );
  }
}

function validated(info: KindInfo, body: unknown): Resource {
  const r = validateManifest(body);
  if (!r.object) {
    const name = (body as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    throw invalid(info.kind, typeof name === 'string' ? name : undefined, r.causes);
  }
  return r.object as Resource;
}

export async function createObject(store: Store, info: KindInfo, req: CreateRequest): Promise<Resource> {
  const { namespace } = target(info, req);
  const body = parseObjectBody(req.body, req.headers['content-type'], OBJECT_TYPES);
  checkIdentity(info, body, undefined);
  intoNamespace(info, body, namespace);
  const obj = validated(info, body);
  obj.metadata.managedFields = createdBy(obj, managerOf(req, req.query), timestamp(store.now()));
  return store.create(obj);
}

export async function replaceObject(store: Store, info: KindInfo, req: UpdateRequest): Promise<Resource> {
  const { namespace, key } = target(info, req, req.params.name);
  const body = parseObjectBody(req.body, req.headers['content-type'], OBJECT_TYPES);
  checkIdentity(info, body, req.params.name);
  intoNamespace(info, body, namespace);
  const obj = validated(info, body);
  const manager = managerOf(req, req.query);
  return store.transaction((tx) => {
    const cur = tx.get(info.kind, key);
    if (!cur) throw notFound(info.plural, req.params.name);
    obj.metadata.managedFields = updatedBy(cur, obj, manager, timestamp(store.now()));
    return tx.update(obj);
  });
}

export async function patchObject(store: Store, info: KindInfo, req: UpdateRequest): Promise<Resource> {
  const { namespace, key } = target(info, req, req.params.name);
  const manager = managerOf(req, req.query);
  const type = mediaType(req.headers['content-type']);
  if (req.body === undefined || req.body === null) throw badRequest('a request body (a JSON merge patch) is required');
  if (!(MERGE_PATCH_TYPES as readonly string[]).includes(type)) throw unsupportedMediaType(type, MERGE_PATCH_TYPES);
  const patch = parseJson(String(req.body), 'merge patch');
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw badRequest('a JSON merge patch must be an object', [
      { reason: 'FieldValueTypeInvalid', message: 'expected an object' },
    ]);
  }
  const name = req.params.name;
  return store.transaction((tx) => {
    const cur = tx.get(info.kind, key);
    if (!cur) throw notFound(info.plural, key);
    const { status: _status, ...base } = cur;
    const merged = mergePatch(base, patch);
    checkIdentity(info, merged, name);
    intoNamespace(info, merged, namespace);
    const next = validated(info, merged);
    if (manager === POWER_MANAGER) refusePowerOverSync(tx, cur, next);
    next.metadata.managedFields = updatedBy(cur, next, manager, timestamp(store.now()));
    return tx.update(next);
  });
}

/** The preconditions of a DELETE: the query's resourceVersion, or a DeleteOptions body's. */
function deletePreconditions(req: DeleteRequest): { resourceVersion?: string; uid?: string } {
  const resourceVersion = req.query.resourceVersion;
  const given = (rv: string | undefined) => (rv !== undefined && rv !== '' ? { resourceVersion: rv } : {});
  if (req.body === undefined || req.body === null || String(req.body).trim() === '') return given(resourceVersion);
  const type = mediaType(req.headers['content-type']);
  if (!(JSON_TYPES as readonly string[]).includes(type)) throw unsupportedMediaType(type, JSON_TYPES);
  const opts = parseJson(String(req.body), 'DeleteOptions body') as Record<string, any> | null;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
    throw badRequest('DeleteOptions must be an object');
  if (opts.kind !== undefined && opts.kind !== 'DeleteOptions') {
    throw badRequest(`the body of a DELETE must be DeleteOptions, got kind "${String(opts.kind)}"`, [
      { field: 'kind', reason: 'FieldValueInvalid', message: 'must be DeleteOptions' },
    ]);
  }
  const pre = opts.preconditions;
  if (pre !== undefined && (pre === null || typeof pre !== 'object'))
    throw badRequest('preconditions must be an object', [
      { field: 'preconditions', reason: 'FieldValueTypeInvalid', message: 'expected an object' },
    ]);
  for (const f of ['resourceVersion', 'uid'] as const) {
    if (pre?.[f] !== undefined && typeof pre[f] !== 'string') {
      throw badRequest(`preconditions.${f} must be a string`, [
        { field: `preconditions.${f}`, reason: 'FieldValueTypeInvalid', message: 'expected string' },
      ]);
    }
  }
  if (pre?.resourceVersion !== undefined && resourceVersion !== undefined && resourceVersion !== pre.resourceVersion)
    throw badRequest('the resourceVersion in the query and in preconditions differ');
  return { ...given(pre?.resourceVersion ?? resourceVersion), ...(pre?.uid !== undefined ? { uid: pre.uid } : {}) };
}

export async function deleteObject(store: Store, info: KindInfo, req: DeleteRequest): Promise<Resource> {
  const { key } = target(info, req, req.params.name);
  const preconditions = deletePreconditions(req);
  refuseSyncedDelete(store, info, key, isTrue(req.query.force));
  return store.delete(info.kind, key, preconditions);
}

export async function writeStatus(store: Store, info: KindInfo, req: StatusRequest): Promise<Resource> {
  const type = mediaType(req.headers['content-type']);
  if (req.body === undefined || req.body === null)
    throw badRequest('a request body (the object with its status) is required');
  if (!(JSON_TYPES as readonly string[]).includes(type)) throw unsupportedMediaType(type, JSON_TYPES);
  const { key } = target(info, req, req.params.name);
  const body = parseJson(String(req.body));
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('the body of a status update must be the object, with its status');
  }
  checkIdentity(info, body, req.params.name);
  const b = body as Record<string, any>;
  if (!('status' in b)) {
    throw invalid(info.kind, req.params.name, [
      {
        field: 'status',
        reason: 'FieldValueRequired',
        message: 'Required value: the body must carry the status to write',
      },
    ]);
  }
  const rv = b.metadata?.resourceVersion;
  if (rv !== undefined && typeof rv !== 'string') {
    throw invalid(info.kind, req.params.name, [
      { field: 'metadata.resourceVersion', reason: 'FieldValueTypeInvalid', message: 'expected string' },
    ]);
  }
  const causes: StatusCause[] = strictStatusCauses(info, b.status);
  if (causes.length) throw invalid(info.kind, req.params.name, causes);
  return store.updateStatus(info.kind, key, b.status, rv);
}
