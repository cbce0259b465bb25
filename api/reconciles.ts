// GET /api/v1/reconciles: the controller's reconcile log (`tidepool logs --controller`), one
// line per reconcile with its key, reconcile id, duration and outcome; `workspace=NAME` for
// one workspace (its key and its Ports'), `tailLines=N`, `follow=true` to keep streaming.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { entryConcerns, formatReconcile, type ReconcileLogService } from '../specs/reconcile-log.js';
import { badRequest } from '../store/index.js';
import { ApiError } from './errors.js';
import { endStream } from './stream-end.js';

interface Query {
  workspace?: string;
  follow?: string;
  tailLines?: string;
}

export async function reconcileRoutes(
  app: FastifyInstance,
  opts: { log?: ReconcileLogService | undefined },
): Promise<void> {
  const followers = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...followers]) end();
  });
  app.get('/api/v1/reconciles', async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    const log = opts.log;
    if (!log)
      throw new ApiError(501, 'NotImplemented', 'this server runs no controller (API only): there are no reconciles');
    const { workspace, follow, tailLines } = req.query;
    const tail = tailLines === undefined ? undefined : Number(tailLines);
    if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0))
      throw badRequest(`tailLines must be a whole number, got "${tailLines}"`);
    let lines = log.recent(workspace || undefined).map(formatReconcile);
    if (tail !== undefined) lines = lines.slice(Math.max(0, lines.length - tail));
    if (follow !== 'true') return reply.type('text/plain; charset=utf-8').send(lines.map((l) => `${l}\n`).join(''));
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
    for (const l of lines) res.write(`${l}\n`);
    const off = log.subscribe((e) => {
      if (!workspace || entryConcerns(e, workspace)) res.write(`${formatReconcile(e)}\n`);
    });
    const end = () => {
      off();
      followers.delete(end);
      endStream(res);
    };
    followers.add(end);
    res.once('close', () => {
      off();
      followers.delete(end);
    });
  });
}
