// A workspace's activity log (.logs/<ws>/events.jsonl) is rotated past its size limit and
// removed with its workspace; logs of workspaces deleted while Tidepool was down go at start.
import { mkdir, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store, type Resource } from '../../store/index.js';
import { EventRecorder, FakeClock } from '../../controller/index.js';
import { validateManifest } from '../../specs/index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const ws = (name: string) =>
  validateManifest({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name }, spec: {} }).object as Resource;
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('activity logs', () => {
  it('are rotated, and removed with their workspace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-actlog-'));
    // A workspace deleted while Tidepool was not running left its log behind.
    await mkdir(join(dir, '.logs', 'ghost'), { recursive: true });
    await writeFile(join(dir, '.logs', 'ghost', 'events.jsonl'), '{}\n');
    const store = await Store.open(join(dir, 'store.json'));
    await store.create(ws('busy'));
    const clock = new FakeClock(Date.parse('2030-01-01T00:00:00Z'));
    const rec = new EventRecorder({
      store,
      clock,
      logger: silent,
      dataDir: dir,
      burst: 1000,
      flushDelayMs: 1,
      maxLogBytes: 4096,
    });
    const log = join(dir, '.logs', 'busy', 'events.jsonl');
    for (let i = 0; i < 60; i++) {
      rec.record({ kind: 'Workspace', name: 'busy' }, 'Normal', 'Churn', `round ${i} ${'x'.repeat(100)}`);
      await rec.flush();
    }
    expect((await stat(log)).size).toBeLessThanOrEqual(4096);
    expect((await stat(`${log}.1`)).size).toBeLessThanOrEqual(4096);
    expect(await exists(join(dir, '.logs', 'ghost'))).toBe(false);

    await store.delete('Workspace', 'busy');
    rec.record({ kind: 'Workspace', name: 'busy' }, 'Normal', 'Deleted', 'late news');
    await rec.flush();
    await rec.close();
    expect(await readdir(join(dir, '.logs'))).toEqual([]);
    await store.close();
  });
});
