// Where Tidepool keeps its state and how the server and the CLI find each other.
// The same names for both: --data-dir / TIDEPOOL_DATA_DIR, --listen / TIDEPOOL_LISTEN,
// --server / TIDEPOOL_SERVER, TIDEPOOL_USER / TIDEPOOL_PASSWORD.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Defaults to 127.0.0.1:7080: the API listens on loopback only unless told otherwise. */
export const DEFAULT_LISTEN = '127.0.0.1:7080';

/** --data-dir, else TIDEPOOL_DATA_DIR, else $XDG_DATA_HOME/tidepool (~/.local/share/tidepool). */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.TIDEPOOL_DATA_DIR) return env.TIDEPOOL_DATA_DIR;
  const xdg = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(xdg, 'tidepool');
}

export const credentialsPath = (dataDir: string) => join(dataDir, 'credentials.json');
export { logsDir, storePath } from '../store/paths.js';

export interface Credentials {
  username: string;
  password: string;
}

async function writeAtomic(path: string, text: string, mode: number) {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** Reads the credentials file, or undefined when there is none. */
export async function readCredentialsFile(dataDir: string): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await readFile(credentialsPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const c = JSON.parse(text) as Partial<Credentials>;
  if (typeof c.username !== 'string' || typeof c.password !== 'string' || !c.username || !c.password) {
    throw new Error(`credentials file ${credentialsPath(dataDir)} must hold {"username": "...", "password": "..."}`);
  }
  return { username: c.username, password: c.password };
}

/**
 * The server's credentials: TIDEPOOL_USER / TIDEPOOL_PASSWORD when set; else the
 * credentials file; else a new strong random password written to that file (0600).
 * `generated` tells the caller to print where it is.
 */
export async function loadOrCreateCredentials(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ credentials: Credentials; source: 'env' | 'file' | 'generated'; path: string }> {
  const path = credentialsPath(dataDir);
  if (env.TIDEPOOL_PASSWORD) {
    return {
      credentials: { username: env.TIDEPOOL_USER || 'admin', password: env.TIDEPOOL_PASSWORD },
      source: 'env',
      path,
    };
  }
  const existing = await readCredentialsFile(dataDir);
  if (existing) return { credentials: existing, source: 'file', path };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const credentials = { username: env.TIDEPOOL_USER || 'admin', password: randomBytes(24).toString('base64url') };
  await writeAtomic(path, `${JSON.stringify(credentials, null, 2)}\n`, 0o600);
  return { credentials, source: 'generated', path };
}

/** The CLI's credentials: TIDEPOOL_USER / TIDEPOOL_PASSWORD, else the local server's file. */
export async function clientCredentials(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  if (env.TIDEPOOL_PASSWORD) return { username: env.TIDEPOOL_USER || 'admin', password: env.TIDEPOOL_PASSWORD };
  return readCredentialsFile(dataDir);
}

/** This Tidepool's id, kept in the data directory; every VM it creates carries it. */
export async function loadOrCreateId(dataDir: string): Promise<string> {
  const path = join(dataDir, 'id');
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (/^[a-z0-9]{6,32}$/.test(id)) return id;
    throw new Error(
      `${path} does not hold a Tidepool id (6..32 lowercase letters and digits): ${JSON.stringify(id.slice(0, 40))}`,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const id = randomUUID().replace(/-/g, '').slice(0, 8);
  await writeAtomic(path, `${id}\n`, 0o644);
  return id;
}

/** host:port → {host, port}; accepts ":7080" (all interfaces) and "[::1]:7080". */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`--listen must be host:port, got "${listen}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** The URL of a local server listening on `listen` (a wildcard host is reached on loopback). */
export function serverUrlForListen(listen: string): string {
  const { host, port } = parseListen(listen);
  let h = host;
  if (h === '' || h === '0.0.0.0') h = '127.0.0.1';
  if (h === '::') h = '::1';
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
