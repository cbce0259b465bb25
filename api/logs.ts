// GET /api/v1/workspaces/{name}/log: a workspace's activity log (what the controller did
// and saw, one line per event, from <dataDir>/.logs/<name>/events.jsonl), like a pod's
// log in Kubernetes: `sinceSeconds`, `sinceTime`, `tailLines`, and `follow=true` to keep
// the response open and send new lines as they are written. GET
// /api/v1/imagetemplates/{name}/log: the last build's log of an ImageTemplate, the same way
// (<dataDir>/.build-logs/<name>.log, plain lines, each with its time).
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { objectKey } from '../specs/index.js';
import { activityLogDir, badRequest, type Store } from '../store/index.js';
import { ApiError } from './errors.js';
import { namespacePath, requestNamespace } from './namespaces.js';
import { LogQuery, NameParams, type TypeBoxProvider } from './params.js';
import { endStream } from './stream-end.js';
import type { ServerResponse } from 'node:http';

const FOLLOW_POLL_MS = 250;

const buildDocs = {
  operationId: 'readImageTemplateLog',
  tags: ['ImageTemplate'],
  responses: {
    200: {
      description: 'The last build log, one line each',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
  },
};

const docs = {
  operationId: 'readWorkspaceLog',
  tags: ['Workspace'],
  responses: { 200: { description: 'One line per event', content: { 'text/plain': { schema: { type: 'string' } } } } },
};

export const logsPlugin = fp(
  async (app: FastifyInstance, opts: { store: Store; logsDir: string; buildLogsDir?: string }) => {
    // `follow=true` streams until the client goes; closing the server ends every one of them
    // (one hook, added before the server listens: Fastify refuses hooks added after that).
    const followers = new Set<() => void>();
    app.addHook('preClose', async () => {
      for (const end of [...followers]) end();
    });
    const schema = { ...docs, params: NameParams, querystring: LogQuery };
    const paths = ['/api/v1/workspaces/:name/log', `${namespacePath(':namespace')}/workspaces/:name/log`];
    for (const path of paths)
      app.withTypeProvider<TypeBoxProvider>().get(path, { schema }, async (req, reply) => {
        const name = objectKey(requestNamespace(req), req.params.name);
        if (!opts.store.get('Workspace', name)) throw new ApiError(404, 'NotFound', `workspaces "${name}" not found`);
        const since = sinceOf(req.query);
        const tail = req.query.tailLines === undefined ? undefined : Number(req.query.tailLines);
        const file = join(activityLogDir(opts.logsDir, name), 'events.jsonl');
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
        follow(reply.raw, file, offset, lines, followers);
      });
    const buildSchema = { ...buildDocs, params: NameParams, querystring: LogQuery };
    app
      .withTypeProvider<TypeBoxProvider>()
      .get('/api/v1/imagetemplates/:name/log', { schema: buildSchema }, async (req, reply) => {
        const { name } = req.params;
        if (!opts.store.get('ImageTemplate', name))
          throw new ApiError(404, 'NotFound', `imagetemplates "${name}" not found`);
        const file = join(opts.buildLogsDir ?? join(opts.logsDir, '..', '.build-logs'), `${name}.log`);
        const buf = await readFrom(file, 0).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return Buffer.alloc(0);
          throw err;
        });
        let lines = plainLines(buf.toString('utf8'), sinceOf(req.query));
        const tail = req.query.tailLines === undefined ? undefined : Number(req.query.tailLines);
        if (tail !== undefined) lines = lines.slice(Math.max(0, lines.length - tail));
        reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache');
        if (req.query.follow !== 'true') return reply.send(lines.map((l) => `${l}\n`).join(''));
        reply.hijack();
        follow(reply.raw, file, buf.length, lines, followers, plainLines);
      });
  },
  { name: 'tidepool-logs', fastify: '5.x' },
);

/** Streams the lines there are, then each new one, until the client goes or the server closes. */
function follow(
  res: ServerResponse,
  file: string,
  from: number,
  lines: string[],
  followers: Set<() => void>,
  format: (text: string, since: number | undefined) => string[] = formatLines,
): void {
  let offset = from;
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
      for (const l of format(chunk.slice(0, cut), undefined)) res.write(`${l}\n`);
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

/** A build log's lines as they are (each starts with its RFC 3339 time), those at or after `since`. */
export function plainLines(text: string, since: number | undefined): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && (since === undefined || Date.parse(l.slice(0, l.indexOf(' '))) >= since));
}

function sinceOf(q: Static<typeof LogQuery>): number | undefined {
  if (q.sinceSeconds !== undefined && q.sinceTime !== undefined)
    throw badRequest('at most one of sinceTime or sinceSeconds may be specified');
  if (q.sinceSeconds !== undefined) return Date.now() - Number(q.sinceSeconds) * 1000;
  if (q.sinceTime !== undefined) {
    const t = Date.parse(q.sinceTime);
    if (!/^\d{4}-\d\d-\d\dT/.test(q.sinceTime) || Number.isNaN(t))
      throw badRequest(`sinceTime must be an RFC 3339 time, got "${q.sinceTime}"`);
    return t;
  }
  return undefined;
}
