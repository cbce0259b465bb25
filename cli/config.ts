// Where the CLI sends its requests and with which credentials. The same names as the server:
// --server / TIDEPOOL_SERVER (else http:// + TIDEPOOL_LISTEN or the default listen address),
// --data-dir / TIDEPOOL_DATA_DIR (where a local server keeps its credentials file),
// TIDEPOOL_USER / TIDEPOOL_PASSWORD.
import {
  DEFAULT_LISTEN,
  clientCredentials,
  credentialsPath,
  resolveDataDir,
  serverUrlForListen,
  type Credentials,
} from '../server/index.js';

export { serverUrlForListen };
import { CliError } from './errors.js';
import { errorMessage } from '../specs/errors.js';

export interface ClientConfig {
  /** Base URL without a trailing slash: `http://127.0.0.1:7080`. */
  server: string;
  dataDir: string;
  credentials?: Credentials;
  /** Where the credentials came from, for the hint printed on a 401. */
  credentialsSource: 'env' | 'file' | 'none';
  credentialsFile: string;
}

export interface GlobalFlags {
  server?: string;
  dataDir?: string;
}

export function normalizeServer(server: string): string {
  const s = server.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`--server must be a URL such as http://127.0.0.1:7080, got "${server}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--server must be an http:// or https:// URL, got "${server}"`);
  }
  return url.toString().replace(/\/+$/, '');
}

export function resolveServer(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return normalizeServer(flag);
  if (env.TIDEPOOL_SERVER) return normalizeServer(env.TIDEPOOL_SERVER);
  try {
    return serverUrlForListen(env.TIDEPOOL_LISTEN || DEFAULT_LISTEN);
  } catch (err) {
    throw new CliError(`TIDEPOOL_LISTEN: ${errorMessage(err)}`);
  }
}

export async function resolveClientConfig(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ClientConfig> {
  const server = resolveServer(flags.server, env);
  const dataDir = resolveDataDir(flags.dataDir, env);
  let credentials: Credentials | undefined;
  try {
    credentials = await clientCredentials(dataDir, env);
  } catch (err) {
    throw new CliError(`cannot read the credentials file ${credentialsPath(dataDir)}: ${errorMessage(err)}`);
  }
  return {
    server,
    dataDir,
    credentialsFile: credentialsPath(dataDir),
    ...(credentials ? { credentials } : {}),
    credentialsSource: env.TIDEPOOL_PASSWORD ? 'env' : credentials ? 'file' : 'none',
  };
}
