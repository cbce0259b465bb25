// Waiting for an Incus operation, with the two traps of Incus 6.0's /wait (REFERENCE.md):
//  - a /wait?timeout=N on an operation still running past N answers error_code 500 "context
//    deadline exceeded": the operation goes on, so that is a reason to wait again, not a failure;
//  - a failed operation's /wait answers an error reply carrying the failure's message, with the
//    failure's own code: 404 for "Storage volume not found", which is not "the operation is gone".
// So an error reply from /wait is never read alone: the operation's own record (GET
// /1.0/operations/<id>, kept a few seconds after it ends) says whether it runs, failed or
// succeeded. Only when that record is gone too and /wait said "Operation not found" is the
// operation truly gone (finished and reaped): the outcome is then unknown, and callers that
// need certainty check the resource itself.
import { RuntimeError } from '../types.js';

export interface Operation {
  id: string;
  status: string;
  status_code: number;
  err: string;
  metadata?: Record<string, unknown> | null;
}

/** The few client calls waiting needs (IncusClient provides them). */
export interface OperationTransport {
  readonly where: string;
  raw(method: 'GET', path: string, body?: undefined, timeoutMs?: number): Promise<{ metadata?: unknown }>;
}

/** What one look at an operation found. */
type Outcome = { done: Operation } | { gone: true } | { running: Operation };

const SUCCESS = 200;
const FAILURE_FROM = 400; // 400 Failure, 401 Cancelled
/** Incus's answer for an operation it no longer knows, on /wait and on GET alike. */
const GONE = /^operation not found$/i;
/** After an error reply that was not the slice's own timeout, do not ask again at once. */
const PAUSE_MS = 250;

export async function waitForOperation(
  client: OperationTransport,
  operation: string,
  timeoutSeconds: number,
  sliceSeconds: number,
): Promise<Operation | undefined> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const [path = operation, query = ''] = operation.split('?');
  const withQuery = (p: string, first = '') => {
    const params = [first, query].filter(Boolean).join('&');
    return params ? `${p}?${params}` : p;
  };
  for (;;) {
    const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    const slice = Math.min(left, sliceSeconds);
    const outcome = await waitOnce(client, path, withQuery, slice);
    if ('gone' in outcome) return undefined;
    if ('done' in outcome) return outcome.done;
    if (Date.now() >= deadline) {
      throw new RuntimeError(
        `${client.where}: operation ${path} still ${outcome.running.status} after ${timeoutSeconds}s`,
        'Timeout',
        504,
      );
    }
  }
}

async function waitOnce(
  client: OperationTransport,
  path: string,
  withQuery: (p: string, first?: string) => string,
  slice: number,
): Promise<Outcome> {
  const started = Date.now();
  let reply: { metadata?: unknown };
  try {
    reply = await client.raw('GET', withQuery(`${path}/wait`, `timeout=${slice}`), undefined, (slice + 30) * 1000);
  } catch (err) {
    if (!(err instanceof RuntimeError) || err.reason === 'RuntimeUnavailable') throw err;
    const record = await readRecord(client, withQuery(path));
    if (record) {
      const outcome = judge(record);
      const timedOut = Date.now() - started >= slice * 1000;
      if ('running' in outcome && !timedOut) await new Promise((r) => setTimeout(r, PAUSE_MS));
      return outcome;
    }
    // No record: reaped. Gone only if /wait said so; any other error was the operation's failure.
    if (err.code === 404 && GONE.test(err.message)) return { gone: true };
    throw new RuntimeError(err.message, 'OperationFailed', err.code);
  }
  return judge(reply.metadata as Operation);
}

/** The operation's record, or undefined when Incus no longer knows it. */
async function readRecord(client: OperationTransport, path: string): Promise<Operation | undefined> {
  try {
    return (await client.raw('GET', path)).metadata as Operation;
  } catch (err) {
    if (err instanceof RuntimeError && err.code === 404) return undefined;
    throw err;
  }
}

function judge(op: Operation): Outcome {
  if (op.status_code === SUCCESS) return { done: op };
  if (op.status_code >= FAILURE_FROM) {
    throw new RuntimeError(op.err || `operation ${op.status ?? op.status_code}`, 'OperationFailed', op.status_code);
  }
  return { running: op };
}
