import { describe, expect, it } from 'vitest';
import type { RuntimeDriver, VM } from '../../drivers/runtime/types.js';
import { FakeClock } from '../../controller/index.js';
import { setCondition } from '../../controller/status.js';
import { VMCache } from '../../controller/vm-cache.js';
import type { Condition } from '../../specs/index.js';

/** A runtime whose list() answers only when the test says so. */
function gatedRuntime() {
  let vms: VM[] = [];
  const pending: (() => void)[] = [];
  let lists = 0;
  const runtime = {
    name: 'gated',
    list: () => {
      lists++;
      const snapshot = structuredClone(vms);
      return new Promise<VM[]>((resolve) => pending.push(() => resolve(snapshot)));
    },
  } as unknown as RuntimeDriver;
  return {
    runtime,
    set: (v: VM[]) => {
      vms = v;
    },
    answer: async () => {
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    },
    get lists() {
      return lists;
    },
  };
}

const vm = (name: string, state: VM['state'] = 'Running'): VM => ({
  name,
  state,
  ...(state === 'Running' ? { ip: '127.77.0.1' } : {}),
});

describe('VMCache', () => {
  it('serves many callers with one list, and lists again only after invalidate', async () => {
    const g = gatedRuntime();
    g.set([vm('a')]);
    const cache = new VMCache(g.runtime, new FakeClock());
    const gets = Array.from({ length: 10 }, () => cache.get());
    await g.answer();
    const results = await Promise.all(gets);
    expect(g.lists).toBe(1);
    expect(results.every((r) => r.get('a')?.state === 'Running')).toBe(true);
    await cache.get();
    expect(g.lists).toBe(1);
    cache.invalidate();
    const again = cache.get();
    await g.answer();
    await again;
    expect(g.lists).toBe(2);
  });

  it('lists again for a VM marked dirty, and for a caller that needs newer news than maxAgeMs', async () => {
    const g = gatedRuntime();
    const clock = new FakeClock();
    const cache = new VMCache(g.runtime, clock);
    const first = cache.get();
    await g.answer();
    await first;
    cache.markDirty('a');
    await cache.get({ name: 'b' });
    expect(g.lists).toBe(1);
    const forA = cache.get({ name: 'a' });
    await g.answer();
    await forA;
    expect(g.lists).toBe(2);
    clock.advance(1000);
    await cache.get({ maxAgeMs: 5000 });
    expect(g.lists).toBe(2);
    const fresh = cache.get({ maxAgeMs: 500 });
    await g.answer();
    await fresh;
    expect(g.lists).toBe(3);
  });

  it("keeps the controller's own action when a list that started before it answers later", async () => {
    const g = gatedRuntime();
    g.set([vm('a', 'Stopped')]);
    const cache = new VMCache(g.runtime, new FakeClock());
    const first = cache.get();
    await g.answer();
    await first;
    cache.invalidate();
    const stale = cache.get(); // this list sees "a" stopped
    cache.patch('a', vm('a', 'Running')); // ... and the controller started it meanwhile
    await g.answer();
    expect((await stale).get('a')?.state).toBe('Running');
    g.set([vm('a', 'Stopped')]);
    cache.invalidate();
    const later = cache.get(); // a list that started after the patch is believed
    await g.answer();
    expect((await later).get('a')?.state).toBe('Stopped');
  });

  it('tells when a VM stops holding capacity, by patch or by list', async () => {
    const g = gatedRuntime();
    g.set([vm('a'), vm('b')]);
    const cache = new VMCache(g.runtime, new FakeClock());
    let freed = 0;
    cache.onFreed = () => freed++;
    const first = cache.get();
    await g.answer();
    await first;
    cache.patch('a', vm('a', 'Stopped'));
    expect(freed).toBe(1);
    g.set([vm('a', 'Stopped')]);
    cache.invalidate();
    const next = cache.get();
    await g.answer();
    await next;
    expect(freed).toBe(2);
  });
});

