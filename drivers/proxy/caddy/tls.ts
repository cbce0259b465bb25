// TLS on Caddy's public servers (app, workspace, preview), when asked; off by default.
//   internal: certificates from Caddy's own CA ("local"), for the names a user reaches Tidepool
//             by (localhost, 127.0.0.1, ::1, and --domain). The CA is NOT installed into the
//             host's trust store: Caddy running as root does that otherwise (REFERENCE.md).
//   acme:     a certificate for --domain from Let's Encrypt (or `acmeCa`), solved by Caddy's
//             HTTP-01 (port 80) or TLS-ALPN-01 (port 443) challenge: one of them must reach
//             this host from the internet.
// The servers keep `automatic_https: {disable: true}` (no :80 redirect server, no names taken
// from routes): the certificates are managed explicitly, listed in `tls.certificates.automate`.
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import type { Json } from './json.js';

export const TLS_MODES = ['internal', 'acme'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export interface TlsSettings {
  mode: TlsMode;
  /** The names certificates are issued for (what a browser puts in the URL). */
  names: string[];
  /** ACME account e-mail (expiry notices); acme only. */
  email?: string;
  /** ACME directory URL; acme only. Default: Let's Encrypt's production directory. */
  acmeCa?: string;
}

/** The names a user reaches a local Tidepool by, and `domain` when given. */
export const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'];

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;

/**
 * The TLS settings for `--tls MODE [--domain NAME] [--acme-email ADDR]`; throws an Error whose
 * message names the flag that is wrong.
 */
export function tlsSettings(mode: string, domain?: string, email?: string): TlsSettings {
  if (!(TLS_MODES as readonly string[]).includes(mode))
    throw new Error(`--tls must be one of ${TLS_MODES.join(', ')}, got "${mode}"`);
  if (domain !== undefined && !(DNS_NAME.test(domain) || isIP(domain)))
    throw new Error(`--domain must be a DNS name or an IP address, got "${domain}"`);
  if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email))
    throw new Error(`--acme-email must be an e-mail address, got "${email}"`);
  if (mode === 'acme') {
    if (domain === undefined)
      throw new Error('--tls acme needs --domain NAME (the public DNS name that points at this host)');
    if (isIP(domain))
      throw new Error(
        `--tls acme needs a DNS name for --domain (ACME CAs do not issue for IP addresses), got "${domain}"`,
      );
    return { mode: 'acme', names: [domain.toLowerCase()], ...(email ? { email } : {}) };
  }
  if (email !== undefined) throw new Error('--acme-email is for --tls acme only');
  const names = [...LOCAL_NAMES];
  if (domain !== undefined && !names.includes(domain.toLowerCase())) names.push(domain.toLowerCase());
  return { mode: 'internal', names };
}

/** The `pki` and `tls` apps for these settings. */
export function tlsApps(t: TlsSettings): { [key: string]: Json } {
  const issuer: Json =
    t.mode === 'internal'
      ? { module: 'internal', ca: 'local' }
      : { module: 'acme', ...(t.email ? { email: t.email } : {}), ...(t.acmeCa ? { ca: t.acmeCa } : {}) };
  return {
    // Defined even for acme: Caddy provisions the local CA anyway, and without this it would try to install it.
    pki: { certificate_authorities: { local: { install_trust: false } } },
    tls: {
      certificates: { automate: t.names },
      automation: { policies: [{ subjects: t.names, issuers: [issuer] }] },
    },
  };
}

/** What a public server gets when TLS is on: one policy for every handshake (certificates chosen by SNI, or by IP without one). */
export const TLS_SERVER: { [key: string]: Json } = { tls_connection_policies: [{}] };

/** The root certificate of Caddy's local CA, under the data dir Caddy gets from XDG_DATA_HOME (see process.ts). */
export const caRootPath = (xdgDataHome: string) =>
  join(xdgDataHome, 'caddy', 'pki', 'authorities', 'local', 'root.crt');

/**
 * Waits until the server on `listen` (":PORT" or "HOST:PORT") completes a TLS handshake for
 * 127.0.0.1, i.e. until Caddy's internal issuer has made the certificate it loads asynchronously
 * after the config: without this, `serve` said it was up while the first HTTPS requests
 * still failed with a protocol error. Resolves false when none came within `timeoutMs`.
 */
export async function certificateServed(listen: string, timeoutMs: number): Promise<boolean> {
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, timeout: 2000 });
      const done = (v: boolean) => {
        socket.destroy();
        resolve(v);
      };
      socket.once('secureConnect', () => done(!!socket.getPeerCertificate()?.raw));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
