// tidepool port share / rotate-token against the real API: the link for the owner, a new one on
// rotation (the old one no longer matches), the note while the Port is not public, and get
// ports -o wide naming each Port's visibility.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, USER, startTestServer, type TestServer } from '../api/helpers.js';
import { cleanEnv, tp } from './helpers.js';

describe('tidepool port share / rotate-token', () => {
  let api: TestServer;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    api = await startTestServer();
    env = cleanEnv({ TIDEPOOL_SERVER: api.url, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD });
    const manifest =
      'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: alice}\nspec: {}\n---\n' +
      'apiVersion: tidepool/v1\nkind: Port\nmetadata: {name: alice-3000}\nspec: {workspace: alice, port: 3000, visibility: public}\n---\n' +
      'apiVersion: tidepool/v1\nkind: Port\nmetadata: {name: alice-3001}\nspec: {workspace: alice, port: 3001}\n';
    expect(await tp(['apply', '-f', '-'], { env, input: manifest })).toMatchObject({ code: 0 });
  });
  afterAll(() => api?.close());

  it('prints the link, a new one on rotation, and says when the Port is not public', async () => {
    const first = await tp(['port', 'share', 'alice-3000'], { env });
    expect(first).toMatchObject({ code: 0 });
    const link = first.stdout.trim();
    expect(link).toMatch(/^\/workspace\/alice\/port\/3000\/tp-share\/[A-Za-z0-9_-]{43}\/$/);
    const rotated = await tp(['port', 'rotate-token', 'alice-3000'], { env });
    expect(rotated).toMatchObject({ code: 0 });
    expect(rotated.stderr).toContain('the old link no longer opens it');
    expect(rotated.stdout.trim()).not.toBe(link);
    expect((await tp(['port', 'share', 'alice-3000'], { env })).stdout.trim()).toBe(rotated.stdout.trim());
    const priv = await tp(['port', 'share', 'alice-3001'], { env });
    expect(priv.stdout).toContain('visibility is private: the link opens the Port only once spec.visibility is public');
    expect(await tp(['port', 'share', 'nope'], { env })).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('NotFound'),
    });
  });

  it('get ports -o wide names the visibility', async () => {
    const r = await tp(['get', 'ports', '-o', 'wide'], { env });
    expect(r.stdout).toMatch(/VISIBILITY/);
    expect(r.stdout).toMatch(/alice-3000 .* public/);
    expect(r.stdout).toMatch(/alice-3001 .* private/);
  });
});
