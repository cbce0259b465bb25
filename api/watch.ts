// Watch streams: newline-delimited JSON `{type, object}` (as kubectl reads them), or
// Server-Sent Events for browsers. Errors that happen before the stream starts (410 Gone,
// a bad resourceVersion) are thrown, so the caller replies with a Status.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { API_VERSION, type KindInfo } from '../specs/index.js';
import type { Resource, Selector, Store, WatchEvent } from '../store/index.js';
import { objectJson } from './json.js';
import { endStream } from './stream-end.js';

export interface WatchParams {
  info: KindInfo;
  selector: Selector;
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
  const resume = p.resourceVersion !== undefined && p.resourceVersion !== '' && p.resourceVersion !== '0';
  const pending: string[] = [];
  let res: ServerResponse | undefined;
  let closed = false;

  const frame = (type: EventType, object: Resource, id?: string): string => {
    const json = `{"type":"${type}","object":${objectJson(object)}}`;
    return p.sse ? `${id !== undefined ? `id: ${id}\n` : ''}data: ${json}\n\n` : `${json}\n`;
  };
  const send = (chunk: string) => {
    if (closed) return;
    if (!res) {
      pending.push(chunk);
      return;
    }
    res.write(chunk);
    if (res.writableLength > (p.maxBufferedBytes ?? 16 * 2 ** 20)) stop();
  };

  // Which objects the client has been told match the selector: an object whose labels stop
  // matching is reported DELETED, one that starts matching ADDED (as Kubernetes does).
  // When resuming, what the client knew is unknown: a non-matching change is reported DELETED.
  const matched = new Map<string, boolean>();
  const onEvent = (ev: WatchEvent) => {
    const o = ev.object;
    const name = o.metadata.name;
    const matches = p.selector(o.metadata.labels);
    const before = matched.get(name);
    let type: EventType = ev.type;
    if (ev.type === 'DELETED') {
      matched.delete(name);
      if (!matches && !(before === true || (before === undefined && resume))) return;
    } else if (matches) {
      if (before === false && ev.type === 'MODIFIED') type = 'ADDED';
      matched.set(name, true);
    } else {
      matched.set(name, false);
      if (before === true || (before === undefined && resume && ev.type === 'MODIFIED')) type = 'DELETED';
      else return;
    }
    send(frame(type, o, o.metadata.resourceVersion));
  };

  let unsubscribe: () => void;
  if (resume) {
    unsubscribe = store.watch({ kind: p.info.kind, resourceVersion: p.resourceVersion }, onEvent); // may throw 410
  } else {
    const { items, resourceVersion } = store.list(p.info.kind);
    const sorted = [...items].sort((a, b) =>
      a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
    );
    for (const o of sorted as Resource[]) {
      const m = p.selector(o.metadata.labels);
      matched.set(o.metadata.name, m);
      if (m) send(frame('ADDED', o));
    }
    // SSE: the initial events carry no id; this one sets the id to resume from.
    if (p.sse) send(`id: ${resourceVersion}\n\n`);
    else if (p.bookmarks)
      send(frame('BOOKMARK', { apiVersion: API_VERSION, kind: p.info.kind, metadata: { name: '', resourceVersion } }));
    unsubscribe = store.watch({ kind: p.info.kind }, onEvent);
  }

  let ping: NodeJS.Timeout | undefined;
  function stop() {
    if (closed) return;
    closed = true;
    unsubscribe();
    if (ping) clearInterval(ping);
    registry.delete(stop);
    // Its connection goes too: a stream ends only when the client or the server goes, and a
    // closing server must not wait for the keep-alive timeout of every watcher.
    if (res) endStream(res);
  }
  registry.add(stop);

  reply.hijack();
  res = reply.raw;
  res.writeHead(
    200,
    p.sse
      ? { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }
      : { 'content-type': 'application/json', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
  );
  res.flushHeaders();
  if (p.sse) res.write('retry: 2000\n\n');
  for (const chunk of pending.splice(0)) res.write(chunk);
  res.on('close', stop);
  res.on('error', stop);
  const socket = request.raw.socket;
  if (!socket || socket.destroyed) {
    stop();
    return;
  }
  socket.setNoDelay(true);
  if (p.sse) {
    ping = setInterval(() => send(': ping\n\n'), p.pingMs);
    ping.unref();
  }
}
