// A real API server on loopback for each test file, and a small client around undici fetch.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch, type Response } from 'undici';
import { Store, eventsPath, type StoreOptions } from '../../store/index.js';
import { startServer, type ServerOptions, type StartedServer } from '../../api/server.js';

export const USER = 'admin';
export const PASSWORD = 'correct horse battery staple';
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

export interface TestServer {
  url: string;
  dir: string;
  storeFile: string;
  store: Store;
  server: StartedServer;
  req(
    method: string,
    path: string,
    init?: { body?: unknown; type?: string; headers?: Record<string, string>; auth?: string | null },
  ): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Response['headers'];
  text: string;
  /** The parsed JSON body (undefined when not JSON). */
  json: any;
}

export async function startTestServer(
  opts: Partial<ServerOptions> & { storeOptions?: StoreOptions } = {},
): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-api-'));
  const storeFile = join(dir, 'store.json');
  const store = await Store.open(storeFile, opts.storeOptions);
  const server = await startServer({
    store,
    listen: '127.0.0.1:0',
    logger: false,
    credentials: { username: USER, password: PASSWORD },
    ...opts,
  });
  const url = server.address;
  const req: TestServer['req'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.auth !== null) headers.authorization = init.auth ?? AUTH;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= init.type ?? 'application/json';
    }
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    url,
    dir,
    storeFile,
    store,
    server,
    req,
    async close() {
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const fileBytes = (path: string) => readFile(path);

/** Every byte the store keeps on disk for `storeFile` (snapshot, journal, Events): to see that nothing changed. */
export async function diskBytes(storeFile: string): Promise<Buffer> {
  const parts = [storeFile, `${storeFile}.journal`, eventsPath(storeFile), `${eventsPath(storeFile)}.journal`];
  return Buffer.concat(await Promise.all(parts.map((p) => readFile(p).catch(() => Buffer.from(`(no ${p})`)))));
}

export const workspace = (
  name: string,
  spec: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name, ...metadata },
  spec,
});

export const port = (name: string, ws: string, n: number, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Port',
  metadata: { name, ...metadata },
  spec: { workspace: ws, port: n },
});

/** Reads a streaming response line by line (NDJSON) or event by event (SSE). */
export class StreamReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buf = '';

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  async #fill(): Promise<boolean> {
    const { value, done } = await this.#reader.read();
    if (done) return false;
    this.#buf += this.#decoder.decode(value, { stream: true });
    return true;
  }

  /** The next chunk ending with `sep` (without it), or undefined at the end of the stream. */
  async next(sep: string): Promise<string | undefined> {
    for (;;) {
      const i = this.#buf.indexOf(sep);
      if (i >= 0) {
        const out = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + sep.length);
        return out;
      }
      if (!(await this.#fill())) return undefined;
    }
  }

  async line(): Promise<any> {
    const l = await this.next('\n');
    return l === undefined ? undefined : JSON.parse(l);
  }

  /** The next SSE block, parsed into its fields (comments under `comments`). */
  async event(): Promise<{ id?: string; data?: string; comments: string[]; retry?: string } | undefined> {
    const block = await this.next('\n\n');
    if (block === undefined) return undefined;
    const ev: { id?: string; data?: string; comments: string[]; retry?: string } = { comments: [] };
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) ev.comments.push(line.slice(1).trim());
      else if (line.startsWith('id:')) ev.id = line.slice(3).trim();
      else if (line.startsWith('data:'))
        ev.data = (ev.data === undefined ? '' : `${ev.data}\n`) + line.slice(5).trimStart();
      else if (line.startsWith('retry:')) ev.retry = line.slice(6).trim();
    }
    return ev;
  }

  async cancel() {
    await this.#reader.cancel().catch(() => {});
  }
}
