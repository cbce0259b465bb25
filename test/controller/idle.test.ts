// Idle sleep through the controller, on the stub runtime with a clock the test moves: a
// workspace falls asleep a timeout after its last use (Sleeping, Ready False Idle, the instance
// stopped, spec.running still true), the signals keep it awake, it wakes by request, and making
// room puts only idle workspaces with an idle timeout to sleep.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realClock, type Clock, type Controller } from '../../controller/index.js';
import { cond, eventsFor, GiB, harness, waitFor, workspace, type Harness } from './helpers.js';

function movableClock() {
  const c = { offset: 0, clock: undefined as unknown as Clock };
  c.clock = { now: () => Date.now() + c.offset, setTimeout: realClock.setTimeout };
  return c;
}

const MIN = 60_000;
const vmState = (h: Harness, name: string) => h.runtime.snapshot().find((v) => v.name === name)?.state;
const asleep = (h: Harness, name: string) =>
  waitFor(`${name} asleep`, () => {
    const w = h.ws(name);
    return w?.status?.phase === 'Sleeping' && vmState(h, name) === 'Stopped' ? w : undefined;
  });

describe('idle sleep', () => {
  let h: Harness;
  let t: ReturnType<typeof movableClock>;
  let c: Controller;
  beforeEach(async () => {
    h = await harness();
    t = movableClock();
    c = await h.start({ clock: t.clock, idle: { tickMs: 3_600_000 } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('falls asleep a timeout after its last use, says so and why, and wakes by request', async () => {
    await h.store.create(workspace('a', { idleTimeout: '30m' }));
    await h.store.create(workspace('never'));
    await h.ready('a');
    await h.ready('never');
    t.offset += 29 * MIN;
    expect(await c.idleTick()).toEqual([]);
    t.offset += 2 * MIN;
    expect(await c.idleTick()).toEqual(['a']);
    const w = await asleep(h, 'a');
    expect(w.spec.running).toBe(true);
    expect(cond(w, 'Ready')).toMatchObject({ status: 'False', reason: 'Idle' });
    expect(cond(w, 'Ready')!.message).toContain('nothing used it for 30 min');
    expect(w.status!.sleep).toMatchObject({ reason: 'Idle', lastSignal: 'start' });
    await waitFor('Sleeping event', () =>
      eventsFor(h.store, 'a').find((e) => e.reason === 'Sleeping' && e.note.includes('its start')),
    );
    expect(vmState(h, 'never')).toBe('Running');

    expect(c.sleep.wake('a', 'a test')).toMatchObject({ outcome: 'Waking' });
    const awake = await h.ready('a');
    expect(awake.status!.sleep).toBeUndefined();
    expect(awake.status!.phase).toBe('Running');
    expect(c.sleep.wake('a', 'a test')).toMatchObject({ outcome: 'Awake' });
  });

  it('requests through the proxy, CPU and an open exec session keep it awake past its timeout', async () => {
    await h.store.create(workspace('a', { idleTimeout: '10m' }));
    await h.ready('a');
    await c.idleTick(); // the first counters: a baseline
    t.offset += 8 * MIN;
    h.proxy.access('a');
    t.offset += 8 * MIN; // 16 min after the start, 8 after the request
    expect(await c.idleTick()).toEqual([]);
    h.runtime.setUsage('a', { cpuSeconds: 300 }); // 300 s of CPU in 8 min: a build
    t.offset += 8 * MIN;
    expect(await c.idleTick()).toEqual([]);
    const close = c.sleep.execOpened('a');
    t.offset += 30 * MIN;
    expect(await c.idleTick()).toEqual([]);
    close();
    t.offset += 11 * MIN;
    expect(await c.idleTick()).toEqual(['a']);
    const w = await asleep(h, 'a');
    expect(w.status!.sleep!.lastSignal).toBe('exec');
  });

  it('sleep by request; a stop of a sleeping workspace is a real stop that a wake does not undo', async () => {
    await h.store.create(workspace('a'));
    await h.ready('a');
    expect(c.sleep.sleep('a', 'a test')).toMatchObject({ outcome: 'Asleep' });
    await asleep(h, 'a');
    await h.setSpec('a', { running: false });
    await waitFor('a stopped', () => h.ws('a')?.status?.phase === 'Stopped');
    expect(h.ws('a')!.status!.sleep).toBeUndefined();
    expect(c.sleep.wake('a', 'a test')).toMatchObject({ outcome: 'Stopped' });
    expect(vmState(h, 'a')).toBe('Stopped');
  });
});

describe('making room', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('puts the least recently used workspace with an idle timeout to sleep, never one without', async () => {
    const t = movableClock();
    await h.start({
      clock: t.clock,
      capacity: { maxRunning: 3, cpuBudget: 100, memoryBudgetBytes: 100 * GiB },
      idle: { tickMs: 3_600_000 },
    });
    await h.store.create(workspace('keep')); // the oldest, but without an idle timeout
    await h.ready('keep');
    t.offset += MIN;
    await h.store.create(workspace('old', { idleTimeout: '1h' }));
    await h.ready('old');
    t.offset += MIN;
    await h.store.create(workspace('young', { idleTimeout: '1h' }));
    await h.ready('young');
    t.offset += MIN;
    await h.store.create(workspace('new'));
    await h.ready('new');
    const old = await asleep(h, 'old');
    expect(old.status!.sleep).toMatchObject({ reason: 'MakingRoom' });
    expect(vmState(h, 'keep')).toBe('Running');
    expect(vmState(h, 'young')).toBe('Running');
    await waitFor('events on both', () => {
      const mine = eventsFor(h.store, 'new').find((e) => e.reason === 'MakingRoom');
      const theirs = eventsFor(h.store, 'old').find((e) => e.reason === 'SleepingToMakeRoom');
      return mine?.note.includes('"old"') && theirs?.note.includes('"new"');
    });
  });

  it('never puts to sleep a workspace with work going on (an exec session open): the next least recently used goes', async () => {
    const t = movableClock();
    const c = await h.start({
      clock: t.clock,
      capacity: { maxRunning: 2, cpuBudget: 100, memoryBudgetBytes: 100 * GiB },
      idle: { tickMs: 3_600_000 },
    });
    await h.store.create(workspace('old', { idleTimeout: '1h' }));
    await h.ready('old');
    t.offset += MIN;
    await h.store.create(workspace('young', { idleTimeout: '1h' }));
    await h.ready('young');
    const close = c.sleep.execOpened('old');
    await h.store.create(workspace('new'));
    await h.ready('new');
    await asleep(h, 'young');
    expect(vmState(h, 'old')).toBe('Running');
    close();
  });

  it('a refusal that sleeping cannot cure names every workspace that would have to stop', async () => {
    await h.start({
      capacity: { maxRunning: 100, cpuBudget: 4, memoryBudgetBytes: 100 * GiB },
      idle: { tickMs: 3_600_000 },
    });
    await h.store.create(workspace('b1', { resources: { cpu: 1, memory: '1Gi' } }));
    await h.store.create(workspace('b2', { resources: { cpu: 1, memory: '1Gi' }, idleTimeout: '1h' }));
    await h.store.create(workspace('b3', { resources: { cpu: 1, memory: '1Gi' } }));
    for (const n of ['b1', 'b2', 'b3']) await h.ready(n);
    await h.store.create(workspace('big', { resources: { cpu: 3, memory: '1Gi' } }));
    const refused = await waitFor('big refused', () => {
      const w = h.ws('big');
      return cond(w, 'Ready')?.reason === 'InsufficientCapacity' ? w : undefined;
    });
    const message = cond(refused, 'Ready')!.message;
    // Two of the three would have to stop (2 vCPUs short), whether or not they have an idle timeout.
    expect(message.match(/"b\d" \(1 vCPU/g)?.length).toBe(2);
    expect(h.ws('b2')!.status!.sleep).toBeUndefined();
    for (const n of ['b1', 'b2', 'b3']) expect(vmState(h, n)).toBe('Running');
  });
});
