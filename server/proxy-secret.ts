// The secret Tidepool's Caddy sends the API with every request (PROXY_SECRET_HEADER), so that
// the API believes Caddy's X-Forwarded-For and no other loopback client's. It lives in the data
// directory (0600, like the credentials), not in memory: Caddy outlives serve, and the next
// serve must send and expect the secret the running Caddy holds, or reload Caddy (which closes
// every proxied connection) to change it.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const proxySecretPath = (dataDir: string) => join(dataDir, 'proxy-secret');

const SECRET = /^[A-Za-z0-9_-]{32,128}$/;

export async function loadOrCreateProxySecret(dataDir: string): Promise<string> {
  const path = proxySecretPath(dataDir);
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (SECRET.test(text)) return text;
    throw new Error(
      `${path} does not hold a proxy secret (32..128 of A-Z a-z 0-9 _ -); delete it and serve makes a new one`,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${secret}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return secret;
}
