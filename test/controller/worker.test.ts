// The worker loop is the one place a reconcile is observed: each run gets a logger bound to its
// key and a reconcile id, and its outcome and duration are reported once, with the queue
// operation controller-runtime would make for it.
import { describe, expect, it } from 'vitest';
import { ExponentialBackoff, FakeClock, RateLimitingQueue } from '../../controller/queue/index.js';
import {
  TerminalError,
  controllerOf,
  runWorker,
  type Reconcile,
  type ReconcileRecord,
  type Result,
} from '../../controller/reconcile.js';
import { childLogger, type Logger } from '../../controller/types.js';

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Runs one worker over `keys` with `reconcile`, then shuts the queue down; returns what was seen. */
async function runOnce(keys: string[], reconcile: Reconcile) {
  const clock = new FakeClock();
  const queue = new RateLimitingQueue(clock, new ExponentialBackoff({ baseMs: 100 }));
  const lines: Line[] = [];
  const records: ReconcileRecord[] = [];
  const started: string[] = [];
  // The queue as the run left it (shutdown clears the delayed keys afterwards).
  const after: { delayed: number; retries: number }[] = [];
  for (const k of keys) queue.add(k);
  const worker = runWorker(queue, reconcile, recordingLogger(lines), {
    observer: {
      started: (key) => started.push(key),
      finished: (r) => {
        records.push(r);
        after.push({ delayed: queue.delayedCount(), retries: queue.numRequeues(r.key) });
      },
    },
  });
  // Let the worker take every key that is ready now, then stop it.
  for (let i = 0; i < 50 && records.length < keys.length; i++) await new Promise((r) => setImmediate(r));
  queue.shutdown();
  await worker;
  return { after, lines, records, started };
}

describe('runWorker', () => {
  it('lets the event loop turn between reconciles that need no I/O', async () => {
    const clock = new FakeClock();
    const queue = new RateLimitingQueue(clock, new ExponentialBackoff({ baseMs: 100 }));
    for (let i = 0; i < 20; i++) queue.add(`k${i}`);
    const order: string[] = [];
    // Something waiting on the loop (a request on the API's socket) while the queue is full.
    setImmediate(() => order.push('loop turn'));
    const worker = runWorker(
      queue,
      async (key) => {
        order.push(key);
        return {};
      },
      recordingLogger([]),
    );
    while (order.length < 21) await new Promise((r) => setImmediate(r));
    queue.shutdown();
    await worker;
    expect(order.indexOf('loop turn')).toBeLessThan(3);
  });

  const cases: {
    name: string;
    run: () => Promise<Result | undefined>;
    outcome: ReconcileRecord['outcome'];
    terminal?: boolean;
    level: string;
    requeued: { delayed: number; retries: number };
  }[] = [
    {
      name: 'success',
      run: async () => ({}),
      outcome: 'success',
      level: 'debug',
      requeued: { delayed: 0, retries: 0 },
    },
    {
      name: 'a poll (requeueAfter)',
      run: async () => ({ requeueAfterMs: 250 }),
      outcome: 'requeue_after',
      level: 'debug',
      requeued: { delayed: 1, retries: 0 },
    },
    {
      name: 'an error, retried with backoff',
      run: async () => {
        throw new Error('runtime said no');
      },
      outcome: 'error',
      level: 'warn',
      requeued: { delayed: 1, retries: 1 },
    },
    {
      name: 'a terminal error, not retried',
      run: async () => {
        throw new TerminalError('cannot ever work');
      },
      outcome: 'error',
      terminal: true,
      level: 'error',
      requeued: { delayed: 0, retries: 0 },
    },
  ];
  for (const c of cases) {
    it(`${c.name}: one record with key, controller, id, duration and outcome; the queue op that fits`, async () => {
      const seenIds: string[] = [];
      const { after, lines, records, started } = await runOnce(['workspace/alice'], async (_key, run) => {
        seenIds.push(run.id);
        run.logger.info({ step: 'inside' }, 'working');
        return c.run();
      });
      expect(started).toEqual(['workspace/alice']);
      expect(records).toHaveLength(1);
      const [r] = records;
      expect(r).toMatchObject({ key: 'workspace/alice', controller: 'workspace', outcome: c.outcome });
      expect(r?.terminal).toBe(c.terminal);
      expect(r?.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r?.id).toBe(seenIds[0]);
      expect(r?.durationMs).toBeGreaterThanOrEqual(0);
      if (c.outcome === 'error') expect(r?.error).toBeTruthy();
      // The reconciler's own line and the loop's closing line both carry the key and the run id.
      const inside = lines.find((l) => l.msg === 'working');
      expect(inside?.obj).toMatchObject({ key: 'workspace/alice', reconcileID: r?.id, step: 'inside' });
      const closing = lines.at(-1);
      expect(closing?.level).toBe(c.level);
      expect(closing?.obj).toMatchObject({ key: 'workspace/alice', reconcileID: r?.id });
      expect(closing?.obj.durationMs).toEqual(expect.any(Number));
      expect(after).toEqual([c.requeued]);
    });
  }

  it('gives each run its own id, also for the same key run twice', async () => {
    const ids: string[] = [];
    const clock = new FakeClock();
    const queue = new RateLimitingQueue(clock);
    queue.add('port/p1');
    const worker = runWorker(
      queue,
      async (key, run) => {
        ids.push(run.id);
        if (ids.length === 1) queue.add(key);
        return {};
      },
      recordingLogger([]),
    );
    for (let i = 0; i < 50 && ids.length < 2; i++) await new Promise((r) => setImmediate(r));
    queue.shutdown();
    await worker;
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
  });
});

describe('controllerOf', () => {
  const cases: [string, string][] = [
    ['workspace/alice', 'workspace'],
    ['port/alice-3000', 'port'],
    ['routes', 'routes'],
  ];
  for (const [key, want] of cases) it(`${key} → ${want}`, () => expect(controllerOf(key)).toBe(want));
});

describe('childLogger', () => {
  it("uses the logger's own child when it has one", () => {
    const made: Record<string, unknown>[] = [];
    const base: Logger = {
      ...recordingLogger([]),
      child(bindings) {
        made.push(bindings);
        return recordingLogger([]);
      },
    };
    childLogger(base, { key: 'k' });
    expect(made).toEqual([{ key: 'k' }]);
  });

  it('otherwise merges the bindings into every line, the line winning on a clash, and nests', () => {
    const lines: Line[] = [];
    const log = childLogger(recordingLogger(lines), { key: 'k', a: 1 });
    log.warn({ a: 2, b: 3 }, 'm');
    log.child?.({ c: 4 }).error({}, 'n');
    expect(lines).toEqual([
      { level: 'warn', obj: { key: 'k', a: 2, b: 3 }, msg: 'm' },
      { level: 'error', obj: { key: 'k', a: 1, c: 4 }, msg: 'n' },
    ]);
  });
});
