// A capacity refusal names every workspace that would have to stop for the start to fit, least
// recently accessed first and as many as it takes, with figures that add up; and says so when
// even stopping all of them would not do. The clock is injected, so "idle for" is exact.
import { afterEach, describe, expect, it } from 'vitest';
import { Capacity, duration, type Admission, type RunningWorkspace } from '../../controller/capacity/index.js';
import { realClock, type Clock } from '../../controller/index.js';
import { cond, harness, waitFor, workspace, type Harness } from './helpers.js';

const GiB = 2 ** 30;
const MIN = 60_000;
const NOW = Date.parse('2026-03-01T12:00:00Z');

const running = (name: string, cpu: number, memGiB: number, idleMin: number, stoppable = true): RunningWorkspace => ({
  name,
  cpu,
  memoryBytes: memGiB * GiB,
  accessedAt: NOW - idleMin * MIN,
  stoppable,
});

function refuse(
  budget: { cpu: number; memGiB: number; maxRunning?: number },
  want: { cpu: number; memGiB: number },
  using: RunningWorkspace[],
): Extract<Admission, { ok: false }> {
  const c = new Capacity(
    { cpu: budget.cpu, memoryBytes: budget.memGiB * GiB, maxRunning: budget.maxRunning ?? Infinity },
    () => undefined,
    () => NOW,
  );
  const r = c.admit({ name: 'new', cpu: want.cpu, memoryBytes: want.memGiB * GiB }, using);
  if (r.ok) throw new Error('expected a refusal');
  return r;
}

describe('Capacity advice', () => {
  const cases: {
    title: string;
    budget: { cpu: number; memGiB: number; maxRunning?: number };
    want: { cpu: number; memGiB: number };
    using: RunningWorkspace[];
    stop: string[];
    enough: boolean;
    says: string[];
  }[] = [
    {
      title: 'cpu: the least recently accessed one is not enough, so the next is named too',
      budget: { cpu: 8, memGiB: 100 },
      want: { cpu: 4, memGiB: 1 },
      // 6 of 8 vCPUs in use; bob (1 vCPU) is the least recently accessed, and stopping only him
      // would leave 3 free: carol must go too.
      using: [running('dave', 3, 1, 5), running('bob', 1, 1, 180), running('carol', 2, 1, 30)],
      stop: ['bob', 'carol'],
      enough: true,
      says: [
        '6 of 8 vCPUs are in use and it needs 4 (2 free; --cpu-budget)',
        'Stopping "bob" (1 vCPU, 1Gi, idle for 3h) and "carol" (2 vCPU, 1Gi, idle for 30 min) would free 3 vCPU: set their spec.running to false',
      ],
    },
    {
      title: 'memory: one stop is enough, and only it is named',
      budget: { cpu: 100, memGiB: 8 },
      want: { cpu: 1, memGiB: 4 },
      using: [running('amy', 1, 4, 10), running('ben', 1, 2, 20)],
      stop: ['ben'],
      enough: true,
      says: [
        '6Gi of 8Gi memory is in use and it needs 4Gi (2Gi free; --memory-budget)',
        'Stopping "ben" (1 vCPU, 2Gi, idle for 20 min) would free 2Gi: set its spec.running to false',
      ],
    },
    {
      title: 'both: the cpu is covered by the first stop, memory needs a second',
      budget: { cpu: 4, memGiB: 8 },
      want: { cpu: 2, memGiB: 6 },
      using: [running('a', 2, 1, 90), running('b', 1, 4, 60), running('c', 1, 2, 1)],
      stop: ['a', 'b'],
      enough: true,
      says: [
        '4 of 4 vCPUs are in use and it needs 2 (0 free; --cpu-budget)',
        '7Gi of 8Gi memory is in use and it needs 6Gi (1Gi free; --memory-budget)',
        'Stopping "a" (2 vCPU, 1Gi, idle for 1h 30min) and "b" (1 vCPU, 4Gi, idle for 1h) would free 3 vCPU and 5Gi',
      ],
    },
    {
      title: 'running slots: as many stops as slots are short',
      budget: { cpu: 100, memGiB: 100, maxRunning: 2 },
      want: { cpu: 1, memGiB: 1 },
      using: [running('x', 1, 1, 5), running('y', 1, 1, 50), running('z', 1, 1, 500)],
      stop: ['z', 'y'],
      enough: true,
      says: ['3 of at most 2 workspaces are running (--max-running)', 'would free 2 of the running slots'],
    },
    {
      title: 'not enough even if all stop: a workspace that cannot be stopped holds the rest',
      budget: { cpu: 8, memGiB: 100 },
      want: { cpu: 6, memGiB: 1 },
      using: [running('busy', 4, 1, 1, false), running('old', 2, 1, 3000)],
      stop: ['old'],
      enough: false,
      says: [
        '6 of 8 vCPUs are in use and it needs 6 (2 free; --cpu-budget)',
        'Even stopping every running workspace that can be stopped, "old" (2 vCPU, 1Gi, idle for 2 days), would free only 2 vCPU',
      ],
    },
    {
      title: 'nothing can be stopped',
      budget: { cpu: 4, memGiB: 100 },
      want: { cpu: 2, memGiB: 1 },
      using: [running('deleting', 4, 1, 1, false)],
      stop: [],
      enough: false,
      says: ['No running workspace can be stopped to make room'],
    },
  ];

  for (const t of cases) {
    it(t.title, () => {
      const r = refuse(t.budget, t.want, t.using);
      expect(r.plan.stop.map((c) => c.name)).toEqual(t.stop);
      expect(r.plan.enough).toBe(t.enough);
      for (const s of t.says) expect(r.message).toContain(s);
      expect(r.message).toMatch(/It starts by itself once there is room\.$/);
    });
  }

  it('the named stops, done, do make room: the same start is admitted', () => {
    const using = [running('dave', 3, 1, 5), running('bob', 1, 1, 180), running('carol', 2, 1, 30)];
    const r = refuse({ cpu: 8, memGiB: 100 }, { cpu: 4, memGiB: 1 }, using);
    const left = using.filter((u) => !r.plan.stop.some((s) => s.name === u.name));
    const c = new Capacity({ cpu: 8, memoryBytes: 100 * GiB, maxRunning: Infinity });
    expect(c.admit({ name: 'new', cpu: 4, memoryBytes: GiB }, left).ok).toBe(true);
  });

  it('says durations as a person does', () => {
    expect(duration(20_000)).toBe('under a minute');
    expect(duration(12 * MIN)).toBe('12 min');
    expect(duration(185 * MIN)).toBe('3h 5min');
    expect(duration(5 * 24 * 60 * MIN)).toBe('5 days');
  });
});

