// The point of routing by name: changes to other workspaces never touch an established
// connection. A WebSocket and a slow streamed response through the workspace port stay up,
// and complete, while 20 route changes happen to other workspaces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteTable } from '../../drivers/proxy/types.js';
import {
  closesWithin,
  echo,
  fakeServer,
  openSocket,
  readStream,
  reloadCount,
  startHarness,
  type FakeServer,
  type Harness,
} from './helpers.js';

describe('caddy driver: established connections survive changes to other workspaces', () => {
  let h: Harness;
  let ide: FakeServer, api: FakeServer;
  const others: FakeServer[] = [];

  beforeAll(async () => {
    ide = await fakeServer('alice-ide', '127.78.5.10', 8080);
    api = await fakeServer('api', '127.0.0.1');
    for (let i = 1; i <= 4; i++) others.push(await fakeServer(`w${i}`, `127.78.5.${20 + i}`, 8080));
    h = await startHarness({ apiUpstream: api.upstream });
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([ide, api, ...others].map((s) => s?.close()));
  });

  it('a WebSocket and a streamed response stay up through 20 changes (start, stop, Port add/remove, delete)', async () => {
    const alice = { name: 'alice', upstream: '127.78.5.10:8080' };
    await h.proxy.apply({ workspaces: [alice], ports: [] });
    const loads = await reloadCount(h.stateDir);
    const socket = await openSocket(`${h.workspaceUrl}/workspace/alice/term`);
    // 40 lines, one every 100 ms: it is still streaming while every change below is made.
    const stream = readStream(`${h.workspaceUrl}/workspace/alice/stream?lines=40&ms=100`);
    for (let i = 0; i < 20; i++) {
      const other = `w${(i % 4) + 1}`;
      const table: RouteTable = { workspaces: [alice], ports: [] };
      switch (i % 4) {
        case 0:
          table.workspaces.push({ name: other, upstream: `127.78.5.${21 + (i % 4)}:8080` });
          break; // started
        case 1:
          table.idle = { workspaces: [other], ports: [] };
          break; // stopped
        case 2:
          table.workspaces.push({ name: other, upstream: `127.78.5.${21 + (i % 4)}:8080` });
          table.ports.push({ workspace: other, port: 3000, upstream: `127.78.5.${21 + (i % 4)}:3000` });
          break; // Port added
        default:
          break; // deleted
      }
      await h.proxy.apply(table);
      expect(await echo(socket, `m${i}`)).toBe(`alice-ide:m${i}`);
    }
    const streamed = await stream;
    expect(streamed.status).toBe(200);
    expect(streamed.complete).toBe(true);
    expect(streamed.lines).toEqual(Array.from({ length: 40 }, (_, i) => `alice-ide ${i}`));
    expect(await closesWithin(socket, 200)).toBe(false);
    expect(await echo(socket, 'end')).toBe('alice-ide:end');
    socket.terminate();
    expect(await reloadCount(h.stateDir)).toBe(loads);
    expect(h.proxy.loads).toBe(0);
  });
});
