// The default IDE probe: any HTTP answer on http://ip:port/ means it is up.
import { request } from 'node:http';
import type { Probe } from './types.js';

/** An HTTP GET with a timeout (defaults to 1 s); a fresh connection each time, so nothing lingers. */
export function httpProbe(timeoutMs = 1000): Probe {
  return (ip, port) =>
    new Promise<boolean>((resolve) => {
      const req = request({ host: ip, port, path: '/', method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
        res.resume();
        resolve(true);
        req.destroy();
      });
      req.on('timeout', () => req.destroy(new Error('probe timed out')));
      req.on('error', () => resolve(false));
      req.end();
    });
}
