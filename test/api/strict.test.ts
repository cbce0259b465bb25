// Every error is a Status object with the right code, including what Node's HTTP parser and
// the router refuse; input is strict (decimal resourceVersions, one value per JSON key, a
// closed status, Kubernetes label keys) and objects are bounded in size.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, startTestServer, workspace, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

/** Sends raw bytes; resolves with the status code and the parsed body of the reply. */
function raw(text: string): Promise<{ code: number; body: any; text: string }> {
  const { port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    let got = '';
    const s = connect(Number(port), '127.0.0.1', () => s.write(text));
    s.setTimeout(10_000, () => s.destroy(new Error(`no reply to ${JSON.stringify(text.slice(0, 60))}`)));
    s.on('data', (d) => {
      got += d;
      if (/\r\n\r\n/.test(got) && replyComplete(got)) s.end();
    });
    s.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      const bodyText = got.slice(got.indexOf('\r\n\r\n') + 4);
      let body: any;
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = undefined;
      }
      resolve({ code: m ? Number(m[1]) : 0, body, text: got });
    });
    s.on('error', reject);
  });
}
function replyComplete(got: string): boolean {
  const m = /content-length: (\d+)/i.exec(got);
  return !!m && Buffer.byteLength(got.slice(got.indexOf('\r\n\r\n') + 4)) >= Number(m[1]);
}

