// The CLI's HTTP client of the Tidepool REST API (Kubernetes-style paths, Status errors,
// NDJSON watch streams), over undici.
import { Agent, request, type Dispatcher } from 'undici';
import type {
  Event,
  ImageTemplate,
  Quota,
  KindInfo,
  ObjectMeta,
  Port,
  StatusObject,
  Sync,
  Workspace,
} from '../specs/index.js';
import { authorizationOf, type ClientConfig } from './config.js';
import { ConnectionError, ServerError, statusFromReply } from './errors.js';

/**
 * Every top-level field of the kinds in specs/ (Workspace, Port, Sync, Event), each optional
 * and typed as the union of what the kinds say: the CLI reads objects of any kind through one
 * type, and `kind` says which fields are there.
 */
type AnyKindFields<T> = { [K in T extends unknown ? keyof T : never]?: T extends { [P in K]?: infer V } ? V : never };
type KnownObject = Workspace | Port | Sync | Event | ImageTemplate | Quota;
type WithSpec = Workspace | Port | Sync | ImageTemplate;

/** Any object the server hands out, typed by the specs' schemas (fields of a newer server are `unknown`). */
export type ApiObject = Omit<AnyKindFields<KnownObject>, 'apiVersion' | 'kind' | 'metadata' | 'spec' | 'status'> & {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: AnyKindFields<(WithSpec | Quota)['spec']>;
  status?: AnyKindFields<NonNullable<WithSpec['status']>>;
  [field: string]: unknown;
};

export interface ObjectList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string };
  items: ApiObject[];
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: ApiObject;
}

import type { ApplyResult } from '../specs/apply.js';

export type { ApplyAction, ApplyResult } from '../specs/apply.js';

export interface ApplyOptions {
  dryRun?: boolean;
  prune?: boolean;
  applyset?: string;
  allowEmptyPrune?: boolean;
}

interface CallOptions {
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
}

const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
};

function connectWhy(err: unknown): string | undefined {
  for (let e: any = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === 'string' && CONNECT_ERRORS[e.code]) return CONNECT_ERRORS[e.code];
    if (Array.isArray(e.errors)) {
      // AggregateError from happy eyeballs: the first attempt's reason is as good as any.
      const inner = e.errors.map(connectWhy).find(Boolean);
      if (inner) return inner;
    }
  }
  return undefined;
}

export class ApiClient {
  readonly #dispatcher: Agent;
  readonly #auth: string | undefined;

  constructor(readonly config: ClientConfig) {
    this.#dispatcher = new Agent({ connect: { timeout: 10_000 } });
    this.#auth = authorizationOf(config);
  }

  url(path: string, query?: Record<string, string | undefined>): string {
    const u = new URL(this.config.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }

  async #send(method: Dispatcher.HttpMethod, path: string, opts: CallOptions, stream = false) {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#auth) headers.authorization = this.#auth;
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    try {
      return await request(this.url(path, opts.query), {
        method,
        headers,
        dispatcher: this.#dispatcher,
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(stream ? { bodyTimeout: 0 } : {}),
      });
    } catch (err) {
      const why = connectWhy(err);
      if (why) throw new ConnectionError(this.config.server, why);
      throw err;
    }
  }

