// Incus operations that outlive one /wait, and operations that fail with a 404, against the real
// Incus (REFERENCE.md, "Operations, two traps"). The driver's /wait slice is made 2 s so that an
// exec session of a few seconds outlives several slices (in production a slice is 60 s, and
// sessions died at 60 s). Instances carry this run's id and are force-deleted in afterAll.
import { afterAll, describe, expect, it } from 'vitest';
import { createIncusRuntime, type IncusRuntime } from '../../drivers/runtime/incus/index.js';
import { RuntimeError } from '../../drivers/runtime/types.js';
import { INCUS_SOCKET, PROFILE, deleteByTidepoolId, requireOrSkip, runId, until } from './helpers.js';

const run = await requireOrSkip('test/incus/operations');
const MiB = 2 ** 20;
const ID = runId('t-ops');
const SLICE_SECONDS = 2;
const drivers: IncusRuntime[] = [];

function driver(): IncusRuntime {
  const d = createIncusRuntime({
    tidepoolId: ID,
    socketPath: INCUS_SOCKET,
    profile: PROFILE,
    stopTimeoutSeconds: 10,
    waitSliceSeconds: SLICE_SECONDS,
  });
  drivers.push(d);
  return d;
}

afterAll(async () => {
  for (const d of drivers) await d.close?.();
  if (run) await deleteByTidepoolId(ID);
}, 120_000);

describe.skipIf(!run)('Incus operations (real Incus)', () => {
  it('an exec session running longer than one /wait survives and returns its output and exit code', async () => {
    const d = driver();
    await d.create({ name: 'long', image: 'minimal', cpu: 1, memoryBytes: 128 * MiB, start: true });
    await until('long Running', async () =>
      (await d.list()).find((v) => v.name === 'long' && v.state === 'Running') ? true : undefined,
    );
    // Three slices' worth of sleep, then output and a distinctive exit code.
    const seconds = SLICE_SECONDS * 3;
    const session = await d.openExec!('long', {
      command: ['sh', '-c', `sleep ${seconds}; echo survived; exit 7`],
      tty: false,
    });
    let out = '';
    session.onOutput((_stream, data) => {
      out += Buffer.from(data).toString();
    });
    session.endInput();
    expect(await session.exitCode).toBe(7);
    expect(out.trim()).toBe('survived');
  }, 90_000);

  it('a create whose home volume is missing reports the failure (Incus answers its /wait with 404)', async () => {
    const d = driver();
    const err = await d
      .create({ name: 'nohome', image: 'minimal', cpu: 1, memoryBytes: 128 * MiB, start: true, home: true })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err, 'create should have failed: the home volume was never made').toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).message).toMatch(/Storage volume not found/);
    expect((await d.list()).find((v) => v.name === 'nohome')).toBeUndefined();
  }, 60_000);
});
