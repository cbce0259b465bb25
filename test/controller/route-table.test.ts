// The pure parts of routing, table-driven: which names the desired route table holds (and which
// are idle), and what RouteState reports as changed when the live table moves.
import { describe, expect, it } from 'vitest';
import type { RouteTable } from '../../drivers/proxy/types.js';
import { desiredRouteTable } from '../../controller/reconcilers/routes.js';
import { RouteState } from '../../controller/route-state.js';
import type { Port, Workspace } from '../../specs/index.js';

interface WsOpts {
  running?: boolean;
  ready?: boolean;
  ip?: string;
  deleting?: boolean;
  /** VMReady's reason when not ready. */
  reason?: string;
}

function ws(name: string, o: WsOpts = {}): Workspace {
  const { running = true, ready = true, ip = '10.0.0.2', deleting = false, reason = 'R' } = o;
  return {
    apiVersion: 'tidepool/v1',
    kind: 'Workspace',
    metadata: { name, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { image: 'default', running },
    status: {
      ...(ip ? { ip } : {}),
      conditions: [{ type: 'VMReady', status: ready ? 'True' : 'False', reason, message: '', lastTransitionTime: '' }],
    },
  } as unknown as Workspace;
}

function port(workspace: string, n: number, deleting = false): Port {
  return {
    apiVersion: 'tidepool/v1',
    kind: 'Port',
    metadata: { name: `${workspace}-${n}`, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { workspace, port: n },
  } as unknown as Port;
}

describe('desiredRouteTable', () => {
  const cases: { name: string; workspaces: Workspace[]; ports: Port[]; want: RouteTable }[] = [
    {
      name: 'nothing declared: an empty table, no idle names',
      workspaces: [],
      ports: [],
      want: { workspaces: [], ports: [] },
    },
    {
      name: 'a ready workspace is routed to its IP on the IDE port, with its ports',
      workspaces: [ws('alice', { ip: '10.0.0.5' })],
      ports: [port('alice', 3000)],
      want: {
        workspaces: [{ name: 'alice', upstream: '10.0.0.5:9000' }],
        ports: [{ workspace: 'alice', port: 3000, upstream: '10.0.0.5:3000' }],
      },
    },
    {
      name: 'stopped, not ready, or without an IP: idle (503), and so are its ports',
      workspaces: [ws('a', { running: false }), ws('b', { ready: false }), ws('c', { ip: '' })],
      ports: [port('a', 3000), port('c', 4000)],
      want: { workspaces: [], ports: [], idle: { workspaces: ['a', 'b', 'c'], ports: ['a/3000', 'c/4000'] } },
    },
    {
      name: 'waiting for its IDE alone at an IP: routed already and idle too; its ports wait for Ready',
      workspaces: [
        ws('boot', { ready: false, reason: 'WaitingForIDE', ip: '10.0.0.7' }),
        ws('noip', { ready: false, reason: 'WaitingForIDE', ip: '' }),
        ws('clone', { ready: false, reason: 'Cloning', ip: '10.0.0.8' }),
        ws('halt', { ready: false, reason: 'WaitingForIDE', ip: '10.0.0.9', running: false }),
      ],
      ports: [port('boot', 3000)],
      want: {
        workspaces: [{ name: 'boot', upstream: '10.0.0.7:9000' }],
        ports: [],
        idle: { workspaces: ['boot', 'clone', 'halt', 'noip'], ports: ['boot/3000'] },
      },
    },
    {
      name: 'a workspace being deleted is unknown (404), not idle, and its ports go too',
      workspaces: [ws('gone', { deleting: true })],
      ports: [port('gone', 3000)],
      want: { workspaces: [], ports: [] },
    },
    {
      name: 'a Port being deleted or naming no workspace gets no route and no idle name',
      workspaces: [ws('alice', { ip: '10.0.0.5' })],
      ports: [port('alice', 3000, true), port('nobody', 5000)],
      want: { workspaces: [{ name: 'alice', upstream: '10.0.0.5:9000' }], ports: [] },
    },
    {
      name: 'sorted by name and port whatever the input order',
      workspaces: [ws('zed', { ip: '10.0.0.9' }), ws('amy', { ip: '10.0.0.3' })],
      ports: [port('zed', 5000), port('amy', 4000), port('amy', 3000)],
      want: {
        workspaces: [
          { name: 'amy', upstream: '10.0.0.3:9000' },
          { name: 'zed', upstream: '10.0.0.9:9000' },
        ],
        ports: [
          { workspace: 'amy', port: 3000, upstream: '10.0.0.3:3000' },
          { workspace: 'amy', port: 4000, upstream: '10.0.0.3:4000' },
          { workspace: 'zed', port: 5000, upstream: '10.0.0.9:5000' },
        ],
      },
    },
  ];
  for (const c of cases) it(c.name, () => expect(desiredRouteTable(c.workspaces, c.ports, 9000)).toEqual(c.want));
});

describe('RouteState', () => {
  const t = (ws: [string, string][], ports: [string, number, string][] = []): RouteTable => ({
    workspaces: ws.map(([name, upstream]) => ({ name, upstream })),
    ports: ports.map(([workspace, p, upstream]) => ({ workspace, port: p, upstream })),
  });
  const cases: {
    name: string;
    before: RouteTable | undefined;
    after: RouteTable | undefined;
    changed: { workspaces: string[]; ports: string[] };
  }[] = [
    {
      name: 'first read: every name appeared',
      before: undefined,
      after: t([['a', '1:1']], [['a', 3000, '1:3000']]),
      changed: { workspaces: ['a'], ports: ['a/3000'] },
    },
    {
      name: 'same table: nothing changed',
      before: t([['a', '1:1']]),
      after: t([['a', '1:1']]),
      changed: { workspaces: [], ports: [] },
    },
    {
      name: 'an upstream moved, one went, one came',
      before: t(
        [
          ['a', '1:1'],
          ['b', '2:1'],
        ],
        [['a', 3000, '1:3000']],
      ),
      after: t(
        [
          ['a', '9:1'],
          ['c', '3:1'],
        ],
        [['a', 3000, '9:3000']],
      ),
      changed: { workspaces: ['a', 'b', 'c'], ports: ['a/3000'] },
    },
    {
      name: 'the proxy became unreadable: every live name is reported',
      before: t([['a', '1:1']], [['a', 3000, '1:3000']]),
      after: undefined,
      changed: { workspaces: ['a'], ports: ['a/3000'] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = new RouteState();
      s.setLive(c.before);
      const changed = s.setLive(c.after);
      expect({ workspaces: [...changed.workspaces].sort(), ports: [...changed.ports].sort() }).toEqual(c.changed);
      expect(s.known).toBe(c.after !== undefined);
    });
  }

  it('mayRoute: anything may be routed until the proxy was read; then only live names', () => {
    const s = new RouteState();
    expect(s.mayRoute('x')).toBe(true);
    s.setLive(t([['a', '1:1']], [['b', 3000, '2:3000']]));
    expect([s.mayRoute('a'), s.mayRoute('b'), s.mayRoute('x')]).toEqual([true, true, false]);
    expect(s.workspaceUpstream('a')).toBe('1:1');
    expect(s.portUpstream('b', 3000)).toBe('2:3000');
    expect(s.portUpstream('b', 3001)).toBeUndefined();
  });
});
