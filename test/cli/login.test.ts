// tidepool login against a real `tidepool serve --auth oidc` (stub runtime, memory proxy) and a
// real OpenID Connect provider (oidc-provider on loopback), end to end: login discovers the mode
// from the server's GET /api/v1/auth/info; the device flow and the browser flow (a loopback
// redirect), with the person's side done in real Chromium; the tokens land in a 0600 client
// config; the server takes the ID token (audience: the CLI's client, --oidc-cli-client-id) as
// the Bearer and its /api/v1/whoami names the person; an expired one is refreshed and saved; a
// sign-in the server refuses (an outsider, another application's ID token, an unknown or revoked
// personal access token) stores nothing or is refused; logout drops the tokens and keeps the context.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { launchChromium } from '../chromium.js';
import {
  cliClient,
  serveOidcFlags,
  startOidcProvider,
  webClient,
  type OidcFixture,
} from '../fixtures/oidc-provider.js';
import { signInWithChromium } from '../fixtures/oidc-sign-in.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../api/helpers.js';
import { poll } from '../poll.js';
import { Proc, cleanEnv, startServe, tp, type Served } from './helpers.js';

const CLI_CLIENT_ID = 'tidepool-cli';
/** The server's own (confidential) client, for browsers; its redirect URI is never reached here. */
const WEB = webClient('tidepool-web', 'web-secret', ['http://127.0.0.1:9/auth/callback']);
/** Another application of the same issuer: its ID tokens are not for Tidepool. */
const OTHER = webClient('other-app', 'other-secret', ['http://127.0.0.1:9/cb']);

