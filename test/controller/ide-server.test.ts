// The stub's IDE servers beside a listener on all addresses (what a Caddy on *:8080 is):
// the same port is refused on every loopback address, with a message that says why,
// and a server asked for any port binds one that is free and says which.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeIde, idePortOf, listenIde, pickIdePort } from '../../drivers/runtime/stub/ide-server.js';
import { httpProbe } from '../../controller/probe.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await closeIde(s);
});

/** A server on 0.0.0.0 on a free port, standing in for a Caddy on *:8080. */
async function wildcard(): Promise<{ port: number }> {
  const s = createServer((_req, res) => res.end('the wildcard listener\n'));
  await new Promise<void>((r) => s.listen(0, '0.0.0.0', () => r()));
  servers.push(s);
  return { port: (s.address() as AddressInfo).port };
}

async function get(ip: string, port: number): Promise<string> {
  const res = await fetch(`http://${ip}:${port}/x`);
  return res.text();
}

describe('stub IDE server beside a listener on *:PORT', () => {
  it('refuses PORT on a 127.77 address, naming the address and the reason', async () => {
    const { port } = await wildcard();
    const err = await listenIde('127.77.200.1', 'a', port).then(
      (s) => {
        servers.push(s);
        return undefined;
      },
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe('EADDRINUSE');
    expect(err?.message).toContain(`127.77.200.1:${port}`);
    expect(err?.message).toMatch(/every address/);
  });

  it('asked for any port, binds a free one, reports it, and both servers answer on their own', async () => {
    const { port } = await wildcard();
    const s = await listenIde('127.77.200.2', 'b', 0);
    servers.push(s);
    const bound = idePortOf(s);
    expect(bound).not.toBe(port);
    expect(bound).toBeGreaterThan(0);
    expect(await get('127.77.200.2', bound)).toContain('stub IDE of workspace b');
    expect(await httpProbe(500)('127.77.200.2', bound)).toBe(true);
    // The wildcard listener still owns its port on that address.
    expect(await get('127.77.200.2', port)).toContain('the wildcard listener');
  });

  it('binds the port it is given when nothing holds it', async () => {
    const probe = await listenIde('127.77.200.3', 'c', 0);
    const free = idePortOf(probe);
    await closeIde(probe);
    const s = await listenIde('127.77.200.3', 'c', free);
    servers.push(s);
    expect(idePortOf(s)).toBe(free);
    expect(await get('127.77.200.3', free)).toContain('stub IDE of workspace c');
  });

  it('picks the preferred port when it is free, another one when a listener on *:PORT holds it', async () => {
    const free = await pickIdePort(0);
    expect(await pickIdePort(free)).toBe(free);
    const { port } = await wildcard();
    const picked = await pickIdePort(port);
    expect(picked).not.toBe(port);
    // The port picked works on a 127.77 address beside the wildcard listener.
    const s = await listenIde('127.77.200.4', 'd', picked);
    servers.push(s);
    expect(await get('127.77.200.4', picked)).toContain('stub IDE of workspace d');
  });
});
