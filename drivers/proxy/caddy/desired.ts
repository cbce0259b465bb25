// The config this driver wants Caddy to hold, and what it reuses from the config its state dir
// last booted with (or from the live one of a Caddy it adopts), so that a Caddy left running
// by a previous Tidepool already holds exactly that config and is not reloaded.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PROXY_SECRET_HEADER } from '../../../specs/proxy.js';
import type { PasswordHash } from './auth.js';
import { buildCaddyConfig } from './config.js';
import type { CaddyConfigSettings } from './config-settings.js';
import { canonicalJson, passwordHashesIn, type Json } from './json.js';
import { caddyConfigPath, freeLoopbackPort } from './process.js';

/** The config as Caddy gets it (`json`) and as two configs are compared (`canonical`). */
export class DesiredConfig {
  readonly json: string;
  readonly canonical: string;

  constructor(settings: CaddyConfigSettings) {
    const config = buildCaddyConfig(settings);
    this.json = JSON.stringify(config);
    this.canonical = canonicalJson(config);
  }

  /** Whether `live` (Caddy's config now; null when it has none) is this one. */
  matches(live: Json): boolean {
    return live !== null && canonicalJson(live) === this.canonical;
  }

  /** A copy of the config, as an object. */
  value(): Json {
    return JSON.parse(this.json) as Json;
  }
}

/**
 * The proxy secret Caddy sends the API: the one given, else the one a config holds (an
 * adopted Caddy's), else one made here once and kept for the driver's life.
 */
export class ProxySecret {
  #value: string;
  readonly #given: boolean;

  constructor(given: string | undefined) {
    this.#value = given ?? '';
    this.#given = !!given;
  }

  get value(): string {
    return this.#value;
  }

  /** Takes the secret `configText` holds, unless one was given. */
  reuse(configText: string): void {
    if (this.#given) return;
    const found = new RegExp(`"${PROXY_SECRET_HEADER}":\\["([A-Za-z0-9_-]+)"\\]`).exec(configText)?.[1];
    this.#value = found ?? (this.#value || randomBytes(32).toString('base64url'));
  }
}

/** What the config this state dir last booted with says, for the next boot to keep. */
export interface PreviousBoot {
  /** Port of the internal pages server (a free one when there was no config). */
  pagesPort: number;
  /** Port the access log went to (0: none yet). */
  accessPort: number;
  /** A password hash of that config that still matches the password, else a new one. */
  passwordHash: string;
}

/** Reads the config this state dir last booted with; takes its proxy secret into `secret`. */
export async function readPreviousBoot(
  stateDir: string,
  username: string,
  hash: PasswordHash,
  secret: ProxySecret,
): Promise<PreviousBoot> {
  const text = await readFile(caddyConfigPath(stateDir), 'utf8').catch(() => '');
  let old: Json = null;
  try {
    old = text ? (JSON.parse(text) as Json) : null;
  } catch {
    /* rewritten at boot */
  }
  const passwordHash = await hash.pick(passwordHashesIn(old, username));
  const m = /"listen":\["127\.0\.0\.1:(\d+)"\]/.exec(text.slice(text.indexOf('"tidepool_pages"')));
  const pagesPort = m ? Number(m[1]) : await freeLoopbackPort();
  const accessPort = Number(/"address":"udp\/127\.0\.0\.1:(\d+)"/.exec(text)?.[1] ?? 0);
  secret.reuse(text);
  return { pagesPort, accessPort, passwordHash };
}
