// Resource routes, generated from the KINDS table: list/watch, create, read, replace,
// merge-patch, delete, and the status subresource.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  API_VERSION,
  KINDS,
  ManagedFieldsEntry,
  validateManifest,
  type KindInfo,
  type StatusCause,
} from '../specs/index.js';
import { strictStatusCauses } from './strict.js';
import {
  badRequest,
  checkResourceVersion,
  invalid,
  notFound,
  parseSelector,
  timestamp,
  type Resource,
  type Store,
} from '../store/index.js';
import { ApiError } from './errors.js';
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
import { startWatch, type WatchRegistry } from './watch.js';
import { objectJson } from './json.js';
import { pageOf, parsePage } from './paging.js';
import { refusePowerOverSync, refuseSyncedDelete } from './sync-ownership.js';
import { DEFAULT_MANAGER, POWER_MANAGER, createdBy, updatedBy } from '../store/ownership.js';

export interface ResourceRouteOptions {
  store: Store;
  watches: WatchRegistry;
  pingMs: number;
}

type Query = Record<string, string | string[] | undefined>;

const OBJECT_TYPES = [...JSON_TYPES, ...YAML_TYPES];
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** One value of a query parameter; a repeated one is a 400. */
export function queryParam(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw badRequest(`query parameter "${name}" was given ${v.length} times; give it once`);
  return v;
}

export function queryBool(q: Query, name: string): boolean {
  const v = queryParam(q, name);
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw badRequest(`query parameter "${name}" must be true or false, got "${v}"`);
}

export function methodNotAllowed(method: string, url: string, allow: readonly string[]): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    `the server does not allow method ${method} on ${url.split('?')[0]} (allowed: ${allow.join(', ')})`,
  );
}

const byName = (a: Resource, b: Resource) =>
  a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;

