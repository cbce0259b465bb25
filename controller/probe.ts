// The default IDE probe: any HTTP answer on http://ip:port/healthz means it is up.
// /healthz is code-server's own cheap health answer (it comes ~0.4 s before / does while
// code-server starts, and / renders a redirect that can take a second under load); any
// other server's answer to it, a 404 included, is an HTTP answer all the same.
import { request } from 'node:http';
import type { Probe } from './types.js';

export const PROBE_PATH = '/healthz';

/** An HTTP GET with a timeout (defaults to 1 s); a fresh connection each time, so nothing lingers. */
export function httpProbe(timeoutMs = 1000): Probe {
  return (ip, port) =>
    new Promise<boolean>((resolve) => {
      const req = request(
        { host: ip, port, path: PROBE_PATH, method: 'GET', agent: false, timeout: timeoutMs },
        (res) => {
          res.resume();
          resolve(true);
          req.destroy();
        },
      );
      req.on('timeout', () => req.destroy(new Error('probe timed out')));
      req.on('error', () => resolve(false));
      req.end();
    });
}
