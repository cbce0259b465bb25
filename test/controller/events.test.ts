import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store, type Resource } from '../../store/index.js';
import { EventRecorder, FakeClock } from '../../controller/index.js';
import { waitFor } from './helpers.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('EventRecorder', () => {
  let dir: string;
  let store: Store;
  let clock: FakeClock;
  let rec: EventRecorder;
  const events = () => store.list('Event').items as (Resource & { count: number; note: string; reason: string })[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-events-'));
    store = await Store.open(join(dir, 'store.json'), { maxEvents: 50 });
    clock = new FakeClock(Date.parse('2030-01-01T00:00:00Z'));
    rec = new EventRecorder({
      store,
      clock,
      logger: silent,
      dataDir: dir,
      aggregateWindowMs: 10_000,
      burst: 3,
      refillMs: 10_000,
      flushDelayMs: 50,
    });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes an event with the Kubernetes fields, and counts repeats within the window in one write', async () => {
    const alice = { kind: 'Workspace', name: 'alice', uid: 'u-1' };
    rec.record(alice, 'Warning', 'StartFailed', 'no space left');
    clock.advance(50);
    await waitFor('first write', () => events().length === 1);
    expect(events()[0]).toMatchObject({
      kind: 'Event',
      regarding: alice,
      type: 'Warning',
      reason: 'StartFailed',
      note: 'no space left',
      count: 1,
      firstTimestamp: '2030-01-01T00:00:00Z',
      lastTimestamp: '2030-01-01T00:00:00Z',
      reportingController: 'tidepool-controller',
    });
    expect(events()[0]!.metadata.name).toMatch(/^alice-[0-9a-f]{12}$/);
    // Reads see a write before it is on disk; the store's resourceVersion counts durable ones.
    await waitFor(
      'first write durable',
      () => Number(store.resourceVersion) >= Number(events()[0]!.metadata.resourceVersion),
    );
    const rv = store.resourceVersion;

    clock.advance(1000);
    for (let i = 0; i < 3; i++) rec.record(alice, 'Warning', 'StartFailed', 'no space left');
    clock.advance(1000);
    await rec.flush().then(() => undefined);
    // flush() writes at once; without it the repeats wait for the window.
    expect(events()).toHaveLength(1);
    expect(events()[0]).toMatchObject({ count: 4, lastTimestamp: '2030-01-01T00:00:01Z' });
    expect(Number(store.resourceVersion)).toBe(Number(rv) + 1);
  });

  it('holds repeats until the aggregation window ends', async () => {
    const bob = { kind: 'Workspace', name: 'bob' };
    rec.record(bob, 'Normal', 'Started', 'Started the VM.');
    clock.advance(50);
    await waitFor('first write', () => events()[0]?.count === 1);
    rec.record(bob, 'Normal', 'Started', 'Started the VM.');
    rec.record(bob, 'Normal', 'Started', 'Started the VM.');
    clock.advance(5000);
    await new Promise((r) => setTimeout(r, 20));
    expect(events()[0]!.count).toBe(1);
    clock.advance(5000);
    await waitFor('aggregated write', () => events()[0]?.count === 3);
  });

  it('drops distinct events beyond the per-object burst, and allows more as time passes', async () => {
    const carol = { kind: 'Workspace', name: 'carol' };
    for (let i = 0; i < 5; i++) rec.record(carol, 'Warning', 'CreateFailed', `attempt ${i}`);
    expect(rec.dropped).toBe(2);
    rec.record({ kind: 'Workspace', name: 'other' }, 'Normal', 'Created', 'x');
    clock.advance(20_000);
    rec.record(carol, 'Warning', 'CreateFailed', 'attempt 5');
    rec.record(carol, 'Warning', 'CreateFailed', 'attempt 6');
    expect(rec.dropped).toBe(2);
    await rec.flush();
    expect(
      events()
        .filter((e) => (e.regarding as { name: string }).name === 'carol')
        .map((e) => e.note)
        .sort(),
    ).toEqual(['attempt 0', 'attempt 1', 'attempt 2', 'attempt 5', 'attempt 6']);
  });

  it("appends each workspace's events to .logs/<workspace>/events.jsonl, Port events to their workspace's log", async () => {
    rec.record({ kind: 'Workspace', name: 'dave' }, 'Normal', 'Created', 'one');
    rec.record({ kind: 'Port', name: 'dave-3000' }, 'Normal', 'Routed', 'two', 'dave');
    await rec.flush();
    const lines = (await readFile(join(dir, '.logs', 'dave', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.note)).toEqual(['one', 'two']);
  });

  it('is bounded by the store: the newest events are kept', async () => {
    for (let i = 0; i < 80; i++) rec.record({ kind: 'Workspace', name: `w${i}` }, 'Normal', 'Created', 'x');
    await rec.flush();
    expect(events()).toHaveLength(50);
    expect(events().some((e) => (e.regarding as { name: string }).name === 'w79')).toBe(true);
    expect(events().some((e) => (e.regarding as { name: string }).name === 'w0')).toBe(false);
  });

  it('logs a Warning event at warn and a Normal one at info', () => {
    const lines: [string, string][] = [];
    const logger = {
      debug() {},
      info: (_o: unknown, msg?: string) => {
        lines.push(['info', msg ?? '']);
      },
      warn: (_o: unknown, msg?: string) => {
        lines.push(['warn', msg ?? '']);
      },
      error() {},
    };
    const logged = new EventRecorder({ store, clock, logger, dataDir: dir, flushDelayMs: 50 });
    logged.record({ kind: 'Workspace', name: 'dan' }, 'Warning', 'InsufficientCapacity', 'Not enough capacity.');
    logged.record({ kind: 'Workspace', name: 'dan' }, 'Normal', 'Started', 'Started the instance.');
    expect(lines).toEqual([
      ['warn', 'Not enough capacity.'],
      ['info', 'Started the instance.'],
    ]);
  });
});