/** A runtime with list() and get() that answer at once, counting both. */
function countingRuntime(vms: VM[]) {
  const calls = { list: 0, get: 0 };
  const runtime = {
    name: 'counting',
    list: async () => {
      calls.list++;
      return structuredClone(vms);
    },
    get: async (name: string) => {
      calls.get++;
      return structuredClone(vms.find((v) => v.name === name));
    },
  } as unknown as RuntimeDriver;
  return { runtime, calls, vms };
}

describe('VMCache.one', () => {
  it('looks at one VM alone when it needs newer news, and lists only without a valid snapshot', async () => {
    const r = countingRuntime([vm('a'), vm('b', 'Stopped')]);
    const clock = new FakeClock();
    const cache = new VMCache(r.runtime, clock);
    expect((await cache.one('a'))?.state).toBe('Running');
    expect(r.calls).toEqual({ list: 1, get: 0 });
    // Fresh enough: no call at all.
    expect((await cache.one('b', { maxAgeMs: 1000 }))?.state).toBe('Stopped');
    expect(r.calls).toEqual({ list: 1, get: 0 });
    // Reported changed, or older than asked: that one VM, looked at once.
    r.vms[1] = vm('b');
    cache.markDirty('b');
    expect((await cache.one('b'))?.state).toBe('Running');
    expect(cache.peek().get('b')?.state).toBe('Running');
    clock.advance(500);
    await cache.one('a', { maxAgeMs: 100 });
    await cache.one('a', { maxAgeMs: 100 });
    expect(r.calls).toEqual({ list: 1, get: 2 });
    // A VM gone is gone from the snapshot too.
    r.vms.splice(0, 1);
    cache.markDirty('a');
    expect(await cache.one('a')).toBeUndefined();
    expect(cache.peek().has('a')).toBe(false);
    // After invalidate (the resync), one listing serves everyone again.
    cache.invalidate();
    await Promise.all([cache.one('a'), cache.one('b')]);
    expect(r.calls).toEqual({ list: 2, get: 3 });
  });

  it("keeps the controller's own action over a look that started before it", async () => {
    let answer: (v: VM) => void = () => {};
    const runtime = {
      name: 'gated-get',
      list: async () => [vm('a', 'Stopped')],
      get: () => new Promise<VM>((resolve) => (answer = resolve)),
    } as unknown as RuntimeDriver;
    const cache = new VMCache(runtime, new FakeClock());
    await cache.get();
    cache.markDirty('a');
    const look = cache.one('a');
    await new Promise((r) => setImmediate(r));
    cache.patch('a', vm('a', 'Running'));
    answer(vm('a', 'Stopped'));
    await new Promise((r) => setImmediate(r));
    expect(cache.peek().get('a')?.state).toBe('Running');
    answer(vm('a', 'Running'));
    expect((await look)?.state).toBe('Running');
  });
});

describe('setCondition', () => {
  const cases: { name: string; old?: Partial<Condition>; next: Partial<Condition>; keepsTime: boolean }[] = [
    { name: 'a new condition gets the current time', next: { status: 'True', reason: 'Running' }, keepsTime: false },
    {
      name: 'the same status with another reason keeps the time',
      old: { status: 'False', reason: 'Creating' },
      next: { status: 'False', reason: 'Starting' },
      keepsTime: true,
    },
    {
      name: 'a status change moves the time',
      old: { status: 'False', reason: 'Starting' },
      next: { status: 'True', reason: 'Running' },
      keepsTime: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const old = '2020-01-01T00:00:00Z';
      const conditions: Condition[] = c.old
        ? [{ type: 'Ready', message: '', lastTransitionTime: old, ...c.old } as Condition]
        : [];
      setCondition(
        conditions,
        { type: 'Ready', message: 'm', ...c.next } as never,
        Date.parse('2030-01-01T00:00:00Z'),
        3,
      );
      expect(conditions).toHaveLength(1);
      expect(conditions[0]).toMatchObject({
        ...c.next,
        observedGeneration: 3,
        lastTransitionTime: c.keepsTime ? old : '2030-01-01T00:00:00Z',
      });
    });
  }
});
