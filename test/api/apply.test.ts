import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDocuments, parseDocuments } from '../../store/apply/index.js';
import { diskBytes, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const YAML = 'application/yaml';
const apply = (body: string, query = '', type = YAML) => t.req('POST', `/api/v1/apply${query}`, { body, type });
const actions = (r: { json: any }) => r.json.results.map((x: any) => `${x.kind.toLowerCase()}/${x.name} ${x.action}`);

const ws = (name: string, extra = '') => `apiVersion: tidepool/v1
kind: Workspace
metadata:
  name: ${name}
spec:
  running: true${extra}
`;
const pt = (name: string, workspace: string, port: number) => `apiVersion: tidepool/v1
kind: Port
metadata: {name: ${name}}
spec: {workspace: ${workspace}, port: ${port}}
`;
const docs = (...d: string[]) => d.join('---\n');

describe('POST /api/v1/apply', () => {
  it('creates every object, Workspaces before Ports, and stamps the applyset', async () => {
    // The Port comes first in the file: it still gets its ownerReference (the Workspace is created first).
    const r = await apply(docs(pt('alice-3000', 'alice', 3000), ws('alice'), ws('bob')), '?applyset=team');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ apiVersion: 'tidepool/v1', kind: 'ApplyResult', dryRun: false });
    expect(actions(r)).toEqual(['port/alice-3000 created', 'workspace/alice created', 'workspace/bob created']);
    const p = (await t.req('GET', '/api/v1/ports/alice-3000')).json;
    expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Workspace', name: 'alice' });
    expect(p.metadata.annotations).toEqual({ 'tidepool/applyset': 'team' });
  });

  it('writes nothing when nothing changed (the store file stays byte-for-byte the same)', async () => {
    const before = await diskBytes(t.storeFile);
    const r = await apply(docs(pt('alice-3000', 'alice', 3000), ws('alice'), ws('bob')), '?applyset=team');
    expect(actions(r)).toEqual(['port/alice-3000 unchanged', 'workspace/alice unchanged', 'workspace/bob unchanged']);
    expect((await diskBytes(t.storeFile)).equals(before)).toBe(true);
  });

  it('configures changed objects, keeping status, finalizers, server-owned annotations and what other managers set', async () => {
    const cur = (await t.req('GET', '/api/v1/workspaces/alice')).json;
    await t.req('PUT', '/api/v1/workspaces/alice/status', { body: { ...cur, status: { phase: 'Running' } } });
    await t.req('PATCH', '/api/v1/workspaces/alice', {
      type: 'application/merge-patch+json',
      body: {
        metadata: {
          finalizers: ['tidepool/vm'],
          annotations: { 'tidepool/last-seen': 'x', 'user/note': 'set by a patch' },
        },
      },
    });
    const r = await apply(
      docs(pt('alice-3000', 'alice', 3000), ws('alice', '\n  resources: {cpu: 4}'), ws('bob')),
      '?applyset=team',
    );
    expect(actions(r)).toEqual(['port/alice-3000 unchanged', 'workspace/alice configured', 'workspace/bob unchanged']);
    const a = (await t.req('GET', '/api/v1/workspaces/alice')).json;
    expect(a.spec).toEqual({ image: 'default', running: true, resources: { cpu: 4, memory: '4Gi' } });
    expect(a.metadata.generation).toBe(cur.metadata.generation + 1);
    expect(a.status).toEqual({ phase: 'Running' });
    expect(a.metadata.finalizers).toEqual(['tidepool/vm']);
    // The patch's manager owns user/note: an apply that does not set it leaves it (field ownership).
    expect(a.metadata.annotations).toEqual({
      'tidepool/applyset': 'team',
      'tidepool/last-seen': 'x',
      'user/note': 'set by a patch',
    });
    await t.req('PATCH', '/api/v1/workspaces/alice', {
      type: 'application/merge-patch+json',
      body: { metadata: { finalizers: null } },
    });
  });

  it('reports the same actions on a dry run and writes nothing', async () => {
    for (const q of ['?dryRun=true&applyset=team', '?dryRun=All&applyset=team', '?dryRun=server&applyset=team']) {
      const before = await diskBytes(t.storeFile);
      const r = await apply(docs(ws('alice', '\n  resources: {cpu: 8}'), ws('carol')), `${q}&prune=true`);
      expect(r.status).toBe(200);
      expect(r.json.dryRun).toBe(true);
      expect(actions(r)).toEqual([
        'workspace/alice configured',
        'workspace/carol created',
        'port/alice-3000 pruned',
        'workspace/bob pruned',
      ]);
      expect((await diskBytes(t.storeFile)).equals(before)).toBe(true);
      expect((await t.req('GET', '/api/v1/workspaces/carol')).status).toBe(404);
    }
  });

  it('prunes objects of the applyset that the apply no longer contains, except prune: disabled and other applysets', async () => {
    await apply(ws('other'), '?applyset=elsewhere');
    await apply(docs(ws('keep'), ws('dave')), '?applyset=team');
    await t.req('PATCH', '/api/v1/workspaces/keep', {
      type: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'tidepool/prune': 'disabled' } } },
    });
    const r = await apply(
      docs(ws('alice', '\n  resources: {cpu: 4}'), pt('alice-3000', 'alice', 3000)),
      '?applyset=team&prune=true',
    );
    expect(r.status).toBe(200);
    expect(actions(r)).toEqual([
      'workspace/alice unchanged',
      'port/alice-3000 unchanged',
      'workspace/bob pruned',
      'workspace/dave pruned',
    ]);
    const names = (await t.req('GET', '/api/v1/workspaces')).json.items.map((o: any) => o.metadata.name);
    expect(names).toEqual(['alice', 'keep', 'other']);
  });

  it('refuses to prune everything with an empty apply unless allowEmptyPrune', async () => {
    const before = await diskBytes(t.storeFile);
    const r = await apply('# nothing here\n', '?applyset=team&prune=true');
    expect(r.status).toBe(422);
    expect(r.json.message).toMatch(/refusing to prune/);
    expect(r.json.details.causes[0].field).toBe('allowEmptyPrune');
    expect((await diskBytes(t.storeFile)).equals(before)).toBe(true);
    const ok = await apply('', '?applyset=team&prune=true&allowEmptyPrune=true');
    expect(ok.status).toBe(200);
    expect(actions(ok)).toEqual(['port/alice-3000 pruned', 'workspace/alice pruned']);
    const nothing = await apply('', '?applyset=team&prune=true');
    expect(nothing.status).toBe(200);
    expect(nothing.json.results).toEqual([]);
  });

  it('accepts JSON: one object, an array, or a List', async () => {
    const o = (name: string) => ({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name }, spec: {} });
    const one = await apply(JSON.stringify(o('j1')), '', 'application/json');
    expect(actions(one)).toEqual(['workspace/j1 created']);
    const arr = await apply(JSON.stringify([o('j1'), o('j2')]), '', 'application/json');
    expect(actions(arr)).toEqual(['workspace/j1 unchanged', 'workspace/j2 created']);
    const list = await apply(
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [o('j3')] }),
      '',
      'application/json',
    );
    expect(actions(list)).toEqual(['workspace/j3 created']);
    const bad = await apply(
      JSON.stringify([o('j4'), { ...o('j5'), spec: { running: 'no' } }], null, 2),
      '',
      'application/json',
    );
    expect(bad.status).toBe(422);
    expect(bad.json.details.causes).toEqual([
      expect.objectContaining({ document: 1, field: 'spec.running', line: 17, column: 18 }),
    ]);
  });

  it('lists every violation with document, field, line and column, and writes nothing', async () => {
    const before = await diskBytes(t.storeFile);
    const text = [
      'apiVersion: tidepool/v1', //      1
      'kind: Workspace', //              2
      'metadata:', //                    3
      '  name: Bad_Name', //             4
      'spec:', //                        5
      '  resources:', //                 6
      '    cpu: 100', //                 7
      '---', //                          8
      'apiVersion: tidepool/v1', //      9
      'kind: Workspace', //             10
      'metadata: {name: fine}', //      11
      'spec: {}', //                    12
      '---', //                         13
      'apiVersion: tidepool/v1', //     14
      'kind: Port', //                  15
      'metadata:', //                   16
      '  name: p1', //                  17
      'spec:', //                       18
      '  workspace: fine', //           19
      '  colour: blue', //              20
      '---', //                         21
      'apiVersion: tidepool/v2', //     22
      'kind: Gizmo', //                 23
      'metadata: {name: g}', //         24
    ].join('\n');
    const r = await apply(text);
    expect(r.status).toBe(422);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'Invalid' });
    const causes = r.json.details.causes.map((c: any) => [c.document, c.field, c.line, c.column]);
    expect(causes).toEqual(
      expect.arrayContaining([
        [0, 'metadata.name', 4, 9],
        [0, 'spec.resources.cpu', 7, 10],
        [2, 'spec.port', 19, 3], // missing: the parent (spec) is pointed at
        [2, 'spec.colour', 20, 3], // unknown: the key is pointed at
        [3, 'apiVersion', 22, 13],
        [3, 'kind', 23, 7],
      ]),
    );
    expect(causes.some((c: any[]) => c[0] === 1)).toBe(false);
    expect(r.json.message).toMatch(/document 0 \(line 4, column 9\): metadata.name/);
    expect((await diskBytes(t.storeFile)).equals(before)).toBe(true);
  });

  it('checks cross-object rules for the whole batch before writing (6th Port, duplicate port, duplicate name)', async () => {
    const before = await diskBytes(t.storeFile);
    const six = docs(ws('w6'), ...[1, 2, 3, 4, 5, 6].map((i) => pt(`w6-${i}`, 'w6', 4000 + i)));
    const r = await apply(six);
    expect(r.status).toBe(422);
    expect(r.json.details.causes).toEqual([
      expect.objectContaining({ document: 6, field: 'spec.workspace', line: 36 }),
    ]);
    expect(r.json.message).toMatch(/at most 5 Ports/);
    const dup = await apply(docs(ws('wd'), pt('wd-a', 'wd', 5000), pt('wd-b', 'wd', 5000)));
    expect(dup.status).toBe(422);
    expect(dup.json.details.causes).toEqual([expect.objectContaining({ document: 2, field: 'spec.port' })]);
    const twice = await apply(docs(ws('same'), ws('same')));
    expect(twice.status).toBe(422);
    expect(twice.json.details.causes).toEqual([
      expect.objectContaining({ document: 1, field: 'metadata.name', reason: 'FieldValueDuplicate', line: 11 }),
    ]);
    expect((await diskBytes(t.storeFile)).equals(before)).toBe(true);
    expect((await t.req('GET', '/api/v1/workspaces/w6')).status).toBe(404);
  });

  it('reports YAML syntax errors, duplicate keys and alias bombs with line and column (400)', async () => {
    const dupKey = await apply('apiVersion: tidepool/v1\nkind: Workspace\nkind: Port\n');
    expect(dupKey.status).toBe(400);
    expect(dupKey.json.details.causes[0]).toMatchObject({ reason: 'DuplicateKey', document: 0, line: 3, column: 1 });
    const bomb = await apply(
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
    );
    expect(bomb.status).toBe(400);
    expect(bomb.json.details.causes[0]).toMatchObject({ reason: 'ExcessiveAliases', line: 2, column: 8 });
    const broken = await apply(docs(ws('ok'), 'metadata: {name: [x\n'));
    expect(broken.status).toBe(400);
    expect(broken.json.details.causes[0]).toMatchObject({ document: 1, line: 9 }); // the flow sequence is still open at the end of the text
    expect(broken.json.message).toMatch(/document 1 \(line 9, column \d+\)/);
  });

  it('answers 409 for a stale resourceVersion written in a manifest', async () => {
    await apply(ws('rv'));
    const cur = (await t.req('GET', '/api/v1/workspaces/rv')).json;
    await t.req('PATCH', '/api/v1/workspaces/rv', {
      type: 'application/merge-patch+json',
      body: { spec: { running: false } },
    });
    const r = await apply(
      `apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: rv, resourceVersion: "${cur.metadata.resourceVersion}"}\nspec: {}\n`,
    );
    expect(r.status).toBe(409);
    expect(r.json.message).toMatch(/^document 0/);
  });
});