  async #fail(res: Dispatcher.ResponseData): Promise<never> {
    const text = await res.body.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    throw new ServerError(res.statusCode, statusFromReply(res.statusCode, body, text));
  }

  /** One request; the parsed JSON reply, or a ServerError carrying the Status. */
  async call<T = any>(method: Dispatcher.HttpMethod, path: string, opts: CallOptions = {}): Promise<T> {
    const res = await this.#send(method, path, opts);
    if (res.statusCode >= 400) return this.#fail(res);
    const text = await res.body.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ServerError(
        res.statusCode,
        statusFromReply(502, undefined, `a reply that is not JSON: ${text.slice(0, 200)}`),
      );
    }
  }

  /**
   * `-n`: the namespace requests address (/api/v1/namespaces/{ns}/...); absent, today's paths,
   * which the server reads as the person's own namespace (`default` on a single-user install).
   */
  namespace: string | undefined;
  /** `-A`: lists and watches of every namespace (`?allNamespaces=true`, admins only). */
  allNamespaces = false;

  static path(info: KindInfo, name?: string, sub?: string, namespace?: string): string {
    let p =
      namespace !== undefined && info.namespaced
        ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/${info.plural}`
        : `/api/v1/${info.plural}`;
    if (name !== undefined) p += `/${encodeURIComponent(name)}`;
    if (sub) p += `/${sub}`;
    return p;
  }

  /** The path of `info` (an object of it, a subresource) in the namespace this client addresses. */
  pathOf(info: KindInfo, name?: string, sub?: string): string {
    return ApiClient.path(info, name, sub, this.allNamespaces && name === undefined ? undefined : this.namespace);
  }

  /** The query of a list or watch: every namespace with -A. */
  #scope(info: KindInfo): { allNamespaces?: string } {
    return this.allNamespaces && info.namespaced ? { allNamespaces: 'true' } : {};
  }

  /**
   * Lists every object of a kind; with `chunkSize`, page by page (`?limit=` and
   * `continue`, as kubectl's --chunk-size), so no one reply carries the whole store.
   */
  async list(
    info: KindInfo,
    opts: { labelSelector?: string; signal?: AbortSignal; chunkSize?: number } = {},
  ): Promise<ObjectList> {
    const ask = (cont?: string) =>
      this.call<ObjectList & { metadata: { continue?: string } }>('GET', this.pathOf(info), {
        query: {
          ...this.#scope(info),
          labelSelector: opts.labelSelector || undefined,
          ...(opts.chunkSize ? { limit: String(opts.chunkSize), continue: cont } : {}),
        },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    const first = await ask();
    const items = [...first.items];
    for (let cont = first.metadata.continue; cont; ) {
      const next = await ask(cont);
      items.push(...next.items);
      cont = next.metadata.continue;
    }
    const {
      continue: _done,
      remainingItemCount: _n,
      ...metadata
    } = first.metadata as ObjectList['metadata'] & { continue?: string; remainingItemCount?: number };
    return { ...first, metadata, items };
  }

  get(info: KindInfo, name: string): Promise<ApiObject> {
    return this.call('GET', this.pathOf(info, name));
  }

  /** `force`: also what a GitOps sync manages (it will create it again). */
  delete(info: KindInfo, name: string, opts: { force?: boolean } = {}): Promise<unknown> {
    return this.call('DELETE', this.pathOf(info, name), { query: { force: opts.force ? 'true' : undefined } });
  }

  mergePatch(info: KindInfo, name: string, patch: unknown, opts: { fieldManager?: string } = {}): Promise<ApiObject> {
    return this.call('PATCH', this.pathOf(info, name), {
      body: JSON.stringify(patch),
      contentType: 'application/merge-patch+json',
      query: { fieldManager: opts.fieldManager ?? 'tidepool-cli' },
    });
  }

  apply(yamlBody: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
    // With -n every object goes into that namespace, and one naming another is refused (kubectl's rule).
    const path =
      this.namespace !== undefined ? `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/apply` : '/api/v1/apply';
    return this.call('POST', path, {
      body: yamlBody,
      contentType: 'application/yaml',
      query: {
        dryRun: opts.dryRun ? 'true' : undefined,
        prune: opts.prune ? 'true' : undefined,
        applyset: opts.applyset,
        allowEmptyPrune: opts.allowEmptyPrune ? 'true' : undefined,
        // `tidepool apply` owns the fields its files set (a sync, start/stop, a patch own theirs).
        fieldManager: 'tidepool-apply',
      },
    });
  }

  /**
   * Watch events of one kind from `resourceVersion` on, until the stream ends or `signal`
   * aborts. A 410 Gone (too old a resourceVersion) is thrown as a ServerError: relist and
   * watch again.
   */
  async *watch(
    info: KindInfo,
    opts: { resourceVersion?: string; labelSelector?: string; signal?: AbortSignal },
  ): AsyncGenerator<WatchEvent> {
    const res = await this.#send(
      'GET',
      this.pathOf(info),
      {
        query: {
          ...this.#scope(info),
          watch: 'true',
          resourceVersion: opts.resourceVersion,
          labelSelector: opts.labelSelector || undefined,
        },
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      true,
    );
    if (res.statusCode >= 400) await this.#fail(res);
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line) as WatchEvent;
          if (ev.type === 'ERROR') {
            const st = ev.object as unknown as StatusObject;
            throw new ServerError(st.code ?? 500, statusFromReply(st.code ?? 500, st, line));
          }
          if (ev.type === 'BOOKMARK') continue;
          yield ev;
        }
      }
    } finally {
      res.body.destroy();
    }
  }

  /** A streamed text reply (`logs -f`), chunk by chunk, until it ends or `signal` aborts. */
  async *streamText(
    path: string,
    query: Record<string, string | undefined>,
    signal?: AbortSignal,
  ): AsyncGenerator<string> {
    const res = await this.#send('GET', path, { query, ...(signal ? { signal } : {}) }, true);
    if (res.statusCode >= 400) await this.#fail(res);
    try {
      for await (const chunk of res.body) yield typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    } finally {
      res.body.destroy();
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher.destroy().catch(() => undefined);
  }
}
