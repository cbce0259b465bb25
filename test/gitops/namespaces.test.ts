// A sync applies into one namespace (`--sync-dir NS/NAME=DIR`): its objects land there, one
// naming another namespace is refused with its file and line, and its prunes never reach
// another namespace's objects of the same name.
import { afterEach, describe, expect, it } from 'vitest';
import { parseSyncDirFlag } from '../../server/sync-dirs.js';
import { validateManifest, type Workspace } from '../../specs/index.js';
import { cleanupAll, harness, waitFor, workspaceYaml } from './helpers.js';

afterEach(cleanupAll);

describe('a sync in a namespace', () => {
  it('reads NS/NAME=DIR as the sync NAME applying DIR into NS', () => {
    expect(parseSyncDirFlag('team-a/web=/srv/m')).toEqual({ name: 'web', dir: '/srv/m', namespace: 'team-a' });
    expect(parseSyncDirFlag('web=/srv/m')).toEqual({ name: 'web', dir: '/srv/m' });
  });

  it('applies its objects into its namespace and prunes only there', async () => {
    const h = await harness(
      { 'dev.yaml': workspaceYaml('dev', { running: false }) },
      { namespace: 'team-a', pruneSettleMs: 0 },
    );
    // A `dev` of the default namespace, made by hand: the sync must never touch it.
    const other = validateManifest({
      apiVersion: 'tidepool/v1',
      kind: 'Workspace',
      metadata: { name: 'dev' },
      spec: { running: false },
    });
    await h.store.create(other.object as Workspace);
    await waitFor(() => h.store.get('Workspace', 'team-a/dev'), 'team-a/dev applied');
    expect(h.store.get('Workspace', 'team-a/dev')!.metadata.namespace).toBe('team-a');
    await h.write('dev.yaml', workspaceYaml('other', { running: false }));
    await waitFor(
      () => !h.store.get('Workspace', 'team-a/dev') && h.store.get('Workspace', 'team-a/other'),
      'pruned in team-a',
    );
    expect(h.store.get('Workspace', 'dev')).toBeDefined();
  });

  it('refuses an object naming another namespace, with its file and line, and writes nothing', async () => {
    const foreign = workspaceYaml('x', { running: false }).replace('  name: x\n', '  name: x\n  namespace: team-b\n');
    const h = await harness(
      { 'ok.yaml': workspaceYaml('ok', { running: false }), 'x.yaml': foreign },
      { namespace: 'team-a' },
    );
    await waitFor(() => h.condition('Stalled')?.status === 'True', 'Stalled');
    expect(h.condition('Stalled')!.reason).toBe('ValidationFailed');
    expect(h.status().errors![0]).toMatchObject({ file: 'x.yaml', field: 'metadata.namespace', line: 5 });
    expect(h.status().errors![0]!.message).toMatch(/"team-b".*"team-a"/);
    expect(h.store.list('Workspace').items).toEqual([]);
  });
});