describe('applyDocuments (the function the GitOps sync reuses)', () => {
  it('names the file in every cause and stamps extra annotations', async () => {
    await expect(
      applyDocuments(
        t.store,
        [
          { name: 'good.yaml', text: ws('fa') },
          { name: 'bad.yaml', text: pt('fp', 'fa', 22) },
        ],
        {},
      ),
    ).rejects.toMatchObject({
      reason: 'Invalid',
      details: { causes: [expect.objectContaining({ file: 'bad.yaml', document: 1, field: 'spec.port', line: 4 })] },
    });
    const res = await applyDocuments(t.store, [{ name: 'a.yaml', text: ws('fa') }], {
      applyset: 'sync-x',
      annotations: { 'tidepool/sync': 'x' },
    });
    expect(res.results).toEqual([{ kind: 'Workspace', name: 'fa', action: 'created' }]);
    expect(t.store.get('Workspace', 'fa')!.metadata.annotations).toEqual({
      'tidepool/applyset': 'sync-x',
      'tidepool/sync': 'x',
    });
    await expect(applyDocuments(t.store, [{ name: 'x.yaml', text: 'a: [' }])).rejects.toMatchObject({
      reason: 'BadRequest',
      details: { causes: [expect.objectContaining({ file: 'x.yaml', line: 1 })] },
    });
  });

  it('accepts already parsed objects and parseDocuments output', async () => {
    const res = await applyDocuments(t.store, [
      { apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name: 'fa' }, spec: {} },
    ]);
    expect(res.results[0]).toMatchObject({ name: 'fa' });
    const parsed = parseDocuments([{ name: 'f.yaml', text: docs(ws('pa'), ws('pb')) }]);
    expect(parsed.documents.map((d) => [d.index, d.file, d.line])).toEqual([
      [0, 'f.yaml', 1],
      [1, 'f.yaml', 8],
    ]);
    expect(parsed.documents[1]!.locate('spec.running')).toEqual({ line: 13, column: 12 });
    const res2 = await applyDocuments(t.store, parsed, { dryRun: true });
    expect(res2.results.map((x) => x.action)).toEqual(['created', 'created']);
    expect(t.store.get('Workspace', 'pa')).toBeUndefined();
  });
});
