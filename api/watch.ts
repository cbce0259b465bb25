// Watch streams: newline-delimited JSON `{type, object}` (as kubectl reads them), or
// Server-Sent Events for browsers. Errors that happen before the stream starts (410 Gone,
// a bad resourceVersion) are thrown, so the caller replies with a Status.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { API_VERSION, keyOf, namespaceOf, type KindInfo } from '../specs/index.js';
import type { Resource, Selector, Store, WatchEvent } from '../store/index.js';
import { objectJson } from './json.js';
import { endStream } from './stream-end.js';

export interface WatchParams {
  info: KindInfo;
  selector: Selector;
  /** Only objects of this namespace; absent: every namespace (an admin's allNamespaces). */
  namespace?: string;
  /** The resourceVersion to resume after; undefined or '0' starts with ADDED for every current object. */
  resourceVersion?: string;
  sse: boolean;
  /** NDJSON only: a BOOKMARK event with the list's resourceVersion after the initial ADDED events. */
  bookmarks: boolean;
  pingMs: number;
  /** A stream whose client reads too slowly is ended when this many bytes wait to be sent. */
  maxBufferedBytes?: number;
}

/** Open streams, ended when the server closes. */
export type WatchRegistry = Set<() => void>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The open watch streams (each holds one store listener). */
    watches: WatchRegistry;
  }
}

/** The registry of open watch streams, every one of them ended when the server closes. */
export const watchPlugin = fp(
  async (app: FastifyInstance) => {
    const watches: WatchRegistry = new Set();
    app.decorate('watches', watches);
    app.addHook('preClose', async () => {
      for (const stop of [...watches]) stop();
    });
  },
  { name: 'tidepool-watch', fastify: '5.x' },
);

/** How many watch streams a server has open. */
export function activeWatchCount(app: FastifyInstance): number {
  return app.hasDecorator('watches') ? app.watches.size : 0;
}

type EventType = WatchEvent['type'] | 'BOOKMARK';

/**
 * Starts a watch. Subscribes synchronously (so a 410 is thrown here, before anything is
 * sent), then takes the connection over from Fastify and streams until the client goes.
 */
export function startWatch(
  store: Store,
  request: FastifyRequest,
  reply: FastifyReply,
  p: WatchParams,
  registry: WatchRegistry,
): void {
  const stream = new WatchStream(p, registry);
  stream.subscribe(store);
  stream.attach(request, reply);
}

/** One client's watch: the events it is sent (framed as JSON lines or SSE) and its connection. */
class WatchStream {
  readonly #p: WatchParams;
  readonly #registry: WatchRegistry;
  readonly #resume: boolean;
  /** Frames made before the connection was taken over (the initial list), sent first. */
  readonly #pending: string[] = [];
  /**
   * Which objects the client has been told match the selector: an object whose labels stop
   * matching is reported DELETED, one that starts matching ADDED (as Kubernetes does).
   * When resuming, what the client knew is unknown: a non-matching change is reported DELETED.
   */
  readonly #matched = new Map<string, boolean>();
  #res: ServerResponse | undefined;
  #closed = false;
  #unsubscribe: () => void = () => {};
  #ping: NodeJS.Timeout | undefined;
  readonly #stop = () => this.stop();

  constructor(p: WatchParams, registry: WatchRegistry) {
    this.#p = p;
    this.#registry = registry;
    this.#resume = p.resourceVersion !== undefined && p.resourceVersion !== '' && p.resourceVersion !== '0';
  }

  /** Resumes from the client's resourceVersion (may throw 410), or sends the current list first. */
  subscribe(store: Store): void {
    const p = this.#p;
    const onEvent = (ev: WatchEvent) => this.#onEvent(ev);
    if (this.#resume) {
      this.#unsubscribe = store.watch({ kind: p.info.kind, resourceVersion: p.resourceVersion }, onEvent);
    } else {
      const { items, resourceVersion } = store.list(p.info.kind);
      const sorted = [...items].sort((a, b) =>
        a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
      );
      for (const o of sorted as Resource[]) {
        if (!this.#inNamespace(o)) continue;
        const m = p.selector(o.metadata.labels);
        this.#matched.set(keyOf(o), m);
        if (m) this.#send(this.#frame('ADDED', o));
      }
      // SSE: the initial events carry no id; this one sets the id to resume from.
      if (p.sse) this.#send(`id: ${resourceVersion}\n\n`);
      else if (p.bookmarks)
        this.#send(
          this.#frame('BOOKMARK', {
            apiVersion: API_VERSION,
            kind: p.info.kind,
            metadata: { name: '', resourceVersion },
          }),
        );
      this.#unsubscribe = store.watch({ kind: p.info.kind }, onEvent);
    }
    this.#registry.add(this.#stop);
  }

  /** Takes the connection over from Fastify and streams on it until the client or the server goes. */
  attach(request: FastifyRequest, reply: FastifyReply): void {
    const p = this.#p;
    reply.hijack();
    const res = reply.raw;
    this.#res = res;
    res.writeHead(
      200,
      p.sse
        ? { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }
        : { 'content-type': 'application/json', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
    );
    res.flushHeaders();
    if (p.sse) res.write('retry: 2000\n\n');
    for (const chunk of this.#pending.splice(0)) res.write(chunk);
    res.on('close', this.#stop);
    res.on('error', this.#stop);
    const socket = request.raw.socket;
    if (!socket || socket.destroyed) {
      this.stop();
      return;
    }
    socket.setNoDelay(true);
    if (p.sse) {
      this.#ping = setInterval(() => this.#send(': ping\n\n'), p.pingMs);
      this.#ping.unref();
    }
  }

  stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    if (this.#ping) clearInterval(this.#ping);
    this.#registry.delete(this.#stop);
    // Its connection goes too: a stream ends only when the client or the server goes, and a
    // closing server must not wait for the keep-alive timeout of every watcher.
    if (this.#res) endStream(this.#res);
  }

  #frame(type: EventType, object: Resource, id?: string): string {
    const json = `{"type":"${type}","object":${objectJson(object)}}`;
    return this.#p.sse ? `${id !== undefined ? `id: ${id}\n` : ''}data: ${json}\n\n` : `${json}\n`;
  }

  #send(chunk: string): void {
    if (this.#closed) return;
    const res = this.#res;
    if (!res) {
      this.#pending.push(chunk);
      return;
    }
    res.write(chunk);
    if (res.writableLength > (this.#p.maxBufferedBytes ?? 16 * 2 ** 20)) this.stop();
  }

  /** Objects never change namespace: one of another namespace is never the client's business. */
  #inNamespace(o: Resource): boolean {
    return this.#p.namespace === undefined || namespaceOf(o) === this.#p.namespace;
  }

  #onEvent(ev: WatchEvent): void {
    const o = ev.object;
    if (!this.#inNamespace(o)) return;
    const name = keyOf(o);
    const matches = this.#p.selector(o.metadata.labels);
    const before = this.#matched.get(name);
    let type: EventType = ev.type;
    if (ev.type === 'DELETED') {
      this.#matched.delete(name);
      if (!matches && !(before === true || (before === undefined && this.#resume))) return;
    } else if (matches) {
      if (before === false && ev.type === 'MODIFIED') type = 'ADDED';
      this.#matched.set(name, true);
    } else {
      this.#matched.set(name, false);
      if (before === true || (before === undefined && this.#resume && ev.type === 'MODIFIED')) type = 'DELETED';
      else return;
    }
    this.#send(this.#frame(type, o, o.metadata.resourceVersion));
  }
}
