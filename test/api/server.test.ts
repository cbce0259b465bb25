// Logging without credentials, 500s without stack traces, the UI at /app/.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { startServer, type StartedServer } from '../../api/server.js';
import type { Store } from '../../store/index.js';
import { AUTH, PASSWORD, USER, startTestServer, workspace } from './helpers.js';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

function memoryLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('logging', () => {
  it('never writes the password or the Authorization header to the log', async () => {
    const { logger, lines } = memoryLogger();
    const t = await startTestServer({ logger });
    cleanup.push(() => t.close());
    await t.req('POST', '/api/v1/workspaces', { body: workspace('alice') });
    await t.req('GET', '/api/v1/workspaces', {
      auth: `Basic ${Buffer.from(`${USER}:wrong-${PASSWORD}`).toString('base64')}`,
    });
    await t.req('GET', '/api/v1/workspaces', { headers: { 'proxy-authorization': AUTH } });
    // Anything that logs request headers gets them redacted.
    t.server.app.log.info(
      { req: { headers: { authorization: AUTH } }, credentials: { username: USER, password: PASSWORD } },
      'probe',
    );
    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(3);
    expect(all).toContain('probe');
    expect(all).toContain('[REDACTED]');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(AUTH.slice('Basic '.length));
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });
});

describe('internal errors', () => {
  it('answers 500 with a Status and no stack trace, and logs the error', async () => {
    const { logger, lines } = memoryLogger();
    const boom = () => {
      throw new Error('boom at /secret/path');
    };
    const store = { get: boom, list: boom, resourceVersion: '1', watch: boom, transaction: boom } as unknown as Store;
    const s: StartedServer = await startServer({
      store,
      listen: '127.0.0.1:0',
      logger,
      credentials: { username: USER, password: PASSWORD },
    });
    cleanup.push(() => s.close());
    const res = await fetch(`${s.address}/api/v1/workspaces/x`, { headers: { authorization: AUTH } });
    expect(res.status).toBe(500);
    const text = await res.text();
    const body = JSON.parse(text);
    expect(body).toMatchObject({ kind: 'Status', code: 500, reason: 'InternalError' });
    expect(text).not.toContain('boom');
    expect(text).not.toMatch(/\bat .*:\d+:\d+/);
    expect(lines.join('')).toContain('boom at /secret/path');
  });
});

describe('the UI at /app/', () => {
  it('serves the built UI folder behind auth', async () => {
    const web = await mkdtemp(join(tmpdir(), 'tp-web-'));
    await mkdir(join(web, 'assets'));
    await writeFile(join(web, 'index.html'), '<!doctype html><title>Tidepool</title>');
    await writeFile(join(web, 'assets', 'app.js'), 'console.log(1)');
    const t = await startTestServer({ webRoot: web });
    cleanup.push(async () => {
      await t.close();
      await rm(web, { recursive: true, force: true });
    });
    const index = await t.req('GET', '/app/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(index.text).toContain('<title>Tidepool</title>');
    const js = await t.req('GET', '/app/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await t.req('GET', '/app/', { auth: null })).status).toBe(401);
    const bare = await fetch(`${t.url}/app`, { headers: { authorization: AUTH }, redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/app/');
    const missing = await t.req('GET', '/app/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    const traversal = await t.req('GET', '/app/..%2f..%2fetc%2fpasswd');
    expect(traversal.status).toBe(404);
  });
});
