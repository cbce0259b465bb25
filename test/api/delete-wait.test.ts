// `tidepool delete --wait` of 10 names shares one deadline among ten waiters: no
// MaxListenersExceededWarning, and it returns once every object is gone.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, USER, startTestServer, workspace, type TestServer } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe('delete --wait', () => {
  it('waits for 10 names without a MaxListenersExceededWarning', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `w${i}`);
    // A finalizer holds each one, so that all ten waiters wait (each on a watch and a deadline).
    for (const n of names)
      expect(
        (await t.req('POST', '/api/v1/workspaces', { body: workspace(n, {}, { finalizers: ['example.com/hold'] }) }))
          .status,
      ).toBe(201);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TIDEPOOL_')) env[k] = v;
    Object.assign(env, { TIDEPOOL_SERVER: t.url, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD });
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'cli/main.ts', 'delete', 'workspace', ...names, '--wait', '--timeout=60s'],
        { cwd: ROOT, env, timeout: 90_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    // Once every name is marked for deletion, let them go.
    for (let i = 0; i < 200; i++) {
      const items = (await t.req('GET', '/api/v1/workspaces')).json.items as {
        metadata: { deletionTimestamp?: string };
      }[];
      if (items.every((o) => o.metadata.deletionTimestamp)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    await new Promise((res) => setTimeout(res, 1500));
    for (const n of names) {
      expect(
        (
          await t.req('PATCH', `/api/v1/workspaces/${n}`, {
            body: { metadata: { finalizers: null } },
            type: 'application/merge-patch+json',
          })
        ).status,
      ).toBe(200);
    }
    const r = await done;
    expect(r.stderr).not.toContain('MaxListenersExceededWarning');
    expect(r.code, r.stderr).toBe(0);
    expect((await t.req('GET', '/api/v1/workspaces')).json.items).toEqual([]);
  });
});
