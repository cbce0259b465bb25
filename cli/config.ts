// Where the CLI sends its requests and with which credentials. The same names as the server:
// --server / TIDEPOOL_SERVER (else http:// + TIDEPOOL_LISTEN or the default listen address),
// --data-dir / TIDEPOOL_DATA_DIR (where a local server keeps its credentials file),
// TIDEPOOL_USER / TIDEPOOL_PASSWORD. Below those, and above the defaults, the client config's
// context (`tidepool login`, `tidepool config`): it is used when --context names it, or, as the
// current context, when no --server or TIDEPOOL_SERVER names another server. A one-person
// install without a client config file sees exactly what it saw before.
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
import {
  configFilePath,
  findContext,
  readConfigFile,
  writeConfigFile,
  withContext,
  type Context,
} from './contexts-file.js';
import { refreshed } from './oidc.js';

/** Refresh an ID token this long before it expires, so it does not expire on the way. */
const REFRESH_MARGIN_S = 30;

export interface ClientConfig {
  /** Base URL without a trailing slash: `http://127.0.0.1:7080`. */
  server: string;
  dataDir: string;
  credentials?: Credentials;
  /** Sent as `Authorization: Bearer` (a context's ID token or personal access token); wins over `credentials`. */
  bearer?: string;
  /** Where the credentials came from, for the hint printed on a 401. */
  credentialsSource: 'env' | 'file' | 'context' | 'none';
  credentialsFile: string;
  /** The client config file (`--config`, TIDEPOOL_CONFIG). */
  configFile?: string;
  /** The context in use, if any. */
  context?: string;
}

export interface GlobalFlags {
  server?: string;
  dataDir?: string;
  context?: string;
  config?: string;
}

/** The Authorization header a request carries: the Bearer of a context, else basic auth, else none. */
export function authorizationOf(config: ClientConfig): string | undefined {
  if (config.bearer) return `Bearer ${config.bearer}`;
  const c = config.credentials;
  return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined;
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
  const configFile = configFilePath(flags.config, env);
  const context = await contextInUse(flags, configFile, env);
  const server =
    context && !flags.server && !env.TIDEPOOL_SERVER
      ? normalizeServer(context.server)
      : resolveServer(flags.server, env);
  const dataDir = resolveDataDir(flags.dataDir, env);
  const base = {
    server,
    dataDir,
    credentialsFile: credentialsPath(dataDir),
    configFile,
    ...(context ? { context: context.name } : {}),
  };
  const auth = context?.auth;
  // TIDEPOOL_USER / TIDEPOOL_PASSWORD win over a context, as they win over the credentials file.
  if (!env.TIDEPOOL_PASSWORD && auth) {
    if (auth.token) return { ...base, bearer: auth.token, credentialsSource: 'context' };
    if (auth.oidc?.idToken)
      return { ...base, bearer: await freshIdToken(context, configFile), credentialsSource: 'context' };
    if (auth.basic?.password)
      return {
        ...base,
        credentials: { username: auth.basic.username, password: auth.basic.password },
        credentialsSource: 'context',
      };
  }
  let credentials: Credentials | undefined;
  try {
    credentials = await clientCredentials(dataDir, env);
  } catch (err) {
    throw new CliError(`cannot read the credentials file ${credentialsPath(dataDir)}: ${errorMessage(err)}`);
  }
  return {
    ...base,
    ...(credentials ? { credentials } : {}),
    credentialsSource: env.TIDEPOOL_PASSWORD ? 'env' : credentials ? 'file' : 'none',
  };
}

/** --context, else the current context unless --server / TIDEPOOL_SERVER names the server. */
async function contextInUse(
  flags: GlobalFlags,
  configFile: string,
  env: NodeJS.ProcessEnv,
): Promise<Context | undefined> {
  const named = flags.context ?? env.TIDEPOOL_CONTEXT;
  if (!named && (flags.server || env.TIDEPOOL_SERVER)) return undefined;
  const cfg = await readConfigFile(configFile);
  const name = named ?? cfg.currentContext;
  return name ? findContext(cfg, name, configFile) : undefined;
}

/** The context's ID token, refreshed first (and the new one saved) when it is about to expire. */
async function freshIdToken(context: Context, configFile: string): Promise<string> {
  const auth = context.auth!.oidc!;
  if (auth.expiresAt === undefined || auth.expiresAt - Date.now() / 1000 > REFRESH_MARGIN_S) return auth.idToken!;
  const next = await refreshed(auth);
  // Re-read: another command may have changed other contexts meanwhile; only this one's auth is ours.
  const cfg = await readConfigFile(configFile);
  const current = cfg.contexts.find((c) => c.name === context.name) ?? context;
  await writeConfigFile(configFile, withContext(cfg, { ...current, auth: { oidc: next } }));
  return next.idToken!;
}
