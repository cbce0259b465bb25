// A sync folder stays a folder, with real files and the real sync: a link that leads out of
// it (to /usr, to a 0600 file elsewhere) is refused, naming the link and never echoing what it
// points to; a link within the folder is followed; a folder past the file or byte cap is
// refused naming the cap; a YAML error shows where, not the source; and a file missing for a
// moment (an editor's save) prunes nothing, while one gone for good is pruned once settled.
import { chmod, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, harness, waitFor, workspaceYaml } from './helpers.js';

afterEach(cleanupAll);

const outside: string[] = [];
afterEach(async () => {
  for (const d of outside.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Everything the sync reports: its status and the events it recorded. */
const reported = (h: Awaited<ReturnType<typeof harness>>) =>
  JSON.stringify([h.store.get('Sync', 'manifests'), h.events]);

describe('links in a sync folder', () => {
  it('a link to /usr is refused naming the link; nothing is applied or pruned until it goes', async () => {
    const h = await harness({ 'alice.yaml': workspaceYaml('alice') });
    expect(h.ws('alice')).toBeDefined();
    await symlink('/usr', join(h.dir, 'usr'));
    await h.write('bob.yaml', workspaceYaml('bob'));
    const stalled = await waitFor(
      () => (h.condition('Stalled')?.reason === 'LinkOutsideFolder' ? h.condition('Stalled') : undefined),
      'Stalled LinkOutsideFolder',
    );
    expect(stalled.message).toContain('usr in sync folder');
    expect(stalled.message).toContain('leads out of the folder');
    expect(h.status().errors?.[0]).toMatchObject({ reason: 'LinkOutsideFolder', file: 'usr' });
    expect(h.ws('bob')).toBeUndefined();
    expect(h.ws('alice')).toBeDefined();
    await unlink(join(h.dir, 'usr'));
    await waitFor(() => h.ws('bob'), 'bob applied once the link is gone');
  });

  it('a link to a 0600 file outside the folder is never read, and its content never shows', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'tp-outside-'));
    outside.push(elsewhere);
    const secret = join(elsewhere, 'secret.yaml');
    await writeFile(secret, 'password: hunter2-do-not-echo\n');
    await chmod(secret, 0o600);
    const h = await harness({ 'alice.yaml': workspaceYaml('alice') });
    await symlink(secret, join(h.dir, 'creds.yaml'));
    await waitFor(() => h.condition('Stalled')?.reason === 'LinkOutsideFolder', 'Stalled LinkOutsideFolder');
    expect(h.status().errors?.[0]).toMatchObject({ file: 'creds.yaml' });
    expect(reported(h)).not.toContain('hunter2');
    expect(reported(h)).not.toContain(elsewhere);
  });

  it('a link to a file inside the folder is followed', async () => {
    // A dot-folder is not read by itself; a link to a file in it is.
    const h = await harness({ '.shared/carol.yaml': workspaceYaml('carol') });
    expect(h.ws('carol')).toBeUndefined();
    await symlink(join(h.dir, '.shared', 'carol.yaml'), join(h.dir, 'carol.yaml'));
    await waitFor(() => h.ws('carol'), 'carol applied through the link');
    expect(h.condition('Stalled')?.status).not.toBe('True');
  });
});

describe('caps per revision', () => {
  it('more manifest files than the cap is refused, naming the cap, and nothing is applied', async () => {
    const files = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`w${i}.yaml`, workspaceYaml(`w${i}`)]));
    const h = await harness(files, { maxFiles: 3 });
    const stalled = await waitFor(
      () => (h.condition('Stalled')?.reason === 'FolderTooLarge' ? h.condition('Stalled') : undefined),
      'Stalled FolderTooLarge',
    );
    expect(stalled.message).toContain('more than 3 files');
    expect(stalled.message).toContain('MAX_MANIFEST_FILES');
    expect(h.store.list('Workspace').items).toEqual([]);
  });

  it('more bytes than the cap is refused, naming the cap', async () => {
    const h = await harness({ 'a.yaml': workspaceYaml('a'), 'b.yaml': workspaceYaml('b') }, { maxBytes: 100 });
    const stalled = await waitFor(
      () => (h.condition('Stalled')?.reason === 'FolderTooLarge' ? h.condition('Stalled') : undefined),
      'Stalled FolderTooLarge',
    );
    expect(stalled.message).toContain('more than 100 bytes');
    expect(stalled.message).toContain('MAX_MANIFEST_BYTES');
  });
});

describe('errors name the place, not the content', () => {
  it('a YAML error in a file shows file, line and column but no token of the source', async () => {
    const h = await harness({ 'bad.yaml': 'apiVersion: tidepool/v1\nkind: *token-from-the-file\n' });
    await waitFor(() => h.condition('Stalled')?.reason === 'BuildFailed', 'Stalled BuildFailed');
    expect(h.status().errors?.[0]).toMatchObject({ file: 'bad.yaml', line: 2 });
    expect(reported(h)).not.toContain('token-from-the-file');
  });
});

describe('a file missing for a moment', () => {
  it("(an editor's save) prunes nothing; a file gone for good is pruned once settled", async () => {
    const h = await harness(
      { 'alice.yaml': workspaceYaml('alice'), 'bob.yaml': workspaceYaml('bob') },
      { pruneSettleMs: 3000 },
    );
    const uid = h.ws('alice')!.metadata.uid;
    const deleted: string[] = [];
    h.store.watch({ kind: 'Workspace' }, (ev) => {
      if (ev.type === 'DELETED' || ev.object.metadata.deletionTimestamp) deleted.push(ev.object.metadata.name);
    });
    // The save: the file is gone while the sync reads the folder (a revision without it is
    // attempted), then it is back.
    const before = h.revisions.length;
    await unlink(join(h.dir, 'alice.yaml'));
    await waitFor(() => h.revisions.length > before, 'a revision read without alice.yaml');
    await h.write('alice.yaml', workspaceYaml('alice'));
    await waitFor(() => h.revisions.length > before + 1, 'a revision read with alice.yaml again');
    expect(h.ws('alice')?.metadata.uid).toBe(uid);
    // Gone for good: pruned after the settle interval, when the folder is read again.
    await unlink(join(h.dir, 'bob.yaml'));
    await waitFor(() => !h.ws('bob'), 'bob pruned once settled', 20_000);
    // The watch hears of the delete once it is on disk, which can be just after the read above.
    await waitFor(() => deleted.length > 0, 'the delete of bob seen by the watch');
    expect(deleted).toEqual(['bob']);
    expect(h.ws('alice')?.metadata.uid).toBe(uid);
  });
});
