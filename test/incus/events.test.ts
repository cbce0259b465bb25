// The Incus events subscription against a small fake Incus on a unix socket (no real Incus
// needed): the socket is dropped by the server and must come back with backoff, reporting
// what may have been missed; frames about other Tidepools' instances are not reported.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { createIncusRuntime, instanceName, CONFIG_ID, CONFIG_WORKSPACE } from '../../drivers/runtime/incus/index.js';
import { instanceFromSource } from '../../drivers/runtime/incus/events.js';
import { poll } from '../poll.js';

const dir = mkdtempSync(join(tmpdir(), 'tp-fake-incus-'));
const socketPath = join(dir, 'unix.socket');
const ID = 'events-test';
const servers: Server[] = [];

afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** A fake Incus: GET /1.0/instances lists `instances`; /1.0/events upgrades to a websocket. */
function fakeIncus(instances: object[]) {
  const sockets: WebSocket[] = [];
  let connections = 0;
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/1.0/instances')) {
      res.end(JSON.stringify({ type: 'sync', status_code: 200, metadata: instances }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ type: 'error', error_code: 404, error: 'not found' }));
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    if (!req.url?.startsWith('/1.0/events')) return socket.destroy();
    connections++;
    wss.handleUpgrade(req, socket, head, (ws) => sockets.push(ws));
  });
  servers.push(server);
  const send = (action: string, instance: string) => {
    const frame = JSON.stringify({
      type: 'lifecycle',
      metadata: { action, source: `/1.0/instances/${instance}`, name: instance, project: 'default' },
      project: 'default',
    });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(frame);
  };
  const dropAll = () => {
    for (const ws of sockets.splice(0)) ws.terminate();
  };
  return {
    server,
    send,
    dropAll,
    connections: () => connections,
    open: () => sockets.filter((s) => s.readyState === s.OPEN).length,
  };
}

const until = (what: string, fn: () => boolean, timeoutMs = 5000) => poll(what, fn, timeoutMs, 10);

describe('Incus events subscription', () => {
  it('parses instance names from event sources', () => {
    expect(instanceFromSource('/1.0/instances/c1')).toBe('c1');
    expect(instanceFromSource('/1.0/instances/c1?project=p')).toBe('c1');
    expect(instanceFromSource('/1.0/instances/c1/snapshots/s')).toBe('c1');
    expect(instanceFromSource('/1.0/networks/n')).toBeUndefined();
  });

  it('reports only our instances, and reconnects with backoff after the socket drops', async () => {
    const mine = instanceName('alice', ID);
    const fake = fakeIncus([
      { name: mine, status: 'Running', config: { [CONFIG_ID]: ID, [CONFIG_WORKSPACE]: 'alice' } },
      { name: 'someone-elses', status: 'Running', config: { [CONFIG_ID]: 'other' } },
    ]);
    await new Promise<void>((r) => fake.server.listen(socketPath, r));
    const logs: string[] = [];
    const d = createIncusRuntime({ tidepoolId: ID, socketPath, eventsBackoffMs: [50, 400], log: (m) => logs.push(m) });
    expect((await d.list()).map((v) => v.name)).toEqual(['alice']);
    const seen: string[] = [];
    const unsubscribe = d.subscribe!((n) => seen.push(n));
    try {
      await until('the websocket', () => fake.open() === 1);
      fake.send('instance-stopped', mine);
      fake.send('instance-stopped', 'someone-elses');
      fake.send('instance-stopped', instanceName('bob', 'yet-another-tidepool'));
      await until('the event', () => seen.length >= 1);
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toEqual(['alice']);

      // The server drops the socket: the driver comes back on its own and reports what it knows
      // (events may have been missed while it was away).
      seen.length = 0;
      fake.dropAll();
      await until('a reconnect', () => fake.connections() === 2 && fake.open() === 1);
      await until('the catch-up report', () => seen.includes('alice'));
      expect(logs.some((l) => /dropped/.test(l))).toBe(true);
      seen.length = 0;
      fake.send('instance-started', mine);
      await until('an event after the reconnect', () => seen.includes('alice'));
    } finally {
      unsubscribe();
      await d.close!();
    }
    // After unsubscribe no more connections are attempted.
    const n = fake.connections();
    fake.dropAll();
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.connections()).toBe(n);
  });
});
