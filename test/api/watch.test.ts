import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { activeWatchCount } from '../../api/server.js';
import { AUTH, StreamReader, startTestServer, workspace, type TestServer } from './helpers.js';
import { poll } from '../poll.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ storeOptions: { historySize: 20 }, ssePingMs: 200 });
});
afterAll(async () => {
  await t?.close();
});

async function open(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}${path}`, { headers: { authorization: AUTH, ...headers } });
  let stream: StreamReader | undefined;
  return {
    res,
    get stream() {
      return (stream ??= new StreamReader(res.body as ReadableStream<Uint8Array>));
    },
  };
}

const until = (cond: () => boolean, what: string) => poll(what, cond, 2000, 10);

const summary = (e: any) => `${e.type} ${e.object.metadata.name}`;

describe('watch as newline-delimited JSON', () => {
  it('sends ADDED for every current object, then live changes; stops listening when the client goes', async () => {
    await t.req('POST', '/api/v1/workspaces', { body: workspace('b') });
    await t.req('POST', '/api/v1/workspaces', { body: workspace('a') });
    const { res, stream } = await open('/api/v1/workspaces?watch=true');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(summary(await stream.line())).toBe('ADDED a');
    expect(summary(await stream.line())).toBe('ADDED b');
    await until(() => activeWatchCount(t.server.app) === 1, 'the watch to register');
    await t.req('PATCH', '/api/v1/workspaces/a', {
      type: 'application/merge-patch+json',
      body: { spec: { running: false } },
    });
    const mod = await stream.line();
    expect(summary(mod)).toBe('MODIFIED a');
    expect(mod.object.spec.running).toBe(false);
    await t.req('DELETE', '/api/v1/workspaces/b');
    expect(summary(await stream.line())).toBe('DELETED b');
    await stream.cancel();
    await until(() => activeWatchCount(t.server.app) === 0, 'the watch to be cleaned up');
  });

  it('sends a BOOKMARK with the list resourceVersion after the initial events when asked', async () => {
    const { stream } = await open('/api/v1/workspaces?watch=true&allowWatchBookmarks=true');
    expect(summary(await stream.line())).toBe('ADDED a');
    const b = await stream.line();
    expect(b.type).toBe('BOOKMARK');
    expect(b.object.metadata.resourceVersion).toBe(t.store.resourceVersion);
    await stream.cancel();
  });

  it('replays after a resourceVersion, then streams live', async () => {
    const start = (await t.req('GET', '/api/v1/workspaces')).json.metadata.resourceVersion;
    await t.req('POST', '/api/v1/workspaces', { body: workspace('c') });
    await t.req('PATCH', '/api/v1/workspaces/c', {
      type: 'application/merge-patch+json',
      body: { metadata: { labels: { x: 'y' } } },
    });
    const { res, stream } = await open(`/api/v1/workspaces?watch=true&resourceVersion=${start}`);
    expect(res.status).toBe(200);
    expect(summary(await stream.line())).toBe('ADDED c');
    const m = await stream.line();
    expect(summary(m)).toBe('MODIFIED c');
    expect(m.object.metadata.labels).toEqual({ x: 'y' });
    await t.req('DELETE', '/api/v1/workspaces/c');
    expect(summary(await stream.line())).toBe('DELETED c');
    await stream.cancel();
  });

  it('filters by labelSelector: objects entering the selection are ADDED, leaving it DELETED', async () => {
    await t.req('POST', '/api/v1/workspaces', { body: workspace('l1', {}, { labels: { team: 'web' } }) });
    await t.req('POST', '/api/v1/workspaces', { body: workspace('l2', {}, { labels: { team: 'api' } }) });
    const { stream } = await open(`/api/v1/workspaces?watch=true&labelSelector=${encodeURIComponent('team in (web)')}`);
    expect(summary(await stream.line())).toBe('ADDED l1');
    await t.req('PATCH', '/api/v1/workspaces/l2', {
      type: 'application/merge-patch+json',
      body: { metadata: { labels: { team: 'web' } } },
    });
    expect(summary(await stream.line())).toBe('ADDED l2');
    await t.req('PATCH', '/api/v1/workspaces/l1', {
      type: 'application/merge-patch+json',
      body: { metadata: { labels: { team: 'ops' } } },
    });
    expect(summary(await stream.line())).toBe('DELETED l1');
    await t.req('POST', '/api/v1/workspaces', { body: workspace('l3', {}, { labels: { team: 'ops' } }) });
    await t.req('POST', '/api/v1/workspaces', { body: workspace('l4', {}, { labels: { team: 'web' } }) });
    expect(summary(await stream.line())).toBe('ADDED l4'); // l3 never matched: not sent
    await stream.cancel();
  });

  it('answers 410 Gone (a Status, before any streaming) for a resourceVersion no longer kept', async () => {
    for (let i = 0; i < 25; i++)
      await t.req('PATCH', '/api/v1/workspaces/a', {
        type: 'application/merge-patch+json',
        body: { metadata: { labels: { n: String(i) } } },
      });
    const { res } = await open('/api/v1/workspaces?watch=true&resourceVersion=1');
    expect(res.status).toBe(410);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ kind: 'Status', code: 410, reason: 'Gone' });
    expect(body.message).toMatch(/too old resource version/);
    const bad = await open('/api/v1/workspaces?watch=true&resourceVersion=abc');
    expect(bad.res.status).toBe(400);
    await bad.res.text();
  });

  it('watches Events (written by the server only)', async () => {
    const { stream } = await open('/api/v1/events?watch=1');
    const now = '2024-01-01T00:00:00Z';
    await until(() => activeWatchCount(t.server.app) === 1, 'the watch');
    await t.store.create({
      apiVersion: 'tidepool/v1',
      kind: 'Event',
      metadata: { name: 'a-1' },
      regarding: { kind: 'Workspace', name: 'a' },
      reason: 'Started',
      note: 'started',
      type: 'Normal',
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
    });
    const e = await stream.line();
    expect(e.type).toBe('ADDED');
    expect(e.object).toMatchObject({ kind: 'Event', reason: 'Started', regarding: { name: 'a' } });
    await stream.cancel();
    await until(() => activeWatchCount(t.server.app) === 0, 'the watch to go');
  });
});

describe('watch as Server-Sent Events', () => {
  it('streams id/data events, pings, and resumes from Last-Event-ID', async () => {
    const { res, stream } = await open('/api/v1/workspaces?watch=true&labelSelector=team%3Dsse', {
      accept: 'text/event-stream',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let ev = await stream.event();
    expect(ev?.retry).toBeDefined();
    ev = await stream.event();
    // no object matches yet: the first event only sets the id to resume from
    expect(ev?.data).toBeUndefined();
    expect(ev?.id).toMatch(/^\d+$/);
    const created = (
      await t.req('POST', '/api/v1/workspaces', { body: workspace('s1', {}, { labels: { team: 'sse' } }) })
    ).json;
    do ev = await stream.event();
    while (ev && ev.data === undefined); // skip pings
    expect(ev!.id).toBe(created.metadata.resourceVersion);
    expect(JSON.parse(ev!.data!)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 's1' } } });
    // a ping comment arrives when nothing happens
    do ev = await stream.event();
    while (ev && !ev.comments.includes('ping'));
    expect(ev!.comments).toContain('ping');
    const lastId = created.metadata.resourceVersion;
    await stream.cancel();

    // changes while disconnected are replayed from Last-Event-ID (it wins over the query's resourceVersion)
    await t.req('PATCH', '/api/v1/workspaces/s1', {
      type: 'application/merge-patch+json',
      body: { spec: { running: false } },
    });
    await t.req('POST', '/api/v1/workspaces', { body: workspace('s2', {}, { labels: { team: 'sse' } }) });
    const again = await open('/api/v1/workspaces?watch=true&labelSelector=team%3Dsse&resourceVersion=1', {
      accept: 'text/event-stream',
      'last-event-id': lastId,
    });
    expect(again.res.status).toBe(200);
    const got: string[] = [];
    while (got.length < 2) {
      const e = await again.stream.event();
      if (e?.data) got.push(summary(JSON.parse(e.data)));
    }
    expect(got).toEqual(['MODIFIED s1', 'ADDED s2']);
    await again.stream.cancel();
  });

  it('replies 410 as a Status when Last-Event-ID is too old', async () => {
    const { res } = await open('/api/v1/workspaces?watch=true', { accept: 'text/event-stream', 'last-event-id': '2' });
    expect(res.status).toBe(410);
    expect(((await res.json()) as any).reason).toBe('Gone');
  });

  it('ends open streams when the server closes', async () => {
    const t2 = await startTestServer();
    const res = await fetch(`${t2.url}/api/v1/workspaces?watch=true`, { headers: { authorization: AUTH } });
    const s = new StreamReader(res.body as ReadableStream<Uint8Array>);
    await t2.close();
    expect(await s.line()).toBeUndefined();
  });
});
