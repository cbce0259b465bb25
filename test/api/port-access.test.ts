// Who may open a Port (api/port-access.ts, api/port-share.ts) as pure logic, and the share
// endpoints of the API: the link goes to the owner and admins only, rotation changes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../api/identity.js';
import { decidePortAccess, namespaceOfPort, portTargetOf, uncleanPath } from '../../api/port-access.js';
import { SHARE_SALT_ANNOTATION, shareKey, shareToken, shareTokenMatches } from '../../api/port-share.js';
import type { Port } from '../../specs/index.js';
import { startTestServer, type TestServer } from './helpers.js';

const port = (visibility: Port['spec']['visibility'], namespace?: string): Port => ({
  apiVersion: 'tidepool/v1',
  kind: 'Port',
  metadata: { name: 'p', uid: 'uid-1', ...(namespace ? { namespace } : {}) } as Port['metadata'],
  spec: { workspace: 'alice', port: 3000, ...(visibility ? { visibility } : {}) },
});
const person = (name: string, namespace: string, admin = false): Identity => ({
  name,
  namespace,
  admin,
  groups: [],
  via: 'session',
});
const noTokens = { pathTokenMatches: false, cookieTokenMatches: false };

describe('decidePortAccess', () => {
  it('private (the default): the person of the namespace and admins; others are refused, naming who they are', () => {
    expect(decidePortAccess({ port: port(undefined), identity: undefined, ...noTokens })).toEqual({
      allow: false,
      needSignIn: true,
    });
    expect(decidePortAccess({ port: port(undefined), identity: person('a', 'default'), ...noTokens }).allow).toBe(true);
    expect(
      decidePortAccess({ port: port('private', 'alice'), identity: person('root', 'root', true), ...noTokens }).allow,
    ).toBe(true);
    const refused = decidePortAccess({ port: port('private', 'alice'), identity: person('bob', 'bob'), ...noTokens });
    expect(refused).toMatchObject({ allow: false, needSignIn: false });
    expect(refused.allow === false && !refused.needSignIn && refused.message).toMatch(
      /private to its owner \(namespace alice\); you are signed in as bob/,
    );
  });

  it('team: anyone signed in, nobody without', () => {
    expect(decidePortAccess({ port: port('team', 'alice'), identity: person('bob', 'bob'), ...noTokens }).allow).toBe(
      true,
    );
    expect(decidePortAccess({ port: port('team', 'alice'), identity: undefined, ...noTokens }).allow).toBe(false);
  });

  it('public: its token without sign-in (the cookie is set when the token came in the path); a token counts for nothing elsewhere', () => {
    expect(
      decidePortAccess({
        port: port('public'),
        identity: undefined,
        pathTokenMatches: true,
        cookieTokenMatches: false,
      }),
    ).toEqual({
      allow: true,
      setShareCookie: true,
    });
    expect(
      decidePortAccess({
        port: port('public'),
        identity: undefined,
        pathTokenMatches: false,
        cookieTokenMatches: true,
      }),
    ).toEqual({
      allow: true,
    });
    expect(decidePortAccess({ port: port('public'), identity: undefined, ...noTokens }).allow).toBe(false);
    expect(
      decidePortAccess({ port: port('private'), identity: undefined, pathTokenMatches: true, cookieTokenMatches: true })
        .allow,
    ).toBe(false);
    expect(decidePortAccess({ port: port('public', 'alice'), identity: person('bob', 'bob'), ...noTokens }).allow).toBe(
      true,
    );
  });

  it('a port no Port publishes needs a sign-in and then passes (the proxy answers with its own page)', () => {
    expect(
      decidePortAccess({ port: undefined, identity: undefined, pathTokenMatches: true, cookieTokenMatches: true })
        .allow,
    ).toBe(false);
    expect(decidePortAccess({ port: undefined, identity: person('bob', 'bob'), ...noTokens }).allow).toBe(true);
  });

  it("reads a Port's namespace, default when it has none", () => {
    expect(namespaceOfPort(port('public'))).toBe('default');
    expect(namespaceOfPort(port('public', 'alice'))).toBe('alice');
  });
});

