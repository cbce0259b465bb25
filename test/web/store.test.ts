// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResourceStore, overallState, type EventSourceLike } from '../../web/src/store.js';
import { followWhileVisible } from '../../web/src/visibility.js';
import { ApiError, defaultConfig, ideUrl, loadConfig, portUrl, setRunning } from '../../web/src/api.js';
import { workspace } from './helpers.js';

/** An EventSource the test drives: open it, send events, drop it, close it as the browser would. */
class FakeEventSource implements EventSourceLike {
  static all: FakeEventSource[] = [];
  readyState = 0;
  closed = false;
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  readonly named = new Map<string, (ev: MessageEvent) => void>();
  constructor(readonly url: string) {
    FakeEventSource.all.push(this);
  }
  addEventListener(type: string, fn: (ev: MessageEvent) => void) {
    this.named.set(type, fn);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  send(data: unknown, id?: string, name?: string) {
    const ev = new MessageEvent(name ?? 'message', { data: JSON.stringify(data), lastEventId: id ?? '' });
    if (name) this.named.get(name)?.(ev);
    else this.onmessage?.(ev);
  }
  /** The stream dropped; the browser will reconnect by itself. */
  drop() {
    this.readyState = 0;
    this.onerror?.(new Event('error'));
  }
  /** The browser gave up (a non-200 reply such as 410 Gone). */
  fail() {
    this.readyState = 2;
    this.onerror?.(new Event('error'));
  }
}

function listReply(rv: string, items: unknown[]) {
  return new Response(
    JSON.stringify({ kind: 'WorkspaceList', apiVersion: 'tidepool/v1', metadata: { resourceVersion: rv }, items }),
    {
      status: 200,
      headers: { 'content-type': 'application/json' },
    },
  );
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const names = (s: ResourceStore<{ metadata: { name: string } }>) => s.items.map((o) => o.metadata.name).sort();

let store: ResourceStore<ReturnType<typeof workspace>> | undefined;
beforeEach(() => {
  FakeEventSource.all = [];
});
afterEach(() => {
  store?.stop();
  store = undefined;
  vi.useRealTimers();
});

describe('ResourceStore', () => {
  it('lists, then watches from the list resourceVersion and applies each event', async () => {
    const fetch = vi.fn(async () => listReply('7', [workspace('alice', { rv: '5' }), workspace('bob', { rv: '7' })]));
    store = new ResourceStore('workspaces', { fetch: fetch as never, EventSource: FakeEventSource });
    const changes = vi.fn();
    store.addEventListener('change', changes);
    store.start();
    await flush();
    expect(fetch).toHaveBeenCalledWith('/api/v1/workspaces', expect.anything());
    expect(store.loaded).toBe(true);
    expect(names(store)).toEqual(['alice', 'bob']);
    expect(FakeEventSource.all).toHaveLength(1);
    const es = FakeEventSource.all[0]!;
    expect(es.url).toBe('/api/v1/workspaces?watch=true&resourceVersion=7');
    expect(store.state).toBe('connecting');
    es.open();
    expect(store.state).toBe('live');

    es.send({ type: 'ADDED', object: workspace('carol', { rv: '8' }) }, '8');
    es.send({ type: 'MODIFIED', object: workspace('alice', { rv: '9', running: false }) }, '9');
    es.send({ type: 'DELETED', object: workspace('bob', { rv: '10' }) }, '10');
    expect(names(store)).toEqual(['alice', 'carol']);
    expect(store.get('alice')?.spec.running).toBe(false);
    expect(store.resourceVersion).toBe('10');
    // Named SSE events are handled alike.
    es.send({ type: 'ADDED', object: workspace('dave', { rv: '11' }) }, '11', 'ADDED');
    expect(names(store)).toEqual(['alice', 'carol', 'dave']);
    expect(changes.mock.calls.length).toBeGreaterThanOrEqual(5);
  });

  it('shows reconnecting while the browser resumes a dropped stream, live again when it reopens', async () => {
    const fetch = vi.fn(async () => listReply('3', []));
    store = new ResourceStore('workspaces', { fetch: fetch as never, EventSource: FakeEventSource });
    store.start();
    await flush();
    const es = FakeEventSource.all[0]!;
    es.open();
    es.drop();
    expect(store.state).toBe('reconnecting');
    // The browser reconnects with Last-Event-ID: the same EventSource, no new list.
    es.open();
    expect(store.state).toBe('live');
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(FakeEventSource.all).toHaveLength(1);
  });

  it('lists again when the watch cannot resume (410 Gone), and watches from the new resourceVersion', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const replies = [listReply('3', [workspace('alice')]), listReply('50', [workspace('bob', { rv: '50' })])];
    const fetch = vi.fn(async () => replies.shift()!);
    store = new ResourceStore('workspaces', {
      fetch: fetch as never,
      EventSource: FakeEventSource,
      retryDelays: [100],
    });
    store.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeEventSource.all[0]!.open();
    FakeEventSource.all[0]!.fail();
    expect(FakeEventSource.all[0]!.closed).toBe(true);
    expect(store.state).toBe('reconnecting');
    expect(names(store)).toEqual(['alice']);
    await vi.advanceTimersByTimeAsync(100);
    expect(fetch).toHaveBeenCalledTimes(2);
    // Deleted while away: gone after the re-list.
    expect(names(store)).toEqual(['bob']);
    const es2 = FakeEventSource.all[1]!;
    expect(es2.url).toBe('/api/v1/workspaces?watch=true&resourceVersion=50');
    es2.open();
    expect(store.state).toBe('live');
  });

  it('lists again at once on an ERROR event in the stream', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fetch = vi.fn(async () => listReply('3', []));
    store = new ResourceStore('workspaces', {
      fetch: fetch as never,
      EventSource: FakeEventSource,
      retryDelays: [5000],
    });
    store.start();
    await vi.advanceTimersByTimeAsync(0);
    const es = FakeEventSource.all[0]!;
    es.open();
    es.send({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Gone', message: 'too old' } });
    expect(es.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(FakeEventSource.all).toHaveLength(2);
  });

  it('retries a failing list with backoff and keeps the old items meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let up = false;
    const fetch = vi.fn(async () => {
      if (!up) throw new TypeError('Failed to fetch');
      return listReply('9', [workspace('alice', { rv: '9' })]);
    });
    store = new ResourceStore('workspaces', {
      fetch: fetch as never,
      EventSource: FakeEventSource,
      retryDelays: [100, 200],
    });
    store.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.state).toBe('reconnecting');
    expect(store.error).toContain('Failed to fetch');
    await vi.advanceTimersByTimeAsync(100);
    expect(fetch).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(150);
    expect(fetch).toHaveBeenCalledTimes(2);
    up = true;
    await vi.advanceTimersByTimeAsync(50);
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(names(store)).toEqual(['alice']);
    FakeEventSource.all[0]!.open();
    expect(store.state).toBe('live');
    expect(store.error).toBeUndefined();
  });

  it('stop closes the watch and cancels retries', async () => {
    const fetch = vi.fn(async () => listReply('1', []));
    store = new ResourceStore('workspaces', { fetch: fetch as never, EventSource: FakeEventSource });
    store.start();
    await flush();
    store.stop();
    expect(FakeEventSource.all[0]!.closed).toBe(true);
  });

  it('a stop and start while a list is in flight leaves one watch, from the latest list', async () => {
    const pending: ((r: Response) => void)[] = [];
    const fetch = vi.fn(() => new Promise<Response>((r) => pending.push(r)));
    store = new ResourceStore('workspaces', { fetch: fetch as never, EventSource: FakeEventSource });
    store.start();
    store.stop();
    expect(store.state).toBe('connecting');
    store.start();
    expect(fetch).toHaveBeenCalledTimes(2);
    pending[1]!(listReply('20', [workspace('new', { rv: '20' })]));
    await flush();
    pending[0]!(listReply('10', [workspace('old', { rv: '10' })]));
    await flush();
    expect(FakeEventSource.all).toHaveLength(1);
    expect(FakeEventSource.all[0]!.url).toContain('resourceVersion=20');
    expect(names(store)).toEqual(['new']);
  });

  it('apply() keeps the newer of two versions', () => {
    store = new ResourceStore('workspaces', { fetch: vi.fn() as never, EventSource: FakeEventSource });
    store.apply(workspace('alice', { rv: '12', running: false }));
    store.apply(workspace('alice', { rv: '11', running: true }));
    expect(store.get('alice')?.spec.running).toBe(false);
    store.apply(workspace('alice', { rv: '13', running: true }));
    expect(store.get('alice')?.spec.running).toBe(true);
  });

  it('overallState: reconnecting wins, live needs every store live', async () => {
    const mk = () =>
      new ResourceStore('workspaces', {
        fetch: vi.fn(async () => listReply('1', [])) as never,
        EventSource: FakeEventSource,
      });
    const a = mk();
    const b = mk();
    a.start();
    b.start();
    await flush();
    expect(overallState([a, b])).toBe('connecting');
    FakeEventSource.all[0]!.open();
    expect(overallState([a, b])).toBe('connecting');
    FakeEventSource.all[1]!.open();
    expect(overallState([a, b])).toBe('live');
    FakeEventSource.all[1]!.drop();
    expect(overallState([a, b])).toBe('reconnecting');
    a.stop();
    b.stop();
  });
});

describe('api', () => {
  it('setRunning sends a JSON merge patch of spec.running', async () => {
    const updated = workspace('alice', { running: false, rv: '4' });
    const fetch = vi.fn(
      async (_url: string, _init?: RequestInit) => new Response(JSON.stringify(updated), { status: 200 }),
    );
    const ws = await setRunning('alice', false, fetch as never);
    expect(ws.spec.running).toBe(false);
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('/api/v1/workspaces/alice?fieldManager=tidepool-power');
    expect(init?.method).toBe('PATCH');
    expect((init?.headers as Record<string, string> | undefined)?.['content-type']).toBe(
      'application/merge-patch+json',
    );
    expect(JSON.parse(String(init?.body))).toEqual({ spec: { running: false } });
  });

  it("setRunning fails with the Status object's reason and message", async () => {
    const status = {
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      code: 404,
      reason: 'NotFound',
      message: 'workspaces "x" not found',
    };
    const fetch = vi.fn(async () => new Response(JSON.stringify(status), { status: 404 }));
    const err = await setRunning('x', true, fetch as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe('NotFound: workspaces "x" not found');
    expect((err as ApiError).code).toBe(404);

    const bare = vi.fn(async () => new Response('upstream down', { status: 502, statusText: 'Bad Gateway' }));
    await expect(setRunning('x', true, bare as never)).rejects.toThrow('HTTP 502 Bad Gateway');
    const offline = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(setRunning('x', true, offline as never)).rejects.toThrow('Network error: Failed to fetch');
  });

  it('config: same host on 8081 unless config.json says otherwise', async () => {
    const loc = { protocol: 'https:', hostname: 'devbox.lan' };
    expect(defaultConfig(loc)).toEqual({ workspaceBaseUrl: 'https://devbox.lan:8081' });
    const missing = vi.fn(async () => new Response('not found', { status: 404 }));
    expect(await loadConfig('/app/config.json', missing as never, loc)).toEqual({
      workspaceBaseUrl: 'https://devbox.lan:8081',
    });
    const given = vi.fn(async () => new Response(JSON.stringify({ workspaceBaseUrl: 'http://10.0.0.2:9000' })));
    expect(await loadConfig('/app/config.json', given as never, loc)).toEqual({
      workspaceBaseUrl: 'http://10.0.0.2:9000',
    });
    expect(given).toHaveBeenCalledWith('/app/config.json', expect.anything());
    const port = vi.fn(async () => new Response(JSON.stringify({ workspacePort: 9443 })));
    expect(await loadConfig('/app/config.json', port as never, loc)).toEqual({
      workspaceBaseUrl: 'https://devbox.lan:9443',
    });
    const templates = vi.fn(
      async () => new Response(JSON.stringify({ workspacePort: 8081, imageTemplates: ['default', 'minimal', 7] })),
    );
    expect(await loadConfig('/app/config.json', templates as never, loc)).toEqual({
      workspaceBaseUrl: 'https://devbox.lan:8081',
      imageTemplates: ['default', 'minimal'],
    });
    const garbage = vi.fn(async () => new Response('<html>'));
    expect(await loadConfig('/app/config.json', garbage as never, loc)).toEqual({
      workspaceBaseUrl: 'https://devbox.lan:8081',
    });
  });

  it('builds the IDE and port links on the workspace origin', () => {
    const c = { workspaceBaseUrl: 'http://h:8081/' };
    expect(ideUrl(c, 'alice')).toBe('http://h:8081/workspace/alice/');
    expect(portUrl(c, 'alice', 3000)).toBe('http://h:8081/workspace/alice/port/3000/');
  });
});

describe('followWhileVisible', () => {
  class FakeDocument extends EventTarget {
    visibilityState: DocumentVisibilityState = 'visible';
    set(v: DocumentVisibilityState) {
      this.visibilityState = v;
      this.dispatchEvent(new Event('visibilitychange'));
    }
  }

  it('closes the streams of a page hidden for a while, and follows again when it is shown', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const doc = new FakeDocument();
    const s = { start: vi.fn(), stop: vi.fn() };
    const dispose = followWhileVisible([s], doc, 1000);
    expect(s.start).toHaveBeenCalledTimes(1);

    // A quick look at another tab changes nothing.
    doc.set('hidden');
    vi.advanceTimersByTime(500);
    doc.set('visible');
    vi.advanceTimersByTime(2000);
    expect(s.stop).not.toHaveBeenCalled();

    doc.set('hidden');
    vi.advanceTimersByTime(1000);
    expect(s.stop).toHaveBeenCalledTimes(1);
    doc.set('visible');
    expect(s.start).toHaveBeenCalledTimes(3);
    dispose();
    expect(s.stop).toHaveBeenCalledTimes(2);
  });

  it('does not start a page that loads hidden until it is shown', () => {
    const doc = new FakeDocument();
    doc.visibilityState = 'hidden';
    const s = { start: vi.fn(), stop: vi.fn() };
    followWhileVisible([s], doc, 1000);
    expect(s.start).not.toHaveBeenCalled();
    doc.set('visible');
    expect(s.start).toHaveBeenCalledTimes(1);
  });
});
