// A tiny HTTP server standing in for code-server on a stub VM's ip:8080, so that
// probes and a real proxy have something to reach.
import { createServer, type Server } from 'node:http';

export const IDE_PORT = 8080;

export async function listenIde(ip: string, name: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`stub IDE of workspace ${name}: ${req.method} ${req.url}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(IDE_PORT, ip, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export async function closeIde(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
