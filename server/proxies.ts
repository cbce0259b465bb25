// The proxy registry: how workspaces are reached (caddy, memory). Each entry declares its
// flags, how it is built and brought up, whether it reports accesses, and what the start-up log
// says about it; server/serve.ts looks an entry up by the name of --proxy.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { serverUrlForListen, type Credentials } from '../api/config.js';
import type { CaddyProxy } from '../drivers/proxy/caddy/index.js';
import { describeCaddy } from '../drivers/proxy/caddy/describe.js';
import { tlsSettings, type TlsSettings } from '../drivers/proxy/caddy/tls.js';
import type { ProxyDriver } from '../drivers/proxy/types.js';
import { errorMessage } from '../specs/errors.js';
import { type DriverEntry, settingsOfEach } from './drivers.js';
import { ServeError } from './errors.js';
import { exact, text } from './flag-values.js';
import { defineFlags, type Flag, type RawFlags, type Resolved } from './flags.js';
import { portTakenMessage, takenPortIn } from './port-taken.js';

/** Where a proxy serves: host:port, or :port for every interface. */
export interface ProxyListens {
  appListen: string;
  workspaceListen: string;
  /** Where Ports are served, an origin apart from the IDEs. */
  previewListen: string;
}

export interface ProxyContext {
  apiAddress: string;
  credentials: Credentials;
  /** Sent by Caddy to the API with every request (server/proxy-secret.ts). */
  proxySecret: string;
  dataDir: string;
  logger: Logger;
  idePort: number;
  listens: ProxyListens;
}

export interface ProxyEntry<F extends readonly Flag[], S, D extends ProxyDriver = ProxyDriver>
  extends DriverEntry<F, S, ProxyContext, D> {
  /** Whether it tells each workspace's accesses (the UI shows a last access only then). */
  readonly reportsAccess: boolean;
}

const defineProxy = <const F extends readonly Flag[], S = Resolved<F>, D extends ProxyDriver = ProxyDriver>(
  entry: ProxyEntry<F, S, D>,
) => entry;

const CADDY_FLAGS = defineFlags([
  {
    name: '--tls',
    value: '<mode>',
    help: "Caddy terminates TLS on the app, workspace and preview ports: internal (Caddy's own CA, not installed in the host's trust store; the CA file is logged) or acme (Let's Encrypt, needs --domain) (default: plain HTTP)",
    setting: 'tls',
    parse: exact,
  },
  {
    name: '--domain',
    value: '<name>',
    help: 'the name users reach Tidepool by, certified besides localhost, 127.0.0.1 and ::1 (--tls internal; may be an IP address) or alone (--tls acme)',
    setting: 'domain',
    parse: exact,
  },
  {
    name: '--acme-email',
    value: '<address>',
    help: 'ACME account e-mail, for expiry notices (--tls acme)',
    setting: 'acmeEmail',
    parse: exact,
  },
  {
    name: '--caddy-admin',
    value: '<url>',
    help: 'drive the Caddy whose admin API is at this URL instead of starting one',
    setting: 'admin',
    parse: text,
  },
  {
    name: '--caddy-binary',
    value: '<path>',
    help: 'the caddy executable Tidepool starts (default caddy on PATH)',
    setting: 'binary',
    parse: text,
  },
  {
    name: '--dnsmasq-binary',
    value: '<path>',
    help: 'the dnsmasq executable that serves the route names (default /usr/sbin/dnsmasq)',
    setting: 'dnsmasqBinary',
    parse: text,
  },
]);

interface CaddySettings {
  admin?: string;
  binary?: string;
  dnsmasqBinary?: string;
  /** `--tls`: Caddy terminates TLS on the three ports; plain HTTP when absent. */
  tls?: TlsSettings;
}

const caddy = defineProxy<typeof CADDY_FLAGS, CaddySettings, CaddyProxy>({
  reportsAccess: true,
  flags: CADDY_FLAGS,
  /** `--tls`, `--domain`, `--acme-email` into TLS settings: TLS is Caddy's, so it needs --proxy caddy. */
  settings({ tls, domain, acmeEmail, ...rest }, chosen) {
    if (tls === undefined) {
      const stray = domain !== undefined ? '--domain' : acmeEmail !== undefined ? '--acme-email' : undefined;
      if (stray)
        throw new ServeError(`${stray} is for --tls (internal or acme); without --tls Caddy serves plain HTTP`);
      return rest;
    }
    if (chosen !== 'caddy')
      throw new ServeError(`--tls is served by Caddy: it needs --proxy caddy, got --proxy ${chosen}`);
    try {
      return { ...rest, tls: tlsSettings(tls, domain, acmeEmail) };
    } catch (err) {
      throw new ServeError(errorMessage(err));
    }
  },
  create: startCaddy,
  describe(proxy, s, { logger, listens }) {
    for (const line of describeCaddy(proxy, { ...listens, ...(s.tls ? { tls: s.tls } : {}) }))
      logger.info(line.fields, line.message);
  },
});

