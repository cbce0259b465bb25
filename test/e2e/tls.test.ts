// Issue 15, item 8: `tidepool serve --tls internal` (the built binary, stub runtime, real Caddy on
// free loopback ports). curl trusts ONLY the CA file serve logs (--cacert, no CA path, no
// bundle from the environment) and reaches the UI, the API and a workspace's IDE over https;
// the host's trust store did not get Caddy's CA; plain http on those ports serves nothing;
// bad flag combinations are refused before anything starts; and the TLS setting is part of
// the Caddy config an adopting serve compares (same setting: no reload; another one: a logged one).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, closedPort, tp, type Proc } from '../cli/helpers.js';
import { ensureCaddy, waitFor } from '../caddy/helpers.js';
import {
  alive,
  applyManifest,
  caddyLine,
  isCaddy,
  isDnsmasq,
  OwnCaddy,
  PASSWORD,
  records,
  startCaddyServe,
  USER,
  waitReady,
  workspaceYaml,
  type CaddyServe,
} from './caddy-helpers.js';

const started: Proc[] = [];
const own: OwnCaddy[] = [];
const caddyPids = new Set<number>();
const dnsmasqPids = new Set<number>();
let scratch: string;

const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const SYSTEM_EXTRA = '/usr/local/share/ca-certificates';

/** What the host's trust store holds: the bundle's hash, and every file (and its hash) of the extra folder. */
function trustStore(): { bundle: string; extra: string[] } {
  const hash = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  const files = (dir: string): string[] =>
    (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : [`${join(dir, e.name)} ${hash(join(dir, e.name))}`],
    );
  return { bundle: existsSync(SYSTEM_BUNDLE) ? hash(SYSTEM_BUNDLE) : 'absent', extra: files(SYSTEM_EXTRA).sort() };
}

/** The base64 body of a PEM certificate (to look for it inside a bundle). */
const pemBody = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

interface Curl {
  code: number;
  status: number;
  body: string;
  stderr: string;
}

/**
 * curl with no CA but `ca` (none at all when absent: only what curl finds by itself, i.e. the
 * system's), CURL_CA_BUNDLE and SSL_CERT_* removed from its environment.
 */
function curl(url: string, opts: { ca?: string; auth?: boolean; system?: boolean } = {}): Promise<Curl> {
  const args = ['-sS', '-g', '--max-time', '10', '-o', '-', '-w', '\n%{http_code}'];
  if (opts.ca) args.push('--cacert', opts.ca, '--capath', '/nonexistent');
  if (opts.auth !== false) args.push('-u', `${USER}:${PASSWORD}`);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  return new Promise((resolve) => {
    execFile('curl', [...args, url], { env }, (err, stdout, stderr) => {
      const at = stdout.lastIndexOf('\n');
      resolve({
        code: err ? Number((err as { code?: number }).code ?? 1) : 0,
        status: Number(stdout.slice(at + 1)),
        body: stdout.slice(0, at),
        stderr,
      });
    });
  });
}

beforeAll(async () => {
  ensureCaddy();
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-tls-'));
});

afterAll(async () => {
  for (const p of started) {
    const timer = setTimeout(() => void p.stop('SIGKILL').catch(() => undefined), 20_000);
    await p.stop('SIGTERM').catch(() => undefined);
    clearTimeout(timer);
  }
  // Whatever a serve left running (--keep-data-plane, a serve killed), by the pid it logged.
  for (const pid of caddyPids) if (isCaddy(pid)) process.kill(pid, 'SIGKILL');
  for (const pid of dnsmasqPids) if (isDnsmasq(pid)) process.kill(pid, 'SIGKILL');
  for (const c of own) await c.stop().catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('serve refuses bad TLS flags with one error line and exit 1, before anything starts', () => {
  const cases: { args: string[]; error: string }[] = [
    {
      args: ['--tls', 'acme'],
      error: 'error: --tls acme needs --domain NAME (the public DNS name that points at this host)',
    },
    { args: ['--tls', 'self-signed'], error: 'error: --tls must be one of internal, acme, got "self-signed"' },
    {
      args: ['--tls', 'acme', '--domain', '10.1.2.3'],
      error: 'error: --tls acme needs a DNS name for --domain (ACME CAs do not issue for IP addresses), got "10.1.2.3"',
    },
    {
      args: ['--tls', 'internal', '--domain', 'bad_name!'],
      error: 'error: --domain must be a DNS name or an IP address, got "bad_name!"',
    },
    {
      args: ['--tls', 'internal', '--acme-email', 'ops@example.com'],
      error: 'error: --acme-email is for --tls acme only',
    },
    {
      args: ['--domain', 'ide.example.com'],
      error: 'error: --domain is for --tls (internal or acme); without --tls Caddy serves plain HTTP',
    },
    {
      args: ['--tls', 'internal', '--proxy', 'memory'],
      error: 'error: --tls is served by Caddy: it needs --proxy caddy, got --proxy memory',
    },
  ];
  for (const { args, error } of cases) {
    it(args.join(' '), async () => {
      const dataDir = join(scratch, `bad-${args.join('_').replace(/[^a-z0-9_-]/gi, '')}`);
      const r = await tp(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--runtime', 'stub', ...args], {
        env: cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD }),
      });
      expect(r.stderr).toBe(`${error}\n`);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(existsSync(dataDir)).toBe(false);
    });
  }
});

