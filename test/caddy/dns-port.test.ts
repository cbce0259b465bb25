// dnsmasq's port: free for UDP and TCP (it listens on both), and below the kernel's ephemeral
// range, so that no outgoing connection's local port takes it between the pick and the bind.
import { readFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freeDnsPort } from '../../drivers/proxy/dns/dnsmasq.js';
import { fakeServer, startHarness } from './helpers.js';

const ephemeralLow = async () =>
  Number((await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/)[0]);

describe('dnsmasq port', () => {
  it('is picked below the ephemeral range, free for both UDP and TCP', async () => {
    const low = await ephemeralLow();
    for (let i = 0; i < 5; i++) {
      const port = await freeDnsPort();
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(low);
      const udp = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, '127.0.0.1', resolve);
      });
      const tcp = createServer();
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((r) => udp.close(() => r(undefined)));
      await new Promise((r) => tcp.close(r));
    }
  });

  it('the Caddy driver’s dnsmasq answers on such a port', async () => {
    const api = await fakeServer('api', '127.0.0.1');
    const h = await startHarness({ apiUpstream: api.upstream });
    try {
      const argv = (await readFile(`/proc/${h.proxy.dnsmasqPid}/cmdline`, 'utf8')).split('\0');
      const port = Number(argv.find((a) => a.startsWith('--port='))?.slice('--port='.length));
      expect(port).toBeLessThan(await ephemeralLow());
      expect(port).toBeGreaterThanOrEqual(10_000);
    } finally {
      await h.close();
      await api.close();
    }
  }, 30_000);
});
