// status.lastAccessTime from the proxy's access events: the first access is written at once,
// later ones at most once per interval (the last one of the interval), only that field moves.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store, timestamp } from '../../store/index.js';
import { LastAccessWriter } from '../../controller/last-access.js';
import { FakeClock } from '../../controller/queue/clock.js';
import { StatusWriter } from '../../controller/status.js';
import { workspace } from './helpers.js';

describe('LastAccessWriter', () => {
  let dir: string, store: Store, clock: FakeClock, status: StatusWriter, writer: LastAccessWriter;
  const T0 = Date.parse('2026-03-01T10:00:00Z');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-access-'));
    store = await Store.open(join(dir, 'store.json'));
    clock = new FakeClock(T0);
    status = new StatusWriter(store, (_k, _n, err) => {
      throw err;
    });
    writer = new LastAccessWriter(store, status, clock, 30_000);
    await store.create(workspace('alice'));
    await store.updateStatus('Workspace', 'alice', { phase: 'Running', ip: '10.0.0.5' });
  });

  afterEach(async () => {
    writer.stop();
    await status.drain();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const last = () => store.get('Workspace', 'alice')!.status?.lastAccessTime;

  it('writes the first access at once, keeping the rest of the status', () => {
    writer.accessed('alice');
    expect(last()).toBe(timestamp(T0));
    expect(store.get('Workspace', 'alice')!.status).toMatchObject({ phase: 'Running', ip: '10.0.0.5' });
  });

  it('gathers accesses within the interval into one write of the last one, when the interval is over', () => {
    writer.accessed('alice');
    const writes = () => store.get('Workspace', 'alice')!.metadata.resourceVersion;
    const rv = writes();
    clock.advance(5_000);
    writer.accessed('alice');
    clock.advance(10_000);
    writer.accessed('alice');
    expect(writes()).toBe(rv); // nothing written within the interval
    expect(last()).toBe(timestamp(T0));
    clock.advance(15_000); // the interval is over: the last access (T0 + 15 s) is written
    expect(last()).toBe(timestamp(T0 + 15_000));
    clock.advance(60_000);
    expect(last()).toBe(timestamp(T0 + 15_000)); // no access since: nothing more
    writer.accessed('alice');
    expect(last()).toBe(timestamp(T0 + 90_000));
  });

  it('ignores workspaces that do not exist', () => {
    writer.accessed('ghost');
    expect(store.get('Workspace', 'ghost')).toBeUndefined();
  });
});

describe('the controller writes lastAccessTime from the proxy', () => {
  it('an access event of the memory proxy reaches the status', async () => {
    const { harness, waitFor } = await import('./helpers.js');
    const h = await harness();
    try {
      await h.start();
      await h.store.create(workspace('bob'));
      await h.ready('bob');
      const before = Date.now();
      h.proxy.access('bob');
      const w = await waitFor('lastAccessTime', () => h.ws('bob')?.status?.lastAccessTime as string | undefined);
      expect(Date.parse(w)).toBeGreaterThanOrEqual(before - 1_000);
    } finally {
      await h.close();
    }
  });
});
