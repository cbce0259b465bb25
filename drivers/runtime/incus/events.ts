// The Incus lifecycle events websocket (/1.0/events?type=lifecycle), through the same undici
// dispatcher as the REST calls (unix socket or HTTPS with the client certificate). Reconnects
// with exponential backoff when the socket drops or cannot be opened.
import { WebSocket } from 'undici';
import type { IncusClient } from './client.js';
import { errorMessage } from '../../../specs/errors.js';

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

export function subscribeEvents(client: IncusClient, opts: EventsOptions): () => void {
  const stream = new EventStream(client, opts);
  stream.connect();
  return () => stream.close();
}

/** The instance and action of an instance-* lifecycle frame in `project` (any when unset), else undefined. */
export function instanceEventOf(
  data: unknown,
  project: string | undefined,
): { instance: string; action: string } | undefined {
  let frame: LifecycleFrame;
  try {
    frame = JSON.parse(
      typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer).toString('utf8'),
    ) as LifecycleFrame;
  } catch {
    return undefined;
  }
  const action = frame.metadata?.action ?? '';
  if (frame.type !== 'lifecycle' || !action.startsWith('instance-')) return undefined;
  const frameProject = frame.project ?? frame.metadata?.project;
  if (project && frameProject && frameProject !== project) return undefined;
  const instance = instanceFromSource(frame.metadata?.source) ?? frame.metadata?.name;
  return instance ? { instance, action } : undefined;
}

/** One events websocket, opened again after each drop with a backoff that a good open resets. */
class EventStream {
  readonly #client: IncusClient;
  readonly #opts: EventsOptions;
  readonly #url: string;
  readonly #backoff: [first: number, max: number];
  readonly #log: (msg: string) => void;
  #closed = false;
  #socket: WebSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay: number;
  /** The current socket opened (as opposed to failing to). */
  #opened = false;
  /** Some socket opened before: the next open is a reconnect, after which events may be missing. */
  #everOpened = false;

  constructor(client: IncusClient, opts: EventsOptions) {
    this.#client = client;
    this.#opts = opts;
    this.#backoff = opts.backoffMs ?? [250, 10_000];
    this.#delay = this.#backoff[0];
    this.#log = opts.log ?? (() => undefined);
    this.#url = `${client.base.replace(/^http/, 'ws')}/1.0/events?type=lifecycle${opts.project ? `&project=${encodeURIComponent(opts.project)}` : ''}`;
  }

  connect(): void {
    if (this.#closed) return;
    this.#opened = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#url, { dispatcher: this.#client.dispatcher });
    } catch (err) {
      this.#log(`incus events: cannot open ${this.#url}: ${errorMessage(err)}`);
      this.#retry();
      return;
    }
    this.#socket = ws;
    ws.onopen = () => this.#onOpen();
    ws.onmessage = (ev) => this.#onMessage(ev.data);
    ws.onerror = () => {
      // onclose follows; the reason is there.
    };
    ws.onclose = (ev) => {
      if (this.#socket === ws) this.#socket = undefined;
      if (this.#closed) return;
      this.#log(
        `incus events: socket ${this.#opened ? 'dropped' : 'failed to open'} (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''}); reconnecting in ${this.#delay} ms`,
      );
      this.#retry();
    };
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    try {
      this.#socket?.close();
    } catch {
      // already closing
    }
    this.#socket = undefined;
  }

  #onOpen(): void {
    this.#opened = true;
    this.#delay = this.#backoff[0];
    if (this.#everOpened) {
      this.#log('incus events: reconnected');
      this.#opts.onReconnect?.();
    }
    this.#everOpened = true;
  }

  #onMessage(data: unknown): void {
    const event = instanceEventOf(data, this.#opts.project);
    if (!event) return;
    Promise.resolve(this.#opts.onEvent(event.instance, event.action)).catch((err) =>
      this.#log(`incus events: handler failed: ${errorMessage(err)}`),
    );
  }

  #retry(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.connect(), this.#delay);
    this.#timer.unref?.();
    this.#delay = Math.min(this.#backoff[1], this.#delay * 2);
  }
}
