// A Workspace update that only moved status.lastAccessTime (the access stream's write) wakes no
// reconcile; any other change does.
import { describe, expect, it } from 'vitest';
import { onlyLastAccessMoved } from '../../controller/sources.js';
import type { Resource } from '../../store/index.js';

const ws = (o: { rv?: string; at?: string; phase?: string; cpu?: number; generation?: number } = {}): Resource =>
  ({
    apiVersion: 'tidepool/v1',
    kind: 'Workspace',
    metadata: { name: 'dev', resourceVersion: o.rv ?? '1', generation: o.generation ?? 1 },
    spec: { image: 'default', resources: { cpu: o.cpu ?? 1, memory: '1Gi' }, running: true },
    status: { phase: o.phase ?? 'Running', ...(o.at ? { lastAccessTime: o.at } : {}) },
  }) as unknown as Resource;

describe('onlyLastAccessMoved', () => {
  it('is true when only lastAccessTime (and the resourceVersion) moved', () => {
    expect(onlyLastAccessMoved(ws(), ws({ rv: '2', at: '2026-12-07T05:00:00Z' }))).toBe(true);
    expect(onlyLastAccessMoved(ws({ at: '2026-12-07T05:00:00Z' }), ws({ rv: '3', at: '2026-12-07T05:00:30Z' }))).toBe(
      true,
    );
  });

  it('is false when anything a reconcile reads moved too', () => {
    const before = ws({ at: '2026-12-07T05:00:00Z' });
    expect(onlyLastAccessMoved(before, ws({ rv: '2', at: '2026-12-07T05:00:30Z', phase: 'Stopping' }))).toBe(false);
    expect(onlyLastAccessMoved(before, ws({ rv: '2', at: '2026-12-07T05:00:00Z', cpu: 2, generation: 2 }))).toBe(false);
    expect(onlyLastAccessMoved(before, ws({ rv: '2', generation: 2 }))).toBe(false);
  });
});
