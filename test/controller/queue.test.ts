import { describe, expect, it } from 'vitest';
import {
  DelayingQueue,
  ExponentialBackoff,
  FakeClock,
  RateLimitingQueue,
  WorkQueue,
} from '../../controller/queue/index.js';

/** Every key the queue hands out right now, without marking any done. */
function drain<K>(q: WorkQueue<K>): K[] {
  const out: K[] = [];
  for (let k = q.tryGet(); k !== undefined; k = q.tryGet()) out.push(k);
  return out;
}

describe('WorkQueue', () => {
  type Step = ['add', string] | ['get', string | undefined] | ['done', string];
  const cases: { name: string; steps: Step[]; waiting: string[] }[] = [
    {
      name: 'collapses adds of a waiting key into one',
      steps: [
        ['add', 'a'],
        ['add', 'b'],
        ['add', 'a'],
        ['add', 'a'],
      ],
      waiting: ['a', 'b'],
    },
    {
      name: 'keeps first-in first-out order',
      steps: [
        ['add', 'c'],
        ['add', 'a'],
        ['add', 'b'],
      ],
      waiting: ['c', 'a', 'b'],
    },
    {
      name: 'does not hand a key being processed to a second worker',
      steps: [
        ['add', 'a'],
        ['get', 'a'],
        ['add', 'a'],
        ['get', undefined],
      ],
      waiting: [],
    },
    {
      name: 'processes a key re-added during processing once more after done',
      steps: [
        ['add', 'a'],
        ['get', 'a'],
        ['add', 'a'],
        ['add', 'a'],
        ['done', 'a'],
      ],
      waiting: ['a'],
    },
    {
      name: 'forgets a key processed and not re-added',
      steps: [
        ['add', 'a'],
        ['get', 'a'],
        ['done', 'a'],
      ],
      waiting: [],
    },
    {
      name: 'lets other keys through while one is processed',
      steps: [
        ['add', 'a'],
        ['get', 'a'],
        ['add', 'b'],
        ['add', 'a'],
        ['get', 'b'],
      ],
      waiting: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const q = new WorkQueue<string>();
      for (const s of c.steps) {
        if (s[0] === 'add') q.add(s[1]);
        else if (s[0] === 'done') q.done(s[1]);
        else expect(q.tryGet()).toBe(s[1]);
      }
      expect(drain(q)).toEqual(c.waiting);
    });
  }

  it('never runs one key in two of several concurrent workers, and runs every add after the last start', async () => {
    const q = new WorkQueue<string>();
    const running = new Set<string>();
    const runs = new Map<string, number>();
    let overlap = 0;
    const worker = async () => {
      for (let key = await q.get(); key !== undefined; key = await q.get()) {
        if (running.has(key)) overlap++;
        running.add(key);
        runs.set(key, (runs.get(key) ?? 0) + 1);
        await new Promise((r) => setImmediate(r));
        running.delete(key);
        q.done(key);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let round = 0; round < 50; round++) {
      for (const k of ['a', 'b', 'c']) {
        q.add(k);
      }
      await new Promise((r) => setImmediate(r));
    }
    while (q.len() || q.processingCount()) await new Promise((r) => setImmediate(r));
    q.shutdown();
    await Promise.all(workers);
    expect(overlap).toBe(0);
    for (const k of ['a', 'b', 'c']) expect(runs.get(k)).toBeGreaterThan(1);
  });

  it('hands a key to a waiting get and resolves getters with undefined on shutdown', async () => {
    const q = new WorkQueue<string>();
    const first = q.get();
    q.add('x');
    expect(await first).toBe('x');
    const second = q.get();
    q.shutdown();
    expect(await second).toBeUndefined();
    q.add('y');
    expect(await q.get()).toBeUndefined();
  });

  it('drops keys still waiting at shutdown instead of draining them', () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    expect(q.tryGet()).toBe('a');
    q.shutdown();
    expect(q.tryGet()).toBeUndefined();
    q.done('a');
    expect(q.tryGet()).toBeUndefined();
  });
});