const memory = defineProxy({
  reportsAccess: false,
  flags: defineFlags([]),
  async create() {
    const { createMemoryProxy } = await import('../drivers/proxy/memory/index.js');
    return createMemoryProxy();
  },
});

const PROXY_REGISTRY = { caddy, memory };

export type ProxyName = keyof typeof PROXY_REGISTRY;
export const PROXIES = Object.keys(PROXY_REGISTRY) as ProxyName[];

/** Every proxy's settings, by name (those of the proxies not chosen are read and kept, unused). */
export const proxySettingsFrom = (given: RawFlags, chosen: ProxyName) => settingsOfEach(PROXY_REGISTRY, given, chosen);
export type ProxySettings = ReturnType<typeof proxySettingsFrom>;

/** The entry of a proxy, its settings' type left open: serve hands it the settings its own flags made. */
export const proxyEntry = (name: ProxyName): ProxyEntry<readonly Flag[], unknown> => PROXY_REGISTRY[name];

/** The flags of every proxy, in registry order. */
export const proxyFlags = (): Flag[] => Object.values(PROXY_REGISTRY).flatMap((e): readonly Flag[] => e.flags);

/** Where Caddy reaches the API: an API on every interface (0.0.0.0, ::) is reached on loopback, as the CLI reaches it. */
export function loopbackUpstream(apiAddress: string): string {
  return new URL(serverUrlForListen(new URL(apiAddress).host)).host;
}

async function startCaddy(s: CaddySettings, ctx: ProxyContext): Promise<CaddyProxy> {
  const { createCaddyProxy } = await import('../drivers/proxy/caddy/index.js');
  const { credentials, logger, listens } = ctx;
  const proxy = createCaddyProxy({
    apiUpstream: loopbackUpstream(ctx.apiAddress),
    idePort: ctx.idePort,
    credentials: { username: credentials.username, password: credentials.password },
    proxySecret: ctx.proxySecret,
    ...listens,
    stateDir: join(ctx.dataDir, 'caddy'),
    logger: logger.child({ component: 'caddy' }),
    ...(s.admin ? { adminUrl: s.admin } : {}),
    ...(s.binary ? { caddyBinary: s.binary } : {}),
    ...(s.dnsmasqBinary ? { dnsmasqBinary: s.dnsmasqBinary } : {}),
    ...(s.tls ? { tls: s.tls } : {}),
  });
  try {
    await proxy.start();
  } catch (err) {
    // A Caddy Tidepool does not run may come up after it (another service, boot order): that
    // is the controller's business, not a reason to refuse to start. Every route reconcile
    // tries again with backoff and the Workspace and Port conditions carry the error meanwhile.
    if (s.admin && (err as { reason?: unknown }).reason === 'ProxyUnreachable') {
      logger.warn(
        { admin: s.admin, err: errorMessage(err) },
        `the Caddy admin API at ${s.admin} does not answer yet; routes are applied once it does (the Workspace conditions say why meanwhile)`,
      );
      return proxy;
    }
    await proxy.close().catch(() => {});
    throw new ServeError(`cannot start the Caddy proxy: ${await explainProxyFailure(errorMessage(err), listens)}`);
  }
  return proxy;
}

/**
 * Caddy's start-up failure in words that say what to do: a taken port is named with its flag
 * and holder (Caddy's own words buried it in its log lines); a missing program gets the
 * install hint; anything else is Caddy's message as it is.
 */
async function explainProxyFailure(message: string, listens: ProxyListens): Promise<string> {
  const taken = takenPortIn(message);
  if (taken !== undefined) {
    const log = /\(log: ([^)]+)\)/.exec(message)?.[1];
    const said = await portTakenMessage(taken, [
      { flag: '--app-port', listen: listens.appListen },
      { flag: '--workspace-port', listen: listens.workspaceListen },
      { flag: '--preview-port', listen: listens.previewListen },
    ]);
    return `${said}${log ? ` (Caddy's log: ${log})` : ''}`;
  }
  const missing = /ENOENT|not found|no such file/i.test(message);
  return missing
    ? `${message} (are caddy and dnsmasq installed? \`make host\` installs them; --proxy memory runs without them)`
    : message;
}
