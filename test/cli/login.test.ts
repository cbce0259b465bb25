// tidepool login against a real OpenID Connect provider (oidc-provider on loopback): the
// device flow, with the person's side done in real Chromium; the tokens land in a 0600 client
// config; the ID token goes out as the Bearer; an expired one is refreshed and saved; a
// refused sign-in stores nothing; logout drops the tokens and keeps the context.
//
// The Tidepool side is a stand-in on loopback until `serve --auth oidc` exists (branch
// signin): it answers /api/v1/auth/info as an OIDC server does and checks each Bearer as an ID
// token of the provider (signature against its JWKS, issuer, audience, expiry) with jose.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { launchChromium } from '../chromium.js';
import { cliClient, startOidcProvider, type OidcFixture } from '../fixtures/oidc-provider.js';
import { signInWithChromium } from '../fixtures/oidc-sign-in.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../api/helpers.js';
import { poll } from '../poll.js';
import { Proc, cleanEnv, tp } from './helpers.js';

const CLI_CLIENT_ID = 'tidepool-cli';

interface StandIn {
  url: string;
  /** The subject of each request's verified Bearer, or the reason it was refused. */
  seen: string[];
  server: Server;
}

async function startStandIn(issuer: string): Promise<StandIn> {
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const json = (code: number, body: unknown) =>
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/api/v1/auth/info')
      return json(200, { mode: 'oidc', tokens: true, oidc: { issuer, cliClientId: CLI_CLIENT_ID } });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer) {
      seen.push('none');
      return json(401, { kind: 'Status', code: 401, reason: 'Unauthorized', message: 'no Bearer token' });
    }
    jwtVerify(bearer, jwks, { issuer, audience: CLI_CLIENT_ID })
      .then(({ payload }) => {
        seen.push(String(payload.sub));
        json(200, { apiVersion: 'tidepool/v1', kind: 'WorkspaceList', metadata: { resourceVersion: '1' }, items: [] });
      })
      .catch((err: Error) => {
        seen.push(`refused: ${err.message}`);
        json(401, { kind: 'Status', code: 401, reason: 'Unauthorized', message: err.message });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe('tidepool login with OpenID Connect', () => {
  let provider: OidcFixture;
  let standIn: StandIn;
  let browser: Browser;
  let dir: string;
  let configFile: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    provider = await startOidcProvider({ clients: [cliClient(CLI_CLIENT_ID)] });
    standIn = await startStandIn(provider.issuer);
    browser = await launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'tp-login-'));
    configFile = join(dir, 'cfg', 'config.yaml');
    // No display: the device flow is the default. The data dir has no credentials file.
    env = cleanEnv({ TIDEPOOL_CONFIG: configFile, TIDEPOOL_DATA_DIR: join(dir, 'data'), DISPLAY: undefined });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => standIn?.server.close(r));
    await provider?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const readConfig = async () => parse(await readFile(configFile, 'utf8'));

  it('signs in through the device flow and keeps the tokens in a 0600 file', async () => {
    const login = new Proc(['login', standIn.url], env);
    try {
      const url = await poll(
        'the device code on stderr',
        () => /open (\S+\?user_code=\S+)\)/.exec(login.stderr)?.[1],
        30_000,
      );
      expect(await signInWithChromium(browser, url, 'alice')).toContain('Signed in');
      const { code } = await login.exited;
      expect({ code, stdout: login.stdout, stderr: login.stderr }).toMatchObject({ code: 0 });
    } finally {
      if (login.child.exitCode === null) login.child.kill('SIGKILL');
    }
    expect(login.stdout).toContain(`Logged in to ${standIn.url} as alice`);
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'cfg'))).mode & 0o777).toBe(0o700);
    const cfg = await readConfig();
    expect(cfg.currentContext).toBe(cfg.contexts[0].name);
    expect(cfg.contexts[0]).toMatchObject({
      server: standIn.url,
      auth: { oidc: { issuer: provider.issuer, clientId: CLI_CLIENT_ID } },
    });
    expect(cfg.contexts[0].auth.oidc.idToken).toMatch(/^ey/);
    expect(cfg.contexts[0].auth.oidc.refreshToken).toBeTruthy();
    // The signing in was verified against the server before it was stored.
    expect(standIn.seen).toEqual(['alice']);
  });

  it('sends the ID token as the Bearer of the current context', async () => {
    standIn.seen.length = 0;
    const r = await tp(['get', 'workspaces'], { env });
    expect(r).toMatchObject({ code: 0 });
    expect(standIn.seen).toEqual(['alice']);
  });

  it('refreshes an expired ID token with the refresh token and saves the new one, still 0600', async () => {
    const cfg = await readConfig();
    const old = cfg.contexts[0].auth.oidc.idToken;
    cfg.contexts[0].auth.oidc.expiresAt = Math.floor(Date.now() / 1000) - 10;
    await writeFile(configFile, JSON.stringify(cfg), { mode: 0o600 });
    standIn.seen.length = 0;
    const r = await tp(['get', 'workspaces'], { env });
    expect(r).toMatchObject({ code: 0 });
    const next = (await readConfig()).contexts[0].auth.oidc;
    expect(next.idToken).not.toBe(old);
    expect(next.expiresAt).toBeGreaterThan(Date.now() / 1000 + 60);
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect(standIn.seen).toEqual(['alice']);
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

  it('a token the server refuses stores nothing', async () => {
    const before = await readFile(configFile, 'utf8');
    const r = await tp(['login', standIn.url, '--token', 'tp_not-a-token'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused the new sign-in (401');
    expect(r.stderr).toContain('nothing was stored');
    expect(await readFile(configFile, 'utf8')).toBe(before);
  });

  it('refuses a client config that others can read, naming the fix', async () => {
    const { chmod } = await import('node:fs/promises');
    await chmod(configFile, 0o644);
    const r = await tp(['get', 'workspaces'], { env });
    await chmod(configFile, 0o600);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${configFile} is readable or writable by others (mode 0644)`);
    expect(r.stderr).toContain(`chmod 600 ${configFile}`);
  });

  it('signs in in a browser through a loopback redirect into a second context', async () => {
    const login = new Proc(['login', standIn.url, '--browser', '--no-open', '--context', 'office'], env);
    try {
      const url = await poll(
        'the authorization URL on stderr',
        () => /Opening (\S+) in your browser/.exec(login.stderr)?.[1],
        30_000,
      );
      expect(new URL(url).searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256');
      expect(await signInWithChromium(browser, url, 'bob')).toContain('Signed in to Tidepool');
      expect(await login.exited).toMatchObject({ code: 0 });
    } finally {
      if (login.child.exitCode === null) login.child.kill('SIGKILL');
    }
    expect(login.stdout).toContain('as bob; context "office"');
    standIn.seen.length = 0;
    expect(await tp(['get', 'workspaces'], { env })).toMatchObject({ code: 0 });
    expect(standIn.seen).toEqual(['bob']);
  });

  it('switches contexts as kubectl config does; --server and TIDEPOOL_SERVER leave the contexts alone', async () => {
    const contexts = await tp(['config', 'get-contexts'], { env });
    expect(contexts.stdout).toMatch(
      /^CURRENT\s+NAME\s+SERVER\s+AUTH\n\s+127\.0\.0\.1-\d+ .*oidc.*\n\*\s+office .*oidc/,
    );
    expect((await tp(['config', 'current-context'], { env })).stdout.trim()).toBe('office');
    const first = (await readConfig()).contexts[0].name;
    expect(await tp(['config', 'use-context', first], { env })).toMatchObject({ code: 0 });
    standIn.seen.length = 0;
    await tp(['get', 'workspaces'], { env });
    await tp(['get', 'workspaces', '--context', 'office'], { env });
    expect(standIn.seen).toEqual(['alice', 'bob']);
    // An explicit server is today's behaviour: no context, the data dir's (absent) credentials.
    standIn.seen.length = 0;
    const explicit = await tp(['get', 'workspaces', '--server', standIn.url], { env });
    expect(explicit.code).toBe(1);
    expect(standIn.seen).toEqual(['none']);
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
    expect(cfg.contexts[0].server).toBe(standIn.url);
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