describe('DelayingQueue', () => {
  const cases: { name: string; adds: [string, number][]; checks: [number, string[]][] }[] = [
    {
      name: 'adds a key when its delay has passed',
      adds: [['a', 100]],
      checks: [
        [99, []],
        [1, ['a']],
      ],
    },
    {
      name: 'adds a zero or negative delay at once',
      adds: [
        ['a', 0],
        ['b', -5],
      ],
      checks: [[0, ['a', 'b']]],
    },
    {
      name: 'keeps the earlier time for a key parked twice',
      adds: [
        ['a', 500],
        ['a', 100],
        ['a', 900],
      ],
      checks: [
        [100, ['a']],
        [900, []],
      ],
    },
    {
      name: 'adds keys in time order',
      adds: [
        ['late', 300],
        ['early', 100],
        ['mid', 200],
      ],
      checks: [[300, ['early', 'mid', 'late']]],
    },
    {
      name: 'fires each key at its own time',
      adds: [
        ['a', 100],
        ['b', 200],
      ],
      checks: [
        [150, ['a']],
        [50, ['b']],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const clock = new FakeClock();
      const q = new DelayingQueue<string>(clock);
      for (const [k, ms] of c.adds) q.addAfter(k, ms);
      for (const [advance, want] of c.checks) {
        clock.advance(advance);
        expect(drain(q)).toEqual(want);
        for (const k of want) q.done(k);
      }
    });
  }

  it('does not hand out a delayed key that comes due while it is processed, until done', () => {
    const clock = new FakeClock();
    const q = new DelayingQueue<string>(clock);
    q.add('a');
    expect(q.tryGet()).toBe('a');
    q.addAfter('a', 10);
    clock.advance(10);
    expect(q.tryGet()).toBeUndefined();
    q.done('a');
    expect(q.tryGet()).toBe('a');
  });

  it('drops parked keys and timers on shutdown', () => {
    const clock = new FakeClock();
    const q = new DelayingQueue<string>(clock);
    q.addAfter('a', 10);
    q.shutdown();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(20);
    expect(q.tryGet()).toBeUndefined();
  });
});

describe('ExponentialBackoff and RateLimitingQueue', () => {
  const cases: { name: string; base?: number; cap?: number; failures: number; want: number[] }[] = [
    { name: 'defaults: 500 ms doubling', failures: 4, want: [500, 1000, 2000, 4000] },
    {
      name: 'defaults: capped at 5 minutes',
      failures: 12,
      want: [500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000],
    },
    { name: 'configurable base and cap', base: 10, cap: 35, failures: 5, want: [10, 20, 35, 35, 35] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const b = new ExponentialBackoff({ baseMs: c.base, capMs: c.cap });
      expect(Array.from({ length: c.failures }, () => b.when('k'))).toEqual(c.want);
      expect(b.retries('k')).toBe(c.failures);
    });
  }

  it('never overflows: after very many failures it stays at the cap', () => {
    const b = new ExponentialBackoff({ baseMs: 1, capMs: 1000 });
    let last = 0;
    for (let i = 0; i < 2000; i++) last = b.when('k');
    expect(last).toBe(1000);
  });

  it('counts per key and resets on forget', () => {
    const clock = new FakeClock();
    const q = new RateLimitingQueue(clock, new ExponentialBackoff({ baseMs: 100, capMs: 1000 }));
    q.addRateLimited('a'); // 100
    q.addRateLimited('b'); // 100
    clock.advance(100);
    expect(drain(q)).toEqual(['a', 'b']);
    q.done('a');
    q.done('b');
    q.addRateLimited('a'); // 200
    q.addRateLimited('a'); // 400, but 200 is earlier and kept
    expect(q.numRequeues('a')).toBe(3);
    clock.advance(199);
    expect(drain(q)).toEqual([]);
    clock.advance(1);
    expect(drain(q)).toEqual(['a']);
    q.done('a');
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.numRequeues('b')).toBe(1);
    q.addRateLimited('a');
    clock.advance(100);
    expect(drain(q)).toEqual(['a']);
  });
});
