// Events live in a file of their own, expire after their time-to-live and are capped per
// object they are about.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store, timestamp, type Resource } from '../../store/index.js';

const event = (name: string, about: string, at: number): Resource => ({
  apiVersion: 'tidepool/v1',
  kind: 'Event',
  metadata: { name },
  regarding: { kind: 'Workspace', name: about },
  reason: 'Tested',
  note: name,
  type: 'Normal',
  count: 1,
  firstTimestamp: timestamp(at),
  lastTimestamp: timestamp(at),
});

describe('Events', () => {
  it('are kept in their own file, capped per object, and expire', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-events-'));
    const path = join(dir, 'store.json');
    let now = Date.parse('2026-06-01T12:00:00Z');
    const store = await Store.open(path, { now: () => now, maxEventsPerObject: 3, eventTtlMs: 3_600_000 });
    for (let i = 0; i < 5; i++) await store.create(event(`a-${i}`, 'a', now));
    await store.create(event('b-0', 'b', now));
    expect(
      store
        .list('Event')
        .items.map((e) => e.metadata.name)
        .sort(),
    ).toEqual(['a-2', 'a-3', 'a-4', 'b-0']);
    // Their own file: the store file's journal holds no Event.
    expect(await readdir(dir)).toContain('store.events.json.journal');
    expect(await readFile(`${path}.journal`, 'utf8').catch(() => '')).not.toContain('"kind":"Event"');

    now += 30 * 60_000;
    await store.create(event('b-1', 'b', now));
    now += 31 * 60_000;
    await store.sweepEvents();
    expect(store.list('Event').items.map((e) => e.metadata.name)).toEqual(['b-1']);
    await store.close();
    const again = await Store.open(path, { now: () => now });
    expect(again.list('Event').items.map((e) => e.metadata.name)).toEqual(['b-1']);
    await again.close();
  });
});

describe('timestamp', () => {
  it('is RFC 3339 UTC to the second, each second its own (formatting is cached per second)', () => {
    const t = Date.UTC(2026, 11, 7, 6, 30, 15);
    expect(timestamp(t)).toBe('2026-12-07T06:30:15Z');
    expect(timestamp(t + 999)).toBe('2026-12-07T06:30:15Z');
    expect(timestamp(t + 1000)).toBe('2026-12-07T06:30:16Z');
    expect(timestamp(t - 1)).toBe('2026-12-07T06:30:14Z');
    expect(timestamp(t)).toBe('2026-12-07T06:30:15Z');
    expect(() => timestamp(Number.NaN)).toThrow(RangeError);
    // A second toISOString refuses throws each time, and is never served from the cache.
    expect(() => timestamp(9e15)).toThrow(RangeError);
    expect(() => timestamp(9e15)).toThrow(RangeError);
    expect(timestamp(t)).toBe('2026-12-07T06:30:15Z');
  });
});
