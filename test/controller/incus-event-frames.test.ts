// Which Incus lifecycle frames the driver reports as a change of an instance: a pure
// function, tried frame by frame without Incus.
import { describe, expect, it } from 'vitest';
import { instanceEventOf } from '../../drivers/runtime/incus/events.js';

const frame = (o: object) => JSON.stringify({ type: 'lifecycle', ...o });

describe('instanceEventOf', () => {
  const cases: [string, unknown, string | undefined, ReturnType<typeof instanceEventOf>][] = [
    [
      'an instance event, named by its source',
      frame({ metadata: { action: 'instance-stopped', source: '/1.0/instances/a-1?project=p' } }),
      undefined,
      { instance: 'a-1', action: 'instance-stopped' },
    ],
    [
      'named by metadata.name without a source',
      frame({ metadata: { action: 'instance-deleted', name: 'b' } }),
      undefined,
      { instance: 'b', action: 'instance-deleted' },
    ],
    [
      'as bytes',
      new TextEncoder().encode(frame({ metadata: { action: 'instance-started', name: 'c' } })).buffer,
      undefined,
      { instance: 'c', action: 'instance-started' },
    ],
    ['not an instance action', frame({ metadata: { action: 'network-updated', name: 'n' } }), undefined, undefined],
    [
      'not a lifecycle frame',
      JSON.stringify({ type: 'logging', metadata: { action: 'instance-x' } }),
      undefined,
      undefined,
    ],
    ['not JSON', 'nope', undefined, undefined],
    [
      'another project',
      frame({ project: 'other', metadata: { action: 'instance-stopped', name: 'd' } }),
      'mine',
      undefined,
    ],
    [
      'our project',
      frame({ metadata: { project: 'mine', action: 'instance-stopped', name: 'd' } }),
      'mine',
      { instance: 'd', action: 'instance-stopped' },
    ],
    ['no instance named', frame({ metadata: { action: 'instance-stopped' } }), undefined, undefined],
  ];
  it.each(cases)('%s', (_what, data, project, expected) => {
    expect(instanceEventOf(data, project)).toEqual(expected);
  });
});
