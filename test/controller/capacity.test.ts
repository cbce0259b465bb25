import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realClock, resolveBudget, CPU_OVERCOMMIT, type Clock } from '../../controller/index.js';
import { cond, eventsFor, GiB, harness, waitFor, workspace, type Harness } from './helpers.js';

/** The real clock, shifted by `offset` ms: starts get distinct times without sleeping. */
function shiftedClock() {
  const c = { offset: 0, clock: undefined as unknown as Clock };
  c.clock = { now: () => Date.now() + c.offset, setTimeout: realClock.setTimeout };
  return c;
}

describe('capacity', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('derives the default budget from the host: memory not overcommitted, CPU overcommitted', () => {
    const b = resolveBudget({}, { cpus: 8, memoryBytes: 32 * GiB });
    expect(b.cpu).toBe(8 * CPU_OVERCOMMIT);
    expect(b.memoryBytes).toBeLessThan(32 * GiB);
    expect(b.memoryBytes).toBeGreaterThan(16 * GiB);
    expect(b.maxRunning).toBe(Infinity);
    expect(resolveBudget({ maxRunning: 3, cpuBudget: 5, memoryBudgetBytes: GiB })).toEqual({
      maxRunning: 3,
      cpu: 5,
      memoryBytes: GiB,
    });
  });

  it('refuses a start over max-running, names the least recently accessed workspace, and starts it once capacity frees', async () => {
    const t = shiftedClock();
    await h.start({ capacity: { maxRunning: 2, cpuBudget: 100, memoryBudgetBytes: 100 * GiB }, clock: t.clock });
    // "zed" starts first, so it is the least recently accessed though it sorts last by name.
    await h.store.create(workspace('zed'));
    await h.ready('zed');
    t.offset += 60_000;
    await h.store.create(workspace('amy'));
    await h.ready('amy');
    t.offset += 60_000;
    await h.store.create(workspace('carl'));
    const refused = await waitFor('carl refused', () => {
      const w = h.ws('carl');
      return cond(w, 'Ready')?.reason === 'InsufficientCapacity' ? w : undefined;
    });
    expect(cond(refused, 'Ready')!.status).toBe('False');
    expect(cond(refused, 'Ready')!.message).toContain('"zed"');
    expect(cond(refused, 'Ready')!.message).toContain('2 of at most 2 workspaces are running');
    expect(refused.status!.phase).toBe('Pending');
    expect(
      h.runtime
        .snapshot()
        .map((v) => v.name)
        .sort(),
    ).toEqual(['amy', 'zed']);
    await waitFor('InsufficientCapacity event', () =>
      eventsFor(h.store, 'carl').some((e) => e.reason === 'InsufficientCapacity' && e.type === 'Warning'),
    );

    await h.setSpec('zed', { running: false });
    const started = await h.ready('carl');
    expect(started.status!.phase).toBe('Running');
    expect(
      h.runtime
        .snapshot()
        .filter((v) => v.state === 'Running')
        .map((v) => v.name)
        .sort(),
    ).toEqual(['amy', 'carl']);
  });

  it('a workspace larger than the whole budget is told it can never start under it, and which flag raises it', async () => {
    await h.start({ capacity: { cpuBudget: 8, memoryBudgetBytes: 6 * GiB } });
    await h.store.create(workspace('small', { resources: { cpu: 1, memory: '1Gi' } }));
    await h.ready('small');
    await h.store.create(workspace('huge', { resources: { cpu: 64, memory: '1Gi' } }));
    const c = await waitFor('huge refused', () =>
      cond(h.ws('huge'), 'Ready')?.reason === 'ExceedsBudget' ? cond(h.ws('huge'), 'Ready') : undefined,
    );
    expect(c!.status).toBe('False');
    expect(c!.message).toContain('can never start under this budget');
    expect(c!.message).toContain('it needs 64 vCPUs and the whole budget is 8');
    expect(c!.message).toContain('--cpu-budget');
    // No advice to stop another workspace, no promise that it starts by itself.
    expect(c!.message).not.toContain('"small"');
    expect(c!.message).not.toContain('starts by itself');
    expect(h.runtime.snapshot().map((v) => v.name)).toEqual(['small']);
    // Within the budget again: it starts.
    const cur = h.ws('huge')!;
    await h.store.update({ ...cur, spec: { ...cur.spec, resources: { cpu: 2, memory: '1Gi' } } });
    await h.ready('huge');
  });

  it('counts CPU and memory of running VMs, and a deletion frees capacity', async () => {
    await h.start({ capacity: { cpuBudget: 4, memoryBudgetBytes: 6 * GiB } });
    await h.store.create(workspace('big', { resources: { cpu: 3, memory: '2Gi' } }));
    await h.ready('big');
    await h.store.create(workspace('cpu', { resources: { cpu: 2, memory: '2Gi' } }));
    const cpuMsg = await waitFor(
      'cpu refused',
      () => cond(h.ws('cpu'), 'Ready')?.reason === 'InsufficientCapacity' && cond(h.ws('cpu'), 'Ready')!.message,
    );
    expect(cpuMsg).toContain('3 of 4 vCPUs are in use and it needs 2');
    expect(cpuMsg).toContain('"big"');
    await h.store.create(workspace('mem', { resources: { cpu: 1, memory: '5Gi' } }));
    const memMsg = await waitFor(
      'mem refused',
      () => cond(h.ws('mem'), 'Ready')?.reason === 'InsufficientCapacity' && cond(h.ws('mem'), 'Ready')!.message,
    );
    expect(memMsg).toContain('2Gi of 6Gi memory is in use and it needs 5Gi');
    expect(h.runtime.snapshot().map((v) => v.name)).toEqual(['big']);

    // Deleting big frees room for one of them (2Gi + 5Gi > 6Gi): it starts by itself, the other still waits.
    // The loser's refusal is written again once the winner runs (until then it still tells of big):
    // wait for that rewrite, whose message must name the winner.
    await h.store.delete('Workspace', 'big');
    const [winner, loser] = await waitFor('one started, one refused naming it', () => {
      const [c, m] = [h.ws('cpu'), h.ws('mem')];
      const refusedFor = (o: typeof c, name: string) =>
        cond(o, 'Ready')?.reason === 'InsufficientCapacity' &&
        !cond(o, 'Ready')!.message.includes('"big"') &&
        cond(o, 'Ready')!.message.includes(name);
      if (cond(c, 'Ready')?.status === 'True' && refusedFor(m, 'in use')) return ['cpu', 'mem'];
      if (cond(m, 'Ready')?.status === 'True' && refusedFor(c, 'in use')) return ['mem', 'cpu'];
      return undefined;
    });
    expect(h.runtime.snapshot().map((v) => v.name)).toEqual([winner]);
    expect(cond(h.ws(loser!), 'Ready')!.message).toContain(`"${winner}"`);
  });

  it('never admits two workspaces into the last slot at once', async () => {
    await h.start({ capacity: { maxRunning: 3, cpuBudget: 100, memoryBudgetBytes: 100 * GiB }, workers: 8 });
    await h.store.transaction((tx) => {
      for (let i = 0; i < 8; i++) tx.create(workspace(`w${i}`));
    });
    await waitFor('3 ready, 5 refused', () => {
      const all = h.store.list('Workspace').items;
      return (
        all.filter((w) => cond(w, 'Ready')?.status === 'True').length === 3 &&
        all.filter((w) => cond(w, 'Ready')?.reason === 'InsufficientCapacity').length === 5
      );
    });
    expect(h.runtime.snapshot().filter((v) => v.state === 'Running')).toHaveLength(3);
  });
});