describe('tidepool serve --tls internal: https on the three ports, trusting only the CA serve names', () => {
  let s: CaddyServe;
  let ca: string;
  let before: ReturnType<typeof trustStore>;
  let ports: { app: number; workspace: number; preview: number };
  let listen: string[];
  const dataDir = () => join(scratch, 'tls');
  const https = (port: number, path: string, host = '127.0.0.1') => `https://${host}:${port}${path}`;

  const serve = async (extra: string[]) => {
    s = await startCaddyServe(dataDir(), cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') }), started, {
      ports,
      extra: [...listen, ...extra],
    });
    const line = caddyLine(s.proc);
    caddyPids.add(line.pid!);
    dnsmasqPids.add(line.dnsmasqPid!);
    return line;
  };

  beforeAll(async () => {
    before = trustStore();
    // Fixed ports and API address: the Caddy config stays the same across the restarts below.
    ports = { app: await closedPort(), workspace: await closedPort(), preview: await closedPort() };
    while (new Set(Object.values(ports)).size < 3) ports.preview = await closedPort();
    listen = ['--listen', `127.0.0.1:${await closedPort()}`];
    await serve(['--tls', 'internal', '--keep-data-plane']);
    const rec = records(s.proc).find((r) => typeof r.caCert === 'string');
    expect(rec, 'serve logs the CA file').toBeDefined();
    ca = rec!.caCert as string;
    expect(String(rec!.msg)).toContain(`trust ${ca}`);
    await applyManifest(s, scratch, 'tina.yaml', workspaceYaml('tina'));
    await waitReady(s, 'workspace/tina');
  }, 120_000);

  it("the CA file is the root certificate in Caddy's own storage inside the data directory", () => {
    expect(ca).toBe(join(dataDir(), 'caddy', 'caddy-data', 'caddy', 'pki', 'authorities', 'local', 'root.crt'));
    expect(readFileSync(ca, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n?$/);
    const rec = records(s.proc).find(
      (r) => typeof r.msg === 'string' && r.msg.startsWith('Caddy serves the UI and API on'),
    );
    expect(rec).toMatchObject({ tls: 'internal', tlsNames: ['localhost', '127.0.0.1', '::1'] });
  });

  it('the UI and the API over https on the app port (by IP and by localhost), 401 without credentials', async () => {
    const app = await curl(https(ports.app, '/app/'), { ca });
    expect(app.stderr).toBe('');
    expect(app.status).toBe(200);
    expect(app.body).toContain('<');
    const viaName = await curl(https(ports.app, '/api/v1/workspaces', 'localhost'), { ca });
    expect(viaName.status).toBe(200);
    expect(
      (JSON.parse(viaName.body) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name),
    ).toEqual(['tina']);
    expect((await curl(https(ports.app, '/app/'), { ca, auth: false })).status).toBe(401);
    // The UI builds workspace links from its page's own scheme and this port: https here.
    const config = await curl(https(ports.app, '/app/config.json'), { ca });
    expect(config.status).toBe(200);
    expect(JSON.parse(config.body)).toMatchObject({ workspacePort: ports.workspace });
  });

  it("a workspace's IDE over https on the workspace port; Port links go to the preview port over https", async () => {
    const ide = await curl(https(ports.workspace, '/workspace/tina/'), { ca });
    expect(ide.stderr).toBe('');
    expect(ide.status).toBe(200);
    expect(ide.body).toBe('stub IDE of workspace tina: GET /\n');
    const toPreview = await new Promise<string>((resolve, reject) => {
      execFile(
        'curl',
        [
          '-sS',
          '--cacert',
          ca,
          '--capath',
          '/nonexistent',
          '-u',
          `${USER}:${PASSWORD}`,
          '-o',
          '/dev/null',
          '-w',
          '%{http_code} %{redirect_url}',
          https(ports.workspace, '/workspace/tina/port/3000/'),
        ],
        { env: { PATH: process.env.PATH ?? '' } },
        (err, out) => (err ? reject(err) : resolve(out)),
      );
    });
    expect(toPreview).toBe(`308 ${https(ports.preview, '/workspace/tina/port/3000/')}`);
    // The preview port speaks TLS with the same CA (no Port here: our own 404 page).
    const preview = await curl(https(ports.preview, '/workspace/tina/port/3000/'), { ca });
    expect(preview.stderr).toBe('');
    expect(preview.status).toBe(404);
  });

  it("the host's trust store did not get Caddy's CA: unchanged, and curl with only the system's CAs refuses the certificate", async () => {
    expect(trustStore()).toEqual(before);
    const body = pemBody(readFileSync(ca, 'utf8'));
    if (existsSync(SYSTEM_BUNDLE)) expect(pemBody(readFileSync(SYSTEM_BUNDLE, 'utf8'))).not.toContain(body);
    for (const port of [ports.app, ports.workspace, ports.preview]) {
      const r = await curl(https(port, '/app/'));
      expect(r.code, `port ${port}`).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    }
  });

  it('plain http on the three ports no longer serves the pages', async () => {
    for (const [port, path] of [
      [ports.app, '/app/'],
      [ports.workspace, '/workspace/tina/'],
      [ports.preview, '/workspace/tina/port/3000/'],
    ] as const) {
      const r = await curl(`http://127.0.0.1:${port}${path}`);
      expect(r.status, `port ${port}`).toBe(400);
      expect(r.body.trim(), `port ${port}`).toBe('Client sent an HTTP request to an HTTPS server.');
    }
  });

  it('a serve adopting the Caddy with the same --tls reloads nothing; without --tls it reloads (logged) and serves http again', async () => {
    const first = caddyLine(s.proc);
    expect(await s.proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(isCaddy(first.pid!)).toBe(true);
    const same = await serve(['--tls', 'internal', '--keep-data-plane']);
    expect(same).toMatchObject({ pid: first.pid, adopted: { caddy: true } });
    const reloads = () =>
      records(s.proc).filter(
        (r) => String(r.msg).startsWith('caddy config loaded') || String(r.msg).includes('other server settings'),
      );
    expect(reloads()).toEqual([]);
    expect((await curl(https(ports.app, '/app/'), { ca })).status).toBe(200);

    expect(await s.proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const plain = await serve([]);
    expect(plain).toMatchObject({ pid: first.pid, adopted: { caddy: true } });
    expect(reloads().map((r) => r.msg)).toEqual([
      'the Caddy left running has other server settings: loading ours (this reload closes its proxied connections)',
      'caddy config loaded (it was not the one the server settings make)',
    ]);
    expect(records(s.proc).some((r) => typeof r.caCert === 'string')).toBe(false);
    await waitReady(s, 'workspace/tina');
    await waitFor(
      'the IDE over plain http',
      async () => (await curl(`http://127.0.0.1:${ports.workspace}/workspace/tina/`)).status === 200,
    );
    expect((await curl(`http://127.0.0.1:${ports.app}/app/`)).status).toBe(200);
    await s.proc.stop('SIGTERM');
    await waitFor('Caddy gone', async () => !alive(first.pid!));
  }, 120_000);
});

describe('tidepool serve --tls internal --caddy-admin: a Caddy not started by serve', () => {
  it("its CA (from its admin API) is copied into the data directory and logged; https with only that CA; the host's trust store untouched", async () => {
    const before = trustStore();
    const caddy = new OwnCaddy(join(scratch, 'own'), await closedPort());
    own.push(caddy);
    await caddy.start();
    const s = await startCaddyServe(
      join(scratch, 'tls-own'),
      cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') }),
      started,
      { extra: ['--tls', 'internal', '--domain', 'ide.test', '--caddy-admin', `http://127.0.0.1:${caddy.adminPort}`] },
    );
    const dnsmasq = caddyLine(s.proc).dnsmasqPid;
    if (dnsmasq) dnsmasqPids.add(dnsmasq);
    const ca = records(s.proc).find((r) => typeof r.caCert === 'string')?.caCert as string | undefined;
    expect(ca).toBe(join(scratch, 'tls-own', 'caddy', 'ca-root.crt'));
    // The same certificate as the one that Caddy keeps in its own storage.
    expect(readFileSync(ca!, 'utf8').trim()).toBe(
      readFileSync(join(scratch, 'own', 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt'), 'utf8').trim(),
    );
    expect(records(s.proc).find((r) => r.tlsNames !== undefined)?.tlsNames).toEqual([
      'localhost',
      '127.0.0.1',
      '::1',
      'ide.test',
    ]);
    const app = new URL(s.appUrl).port;
    const r = await curl(`https://127.0.0.1:${app}/api/v1/workspaces`, { ca: ca! });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(200);
    // By --domain, with the name resolved to loopback for curl.
    const byName = await new Promise<string>((resolve, reject) => {
      execFile(
        'curl',
        [
          '-sS',
          '--cacert',
          ca!,
          '--capath',
          '/nonexistent',
          '-u',
          `${USER}:${PASSWORD}`,
          '--resolve',
          `ide.test:${app}:127.0.0.1`,
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          `https://ide.test:${app}/api/v1/workspaces`,
        ],
        { env: { PATH: process.env.PATH ?? '' } },
        (err, out, stderr) => (err ? reject(new Error(stderr)) : resolve(out)),
      );
    });
    expect(byName).toBe('200');
    expect(trustStore()).toEqual(before);
    await s.proc.stop('SIGTERM');
    await caddy.stop();
  }, 120_000);
});
