// The Incus lifecycle events websocket (/1.0/events?type=lifecycle), through the same undici
// dispatcher as the REST calls (unix socket or HTTPS with the client certificate). Reconnects
// with exponential backoff when the socket drops or cannot be opened.
import { WebSocket } from 'undici';
import type { IncusClient } from './client.js';
import { errorMessage } from '../../../../specs/errors.js';

export interface EventsOptions {
  project?: string;
  /** [first, max] reconnect delay in ms; default [250, 10000]. */
  backoffMs?: [number, number];
  /** Called with the instance name of every instance-* lifecycle event. */
  onEvent: (instance: string, action: string) => void | Promise<void>;
  /** Called after a reconnect (not the first connect): events may have been missed meanwhile. */
  onReconnect?: () => void;
  log?: (msg: string) => void;
}

interface LifecycleFrame {
  type?: string;
  metadata?: { action?: string; source?: string; name?: string; project?: string };
  project?: string;
}

/** Instance name from an event source like /1.0/instances/c1 or /1.0/instances/c1?project=p. */
export function instanceFromSource(source: string | undefined): string | undefined {
  if (!source) return undefined;
  const m = /^\/1\.0\/instances\/([^/?]+)/.exec(source);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

// One closure over the socket, its reconnect timer and the backoff they share; its handlers are short.
export function subscribeEvents(client: IncusClient, opts: EventsOptions): () => void {
  const [first, max] = opts.backoffMs ?? [250, 10_000];
  const log = opts.log ?? (() => undefined);
  const url = `${client.base.replace(/^http/, 'ws')}/1.0/events?type=lifecycle${opts.project ? `&project=${encodeURIComponent(opts.project)}` : ''}`;
  let closed = false;
  let socket: WebSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = first;
  let opened = false;
  let everOpened = false;

  const connect = () => {
    if (closed) return;
    opened = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, { dispatcher: client.dispatcher });
    } catch (err) {
      log(`incus events: cannot open ${url}: ${errorMessage(err)}`);
      return retry();
    }
    socket = ws;
    ws.onopen = () => {
      opened = true;
      delay = first;
      if (everOpened) {
        log('incus events: reconnected');
        opts.onReconnect?.();
      }
      everOpened = true;
    };
    ws.onmessage = (ev) => {
      let frame: LifecycleFrame;
      try {
        frame = JSON.parse(
          typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString('utf8'),
        ) as LifecycleFrame;
      } catch {
        return;
      }
      const action = frame.metadata?.action ?? '';
      if (frame.type !== 'lifecycle' || !action.startsWith('instance-')) return;
      if (
        opts.project &&
        (frame.project ?? frame.metadata?.project) &&
        (frame.project ?? frame.metadata?.project) !== opts.project
      )
        return;
      const instance = instanceFromSource(frame.metadata?.source) ?? frame.metadata?.name;
      if (!instance) return;
      Promise.resolve(opts.onEvent(instance, action)).catch((err) =>
        log(`incus events: handler failed: ${errorMessage(err)}`),
      );
    };
    ws.onerror = () => {
      // onclose follows; the reason is there.
    };
    ws.onclose = (ev) => {
      if (socket === ws) socket = undefined;
      if (closed) return;
      log(
        `incus events: socket ${opened ? 'dropped' : 'failed to open'} (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''}); reconnecting in ${delay} ms`,
      );
      retry();
    };
  };

  const retry = () => {
    if (closed) return;
    timer = setTimeout(connect, delay);
    timer.unref?.();
    delay = Math.min(max, delay * 2);
  };

  connect();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    try {
      socket?.close();
    } catch {
      // already closing
    }
    socket = undefined;
  };
}
