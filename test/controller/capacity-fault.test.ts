// A create that fails after the VM exists (a timeout: the runtime made it, the call did not
// say so) must not free its room: the VM shows up running and counts against the budget,
// whatever happened to its reservation. Lists are slow here, so that a second workspace is
// admitted while the runtime has not been looked at again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RuntimeDriver } from '../../drivers/runtime/types.js';
import { RuntimeError } from '../../drivers/runtime/types.js';
import { cond, GiB, harness, waitFor, workspace, type Harness } from './helpers.js';

describe('capacity after a failed create', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ listLatencyMs: 400 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('counts the VM a timed-out create left running', async () => {
    const stub = h.runtime;
    let timedOut = false;
    const runtime: RuntimeDriver = Object.assign(Object.create(stub) as RuntimeDriver, {
      async create(req: Parameters<RuntimeDriver['create']>[0]) {
        const vm = await stub.create(req);
        if (req.name === 'first' && !timedOut) {
          timedOut = true;
          throw new RuntimeError('timed out waiting for the runtime (the VM may exist)');
        }
        return vm;
      },
    });
    await h.start({ runtime, capacity: { maxRunning: 100, cpuBudget: 4, memoryBudgetBytes: 100 * GiB } });
    await h.store.create(workspace('first', { resources: { cpu: 3, memory: '1Gi' } }));
    await waitFor('first failed', () => h.ws('first')?.status?.phase === 'Failed');
    await h.store.create(workspace('second', { resources: { cpu: 2, memory: '1Gi' } }));
    await waitFor('second decided', () => {
      const c = cond(h.ws('second'), 'Ready');
      return (
        c?.reason === 'InsufficientCapacity' ||
        c?.status === 'True' ||
        h.runtime.snapshot().some((v) => v.name === 'second')
      );
    });
    const cpus = h.runtime
      .snapshot()
      .filter((v) => v.state === 'Running' || v.state === 'Starting')
      .reduce((n, v) => n + (v.cpu ?? 0), 0);
    expect(h.runtime.snapshot().map((v) => v.name)).toEqual(['first']);
    expect(cpus).toBeLessThanOrEqual(4);
    expect(cond(h.ws('second'), 'Ready')?.message).toContain('3 of 4 vCPUs are in use');
  });
});