describe('tidepool login with OpenID Connect', () => {
  let provider: OidcFixture;
  let served: Served;
  let server: string;
  let browser: Browser;
  let dir: string;
  let configFile: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    provider = await startOidcProvider({ clients: [cliClient(CLI_CLIENT_ID), WEB, OTHER] });
    dir = await mkdtemp(join(tmpdir(), 'tp-login-'));
    await writeFile(join(dir, 'oidc-secret'), 'web-secret\n');
    served = await startServe(join(dir, 'serve'), cleanEnv({ XDG_DATA_HOME: join(dir, 'xdg') }), [
      '--runtime',
      'stub',
      '--proxy',
      'memory',
      ...serveOidcFlags(provider.issuer, WEB.client_id, join(dir, 'oidc-secret')),
      '--oidc-cli-client-id',
      CLI_CLIENT_ID,
      '--allowed-group',
      'devs',
      '--admin-group',
      'tidepool-admins',
    ]);
    server = served.address;
    browser = await launchChromium();
    configFile = join(dir, 'cfg', 'config.yaml');
    // No display: the device flow is the default. The data dir has no credentials file.
    env = cleanEnv({ TIDEPOOL_CONFIG: configFile, TIDEPOOL_DATA_DIR: join(dir, 'data'), DISPLAY: undefined });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await served?.proc.stop('SIGTERM').catch(() => undefined);
    await provider?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Who the real server says a Bearer is: its status and its Identity (or Status). */
  const whoami = async (bearer: string) => {
    const res = await fetch(`${server}/api/v1/whoami`, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: res.status, body: await res.json() };
  };
  const readConfig = async () => parse(await readFile(configFile, 'utf8'));

  it('signs in through the device flow and keeps the tokens in a 0600 file', async () => {
    // What login discovers: the server's issuer, its CLI client and the scopes its sign-in rules need.
    const info = await (await fetch(`${server}/api/v1/auth/info`)).json();
    expect(info).toMatchObject({ mode: 'oidc', oidc: { issuer: provider.issuer, cliClientId: CLI_CLIENT_ID } });
    expect(info.oidc.scopes).toEqual(expect.arrayContaining(['openid', 'groups', 'offline_access']));
    const login = new Proc(['login', server], env);
    try {
      const url = await poll(
        'the device code on stderr',
        () => /open (\S+\?user_code=\S+)\)/.exec(login.stderr)?.[1],
        30_000,
      );
      expect(new URL(url).origin).toBe(provider.issuer);
      expect(await signInWithChromium(browser, url, 'alice')).toContain('Signed in');
      const { code } = await login.exited;
      expect(code, `stdout: ${login.stdout}\nstderr: ${login.stderr}`).toBe(0);
    } finally {
      if (login.child.exitCode === null) login.child.kill('SIGKILL');
    }
    expect(login.stdout).toContain(`Logged in to ${server} as alice`);
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'cfg'))).mode & 0o777).toBe(0o700);
    const cfg = await readConfig();
    expect(cfg.currentContext).toBe(cfg.contexts[0].name);
    expect(cfg.contexts[0]).toMatchObject({
      server,
      auth: { oidc: { issuer: provider.issuer, clientId: CLI_CLIENT_ID } },
    });
    expect(cfg.contexts[0].auth.oidc.idToken).toMatch(/^ey/);
    expect(cfg.contexts[0].auth.oidc.refreshToken).toBeTruthy();
    // The real server takes the CLI's ID token as alice, by the sign-in rules (admin by group).
    expect(await whoami(cfg.contexts[0].auth.oidc.idToken)).toMatchObject({
      status: 200,
      body: { kind: 'Identity', name: 'alice@example.test', namespace: 'alice', admin: true, via: 'token' },
    });
  });

  it('sends the ID token as the Bearer of the current context: the server acts as alice', async () => {
    const r = await tp(['get', 'workspaces'], { env });
    expect(r).toMatchObject({ code: 0, stderr: 'No resources found.\n' });
    // A token the CLI makes is its caller's: the server saw alice's ID token.
    const made = await tp(['token', 'create', 'alice-ci'], { env });
    expect(made.code, made.stderr).toBe(0);
    expect(await whoami(made.stdout.trim())).toMatchObject({ status: 200, body: { name: 'alice@example.test' } });
  });

  it('refreshes an expired ID token with the refresh token and saves the new one, still 0600', async () => {
    const cfg = await readConfig();
    const old = cfg.contexts[0].auth.oidc.idToken;
    cfg.contexts[0].auth.oidc.expiresAt = Math.floor(Date.now() / 1000) - 10;
    await writeFile(configFile, JSON.stringify(cfg), { mode: 0o600 });
    const r = await tp(['get', 'workspaces'], { env });
    expect(r).toMatchObject({ code: 0 });
    const next = (await readConfig()).contexts[0].auth.oidc;
    expect(next.idToken).not.toBe(old);
    expect(next.expiresAt).toBeGreaterThan(Date.now() / 1000 + 60);
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect(await whoami(next.idToken)).toMatchObject({ status: 200, body: { name: 'alice@example.test' } });
  });

  it('an expired ID token whose refresh token the issuer refuses asks for login, and the file is kept', async () => {
    const good = await readFile(configFile, 'utf8');
    const cfg = await readConfig();
    cfg.contexts[0].auth.oidc.expiresAt = 1;
    cfg.contexts[0].auth.oidc.refreshToken = 'forged';
    const text = JSON.stringify(cfg);
    await writeFile(configFile, text, { mode: 0o600 });
    const r = await tp(['get', 'workspaces'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not be refreshed \(invalid_grant.*\): run tidepool login/);
    expect(await readFile(configFile, 'utf8')).toBe(text);
    await writeFile(configFile, good, { mode: 0o600 });
  });

  it('an ID token whose signature was tampered with is refused by the server', async () => {
    const good = await readFile(configFile, 'utf8');
    const cfg = await readConfig();
    const [head, body, sig] = cfg.contexts[0].auth.oidc.idToken.split('.');
    cfg.contexts[0].auth.oidc.idToken = `${head}.${body}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    await writeFile(configFile, JSON.stringify(cfg), { mode: 0o600 });
    const r = await tp(['get', 'workspaces'], { env });
    await writeFile(configFile, good, { mode: 0o600 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`rejected the sign-in of context "${cfg.contexts[0].name}"`);
    expect(r.stderr).toContain(`run tidepool login ${server}`);
    expect(await whoami(cfg.contexts[0].auth.oidc.idToken)).toMatchObject({
      status: 401,
      body: { message: expect.stringContaining('the Bearer token was refused: signature verification failed') },
    });
  });

  it('a token the server refuses stores nothing', async () => {
    const before = await readFile(configFile, 'utf8');
    const r = await tp(['login', server, '--token', 'tp_not-a-token'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused the new sign-in (401');
    expect(r.stderr).toContain('nothing was stored');
    // An ID token of the same issuer for another application: the wrong audience.
    const other = await tp(['login', server, '--token', await provider.idToken(OTHER, 'alice')], { env });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/refused the new sign-in \(401: .*the Bearer token was refused: .*aud/);
    expect(other.stderr).toContain('nothing was stored');
    expect(await readFile(configFile, 'utf8')).toBe(before);
  });

  it('a sign-in of someone the server does not let in stores nothing', async () => {
    const before = await readFile(configFile, 'utf8');
    const login = new Proc(['login', server], env);
    try {
      const url = await poll(
        'the device code on stderr',
        () => /open (\S+\?user_code=\S+)\)/.exec(login.stderr)?.[1],
        30_000,
      );
      expect(await signInWithChromium(browser, url, 'eve')).toContain('Signed in');
      expect((await login.exited).code).toBe(1);
    } finally {
      if (login.child.exitCode === null) login.child.kill('SIGKILL');
    }
    expect(login.stderr).toContain('refused the new sign-in (403');
    expect(login.stderr).toContain('eve@elsewhere.test may not use this Tidepool');
    expect(login.stderr).toContain('nothing was stored');
    expect(await readFile(configFile, 'utf8')).toBe(before);
  });

  it('a personal access token works through login --token until it is revoked', async () => {
    const tokenEnv = { ...env, TIDEPOOL_CONFIG: join(dir, 'token-cfg', 'config.yaml') };
    const made = await tp(['token', 'create', 'login-ci'], { env });
    expect(made.code, made.stderr).toBe(0);
    const login = await tp(['login', server, '--token', made.stdout.trim()], { env: tokenEnv });
    expect(login, login.stderr).toMatchObject({ code: 0 });
    expect(await tp(['get', 'workspaces'], { env: tokenEnv })).toMatchObject({ code: 0 });
    expect(await tp(['token', 'revoke', 'login-ci'], { env })).toMatchObject({ code: 0 });
    const after = await tp(['get', 'workspaces'], { env: tokenEnv });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`rejected the sign-in of context`);
    expect(await whoami(made.stdout.trim())).toMatchObject({
      status: 401,
      body: { message: 'Unauthorized: the Bearer token is unknown, revoked or expired' },
    });
  });

  it('refuses a client config that others can read, naming the fix', async () => {
    await chmod(configFile, 0o644);
    const r = await tp(['get', 'workspaces'], { env });
    await chmod(configFile, 0o600);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${configFile} is readable or writable by others (mode 0644)`);
    expect(r.stderr).toContain(`chmod 600 ${configFile}`);
  });

  it('signs in in a browser through a loopback redirect into a second context', async () => {
    const login = new Proc(['login', server, '--browser', '--no-open', '--context', 'office'], env);
    try {
      const url = await poll(
        'the authorization URL on stderr',
        () => /Opening (\S+) in your browser/.exec(login.stderr)?.[1],
        30_000,
      );
      expect(new URL(url).origin).toBe(provider.issuer);
      expect(new URL(url).searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256');
      expect(await signInWithChromium(browser, url, 'bob')).toContain('Signed in to Tidepool');
      expect(await login.exited).toMatchObject({ code: 0 });
    } finally {
      if (login.child.exitCode === null) login.child.kill('SIGKILL');
    }
    expect(login.stdout).toContain('as bob; context "office"');
    expect(await tp(['get', 'workspaces'], { env })).toMatchObject({ code: 0 });
    const office = (await readConfig()).contexts.find((c: { name: string }) => c.name === 'office');
    expect(await whoami(office.auth.oidc.idToken)).toMatchObject({
      status: 200,
      body: { name: 'bob@example.test', namespace: 'bob', admin: false },
    });
  });

  it('switches contexts as kubectl config does; --server and TIDEPOOL_SERVER leave the contexts alone', async () => {
    const contexts = await tp(['config', 'get-contexts'], { env });
    expect(contexts.stdout).toMatch(
      /^CURRENT\s+NAME\s+SERVER\s+AUTH\n\s+127\.0\.0\.1-\d+ .*oidc.*\n\*\s+office .*oidc/,
    );
    expect((await tp(['config', 'current-context'], { env })).stdout.trim()).toBe('office');
    const first = (await readConfig()).contexts[0].name;
    expect(await tp(['config', 'use-context', first], { env })).toMatchObject({ code: 0 });
    // Each request goes out as its context's person: the tokens they make are theirs.
    const mine = await tp(['token', 'create', 'ctx-first'], { env });
    const office = await tp(['token', 'create', 'ctx-office', '--context', 'office'], { env });
    expect([mine.code, office.code], mine.stderr + office.stderr).toEqual([0, 0]);
    expect((await whoami(mine.stdout.trim())).body.name).toBe('alice@example.test');
    expect((await whoami(office.stdout.trim())).body.name).toBe('bob@example.test');
    // An explicit server is today's behaviour: no context, the data dir's (absent) credentials,
    // so the server sees no credentials at all.
    const explicit = await tp(['get', 'workspaces', '--server', server], { env });
    expect(explicit.code).toBe(1);
    expect(explicit.stderr).toContain(`no credentials: there is no credentials file at ${join(dir, 'data')}`);
    expect(await tp(['config', 'use-context', 'nope'], { env })).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no context "nope"'),
    });
    expect(await tp(['config', 'delete-context', 'office'], { env })).toMatchObject({ code: 0 });
  });

  it('logout drops the tokens and keeps the context', async () => {
    const r = await tp(['logout'], { env });
    expect(r).toMatchObject({ code: 0 });
    const cfg = await readConfig();
    expect(cfg.contexts[0].server).toBe(server);
    expect(cfg.contexts[0].auth).toBeUndefined();
    const list = await tp(['config', 'get-contexts'], { env });
    expect(list.stdout).toMatch(/\*\s+127\.0\.0\.1-\d+\s+http:\/\/127\.0\.0\.1:\d+\s+-/);
  });
});

