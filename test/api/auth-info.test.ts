// GET /api/v1/auth/info answers without credentials (it is how a client learns to sign in);
// everything else still needs them.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

describe('GET /api/v1/auth/info', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('says basic on a server without sign-in, to anyone', async () => {
    t = await startTestServer();
    const r = await t.req('GET', '/api/v1/auth/info', { auth: null });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ mode: 'basic' });
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect((await t.req('GET', '/api/v1/workspaces', { auth: null })).status).toBe(401);
    expect((await t.req('GET', '/api/v1/auth/info/../workspaces', { auth: null })).status).toBe(401);
  });

  it('answers what the sign-in mode set', async () => {
    const authInfo = {
      mode: 'oidc' as const,
      oidc: { issuer: 'https://id.example.test', cliClientId: 'tidepool-cli' },
    };
    t = await startTestServer({ authInfo });
    expect((await t.req('GET', '/api/v1/auth/info', { auth: null })).json).toEqual(authInfo);
  });
});
