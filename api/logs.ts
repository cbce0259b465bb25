// GET /api/v1/workspaces/{name}/log: a workspace's activity log (what the controller did
// and saw, one line per event, from <dataDir>/.logs/<name>/events.jsonl), like a pod's
// log in Kubernetes: `sinceSeconds`, `sinceTime`, `tailLines`, and `follow=true` to keep
// the response open and send new lines as they are written.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, type Store } from '../store/index.js';
import { ApiError } from './errors.js';
import { endStream } from './stream-end.js';

interface LogQuery {
  follow?: string;
  sinceSeconds?: string;
  sinceTime?: string;
  tailLines?: string;
}

const FOLLOW_POLL_MS = 250;

export function registerLogRoutes(app: FastifyInstance, opts: { store: Store; logsDir: string }): void {
  // `follow=true` streams until the client goes; closing the server ends every one of them
  // (one hook, added before the server listens: Fastify refuses hooks added after that).
  const followers = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...followers]) end();
  });
  app.get(
    '/api/v1/workspaces/:name/log',
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: LogQuery }>, reply) => {
      const { name } = req.params;
      if (!opts.store.get('Workspace', name)) throw new ApiError(404, 'NotFound', `workspaces "${name}" not found`);
      const since = sinceOf(req.query);
      const tail = intParam(req.query.tailLines, 'tailLines');
      const file = join(opts.logsDir, name, 'events.jsonl');
      let offset = 0;
      let text = '';
      try {
        const buf = await readFrom(file, 0);
        offset = buf.length;
        text = buf.toString('utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      let lines = formatLines(text, since);
      if (tail !== undefined) lines = lines.slice(Math.max(0, lines.length - tail));
      reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache');
      if (req.query.follow !== 'true') return reply.send(lines.map((l) => `${l}\n`).join(''));

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
      for (const l of lines) res.write(`${l}\n`);
      let partial = '';
      let closed = false;
      const timer = setInterval(async () => {
        try {
          const size = (await stat(file).catch(() => undefined))?.size ?? 0;
          if (size < offset) offset = 0; // rotated or truncated: start over from the new file
          if (size === offset || closed) return;
          const buf = await readFrom(file, offset);
          offset += buf.length;
          const chunk = partial + buf.toString('utf8');
          const cut = chunk.lastIndexOf('\n') + 1;
          partial = chunk.slice(cut);
          for (const l of formatLines(chunk.slice(0, cut), undefined)) res.write(`${l}\n`);
        } catch {
          // the next tick tries again; a log that cannot be read stays silent rather than failing the stream
        }
      }, FOLLOW_POLL_MS);
      const stop = () => {
        closed = true;
        clearInterval(timer);
        followers.delete(end);
      };
      // The server is closing: the stream ends (the client sees a complete response) and its
      // connection goes with it, rather than staying open for a next request that never comes.
      const end = () => {
        stop();
        endStream(res);
      };
      followers.add(end);
      res.once('close', stop);
    },
  );
}

async function readFrom(file: string, offset: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.max(0, size - offset));
    if (buf.length) await fh.read(buf, 0, buf.length, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

/** `2026-12-01T09:00:00Z Normal Started: the VM is running (x3)` per event snapshot. */
export function formatLines(text: string, since: number | undefined): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let ev: {
      lastTimestamp?: string;
      firstTimestamp?: string;
      type?: string;
      reason?: string;
      note?: string;
      count?: number;
    };
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    const at = ev.lastTimestamp ?? ev.firstTimestamp ?? '';
    if (since !== undefined && !(Date.parse(at) >= since)) continue;
    out.push(
      `${at} ${ev.type ?? 'Normal'} ${ev.reason ?? ''}: ${ev.note ?? ''}${ev.count && ev.count > 1 ? ` (x${ev.count})` : ''}`,
    );
  }
  return out;
}

function sinceOf(q: LogQuery): number | undefined {
  if (q.sinceSeconds !== undefined && q.sinceTime !== undefined)
    throw badRequest('at most one of sinceTime or sinceSeconds may be specified');
  const secs = intParam(q.sinceSeconds, 'sinceSeconds');
  if (secs !== undefined) return Date.now() - secs * 1000;
  if (q.sinceTime !== undefined) {
    const t = Date.parse(q.sinceTime);
    if (!/^\d{4}-\d\d-\d\dT/.test(q.sinceTime) || Number.isNaN(t))
      throw badRequest(`sinceTime must be an RFC 3339 time, got "${q.sinceTime}"`);
    return t;
  }
  return undefined;
}

function intParam(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}