function sendJson(reply: FastifyReply, code: number, body: string) {
  return reply.code(code).type('application/json; charset=utf-8').send(body);
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

const MAX_MANAGER = ManagedFieldsEntry.properties.manager.maxLength ?? 128;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused here
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * The writer named by `?fieldManager=` (kubectl's flag), for managedFields: every write path
 * (create, update, patch, status, delete, apply) reads it here, so a name the store could not
 * load again (longer than the schema's limit) or could not show (control characters) is a 400
 * naming the parameter, before anything is written.
 */
export function managerOf(q: Query): string {
  const m = queryParam(q, 'fieldManager');
  if (m === undefined || m === '') return DEFAULT_MANAGER;
  const why =
    m.length > MAX_MANAGER
      ? `may not be more than ${MAX_MANAGER} characters (got ${m.length})`
      : CONTROL.test(m)
        ? 'may not contain control characters'
        : undefined;
  if (why)
    throw badRequest(`fieldManager ${why}`, [
      { field: 'fieldManager', reason: 'FieldValueInvalid', message: `Invalid value: ${why}` },
    ]);
  return m;
}

function validated(info: KindInfo, body: unknown): Resource {
  const r = validateManifest(body);
  if (!r.object) {
    const name = (body as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    throw invalid(info.kind, typeof name === 'string' ? name : undefined, r.causes);
  }
  return r.object as Resource;
}

/** List bodies by (kind, selector), valid while the store's resourceVersion is the same. */
class ListCache {
  readonly #entries = new Map<string, { rv: string; body: string }>();
  get(key: string, rv: string): string | undefined {
    const e = this.#entries.get(key);
    return e && e.rv === rv ? e.body : undefined;
  }
  set(key: string, rv: string, body: string) {
    if (this.#entries.size >= 256) this.#entries.clear();
    this.#entries.set(key, { rv, body });
  }
}

export function registerResourceRoutes(app: FastifyInstance, opts: ResourceRouteOptions): void {
  const { store } = opts;
  const lists = new ListCache();

  /** Every method of METHODS not in `allowed` gets 405 on `url`, before any body is read. */
  const rest405 = (url: string, allowed: readonly string[]) => {
    const others = METHODS.filter((m) => !allowed.includes(m));
    const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])];
    app.route({
      method: others as unknown as string[],
      url,
      onRequest: async (req, reply) => {
        reply.header('allow', allow.join(', '));
        throw methodNotAllowed(req.method, req.url, allow);
      },
      handler: async () => undefined,
    });
  };

  for (const info of KINDS) {
    const base = `/api/v1/${info.plural}`;
    const item = `${base}/:name`;
    const writable = info.userWritable;

    app.get(base, async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
      const q = req.query;
      const selectorText = (queryParam(q, 'labelSelector') ?? '').trim();
      if (queryBool(q, 'watch')) {
        const sse = /\btext\/event-stream\b/i.test(req.headers.accept ?? '');
        const lastEventId = req.headers['last-event-id'];
        const rv =
          sse && typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : queryParam(q, 'resourceVersion');
        startWatch(
          store,
          req,
          reply,
          {
            info,
            selector: parseSelector(selectorText),
            resourceVersion: rv,
            sse,
            bookmarks: queryBool(q, 'allowWatchBookmarks'),
            pingMs: opts.pingMs,
          },
          opts.watches,
        );
        return reply;
      }
      const asked = queryParam(q, 'resourceVersion');
      if (asked !== undefined && asked !== '') checkResourceVersion(asked);
      const rv = store.resourceVersion;
      const page = parsePage(queryParam(q, 'limit'), queryParam(q, 'continue'));
      if (page) {
        const all = [...store.list(info.kind, parseSelector(selectorText)).items].sort(byName);
        const p = pageOf(all, page);
        const meta = JSON.stringify({
          resourceVersion: rv,
          ...(p.continue ? { continue: p.continue, remainingItemCount: p.remainingItemCount } : {}),
        });
        return sendJson(
          reply,
          200,
          `{"apiVersion":"${API_VERSION}","kind":"${info.kind}List","metadata":${meta},"items":[${p.items.map(objectJson).join(',')}]}`,
        );
      }
      const key = `${info.kind}\0${selectorText}`;
      // Keyed by what reads see (a write in flight or rolled back changes it, not only the rv).
      const version = `${rv}/${store.readVersion}`;
      let body = lists.get(key, version);
      if (body === undefined) {
        const selector = parseSelector(selectorText);
        const items = [...store.list(info.kind, selector).items].sort(byName);
        body = `{"apiVersion":"${API_VERSION}","kind":"${info.kind}List","metadata":{"resourceVersion":"${rv}"},"items":[${items.map(objectJson).join(',')}]}`;
        lists.set(key, version, body);
      }
      return sendJson(reply, 200, body);
    });

    app.get(item, async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const o = store.get(info.kind, req.params.name);
      if (!o) throw notFound(info.plural, req.params.name);
      return sendJson(reply, 200, objectJson(o));
    });

    if (info.statusSchema) {
      app.get(`${item}/status`, async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
        const o = store.get(info.kind, req.params.name);
        if (!o) throw notFound(info.plural, req.params.name);
        return sendJson(reply, 200, objectJson(o));
      });
    }

    if (!writable) {
      // Written by the server only (Events, Syncs): read and watch.
      rest405(base, ['GET']);
      rest405(item, ['GET']);
      if (info.statusSchema) rest405(`${item}/status`, ['GET']);
      continue;
    }

    app.post(base, async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
      const body = parseObjectBody(req.body, req.headers['content-type'], OBJECT_TYPES);
      checkIdentity(info, body, undefined);
      const obj = validated(info, body);
      obj.metadata.managedFields = createdBy(obj, managerOf(req.query), timestamp(store.now()));
      const created = await store.create(obj);
      return sendJson(reply, 201, objectJson(created));
    });
    rest405(base, ['GET', 'POST']);

    app.put(item, async (req: FastifyRequest<{ Params: { name: string }; Querystring: Query }>, reply) => {
      const body = parseObjectBody(req.body, req.headers['content-type'], OBJECT_TYPES);
      checkIdentity(info, body, req.params.name);
      const obj = validated(info, body);
      const manager = managerOf(req.query);
      const out = await store.transaction((tx) => {
        const cur = tx.get(info.kind, req.params.name);
        if (!cur) throw notFound(info.plural, req.params.name);
        obj.metadata.managedFields = updatedBy(cur, obj, manager, timestamp(store.now()));
        return tx.update(obj);
      });
      return sendJson(reply, 200, objectJson(out));
    });

    app.patch(item, async (req: FastifyRequest<{ Params: { name: string }; Querystring: Query }>, reply) => {
      const manager = managerOf(req.query);
      const type = mediaType(req.headers['content-type']);
      if (req.body === undefined || req.body === null)
        throw badRequest('a request body (a JSON merge patch) is required');
      if (!(MERGE_PATCH_TYPES as readonly string[]).includes(type)) throw unsupportedMediaType(type, MERGE_PATCH_TYPES);
      const patch = parseJson(String(req.body), 'merge patch');
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
        throw badRequest('a JSON merge patch must be an object', [
          { reason: 'FieldValueTypeInvalid', message: 'expected an object' },
        ]);
      }
      const name = req.params.name;
      const out = await store.transaction((tx) => {
        const cur = tx.get(info.kind, name);
        if (!cur) throw notFound(info.plural, name);
        const { status: _status, ...base } = cur;
        const merged = mergePatch(base, patch);
        checkIdentity(info, merged, name);
        const next = validated(info, merged);
        if (manager === POWER_MANAGER) refusePowerOverSync(tx, cur, next);
        next.metadata.managedFields = updatedBy(cur, next, manager, timestamp(store.now()));
        return tx.update(next);
      });
      return sendJson(reply, 200, objectJson(out));
    });

    app.delete(item, async (req: FastifyRequest<{ Params: { name: string }; Querystring: Query }>, reply) => {
      let resourceVersion = queryParam(req.query, 'resourceVersion');
      let uid: string | undefined;
      if (req.body !== undefined && req.body !== null && String(req.body).trim() !== '') {
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
        if (pre?.resourceVersion !== undefined) {
          if (resourceVersion !== undefined && resourceVersion !== pre.resourceVersion) {
            throw badRequest('the resourceVersion in the query and in preconditions differ');
          }
          resourceVersion = pre.resourceVersion;
        }
        uid = pre?.uid;
      }
      refuseSyncedDelete(store, info, req.params.name, queryBool(req.query, 'force'));
      const out = await store.delete(info.kind, req.params.name, {
        ...(resourceVersion !== undefined && resourceVersion !== '' ? { resourceVersion } : {}),
        ...(uid !== undefined ? { uid } : {}),
      });
      return sendJson(reply, 200, objectJson(out));
    });
    rest405(item, ['GET', 'PUT', 'PATCH', 'DELETE']);

    if (info.statusSchema) {
      const statusUrl = `${item}/status`;
      app.put(statusUrl, async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
        const type = mediaType(req.headers['content-type']);
        if (req.body === undefined || req.body === null)
          throw badRequest('a request body (the object with its status) is required');
        if (!(JSON_TYPES as readonly string[]).includes(type)) throw unsupportedMediaType(type, JSON_TYPES);
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
        const out = await store.updateStatus(info.kind, req.params.name, b.status, rv);
        return sendJson(reply, 200, objectJson(out));
      });
      rest405(statusUrl, ['GET', 'PUT']);
    }
  }
}
