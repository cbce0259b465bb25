// `tidepool serve --auth oidc|github` through the real binary, and `tidepool token`: a mode
// without what it needs is one clear line and exit 1 before anything starts; serve with a real
// OpenID Connect provider (test/fixtures/oidc-provider.ts) accepts the provider's ID tokens as
// Bearer; `tidepool token create` prints a token once, it works, `list` shows it without its
// secret, `revoke` makes its next request a 401.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOidcFlags, startOidcProvider, webClient, type OidcFixture } from '../fixtures/oidc-provider.js';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';

let scratch: string;
let op: OidcFixture;
let served: Served | undefined;
const USER = 'signin';
const PASSWORD = 'signin-password-not-secret';
const WEB = webClient('tidepool', 'web-secret', ['http://127.0.0.1:9/auth/callback']);
const env = () => cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD });

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-signin-'));
  op = await startOidcProvider({ clients: [WEB] });
  await writeFile(join(scratch, 'oidc-secret'), 'web-secret\n');
  await writeFile(join(scratch, 'gh-secret'), 'gh-secret\n');
});

afterAll(async () => {
  await served?.proc.stop('SIGTERM').catch(() => undefined);
  await op?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('serve --auth refuses a mode without what it needs', () => {
  const cases: { args: string[]; error: string }[] = [
    { args: ['--auth', 'ldap'], error: 'error: --auth must be one of basic, oidc, github, got "ldap"' },
    { args: ['--auth', 'oidc'], error: 'error: --auth oidc needs --oidc-issuer <url>' },
    {
      args: ['--auth', 'oidc', '--oidc-issuer', 'https://id.example.com', '--oidc-client-id', 'x'],
      error: 'error: --auth oidc needs --oidc-client-secret-file <path>',
    },
    {
      args: ['--auth', 'github', '--github-client-id', 'x', '--github-client-secret-file', '/dev/null'],
      error:
        'error: --auth github needs --allowed-group <org> or --allowed-user <login> (otherwise every GitHub account could sign in)',
    },
  ];
  for (const { args, error } of cases) {
    it(args.join(' '), async () => {
      const dataDir = join(scratch, `data-${args.join('_').replace(/[^a-z0-9_-]/gi, '')}`);
      const r = await tp(
        ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--runtime', 'stub', '--proxy', 'memory', ...args],
        { env: env() },
      );
      expect(r.stderr).toBe(`${error}\n`);
      expect(r.code).toBe(1);
      expect(existsSync(dataDir)).toBe(false);
    });
  }

  it('a secret file that is not there is named', async () => {
    const missing = join(scratch, 'nope');
    const r = await tp(
      [
        'serve',
        '--data-dir',
        join(scratch, 'data-missing-secret'),
        '--listen',
        '127.0.0.1:0',
        '--runtime',
        'stub',
        '--proxy',
        'memory',
        ...serveOidcFlags(op.issuer, 'tidepool', missing),
      ],
      { env: env() },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: --oidc-client-secret-file ${missing}: cannot read it`);
  });
});

describe('serve --auth oidc and tidepool token', () => {
  beforeAll(async () => {
    served = await startServe(join(scratch, 'data'), env(), [
      '--runtime',
      'stub',
      '--proxy',
      'memory',
      ...serveOidcFlags(op.issuer, 'tidepool', join(scratch, 'oidc-secret')),
      '--allowed-email-domain',
      'example.test',
      '--admin-group',
      'tidepool-admins',
    ]);
  }, 60_000);

  const whoami = (auth: string) => fetch(`${served!.address}/api/v1/whoami`, { headers: { authorization: auth } });

  it("accepts the provider's ID token as Bearer, with the sign-in rules", async () => {
    const bob = await whoami(`Bearer ${await op.idToken(WEB, 'bob')}`);
    expect(bob.status).toBe(200);
    expect(await bob.json()).toMatchObject({
      name: 'bob@example.test',
      namespace: 'bob',
      admin: false,
      authMode: 'oidc',
    });
    // eve's email domain is not allowed: 403 naming her.
    const eve = await whoami(`Bearer ${await op.idToken(WEB, 'eve')}`);
    expect(eve.status).toBe(403);
    expect((await eve.json()).message).toContain('eve@elsewhere.test may not use this Tidepool');
  });

  it('token create prints it once; it works; list hides it; revoke makes it 401', async () => {
    const cli = (...args: string[]) => tp([...args, '--server', served!.address], { env: env() });
    const made = await cli('token', 'create', 'ci', '--expires-in', '1h');
    expect(made.code, made.stderr).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^tp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toContain('this is the only time it is shown');
    const me = await whoami(`Bearer ${token}`);
    expect(await me.json()).toMatchObject({ name: USER, namespace: 'default', admin: true, via: 'token' });
    const list = await cli('token', 'list');
    expect(list.stdout).toMatch(/^NAME\s+ID\s+CREATED\s+EXPIRES\nci\s+/);
    expect(list.stdout).not.toContain(token.slice(-43));
    const revoked = await cli('token', 'revoke', 'ci');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await whoami(`Bearer ${token}`)).status).toBe(401);
    const again = await cli('token', 'revoke', 'ci');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('has no token named ci');
  });
});
