// Capacity refusals name the least recently *accessed* running workspace: an access the
// proxy's log reported counts over the time the caller knows (the last start).
import { describe, expect, it } from 'vitest';
import { Capacity, type RunningWorkspace } from '../../controller/capacity/index.js';

const ws = (name: string, accessedAt: number): RunningWorkspace => ({
  name,
  cpu: 1,
  memoryBytes: 1,
  accessedAt,
  stoppable: true,
});

describe('Capacity: least recently accessed', () => {
  const want = { name: 'new', cpu: 1, memoryBytes: 1 };

  it('without access records, the oldest start is named', () => {
    const c = new Capacity({ maxRunning: 2, cpu: 100, memoryBytes: 1e12 });
    const r = c.admit(want, [ws('old', 1_000), ws('young', 2_000)]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.leastRecentlyAccessed?.name).toBe('old');
  });

  it('a workspace started long ago but used just now is not the one named; its access time is', () => {
    const c = new Capacity({ maxRunning: 2, cpu: 100, memoryBytes: 1e12 });
    c.noteAccess('old', 5_000);
    const r = c.admit(want, [ws('old', 1_000), ws('young', 2_000)]);
    expect(!r.ok && r.leastRecentlyAccessed).toMatchObject({ name: 'young', accessedAt: 2_000 });
    c.noteAccess('young', 9_000);
    const again = c.admit(want, [ws('old', 1_000), ws('young', 2_000)]);
    expect(!again.ok && again.leastRecentlyAccessed).toMatchObject({ name: 'old', accessedAt: 5_000 });
    c.noteAccess('old', 4_000); // an older report changes nothing
    c.forget('young');
    const third = c.admit(want, [ws('old', 1_000), ws('young', 2_000)]);
    expect(!third.ok && third.leastRecentlyAccessed?.name).toBe('young');
  });
});
