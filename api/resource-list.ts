// GET on a kind's collection: the list (whole and cached by resourceVersion, or paged by name),
// or with ?watch=true the stream of its changes.
import type { Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_VERSION, namespaceOf, type KindInfo } from '../specs/index.js';
import { checkResourceVersion, parseSelector, type Resource, type Store } from '../store/index.js';
import { objectJson } from './json.js';
import { pageOf, parsePage } from './paging.js';
import { requestNamespace, wantsAllNamespaces } from './namespaces.js';
import { isTrue, type ListQuery } from './params.js';
import { startWatch } from './watch.js';

/** By namespace, then name: the default namespace's keys are bare names (specs/object-key.ts). */
const byName = (a: Resource, b: Resource) => {
  const x = `${namespaceOf(a)}/${a.metadata.name}`,
    y = `${namespaceOf(b)}/${b.metadata.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The namespace a list or watch is of: undefined for every one (an admin's allNamespaces, or a kind without). */
function listNamespace(info: KindInfo, req: ListRequest): string | undefined {
  if (!info.namespaced) return undefined;
  const onPath = (req.params as { namespace?: string } | undefined)?.namespace !== undefined;
  if (!onPath && wantsAllNamespaces(req, req.query.allNamespaces)) return undefined;
  return requestNamespace(req);
}

export function sendJson(reply: FastifyReply, code: number, body: string) {
  return reply.code(code).type('application/json; charset=utf-8').send(body);
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

type ListRequest = FastifyRequest<{ Querystring: Static<typeof ListQuery> }>;

/** The list and watch handler of one server's collections (one cache for all of them). */
export function collectionReader(store: Store, pingMs: number) {
  const lists = new ListCache();

  const watch = (
    info: KindInfo,
    req: ListRequest,
    reply: FastifyReply,
    selectorText: string,
    namespace: string | undefined,
  ) => {
    const sse = /\btext\/event-stream\b/i.test(req.headers.accept ?? '');
    const lastEventId = req.headers['last-event-id'];
    const resourceVersion =
      sse && typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : req.query.resourceVersion;
    startWatch(
      store,
      req,
      reply,
      {
        info,
        selector: parseSelector(selectorText),
        ...(namespace !== undefined ? { namespace } : {}),
        resourceVersion,
        sse,
        bookmarks: isTrue(req.query.allowWatchBookmarks),
        pingMs,
      },
      req.server.watches,
    );
    return reply;
  };

  const listBody = (info: KindInfo, meta: string, items: Resource[]) =>
    `{"apiVersion":"${API_VERSION}","kind":"${info.kind}List","metadata":${meta},"items":[${items.map(objectJson).join(',')}]}`;

  return async (info: KindInfo, req: ListRequest, reply: FastifyReply) => {
    const q = req.query;
    const selectorText = (q.labelSelector ?? '').trim();
    const namespace = listNamespace(info, req);
    if (isTrue(q.watch)) return watch(info, req, reply, selectorText, namespace);
    const inNamespace = (o: Resource) => namespace === undefined || namespaceOf(o) === namespace;
    if (q.resourceVersion !== undefined && q.resourceVersion !== '') checkResourceVersion(q.resourceVersion);
    const rv = store.resourceVersion;
    const page = parsePage(q.limit, q.continue);
    if (page) {
      const all = store.list(info.kind, parseSelector(selectorText)).items.filter(inNamespace).sort(byName);
      const p = pageOf(all, page);
      const meta = JSON.stringify({
        resourceVersion: rv,
        ...(p.continue ? { continue: p.continue, remainingItemCount: p.remainingItemCount } : {}),
      });
      return sendJson(reply, 200, listBody(info, meta, p.items));
    }
    const key = `${info.kind}\0${namespace ?? '*'}\0${selectorText}`;
    // Keyed by what reads see (a write in flight or rolled back changes it, not only the rv).
    const version = `${rv}/${store.readVersion}`;
    let body = lists.get(key, version);
    if (body === undefined) {
      const items = store.list(info.kind, parseSelector(selectorText)).items.filter(inNamespace).sort(byName);
      body = listBody(info, `{"resourceVersion":"${rv}"}`, items);
      lists.set(key, version, body);
    }
    return sendJson(reply, 200, body);
  };
}
