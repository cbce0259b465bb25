// The stub runtime has an optional capability only when its options give it, as a runtime
// that lacks one (the controller tells by its presence), and its methods work detached or
// through an object derived from it, as tests and benchmarks use them.
import { describe, expect, it } from 'vitest';
import { createStubRuntime } from '../../drivers/runtime/stub/index.js';
import type { RuntimeDriver } from '../../drivers/runtime/types.js';

describe('stub runtime capabilities', () => {
  it('has homes and live resources by default, exec only when given', async () => {
    const rt = createStubRuntime();
    expect('homes' in rt && 'updateResources' in rt).toBe(true);
    expect('exec' in rt).toBe(false);
    const bare = createStubRuntime({ homes: false, liveResources: false });
    expect(['homes', 'updateResources', 'exec'].filter((k) => k in bare)).toEqual([]);
    await Promise.all([rt.close(), bare.close()]);
  });

  it('works with methods taken off it and through Object.create', async () => {
    const rt = createStubRuntime();
    const { probe, create } = rt;
    const vm = await create({ name: 'a', image: 'default', cpu: 1, memoryBytes: 1, start: true });
    expect(await probe(vm?.ip ?? '', 8080)).toBe(true);
    const derived = Object.create(rt) as RuntimeDriver;
    expect((await derived.list()).map((v) => v.name)).toEqual(['a']);
    await rt.close();
  });
});
