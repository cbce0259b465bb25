// The client config file, like a kubeconfig: contexts (a server and how to sign in to it) and
// the current one. It holds tokens, so it is the user's alone: written 0600 in a 0700 folder,
// atomically (a temporary file renamed over it: a crash leaves the old file or the new one,
// never half of one), and a file that others can read is refused, naming the chmod that fixes
// it (as ssh refuses a readable private key: a token that others could read is already spent,
// and quietly fixing the mode would hide that).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseDocument, stringify } from 'yaml';
import { errorMessage } from '../specs/errors.js';
import { CliError } from './errors.js';

const Str = Type.String({ minLength: 1 });

const OidcAuth = Type.Object(
  {
    issuer: Str,
    clientId: Str,
    idToken: Type.Optional(Str),
    refreshToken: Type.Optional(Str),
    /** When the ID token expires (seconds since the epoch, its `exp`). */
    expiresAt: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

const ContextAuth = Type.Object(
  {
    /** Signed in through the server's OpenID Connect provider (`tidepool login`). */
    oidc: Type.Optional(OidcAuth),
    /** A personal access token (`tidepool login --token`). */
    token: Type.Optional(Str),
    /** HTTP basic auth (a password here, or TIDEPOOL_PASSWORD, or the data directory's file). */
    basic: Type.Optional(Type.Object({ username: Str, password: Type.Optional(Str) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const CONTEXT_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const Context = Type.Object(
  {
    name: Type.String({ pattern: CONTEXT_NAME.source, maxLength: 253 }),
    server: Str,
    auth: Type.Optional(ContextAuth),
  },
  { additionalProperties: false },
);

const ClientConfigFile = Type.Object(
  {
    apiVersion: Type.Literal('tidepool/v1'),
    kind: Type.Literal('Config'),
    currentContext: Type.Optional(Type.String()),
    contexts: Type.Array(Context),
  },
  { additionalProperties: false },
);

export type ContextAuth = Static<typeof ContextAuth>;
export type OidcAuth = Static<typeof OidcAuth>;
export type Context = Static<typeof Context>;
export type ClientConfigFile = Static<typeof ClientConfigFile>;

export const emptyConfigFile = (): ClientConfigFile => ({ apiVersion: 'tidepool/v1', kind: 'Config', contexts: [] });

/** --config, else TIDEPOOL_CONFIG, else $XDG_CONFIG_HOME/tidepool/config.yaml (~/.config when unset). */
export function configFilePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.TIDEPOOL_CONFIG) return env.TIDEPOOL_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'tidepool', 'config.yaml');
}

/** The file's contexts; an empty config when there is no file (login is optional). */
export async function readConfigFile(path: string): Promise<ClientConfigFile> {
  let text: string;
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0)
      throw new CliError(
        `${path} is readable or writable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}) and may hold tokens: ` +
          `run chmod 600 ${path} (and sign in again if others could have read it)`,
      );
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyConfigFile();
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read the client config ${path}: ${errorMessage(err)}`);
  }
  return parseConfigFile(text, path);
}

export function parseConfigFile(text: string, path: string): ClientConfigFile {
  if (!text.trim()) return emptyConfigFile();
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new CliError(`${path}${line ? `:${line}` : ''}: not YAML: ${e.message.split('\n')[0]}`);
  }
  const value = doc.toJS() as unknown;
  const problems = [...Value.Errors(ClientConfigFile, value)].slice(0, 5);
  if (problems.length > 0)
    throw new CliError(
      `${path} is not a Tidepool client config: ${problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; ')}`,
    );
  const cfg = value as ClientConfigFile;
  const seen = new Set<string>();
  for (const [i, c] of cfg.contexts.entries()) {
    if (seen.has(c.name)) throw new CliError(`${path}: /contexts/${i}/name: context "${c.name}" is declared twice`);
    seen.add(c.name);
  }
  return cfg;
}

function renderConfigFile(cfg: ClientConfigFile): string {
  const header = '# Tidepool client config (tidepool login, tidepool config): it holds tokens; keep it 0600.\n';
  return header + stringify(cfg);
}

/** Writes the whole file atomically with mode 0600, its folder 0700 when it makes it. */
export async function writeConfigFile(path: string, cfg: ClientConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // Created 0600 from the start ('wx': never through a file someone else put there first).
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(renderConfigFile(cfg), 'utf8');
    await fh.sync();
    await fh.close();
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw new CliError(`cannot write the client config ${path}: ${errorMessage(err)}`);
  }
}

export function findContext(cfg: ClientConfigFile, name: string, path: string): Context {
  const c = cfg.contexts.find((x) => x.name === name);
  if (!c) {
    const names = cfg.contexts.map((x) => x.name);
    throw new CliError(
      `no context "${name}" in ${path}${names.length ? ` (there are: ${names.join(', ')})` : ' (it has none: run tidepool login SERVER)'}`,
    );
  }
  return c;
}

/** The config with `context` added, or replacing the one of its name. */
export function withContext(cfg: ClientConfigFile, context: Context): ClientConfigFile {
  const i = cfg.contexts.findIndex((c) => c.name === context.name);
  const contexts = [...cfg.contexts];
  if (i >= 0) contexts[i] = context;
  else contexts.push(context);
  return { ...cfg, contexts };
}

/** A context name from a server URL: its host and port (`127.0.0.1-7080`, `tidepool.example.com`). */
export function contextNameFor(server: string): string {
  const u = new URL(server);
  return `${u.hostname.replace(/[[\]]/g, '').replace(/:/g, '-')}${u.port ? `-${u.port}` : ''}`;
}
