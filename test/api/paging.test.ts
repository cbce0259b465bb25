// Paged lists (`?limit=` and `continue`), as Kubernetes pages them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
const ws = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name, labels },
  spec: {},
});

beforeAll(async () => {
  t = await startTestServer();
  for (const n of ['e', 'a', 'd', 'b', 'c'])
    expect(
      (await t.req('POST', '/api/v1/workspaces', { body: ws(n, { odd: String('ace'.includes(n)) }) })).status,
    ).toBe(201);
});
afterAll(async () => t?.close());

const names = (r: { json: { items: { metadata: { name: string } }[] } }) => r.json.items.map((o) => o.metadata.name);

describe('paged lists', () => {
  it('walks every object once, in name order, page by page', async () => {
    const seen: string[] = [];
    let cont: string | undefined;
    const remaining: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await t.req('GET', `/api/v1/workspaces?limit=2${cont ? `&continue=${cont}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.json.items.length).toBeLessThanOrEqual(2);
      seen.push(...names(r));
      cont = r.json.metadata.continue;
      if (!cont) {
        expect(r.json.metadata.remainingItemCount).toBeUndefined();
        break;
      }
      remaining.push(r.json.metadata.remainingItemCount);
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(remaining).toEqual([3, 1]);
  });

  it('pages what a label selector selects', async () => {
    const r = await t.req('GET', '/api/v1/workspaces?labelSelector=odd%3Dtrue&limit=2');
    expect(names(r)).toEqual(['a', 'c']);
    const next = await t.req(
      'GET',
      `/api/v1/workspaces?labelSelector=odd%3Dtrue&limit=2&continue=${r.json.metadata.continue}`,
    );
    expect(names(next)).toEqual(['e']);
    expect(next.json.metadata.continue).toBeUndefined();
  });

  it('a bad limit or token is a 400 Status naming it', async () => {
    for (const q of ['limit=-1', 'limit=1e3', 'limit=0x10', 'continue=garbage']) {
      const r = await t.req('GET', `/api/v1/workspaces?${q}`);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
      expect(r.json.message).toContain(q.split('=')[0]);
    }
  });

  it('without limit the list is whole and has no continue', async () => {
    const r = await t.req('GET', '/api/v1/workspaces');
    expect(names(r)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(r.json.metadata.continue).toBeUndefined();
  });
});