describe('tidepool login against a server with basic auth (the default)', () => {
  let api: TestServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    api = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tp-login-basic-'));
    env = cleanEnv({ TIDEPOOL_CONFIG: join(dir, 'config.yaml'), TIDEPOOL_DATA_DIR: join(dir, 'data') });
  });
  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('says how that server signs in, and keeps a user and password only once the server took them', async () => {
    const plain = await tp(['login', api.url], { env });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('signs in with a user name and password');
    const wrong = await tp(['login', api.url, '--username', USER, '--password-stdin'], { env, input: 'wrong\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('nothing was stored');
    await expect(stat(join(dir, 'config.yaml'))).rejects.toThrow(/ENOENT/);
    const right = await tp(['login', api.url, '--username', USER, '--password-stdin'], { env, input: `${PASSWORD}\n` });
    expect(right).toMatchObject({ code: 0 });
    expect((await stat(join(dir, 'config.yaml'))).mode & 0o777).toBe(0o600);
    expect(await tp(['get', 'workspaces'], { env })).toMatchObject({ code: 0, stderr: 'No resources found.\n' });
    // TIDEPOOL_PASSWORD still wins over the context, as it wins over the credentials file.
    const env2 = { ...env, TIDEPOOL_PASSWORD: 'not-it' };
    expect((await tp(['get', 'workspaces'], { env: env2 })).stderr).toContain('TIDEPOOL_USER / TIDEPOOL_PASSWORD');
  });
});