const POST = (headers: string, body: string) =>
  `POST /api/v1/workspaces HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;
const WS = JSON.stringify(workspace('framing'));

describe('malformed HTTP framing', () => {
  const cases: [string, string][] = [
    ['two Content-Length', POST(`Content-Length: ${WS.length}\r\nContent-Length: ${WS.length + 1}\r\n`, WS)],
    [
      'Content-Length and Transfer-Encoding',
      POST(
        `Content-Length: ${WS.length}\r\nTransfer-Encoding: chunked\r\n`,
        `${WS.length.toString(16)}\r\n${WS}\r\n0\r\n\r\n`,
      ),
    ],
    ['a bad chunk size', POST('Transfer-Encoding: chunked\r\n', `zz\r\n${WS}\r\n0\r\n\r\n`)],
    ['obs-fold', POST(`X-Folded: a\r\n  b\r\nContent-Length: ${WS.length}\r\n`, WS)],
  ];
  for (const [what, text] of cases) {
    it(`answers ${what} with a 400 Status`, async () => {
      const r = await raw(text);
      expect(r.code, r.text).toBe(400);
      expect(r.body).toMatchObject({
        apiVersion: 'v1',
        kind: 'Status',
        status: 'Failure',
        code: 400,
        reason: 'BadRequest',
      });
      expect(r.body.message).toMatch(/framing|malformed/i);
    });
  }
  it('stored nothing', async () => {
    expect((await t.req('GET', '/api/v1/workspaces/framing')).status).toBe(404);
  });
});

describe('over-long names and paths', () => {
  it('answers a 300-character name with 404 on GET and 422 naming metadata.name on PUT', async () => {
    const name = 'a'.repeat(300);
    const get = await t.req('GET', `/api/v1/workspaces/${name}`);
    expect(get.status).toBe(404);
    expect(get.json).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });
    const put = await t.req('PUT', `/api/v1/workspaces/${name}`, { body: workspace(name) });
    expect(put.status).toBe(422);
    expect(put.json.details.causes.map((c: { field: string }) => c.field)).toContain('metadata.name');
  });
  it('answers a path segment longer than any name with a 414 Status', async () => {
    const r = await t.req('GET', `/api/v1/workspaces/${'a'.repeat(3000)}`);
    expect(r.status).toBe(414);
    expect(r.json).toMatchObject({ kind: 'Status', code: 414 });
  });
});

describe('strict input', () => {
  it('takes decimal resourceVersions only (watch, list, Last-Event-ID, preconditions)', async () => {
    for (const rv of ['0x10', ' 5', '1e3', '5 ', '+5', '-1', '1.0']) {
      const w = await t.req('GET', `/api/v1/workspaces?watch=true&resourceVersion=${encodeURIComponent(rv)}`);
      expect(w.status, rv).toBe(400);
      expect(w.json).toMatchObject({ kind: 'Status', code: 400 });
      expect(w.json.message).toContain('decimal');
      const l = await t.req('GET', `/api/v1/workspaces?resourceVersion=${encodeURIComponent(rv)}`);
      expect(l.status, rv).toBe(400);
    }
    const sse = await t.req('GET', '/api/v1/workspaces?watch=true', {
      headers: { accept: 'text/event-stream', 'last-event-id': '0x5' },
    });
    expect(sse.status).toBe(400);
    await t.req('POST', '/api/v1/workspaces', { body: workspace('rv') });
    const put = await t.req('PUT', '/api/v1/workspaces/rv', { body: workspace('rv', {}, { resourceVersion: '0x1' }) });
    expect(put.status).toBe(400);
    expect(put.json.details.causes[0].field).toBe('metadata.resourceVersion');
  });

  it('refuses a JSON key given twice, naming the key and where', async () => {
    const body =
      '{"apiVersion": "tidepool/v1", "kind": "Workspace",\n "metadata": {"name": "dup", "name": "other"}, "spec": {}}';
    for (const [method, path, type] of [
      ['POST', '/api/v1/workspaces', 'application/json'],
      ['POST', '/api/v1/apply', 'application/json'],
    ] as const) {
      const r = await t.req(method, path, { body, type });
      expect(r.status, path).toBe(400);
      expect(r.json.message).toContain('"name" twice');
      expect(r.json.details.causes[0]).toMatchObject({ reason: 'FieldValueDuplicate', line: 2, column: 30 });
    }
    const patch = await t.req('PATCH', '/api/v1/workspaces/rv', {
      body: '{"spec": {"running": true, "running": false}}',
      type: 'application/merge-patch+json',
    });
    expect(patch.status).toBe(400);
    expect((await t.req('GET', '/api/v1/workspaces/dup')).status).toBe(404);
  });

  it('checks the status subresource against the schema, unknown fields included', async () => {
    const cur = (await t.req('GET', '/api/v1/workspaces/rv')).json;
    const r = await t.req('PUT', '/api/v1/workspaces/rv/status', {
      body: { ...cur, status: { phase: 'Running', bogus: 1, conditions: [] } },
    });
    expect(r.status).toBe(422);
    expect(r.json.details.causes).toContainEqual(
      expect.objectContaining({ field: 'status.bogus', reason: 'FieldValueUnknown' }),
    );
    const ok = await t.req('PUT', '/api/v1/workspaces/rv/status', { body: { ...cur, status: { phase: 'Running' } } });
    expect(ok.status).toBe(200);
  });

  it('takes label keys as Kubernetes defines them: a DNS-subdomain prefix of at most 253, a name of at most 63', async () => {
    const label = (n: number) =>
      [...Array(Math.ceil(n / 50))]
        .map((_, i) => 'p'.repeat(49) + String(i % 10))
        .join('.')
        .slice(0, n)
        .replace(/\.$/, 'x');
    const p253 = label(253),
      p254 = label(254);
    expect(p253.length).toBe(253);
    expect(p254.length).toBe(254);
    const ok = await t.req('POST', '/api/v1/workspaces', {
      body: workspace('lbl-ok', {}, { labels: { [`${p253}/name`]: 'v' } }),
    });
    expect(ok.status, ok.text).toBe(201);
    for (const key of [`${p254}/name`, `${'a'.repeat(64)}/name`, `x/${'n'.repeat(64)}`, 'UPPER.case/name', '-a/name']) {
      const r = await t.req('POST', '/api/v1/workspaces', {
        body: workspace('lbl-bad', {}, { labels: { [key]: 'v' } }),
      });
      expect(r.status, key).toBe(422);
      expect(r.json.details.causes[0].field).toMatch(/^metadata\.labels/);
    }
    expect((await t.req('GET', `/api/v1/workspaces?labelSelector=${encodeURIComponent(`${p254}/name`)}`)).status).toBe(
      400,
    );
  });

  it('bounds an object: at most 64 labels, 256 KiB of annotations, 512 KiB in all', async () => {
    const labels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    const many = await t.req('POST', '/api/v1/workspaces', { body: workspace('big', {}, { labels }) });
    expect(many.status).toBe(422);
    expect(many.json.details.causes).toContainEqual(
      expect.objectContaining({ field: 'metadata.labels', reason: 'FieldValueTooMany' }),
    );
    const annotations = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`example.com/a${i}`, 'x'.repeat(60 * 1024)]),
    );
    const heavy = await t.req('POST', '/api/v1/workspaces', { body: workspace('big', {}, { annotations }) });
    expect(heavy.status).toBe(422);
    expect(heavy.json.details.causes).toContainEqual(
      expect.objectContaining({ field: 'metadata.annotations', reason: 'FieldValueTooLong' }),
    );
    const fine = await t.req('POST', '/api/v1/workspaces', {
      body: workspace('big', {}, { labels: { a: 'b' }, annotations: { 'example.com/a': 'x'.repeat(1000) } }),
    });
    expect(fine.status).toBe(201);
    // Through apply too (every entry point goes through the store's check).
    const applied = await t.req('POST', '/api/v1/apply', {
      body: JSON.stringify(workspace('big2', {}, { labels })),
      type: 'application/json',
    });
    expect(applied.status).toBe(422);
  });
});
