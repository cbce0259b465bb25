// A tiny HTTP server standing in for code-server on a stub VM's ip:8080, so that
// probes and a real proxy have something to reach.
//
// On Linux a listener on *:8080 (a Caddy of `make run`, say) holds port 8080 on every
// address, 127.77.x.y included: no choice of address avoids it. So the port is a
// parameter (0: any free one), and the port really bound is read back with idePortOf.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IDE_PORT } from '../../../specs/workspace.js';

/**
 * Listens on ip:port (port 0: a free port, see idePortOf). An address in use keeps its
 * `code` (EADDRINUSE), so a caller can move on to another address or port.
 */
export async function listenIde(ip: string, name: string, port: number = IDE_PORT): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`stub IDE of workspace ${name}: ${req.method} ${req.url}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        err.message = `stub IDE of workspace ${name} cannot listen on ${ip}:${port}: in use (a listener on *:${port}, such as a Caddy, holds it on every address)`;
      }
      reject(err);
    });
    server.listen(port, ip, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  return server;
}

/** The port a server made by listenIde really listens on. */
export function idePortOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/**
 * The port a stub's IDE servers can use on every 127.77 address: `preferred` unless a listener
 * on every address (*:PORT, as a `make run`'s Caddy holds 8080) blocks it, else one the kernel
 * hands out free. It probes an address no stub VM gets (127.77.255.254): other stubs' IDEs on
 * their own addresses (tests beside each other) do not count, so a serve keeps 8080 across
 * restarts, and with it the proxy config it adopts. The controller then probes and routes to
 * the port chosen.
 */
export async function pickIdePort(preferred: number = IDE_PORT): Promise<number> {
  const tryBind = (port: number, host: string) =>
    new Promise<number | undefined>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(undefined));
      probe.listen(port, host, () => {
        const bound = idePortOf(probe);
        probe.close(() => resolve(bound));
      });
    });
  return (await tryBind(preferred, PROBE_ADDRESS)) ?? (await tryBind(0, '0.0.0.0'))!;
}

/** Never a stub VM's address (they count up from 127.77.0.1). */
const PROBE_ADDRESS = '127.77.255.254';

export async function closeIde(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
