// A Port may not publish the IDE's own port (IDE_PORT): the IDE would be served on the preview
// origin, where any dev server's page runs, with its terminals. Every write path refuses it
// with a 422 naming spec.port and why: create, replace, merge patch and apply.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDE_PORT } from '../../specs/index.js';
import { port, startTestServer, workspace, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  expect((await t.req('POST', '/api/v1/workspaces', { body: workspace('alice') })).status).toBe(201);
});
afterAll(async () => {
  await t.close();
});

function expectIdePortRefused(r: { status: number; json: any }) {
  expect(r.status).toBe(422);
  expect(r.json).toMatchObject({ kind: 'Status', code: 422, reason: 'Invalid' });
  const causes = r.json.details.causes as { field: string; reason: string; message: string }[];
  expect(causes).toHaveLength(1);
  expect(causes[0]).toMatchObject({ field: 'spec.port', reason: 'FieldValueForbidden' });
  expect(causes[0]!.message).toContain(`${IDE_PORT} is the port of the workspace's IDE`);
  expect(causes[0]!.message).toContain('preview origin');
}

describe('a Port on the IDE port', () => {
  it('is refused on create, naming spec.port and why', async () => {
    expectIdePortRefused(await t.req('POST', '/api/v1/ports', { body: port('alice-ide', 'alice', IDE_PORT) }));
    expect((await t.req('GET', '/api/v1/ports/alice-ide')).status).toBe(404);
  });

  it('is refused on apply, replace and merge patch of a Port that had another port', async () => {
    const applied = await t.req('POST', '/api/v1/apply', {
      body: JSON.stringify(port('alice-ide', 'alice', IDE_PORT)),
      type: 'application/json',
    });
    expectIdePortRefused(applied);

    const created = await t.req('POST', '/api/v1/ports', { body: port('alice-3000', 'alice', 3000) });
    expect(created.status).toBe(201);
    const replaced = { ...created.json, spec: { ...created.json.spec, port: IDE_PORT } };
    expectIdePortRefused(await t.req('PUT', '/api/v1/ports/alice-3000', { body: replaced }));
    expectIdePortRefused(
      await t.req('PATCH', '/api/v1/ports/alice-3000', {
        body: { spec: { port: IDE_PORT } },
        type: 'application/merge-patch+json',
      }),
    );
    expect((await t.req('GET', '/api/v1/ports/alice-3000')).json.spec.port).toBe(3000);
  });

  it('leaves every other port in range allowed (the one next to it too)', async () => {
    expect((await t.req('POST', '/api/v1/ports', { body: port('alice-8081', 'alice', IDE_PORT + 1) })).status).toBe(
      201,
    );
  });
});
