// A workspace whose cluster member does not answer (the Incus driver reports its instance with
// nodeUnreachable, test/cluster shows it does): Ready False with reason NodeUnreachable naming
// the member, nothing done to it (no recreate, no start), and Ready again once the member is back.
import { afterEach, describe, expect, it } from 'vitest';
import type { VM } from '../../drivers/runtime/types.js';
import { cond, harness, waitFor, workspace, type Harness } from './helpers.js';

describe('a workspace on a cluster member that does not answer', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('is reported NodeUnreachable, left alone, and Ready again when the member is back', async () => {
    h = await harness();
    const c = await h.start();
    await h.store.transaction((tx) => tx.create(workspace('far')));
    await h.ready('far');
    let down = true;
    const list = h.runtime.list.bind(h.runtime);
    const get = h.runtime.get!.bind(h.runtime);
    const seenFromAfar = (vm: VM | undefined): VM | undefined =>
      vm?.name === 'far' && down
        ? {
            name: vm.name,
            state: 'Error',
            node: 'm3',
            nodeUnreachable: true,
            message: 'cluster member m3 does not answer',
          }
        : vm;
    h.runtime.list = async () => (await list()).map((v) => seenFromAfar(v)!);
    h.runtime.get = async (n: string) => seenFromAfar(await get(n));
    const creates = h.runtime.calls.create;
    const starts = h.runtime.calls.start;
    await c.resync();
    const ready = await waitFor('Ready NodeUnreachable', () => {
      const r = cond(h.ws('far'), 'Ready');
      return r?.reason === 'NodeUnreachable' ? r : undefined;
    });
    expect(ready.status).toBe('False');
    expect(ready.message).toContain('cluster member m3 does not answer');
    expect(h.ws('far')?.status?.node).toBe('m3');
    expect(h.runtime.calls.create).toBe(creates);
    expect(h.runtime.calls.start).toBe(starts);
    down = false;
    await c.resync();
    await h.ready('far');
    expect(h.runtime.calls.create).toBe(creates);
  });
});