describe('the share token and the request path', () => {
  const key = shareKey('secret');
  it('is an HMAC of the uid and the salt: another Port, another salt or another server key make another token', () => {
    const p = port('public');
    const t = shareToken(key, p);
    expect(shareTokenMatches(key, p, t)).toBe(true);
    expect(shareTokenMatches(key, { metadata: { ...p.metadata, uid: 'uid-2' } }, t)).toBe(false);
    expect(
      shareTokenMatches(key, { metadata: { ...p.metadata, annotations: { [SHARE_SALT_ANNOTATION]: 'x' } } }, t),
    ).toBe(false);
    expect(shareTokenMatches(shareKey('other'), p, t)).toBe(false);
    expect(shareTokenMatches(key, p, undefined)).toBe(false);
    expect(shareTokenMatches(key, p, `${t}x`)).toBe(false);
  });

  it('finds the Port and the token of a path; refuses paths the proxy would read otherwise', () => {
    expect(portTargetOf('/workspace/alice/port/3000/tp-share/abc_-1/x?y')).toEqual({
      workspace: 'alice',
      port: 3000,
      pathToken: 'abc_-1',
    });
    expect(portTargetOf('/workspace/alice/port/3000')).toEqual({ workspace: 'alice', port: 3000 });
    expect(portTargetOf('/workspace/alice/')).toBeUndefined();
    expect(portTargetOf('/api/v1/workspaces')).toBeUndefined();
    expect(portTargetOf(undefined)).toBeUndefined();
    for (const bad of [
      '/workspace/a/port/1/../2/',
      '/workspace/a/port/1/%2E%2e/',
      '/workspace/a/port/1//x',
      '/workspace/a/port/1/x%2fy',
      '/workspace/a/port/1/.',
    ])
      expect(uncleanPath(bad), bad).toBe(true);
    expect(uncleanPath('/workspace/a/port/1/x.js?q=../..')).toBe(false);
  });
});

describe('the share endpoints', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
    await t.req('POST', '/api/v1/workspaces', {
      body: { apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name: 'alice' }, spec: {} },
    });
  });
  afterAll(() => t.close());

  it('a Port is private unless it says otherwise; a visibility that is none of the three is refused with its field', async () => {
    const created = await t.req('POST', '/api/v1/ports', {
      body: {
        apiVersion: 'tidepool/v1',
        kind: 'Port',
        metadata: { name: 'alice-3000' },
        spec: { workspace: 'alice', port: 3000 },
      },
    });
    expect(created.json.spec.visibility).toBe('private');
    const bad = await t.req('POST', '/api/v1/ports', {
      body: {
        apiVersion: 'tidepool/v1',
        kind: 'Port',
        metadata: { name: 'alice-3001' },
        spec: { workspace: 'alice', port: 3001, visibility: 'everyone' },
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.details.causes.map((c: { field: string }) => c.field)).toContain('spec.visibility');
  });

  it('gives the owner the link, a new one on rotation, and 404 for no such Port', async () => {
    const first = await t.req('GET', '/api/v1/ports/alice-3000/share');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.json).toMatchObject({
      visibility: 'private',
      path: `/workspace/alice/port/3000/tp-share/${first.json.token}/`,
    });
    const rotated = await t.req('POST', '/api/v1/ports/alice-3000/share/rotate');
    expect(rotated.json.token).not.toBe(first.json.token);
    expect((await t.req('GET', '/api/v1/ports/alice-3000/share')).json.token).toBe(rotated.json.token);
    expect((await t.req('GET', '/api/v1/ports/nope/share')).status).toBe(404);
    expect((await t.req('GET', '/api/v1/ports/alice-3000/share', { auth: null })).status).toBe(401);
  });

  it('a rotation survives the next apply of the same manifest (a sync does not bring the old token back)', async () => {
    const manifest =
      'apiVersion: tidepool/v1\nkind: Port\nmetadata: {name: alice-4000}\nspec: {workspace: alice, port: 4000, visibility: public}\n';
    const apply = () =>
      t.req('POST', '/api/v1/apply?fieldManager=tidepool-apply', { body: manifest, type: 'application/yaml' });
    expect((await apply()).status).toBe(200);
    const before = (await t.req('GET', '/api/v1/ports/alice-4000/share')).json.token;
    const rotated = (await t.req('POST', '/api/v1/ports/alice-4000/share/rotate')).json.token;
    expect(rotated).not.toBe(before);
    expect((await apply()).status).toBe(200);
    expect((await t.req('GET', '/api/v1/ports/alice-4000/share')).json.token).toBe(rotated);
  });
});
