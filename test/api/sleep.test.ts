// /api/v1/workspaces/{name}/wake, /sleep and /waking over a real API server on loopback, with a
// sleep service that records what it was asked: the answers, the login in front of them, the
// waking page for a browser and for curl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SleepAnswer, SleepService } from '../../specs/index.js';
import type { SleepHolder } from '../../api/sleep.js';
import { port, startTestServer, type TestServer } from './helpers.js';

class RecordingSleep implements SleepService {
  readonly asked: string[] = [];
  outcome: SleepAnswer['outcome'] = 'Waking';
  wake(name: string, by: string): SleepAnswer {
    this.asked.push(`wake ${name} by ${by}`);
    return { outcome: this.outcome, message: `${name}: ${this.outcome}` };
  }
  sleep(name: string, by: string): SleepAnswer {
    this.asked.push(`sleep ${name} by ${by}`);
    return { outcome: this.outcome, message: `${name}: ${this.outcome}` };
  }
  execOpened(): () => void {
    return () => {};
  }
}

describe('wake and sleep API', () => {
  let t: TestServer;
  const service = new RecordingSleep();
  const holder: SleepHolder = { service };

  beforeAll(async () => {
    t = await startTestServer({ sleep: holder });
  });
  afterAll(async () => {
    await t.close();
  });

  it('wake and sleep answer a Status; what cannot be done is a 409 or a 404', async () => {
    service.outcome = 'Waking';
    const r = await t.req('POST', '/api/v1/workspaces/a/wake');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'Waking', message: 'a: Waking' });
    service.outcome = 'Asleep';
    expect((await t.req('POST', '/api/v1/workspaces/a/sleep')).json.reason).toBe('Asleep');
    service.outcome = 'Stopped';
    const stopped = await t.req('POST', '/api/v1/workspaces/a/wake');
    expect(stopped.status).toBe(409);
    expect(stopped.json).toMatchObject({ kind: 'Status', reason: 'Conflict', message: 'a: Stopped' });
    service.outcome = 'NotFound';
    expect((await t.req('POST', '/api/v1/workspaces/nobody/sleep')).status).toBe(404);
    expect(service.asked).toContain('sleep a by a request to the API');
  });

  it('nothing wakes without a login', async () => {
    const before = service.asked.length;
    expect((await t.req('POST', '/api/v1/workspaces/a/wake', { auth: null })).status).toBe(401);
    expect((await t.req('GET', '/api/v1/workspaces/a/waking', { auth: null })).status).toBe(401);
    expect(service.asked.length).toBe(before);
  });

  it('the waking page: 503 with Retry-After; one line for curl, a page that reloads itself for a browser', async () => {
    service.outcome = 'Waking';
    await t.store.create({
      apiVersion: 'tidepool/v1',
      kind: 'Workspace',
      metadata: { name: 'w' },
      spec: { image: 'default', running: true, resources: { cpu: 2, memory: '4Gi' } },
    } as never);
    // A Port's page wakes only for a port a Port publishes (api/wake-access.ts).
    await t.store.create(port('w-3000', 'w', 3000) as never);
    const curl = await t.req('GET', '/api/v1/workspaces/w/waking?kind=ide&port=8080');
    expect(curl.status).toBe(503);
    expect(curl.headers.get('retry-after')).toBe('2');
    expect(curl.text).toMatch(/^503: Workspace "w" is waking up \(Pending\); retry in a few seconds\n$/);
    expect(service.asked.at(-1)).toBe('wake w by opening it through the proxy');
    const page = await t.req('GET', '/api/v1/workspaces/w/waking?kind=port&port=3000', {
      headers: { accept: 'text/html', 'x-tp-ui': 'http://127.0.0.1:8080/app/' },
    });
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<meta http-equiv="refresh" content="2">');
    expect(page.text).toContain('Port 3000 of workspace &quot;w&quot; was asleep');
    expect(page.text).toContain('<a href="http://127.0.0.1:8080/app/">Open Tidepool</a>');
    // Not one to wake (stopped, running, unknown): a 404, and the proxy answers with its own pages.
    service.outcome = 'Stopped';
    expect((await t.req('GET', '/api/v1/workspaces/w/waking', { headers: { accept: 'text/html' } })).status).toBe(404);
    expect((await t.req('GET', '/api/v1/workspaces/w/waking?kind=other')).status).toBe(400);
  });

  it("a WebSocket (an open IDE tab reconnecting) or a script's fetch does not wake it; a navigation does", async () => {
    service.outcome = 'Waking';
    const before = service.asked.length;
    const ws = await t.req('GET', '/api/v1/workspaces/w/waking', { headers: { 'x-tp-upgrade': 'websocket' } });
    expect(ws.status).toBe(404); // w is not asleep: the proxy's own page
    await t.store.updateStatus('Workspace', 'w', { sleep: { since: '2026-01-01T00:00:00Z', reason: 'Idle' } });
    const asleep = await t.req('GET', '/api/v1/workspaces/w/waking', { headers: { 'x-tp-upgrade': 'websocket' } });
    expect(asleep.status).toBe(503);
    expect(asleep.text).toContain('is asleep; opening it in a browser');
    expect(asleep.headers.get('retry-after')).toBeNull();
    await t.req('GET', '/api/v1/workspaces/w/waking', {
      headers: { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
    });
    expect(service.asked.length).toBe(before);
    await t.req('GET', '/api/v1/workspaces/w/waking', {
      headers: { 'sec-fetch-mode': 'navigate', accept: 'text/html' },
    });
    expect(service.asked.length).toBe(before + 1);
  });
});
