// A journal that is not whole is refused at start, naming the file, the line and what is
// missing, and nothing on disk is changed: a store missing objects would make the controller
// see their workspaces' containers and homes as orphans. Real files written by a real Store.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store, StoreOpenError } from '../../store/index.js';

const workspace = (name: string) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name },
  spec: { image: 'default', running: true, resources: { cpu: 2, memory: '4Gi' } },
});

/** A store with `n` workspaces, each created by a transaction (one journal line) of its own. */
async function storeWithLines(n: number): Promise<{ dir: string; path: string; journal: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-journal-'));
  const path = join(dir, 'store.json');
  const store = await Store.open(path);
  for (let i = 0; i < n; i++) await store.create(workspace(`w${i}`));
  await store.close();
  const journal = (await readFile(`${path}.journal`, 'utf8')).split('\n').filter(Boolean);
  expect(journal).toHaveLength(n);
  return { dir, path, journal };
}

/** Opens the store, expects a refusal, and checks that no file changed. */
async function refusal(dir: string, path: string): Promise<string> {
  const names = await readdir(dir);
  const before = await Promise.all(names.map((f) => readFile(join(dir, f), 'utf8')));
  const err = await Store.open(path).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(StoreOpenError);
  expect(await readdir(dir)).toEqual(names);
  expect(await Promise.all(names.map((f) => readFile(join(dir, f), 'utf8')))).toEqual(before);
  return err!.message;
}

describe('a journal that is not whole', () => {
  it('each line names the line before it', async () => {
    const { dir, journal } = await storeWithLines(3);
    const entries = journal.map((l) => JSON.parse(l) as { rv: number; prev: number });
    expect(entries[1]!.prev).toBe(entries[0]!.rv);
    expect(entries[2]!.prev).toBe(entries[1]!.rv);
    await rm(dir, { recursive: true });
  });

  it('refuses a journal whose snapshot is missing, naming both and how to fix it', async () => {
    const { dir, path } = await storeWithLines(3);
    await rm(path);
    const msg = await refusal(dir, path);
    expect(msg).toContain(`${path}.journal`);
    expect(msg).toContain(`its snapshot ${path} is missing`);
    expect(msg).toContain('holds 3 records');
    expect(msg).toContain(`restore ${path} from a backup`);
    await rm(dir, { recursive: true });
  });

  it('refuses a journal with lines cut from its middle, naming the line and the gap', async () => {
    const { dir, path, journal } = await storeWithLines(5);
    const kept = [journal[0], journal[1], journal[4]];
    await writeFile(`${path}.journal`, `${kept.join('\n')}\n`);
    const msg = await refusal(dir, path);
    const cut = JSON.parse(journal[3]!) as { rv: number };
    const before = JSON.parse(journal[1]!) as { rv: number };
    expect(msg).toContain(`${path}.journal, line 3`);
    expect(msg).toContain(`follows resourceVersion ${cut.rv}, but the line before it is ${before.rv}`);
    expect(msg).toContain('keep only the lines before line 3');
    await rm(dir, { recursive: true });
  });

  it('refuses a journal with lines cut from its start (after the snapshot)', async () => {
    const { dir, path, journal } = await storeWithLines(4);
    await writeFile(`${path}.journal`, `${journal.slice(2).join('\n')}\n`);
    const msg = await refusal(dir, path);
    expect(msg).toContain(`${path}.journal, line 1`);
    expect(msg).toMatch(/the snapshot is at 0 and no line before it reaches \d+/);
    await rm(dir, { recursive: true });
  });

  it('still loads a whole journal, and a journal of lines written before `prev` existed', async () => {
    const { dir, path, journal } = await storeWithLines(3);
    const store = await Store.open(path);
    expect(store.list('Workspace').items).toHaveLength(3);
    await store.close();
    // Older lines carry no `prev`: they load unchecked, and new lines chain on from them.
    const old = journal.map((l) => l.replace(/,"prev":\d+/, ''));
    await writeFile(`${path}.journal`, `${old.join('\n')}\n`);
    const again = await Store.open(path);
    expect(again.list('Workspace').items).toHaveLength(3);
    await again.create(workspace('w3'));
    await again.close();
    const reopened = await Store.open(path);
    expect(reopened.list('Workspace').items).toHaveLength(4);
    await reopened.close();
    await rm(dir, { recursive: true });
  });

  it('loads after compactions folded the journal into new snapshots', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-journal-'));
    const path = join(dir, 'store.json');
    const store = await Store.open(path, { journal: { compactBytes: 1024 } });
    for (let i = 0; i < 30; i++) await store.create(workspace(`w${i}`));
    await store.close();
    const reopened = await Store.open(path);
    expect(reopened.list('Workspace').items).toHaveLength(30);
    await reopened.close();
    await rm(dir, { recursive: true });
  });
});

describe('a corrupt Events file', () => {
  it('is set aside with a warning naming it, and the store starts with its objects', async () => {
    const { dir, path } = await storeWithLines(2);
    const events = join(dir, 'store.events.json');
    await writeFile(`${events}.journal`, '{"rv":99,"put":[{"kind":"Event","metadata":{"name":"x"}}]}\nnot json\n');
    const warnings: string[] = [];
    const store = await Store.open(path, { warn: (m) => warnings.push(m) });
    expect(store.list('Workspace').items).toHaveLength(2);
    expect(store.list('Event').items).toHaveLength(0);
    // The counter does not go back below what the set-aside file handed out.
    expect(Number(store.resourceVersion)).toBeGreaterThanOrEqual(99);
    await store.create(workspace('after'));
    await store.close();
    expect(warnings).toHaveLength(1);
    const aside = (await readdir(dir)).filter((f) => f.startsWith('store.events.json.journal.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(warnings[0]).toContain(join(dir, aside[0]!));
    expect(await readFile(join(dir, aside[0]!), 'utf8')).toContain('not json');
    const reopened = await Store.open(path);
    expect(reopened.list('Workspace').items).toHaveLength(3);
    await reopened.close();
    await rm(dir, { recursive: true });
  });
});
