// The data directory on a small tmpfs (mounted here; the tests run as root, as CI does):
// a write the disk refuses is answered 503 and is not served afterwards, /readyz says the
// store cannot write, and once space is freed the store takes writes again by itself.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../store/index.js';
import { startServer, type StartedServer } from '../../api/server.js';
import { AUTH, PASSWORD, USER, workspace } from './helpers.js';
import { fetch } from 'undici';

let mnt: string;
let mounted = false;

beforeAll(async () => {
  mnt = await mkdtemp(join(tmpdir(), 'tp-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  mounted = true;
});

afterAll(async () => {
  if (mounted) execFileSync('umount', [mnt]);
  await rmdir(mnt).catch(() => {});
});

const req = (url: string, method: string, path: string, body?: unknown) =>
  fetch(`${url}${path}`, {
    method,
    headers: { authorization: AUTH, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

describe('a full disk', () => {
  it('refuses the write, does not serve it, reports it on /readyz and recovers without a restart', async () => {
    const dataDir = join(mnt, 'data');
    const storeFile = join(dataDir, 'store.json');
    // Retries every 1.5 s: slow enough that /readyz is read while the store still cannot write
    // (a quick retry can already get through once the refused write is cut off the journal).
    const store = await Store.open(storeFile, { retryMs: 1500, journal: { compactBytes: 64 * 1024 } });
    const server: StartedServer = await startServer({
      store,
      listen: '127.0.0.1:0',
      logger: false,
      credentials: { username: USER, password: PASSWORD },
    });
    const url = server.address;
    const ok: string[] = [];
    try {
      // Fill the tmpfs, then write until the disk refuses one.
      await writeFile(join(mnt, 'filler'), Buffer.alloc(2 * 2 ** 20 - 96 * 1024));
      const big = { 'example.com/note': 'x'.repeat(8000) };
      let refused: string | undefined;
      for (let i = 0; i < 200 && !refused; i++) {
        const name = `ws-${i}`;
        const r = await req(url, 'POST', '/api/v1/workspaces', workspace(name, {}, { annotations: big }));
        if (r.status === 201) ok.push(name);
        else {
          expect(r.status).toBe(503);
          const st = (await r.json()) as { kind: string; reason: string; message: string };
          expect(st.kind).toBe('Status');
          expect(st.message).toMatch(/ENOSPC|no space/i);
          refused = name;
        }
      }
      expect(refused).toBeDefined();
      expect(ok.length).toBeGreaterThan(0);

      // Not served, not listed.
      expect((await req(url, 'GET', `/api/v1/workspaces/${refused}`)).status).toBe(404);
      const list = (await (await req(url, 'GET', '/api/v1/workspaces')).json()) as {
        items: { metadata: { name: string } }[];
      };
      expect(list.items.map((o) => o.metadata.name)).toEqual([...ok].sort());
      // /healthz is liveness; /readyz says the store cannot write.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { message: string }).message).toMatch(/cannot be written/);

      // Space comes back: the store notices by itself (no write needed), then takes writes.
      await rm(join(mnt, 'filler'));
      let readyAgain = false;
      for (let i = 0; i < 200 && !readyAgain; i++) {
        readyAgain = (await fetch(`${url}/readyz`)).status === 200;
        if (!readyAgain) await new Promise((r) => setTimeout(r, 50));
      }
      expect(readyAgain).toBe(true);
      const again = await req(url, 'POST', '/api/v1/workspaces', workspace(refused!, {}, { annotations: big }));
      expect(again.status).toBe(201);
      ok.push(refused!);
      const patched = await fetch(`${url}/api/v1/workspaces/${ok[0]}`, {
        method: 'PATCH',
        headers: { authorization: AUTH, 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { labels: { after: 'yes' } } }),
      });
      expect(patched.status).toBe(200);
    } finally {
      await server.close();
      await store.close();
    }
    // What is on disk is exactly what was acknowledged.
    const reopened = await Store.open(storeFile);
    expect(
      reopened
        .list('Workspace')
        .items.map((o) => o.metadata.name)
        .sort(),
    ).toEqual([...ok].sort());
    expect(reopened.get('Workspace', 'ws-0')?.metadata.labels).toEqual({ after: 'yes' });
    await reopened.close();
  });
});