describe('Capacity advice through the controller', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
  });

  it('a refused workspace is told every workspace to stop, and stopping those starts it', async () => {
    h = await harness();
    // The real clock shifted by `offset`: starts get distinct times without sleeping.
    let offset = 0;
    const clock: Clock = { now: () => Date.now() + offset, setTimeout: realClock.setTimeout };
    await h.start({ capacity: { cpuBudget: 8, memoryBudgetBytes: 100 * GiB }, clock });
    for (const [name, cpu] of [
      ['bob', 1],
      ['carol', 2],
      ['dave', 3],
    ] as const) {
      await h.store.create(workspace(name, { resources: { cpu, memory: '1Gi' } }));
      await h.ready(name);
      offset += 10 * MIN;
    }
    await h.store.create(workspace('erin', { resources: { cpu: 4, memory: '1Gi' } }));
    const message = await waitFor(
      'erin refused',
      () => cond(h!.ws('erin'), 'Ready')?.reason === 'InsufficientCapacity' && cond(h!.ws('erin'), 'Ready')!.message,
    );
    expect(message).toContain('6 of 8 vCPUs are in use and it needs 4 (2 free; --cpu-budget)');
    expect(message).toContain(
      'Stopping "bob" (1 vCPU, 1Gi, idle for 30 min) and "carol" (2 vCPU, 1Gi, idle for 20 min) would free 3 vCPU',
    );
    expect(message).not.toContain('"dave"');
    await h.setSpec('bob', { running: false });
    await h.setSpec('carol', { running: false });
    expect((await h.ready('erin')).status!.phase).toBe('Running');
  });
});
