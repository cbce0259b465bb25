// The TLS part of the Caddy config (drivers/proxy/caddy/tls.ts): which flags are
// accepted, and the exact `pki`/`tls` apps and server fields each mode builds. ACME cannot be
// exercised on this host (no internet), so its config shape is pinned here; --tls internal is
// proven end to end in test/e2e/tls.test.ts.
import { describe, expect, it } from 'vitest';
import {
  APP_SERVER,
  PAGES_SERVER,
  PREVIEW_SERVER,
  WORKSPACE_SERVER,
  buildCaddyConfig,
  canonicalJson,
  tlsSettings,
  type CaddyConfigSettings,
  type Json,
} from '../../drivers/proxy/caddy/index.js';

const base: CaddyConfigSettings = {
  admin: { listen: 'unix//tmp/x/admin.sock', config: { persist: false } },
  appListen: '127.0.0.1:18080',
  workspaceListen: '127.0.0.1:18081',
  previewListen: '127.0.0.1:18082',
  pagesListen: '127.0.0.1:18083',
  apiUpstream: '127.0.0.1:7080',
  proxySecret: 'not-a-secret-only-a-config-test-0123456789',
  username: 'u',
  passwordHash: '$2a$10$abcdefghijklmnopqrstuv',
  dnsPort: 5353,
  idePort: 8080,
  refresh: '1s',
};

type Obj = { [key: string]: Json };
const apps = (c: Obj) => c.apps as Obj;
const servers = (c: Obj) => (apps(c).http as Obj).servers as { [name: string]: Obj };

describe('tlsSettings: the --tls, --domain and --acme-email flags', () => {
  it('internal: localhost, 127.0.0.1 and ::1, and --domain (a name or an IP) besides', () => {
    expect(tlsSettings('internal')).toEqual({ mode: 'internal', names: ['localhost', '127.0.0.1', '::1'] });
    expect(tlsSettings('internal', 'IDE.Example.com')).toEqual({
      mode: 'internal',
      names: ['localhost', '127.0.0.1', '::1', 'ide.example.com'],
    });
    expect(tlsSettings('internal', '192.168.1.20').names).toEqual(['localhost', '127.0.0.1', '::1', '192.168.1.20']);
    expect(tlsSettings('internal', 'localhost').names).toEqual(['localhost', '127.0.0.1', '::1']);
  });

  it('acme: the domain alone, the e-mail when given', () => {
    expect(tlsSettings('acme', 'ide.example.com')).toEqual({ mode: 'acme', names: ['ide.example.com'] });
    expect(tlsSettings('acme', 'ide.example.com', 'ops@example.com')).toEqual({
      mode: 'acme',
      names: ['ide.example.com'],
      email: 'ops@example.com',
    });
  });

  it('refuses bad combinations, naming the flag', () => {
    expect(() => tlsSettings('self-signed')).toThrow('--tls must be one of internal, acme, got "self-signed"');
    expect(() => tlsSettings('acme')).toThrow('--tls acme needs --domain NAME');
    expect(() => tlsSettings('acme', '10.0.0.1')).toThrow(
      '--tls acme needs a DNS name for --domain (ACME CAs do not issue for IP addresses), got "10.0.0.1"',
    );
    expect(() => tlsSettings('internal', 'not a name')).toThrow(
      '--domain must be a DNS name or an IP address, got "not a name"',
    );
    expect(() => tlsSettings('internal', '-bad.example.com')).toThrow('--domain must be a DNS name or an IP address');
    expect(() => tlsSettings('acme', 'ide.example.com', 'nobody')).toThrow(
      '--acme-email must be an e-mail address, got "nobody"',
    );
    expect(() => tlsSettings('internal', undefined, 'ops@example.com')).toThrow('--acme-email is for --tls acme only');
  });
});

describe('buildCaddyConfig with TLS', () => {
  it('without tls: plain HTTP, no pki or tls app (the config of before)', () => {
    const c = buildCaddyConfig(base);
    expect(Object.keys(apps(c))).toEqual(['http']);
    for (const s of Object.values(servers(c))) expect(s).not.toHaveProperty('tls_connection_policies');
  });

  it('internal: TLS on the app, workspace and preview servers, the local CA never installed into the trust store', () => {
    const c = buildCaddyConfig({ ...base, tls: tlsSettings('internal', 'ide.lan') });
    const names = ['localhost', '127.0.0.1', '::1', 'ide.lan'];
    expect(apps(c).pki).toEqual({ certificate_authorities: { local: { install_trust: false } } });
    expect(apps(c).tls).toEqual({
      certificates: { automate: names },
      automation: { policies: [{ subjects: names, issuers: [{ module: 'internal', ca: 'local' }] }] },
    });
    for (const name of [APP_SERVER, WORKSPACE_SERVER, PREVIEW_SERVER]) {
      expect(servers(c)[name]!.tls_connection_policies, name).toEqual([{}]);
      // Still no automatic HTTPS: no :80 redirect server, no names taken from routes, no trust-store install.
      expect(servers(c)[name]!.automatic_https, name).toEqual({ disable: true });
    }
    // The internal pages server stays plain HTTP on loopback: only Caddy talks to it.
    expect(servers(c)[PAGES_SERVER]).not.toHaveProperty('tls_connection_policies');
  });

  it("acme: an ACME issuer (Let's Encrypt by default) for the domain, with the e-mail; the local CA still not installed", () => {
    const c = buildCaddyConfig({ ...base, tls: tlsSettings('acme', 'ide.example.com', 'ops@example.com') });
    expect(apps(c).tls).toEqual({
      certificates: { automate: ['ide.example.com'] },
      automation: {
        policies: [{ subjects: ['ide.example.com'], issuers: [{ module: 'acme', email: 'ops@example.com' }] }],
      },
    });
    expect(apps(c).pki).toEqual({ certificate_authorities: { local: { install_trust: false } } });
    for (const name of [APP_SERVER, WORKSPACE_SERVER, PREVIEW_SERVER])
      expect(servers(c)[name]!.tls_connection_policies, name).toEqual([{}]);
    const noEmail = buildCaddyConfig({ ...base, tls: tlsSettings('acme', 'ide.example.com') });
    expect((((apps(noEmail).tls as Obj).automation as Obj).policies as Obj[])[0]!.issuers).toEqual([
      { module: 'acme' },
    ]);
    const staging = buildCaddyConfig({
      ...base,
      tls: {
        ...tlsSettings('acme', 'ide.example.com'),
        acmeCa: 'https://acme-staging-v02.api.letsencrypt.org/directory',
      },
    });
    expect((((apps(staging).tls as Obj).automation as Obj).policies as Obj[])[0]!.issuers).toEqual([
      { module: 'acme', ca: 'https://acme-staging-v02.api.letsencrypt.org/directory' },
    ]);
  });

  it('the TLS setting is part of the config an adopted Caddy is compared with', () => {
    const plain = canonicalJson(buildCaddyConfig(base));
    const internal = canonicalJson(buildCaddyConfig({ ...base, tls: tlsSettings('internal') }));
    expect(internal).not.toBe(plain);
    expect(canonicalJson(buildCaddyConfig({ ...base, tls: tlsSettings('internal') }))).toBe(internal);
    expect(canonicalJson(buildCaddyConfig({ ...base, tls: tlsSettings('internal', 'ide.lan') }))).not.toBe(internal);
    expect(canonicalJson(buildCaddyConfig({ ...base, tls: tlsSettings('acme', 'ide.example.com') }))).not.toBe(
      internal,
    );
  });
});
