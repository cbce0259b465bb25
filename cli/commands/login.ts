// tidepool login [SERVER] and tidepool logout: sign a context of the client config in and out.
// login asks the server how it checks requests (GET /api/v1/auth/info, no credentials), then:
//   - oidc: signs in at the server's issuer as its CLI client, in a browser (loopback
//     redirect) or with the device flow (a terminal without a browser; the default when there
//     is no display), and keeps the ID token and the refresh token;
//   - --token: keeps a personal access token (from the argument or the first line of stdin);
//   - basic: --username and --password-stdin, kept in the context.
// Whatever it got is tried against the server before it is stored: a refused sign-in stores
// nothing. The context becomes the current one. logout drops the context's tokens (and
// revokes the refresh token where the issuer can) but keeps the context and its server.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { request } from 'undici';
import { AUTH_INFO_PATH, type AuthInfo } from '../../specs/index.js';
import { errorMessage } from '../../specs/errors.js';
import { ApiClient } from '../client.js';
import { normalizeServer, resolveServer, type ClientConfig } from '../config.js';
import { globalFlags, processIo } from '../context.js';
import {
  configFilePath,
  contextNameFor,
  findContext,
  readConfigFile,
  withContext,
  writeConfigFile,
  type ContextAuth,
} from '../contexts-file.js';
import { CliError, ServerError } from '../errors.js';
import { DEFAULT_SCOPES, browserLogin, deviceLogin, discover, revoke, toStored } from '../oidc.js';

interface LoginFlags {
  token?: string | boolean;
  device?: boolean;
  browser?: boolean;
  open?: boolean;
  username?: string;
  passwordStdin?: boolean;
}

