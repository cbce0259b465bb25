// A fake Incus on a unix socket that answers operations the way Incus 6.0.4 does (observed
// here with curl against the real one, and in cmd/incusd/operations.go of that release):
//  - POST /1.0/instances (or any POST) answers 202 async with /1.0/operations/<id>;
//  - GET /1.0/operations/<id>/wait?timeout=N waits up to N s; a still-running operation then
//    answers error_code 500 "context deadline exceeded"; a failed one answers an error reply with
//    the failure's own code and message (404 "... Storage volume not found"); a successful one a
//    sync reply with the operation;
//  - GET /1.0/operations/<id> answers the record (status_code 103 running, 200, 400 failure);
//  - a reaped operation answers 404 "Operation not found" to both.
import { createServer, type Server, type ServerResponse } from 'node:http';

export interface FakeOperationPlan {
  /** How long the operation runs, ms. */
  runMs: number;
  /** How it ends: success with metadata, or failure with the error's code and message. */
  outcome: { ok: true; metadata?: Record<string, unknown> } | { ok: false; code: number; err: string };
  /** Forget the operation at once when it ends (as if reaped before anyone waited). */
  reapAtEnd?: boolean;
  /** Forget the record (GET) at the end but still answer /wait: reaped between a wait and a look. */
  reapRecordAtEnd?: boolean;
}

interface FakeOp {
  id: string;
  plan: FakeOperationPlan;
  endsAt: number;
  reaped: boolean;
}

export interface FakeIncus {
  server: Server;
  /** The plan of the next POST's operation. */
  next(plan: FakeOperationPlan): void;
  /** Requests seen, in order (method and URL). */
  requests: string[];
  close(): Promise<void>;
}

const RUNNING = 103;

export async function startFakeIncus(socketPath: string): Promise<FakeIncus> {
  const ops = new Map<string, FakeOp>();
  const plans: FakeOperationPlan[] = [];
  const requests: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let count = 0;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, code: number, message: string) =>
    json(res, code, { type: 'error', status: '', status_code: 0, error_code: code, error: message, metadata: null });
  const record = (op: FakeOp) => {
    const ended = Date.now() >= op.endsAt;
    const o = op.plan.outcome;
    const statusCode = !ended ? RUNNING : o.ok ? 200 : 400;
    return {
      id: op.id,
      class: 'task',
      status: statusCode === RUNNING ? 'Running' : statusCode === 200 ? 'Success' : 'Failure',
      status_code: statusCode,
      metadata: ended && o.ok ? (o.metadata ?? null) : null,
      err: ended && !o.ok ? o.err : '',
    };
  };
  const live = (id: string) => {
    const op = ops.get(id);
    if (!op || op.reaped || (op.plan.reapAtEnd && Date.now() >= op.endsAt)) return undefined;
    return op;
  };
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://incus');
    const wait = /^\/1\.0\/operations\/([^/]+)\/wait$/.exec(url.pathname);
    const get = /^\/1\.0\/operations\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'POST') {
      req.resume();
      const plan = plans.shift();
      if (!plan) return error(res, 500, 'fake Incus: no operation planned');
      const id = `op-${++count}`;
      ops.set(id, { id, plan, endsAt: Date.now() + plan.runMs, reaped: false });
      return json(res, 202, {
        type: 'async',
        status: 'Operation created',
        status_code: 100,
        operation: `/1.0/operations/${id}`,
        metadata: { id, status: 'Running', status_code: RUNNING },
      });
    }
    if (req.method === 'GET' && wait?.[1]) {
      const op = live(wait[1]);
      if (!op) return error(res, 404, 'Operation not found');
      const timeoutMs = Number(url.searchParams.get('timeout') ?? '-1') * 1000;
      const answer = () => {
        if (Date.now() < op.endsAt) return error(res, 500, 'context deadline exceeded');
        const o = op.plan.outcome;
        if (!o.ok) return error(res, o.code, o.err);
        return json(res, 200, { type: 'sync', status: 'Success', status_code: 200, metadata: record(op) });
      };
      const left = op.endsAt - Date.now();
      if (left <= 0) return answer();
      if (timeoutMs >= 0 && timeoutMs < left) return later(timeoutMs, answer);
      // The operation ends when this timer fires: a timer may fire a millisecond before
      // Date.now() reaches endsAt, and the operation must not then look still running.
      return later(left, () => {
        op.endsAt = Math.min(op.endsAt, Date.now());
        answer();
      });
    }
    if (req.method === 'GET' && get?.[1]) {
      const op = live(get[1]);
      if (!op || (op.plan.reapRecordAtEnd && Date.now() >= op.endsAt)) return error(res, 404, 'Operation not found');
      return json(res, 200, { type: 'sync', status: 'Success', status_code: 200, metadata: record(op) });
    }
    return error(res, 404, 'not found');
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  return {
    server,
    next: (plan) => plans.push(plan),
    requests,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
