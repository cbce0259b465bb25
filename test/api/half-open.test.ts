// 400 sockets that send half a request, against a server allowed 256 open files: the
// connection cap keeps file descriptors for the store, a write made meanwhile is stored,
// and the header deadline frees the sockets; nothing stays broken.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import { AUTH, PASSWORD, USER, workspace } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/serve.ts', import.meta.url));
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
let dataDir = '';
let serverUrl = '';

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('half-open sockets', () => {
  it('cannot exhaust the file descriptors the store needs', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tp-halfopen-'));
    const child = spawn(
      'sh',
      ['-c', `ulimit -n 256 && exec "${process.execPath}" --import tsx "${FIXTURE}" "${dataDir}"`],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TIDEPOOL_USER: USER,
          TIDEPOOL_PASSWORD: PASSWORD,
          TIDEPOOL_TEST_HEADERS_TIMEOUT_MS: '2000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '',
        err = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!).address);
      });
      child.stderr!.on('data', (d) => {
        err += d;
      });
      child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
    });
    serverUrl = url;
    const { port } = new URL(url);
    // One keep-alive connection opened before the flood: the legitimate client.
    const agent = new Agent({ connections: 1, keepAliveTimeout: 30_000 });
    const call = (method: string, path: string, body?: unknown, type = 'application/json') =>
      fetch(`${url}${path}`, {
        dispatcher: agent,
        method,
        headers: { authorization: AUTH, ...(body ? { 'content-type': type } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    expect((await call('POST', '/api/v1/workspaces', workspace('before'))).status).toBe(201);

    // The flood: headers never finished.
    await Promise.all(
      Array.from(
        { length: 400 },
        () =>
          new Promise<void>((resolve) => {
            const s = connect(Number(port), '127.0.0.1', () => {
              s.write('POST /api/v1/workspaces HTTP/1.1\r\nHost: x\r\nX-Slow: ');
              resolve();
            });
            s.on('error', () => resolve());
            s.on('close', () => resolve());
            sockets.push(s);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));

    const during = await call(
      'PATCH',
      '/api/v1/workspaces/before',
      { metadata: { labels: { during: 'flood' } } },
      'application/merge-patch+json',
    );
    expect(during.status).toBe(200);
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect((await call('POST', '/api/v1/workspaces', workspace('after'))).status).toBe(201);
    const list = (await (await call('GET', '/api/v1/workspaces')).json()) as {
      items: { metadata: { name: string; labels?: Record<string, string> } }[];
    };
    expect(list.items.map((o) => o.metadata.name)).toEqual(['after', 'before']);
    expect(list.items[1]!.metadata.labels).toEqual({ during: 'flood' });
    await agent.close();
  });

  it('closes a connection whose headers do not arrive in time, with a 408 Status', async () => {
    expect(serverUrl).not.toBe('');
    const { port } = new URL(serverUrl);
    const reply = await new Promise<string>((resolve) => {
      let got = '';
      const s = connect(Number(port), '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
      s.on('data', (d) => {
        got += d;
      });
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toMatchObject({ kind: 'Status', code: 408 });
  });
});