/** How the server says it checks requests; a server from before auth info is basic. */
export async function fetchAuthInfo(server: string): Promise<AuthInfo> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(`${server}${AUTH_INFO_PATH}`, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new CliError(`cannot reach ${server} to ask how it signs in: ${errorMessage(err)}`);
  }
  const text = await res.body.text();
  if (res.statusCode === 404) return { mode: 'basic' };
  if (res.statusCode !== 200)
    throw new CliError(`${server}${AUTH_INFO_PATH} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  try {
    const info = JSON.parse(text) as AuthInfo;
    if (info.mode === 'oidc' && !info.oidc?.issuer)
      throw new Error('mode oidc without oidc.issuer and oidc.cliClientId');
    return info;
  } catch (err) {
    throw new CliError(`${server}${AUTH_INFO_PATH} is not a Tidepool auth info: ${errorMessage(err)}`);
  }
}

async function stdinLine(what: string): Promise<string> {
  if (process.stdin.isTTY) processIo.err(`${what}: `);
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  const line = text.split('\n')[0]!.trim();
  if (!line) throw new CliError(`no ${what} on stdin`);
  return line;
}

function openBrowser(url: string): void {
  const cmd = process.env.BROWSER || (process.platform === 'darwin' ? 'open' : 'xdg-open');
  const child = spawn(cmd, [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => {}); // no browser opener: the URL was printed
  child.unref();
}

const hasDisplay = () => process.platform === 'darwin' || !!process.env.DISPLAY || !!process.env.WAYLAND_DISPLAY;

/** Signs in as the server's mode asks; what to store in the context and who signed in. */
async function signIn(server: string, flags: LoginFlags): Promise<{ auth: ContextAuth; who: string }> {
  if (flags.token !== undefined && flags.token !== false) {
    const token = typeof flags.token === 'string' ? flags.token : await stdinLine('token');
    return { auth: { token }, who: 'a personal access token' };
  }
  const info = await fetchAuthInfo(server);
  if (info.mode === 'oidc') {
    const { issuer, cliClientId, scopes = DEFAULT_SCOPES } = info.oidc!;
    const config = await discover(issuer, cliClientId);
    const say = (l: string) => processIo.err(l);
    const device = flags.device || (!flags.browser && !hasDisplay());
    const tokens = device
      ? await deviceLogin(config, scopes, say)
      : await browserLogin(config, scopes, say, flags.open === false ? () => {} : openBrowser);
    const { who, ...oidc } = toStored(issuer, cliClientId, tokens);
    return { auth: { oidc }, who };
  }
  if (info.mode === 'basic' && flags.username) {
    if (!flags.passwordStdin) throw new CliError('--username needs --password-stdin (the password is read from stdin)');
    const password = await stdinLine('password');
    return { auth: { basic: { username: flags.username, password } }, who: flags.username };
  }
  throw new CliError(
    info.mode === 'basic'
      ? `${server} signs in with a user name and password: TIDEPOOL_USER / TIDEPOOL_PASSWORD, the credentials file of its data directory, ` +
          'or tidepool login --username USER --password-stdin to keep them in a context'
      : `${server} signs in with ${info.mode} in the browser; for the CLI, create a personal access token there and run tidepool login --token`,
  );
}

/** Refused unless the server takes the new sign-in (a 401 or 403 stores nothing). */
async function tryOut(server: string, auth: ContextAuth, configFile: string): Promise<void> {
  const base = { server, dataDir: '', credentialsFile: '', configFile, credentialsSource: 'context' as const };
  const config: ClientConfig = auth.basic?.password
    ? { ...base, credentials: { username: auth.basic.username, password: auth.basic.password } }
    : { ...base, bearer: auth.token ?? auth.oidc!.idToken! };
  const client = new ApiClient(config);
  try {
    await client.call('GET', '/api/v1/workspaces', { query: { limit: '1' } });
  } catch (err) {
    // 401: the credentials are wrong; 403: they are right but the server does not let this person in.
    if (err instanceof ServerError && (err.code === 401 || err.code === 403))
      throw new CliError(`${server} refused the new sign-in (${err.code}: ${err.message}); nothing was stored`);
    throw err;
  } finally {
    await client.close();
  }
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .summary('sign in to a server and keep the sign-in in a context of the client config')
    .argument('[server]', 'the Tidepool API (default --server, TIDEPOOL_SERVER, the current context, or the local one)')
    .option('--token [token]', 'keep a personal access token (from stdin without a value)')
    .option('--device', 'OpenID Connect: the device flow (a URL and a code to enter elsewhere)')
    .option('--browser', 'OpenID Connect: sign in in a browser on this machine (a loopback redirect)')
    .option('--no-open', 'OpenID Connect browser flow: print the URL, do not open a browser')
    .option('--username <user>', 'basic auth: the user name (with --password-stdin)')
    .option('--password-stdin', 'basic auth: read the password from stdin')
    .action(async (serverArg: string | undefined, flags: LoginFlags, cmd: Command) => {
      const g = globalFlags(cmd);
      const configFile = configFilePath(g.config);
      const cfg = await readConfigFile(configFile);
      const current = cfg.currentContext ? cfg.contexts.find((c) => c.name === cfg.currentContext) : undefined;
      const server = serverArg
        ? normalizeServer(serverArg)
        : g.server || process.env.TIDEPOOL_SERVER || !current
          ? resolveServer(g.server)
          : current.server;
      const name = g.context ?? cfg.contexts.find((c) => c.server === server)?.name ?? contextNameFor(server);
      const { auth, who } = await signIn(server, flags);
      await tryOut(server, auth, configFile);
      // Re-read: the sign-in took a while, and only this context is ours to change.
      const latest = await readConfigFile(configFile);
      await writeConfigFile(configFile, { ...withContext(latest, { name, server, auth }), currentContext: name });
      processIo.out(`Logged in to ${server} as ${who}; context "${name}" in ${configFile} is the current context.`);
    });

  program
    .command('logout')
    .summary("drop a context's sign-in (the context and its server stay)")
    .action(async (_flags: unknown, cmd: Command) => {
      const g = globalFlags(cmd);
      const configFile = configFilePath(g.config);
      const cfg = await readConfigFile(configFile);
      const name = g.context ?? cfg.currentContext;
      if (!name) throw new CliError(`no current context in ${configFile}: nothing to log out of`);
      const { auth, ...context } = findContext(cfg, name, configFile);
      if (auth?.oidc) {
        await revoke(auth.oidc).catch((err: unknown) =>
          processIo.err(
            `warning: the issuer did not revoke the refresh token (${errorMessage(err)}); it is dropped here anyway`,
          ),
        );
      }
      await writeConfigFile(configFile, withContext(cfg, context));
      processIo.out(`Logged out of context "${name}" (${context.server}).`);
    });
}
