import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocuments } from '../../store/apply/parse.js';
import { CliError } from '../../cli/errors.js';
import { ManifestError, bundle, identity, locate, readSources, type Source } from '../../cli/manifests.js';

const ws = (name: string) =>
  `apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: ${name}\nspec:\n  running: true\n`;

const SOURCES: Source[] = [
  {
    name: 'a.yaml',
    text: `# a header comment\n\n---\n${ws('one')}---\n# between\n\n${ws('two')}...\n---\n---\n# only a comment\n`,
  },
  {
    name: 'b.json',
    text: '{\n  "apiVersion": "tidepool/v1",\n  "kind": "Port",\n  "metadata": {"name": "one-3000"},\n  "spec": {"workspace": "one",\n    "port": 3000}\n}\n',
  },
  {
    // Two objects on the first line: the second starts mid-line, so columns matter.
    name: 'c.json',
    text: '[{"apiVersion": "tidepool/v1", "kind": "Workspace", "metadata": {"name": "three"}}, {"apiVersion": "tidepool/v1",\n   "kind": "Port", "metadata": {"name": "three-4000"}, "spec": {"workspace": "three", "port": 4000}}]\n',
  },
  {
    name: 'd.yaml',
    text: 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: tidepool/v1\n    kind: Workspace\n    metadata:\n      name: four\n  - apiVersion: tidepool/v1\n    kind: Port\n    metadata: {name: four-5000}\n    spec:\n      workspace: four\n      port: 5000\n',
  },
  { name: 'e.yaml', text: '# nothing here\n' },
  { name: 'f.yaml', text: `%YAML 1.2\n---\n${ws('five')}` },
  { name: 'g.yaml', text: `  \n${ws('six')}` },
];

const FIELDS = ['kind', 'metadata', 'metadata.name', 'spec', 'spec.port', 'spec.workspace', 'spec.running'];

describe('bundle: many files into one request body, and back', () => {
  const b = bundle(SOURCES);

  it('keeps every object, in order, and drops empty documents', () => {
    expect(b.docs.map((d) => identity(d.object).name)).toEqual([
      'one',
      'two',
      'one-3000',
      'three',
      'three-4000',
      'four',
      'four-5000',
      'five',
      'six',
    ]);
    expect(b.docs.map((d) => d.file)).toEqual([
      'a.yaml',
      'a.yaml',
      'b.json',
      'c.json',
      'c.json',
      'd.yaml',
      'd.yaml',
      'f.yaml',
      'g.yaml',
    ]);
    expect(b.docs.map((d) => d.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('is one multi-document YAML body the server reads as the same objects', () => {
    const parsed = parseDocuments([{ text: b.body }]);
    expect(parsed.documents.map((d) => d.object)).toEqual(b.docs.map((d) => d.object));
  });

  it('maps every position the server reports back to the file, line and column of the node', () => {
    const whole = parseDocuments([{ text: b.body }]).documents;
    let checked = 0;
    for (const src of SOURCES) {
      const own = parseDocuments([{ name: src.name, text: src.text }]).documents;
      const mine = b.docs.filter((d) => d.file === src.name);
      expect(own.length).toBe(mine.length);
      own.forEach((doc, i) => {
        const inBody = whole[mine[i]!.index]!;
        for (const field of FIELDS) {
          const want = doc.locate(field);
          const got = inBody.locate(field);
          if (!want || !got) continue;
          const mapped = locate(b, {
            reason: 'FieldValueInvalid',
            message: 'x',
            field,
            document: inBody.index,
            ...got,
          });
          expect({ file: mapped.file, line: mapped.line, column: mapped.column }, `${src.name} #${i} ${field}`).toEqual(
            { file: src.name, line: want.line, column: want.column },
          );
          checked++;
        }
      });
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('points a cause with only a document index at the first line of that document', () => {
    const c = locate(b, { reason: 'FieldValueDuplicate', message: 'dup', document: 2 });
    expect(c).toMatchObject({ file: 'b.json', line: 1 });
    expect(c.document).toBeUndefined();
  });

  it('leaves a cause that names its own file alone', () => {
    const c = { reason: 'X', message: 'm', file: 'other.yaml', line: 3, column: 4 };
    expect(locate(b, c)).toEqual(c);
  });

  it('an empty set of sources is an empty body', () => {
    expect(
      bundle([
        { name: 'x.yaml', text: '' },
        { name: 'y.yaml', text: '---\n# c\n' },
      ]),
    ).toEqual({ body: '', docs: [] });
  });
});

describe('bundle: YAML that does not parse', () => {
  it('reports every broken file with file, line and column, and sends nothing', () => {
    let err: unknown;
    try {
      bundle([
        { name: 'ok.yaml', text: ws('ok') },
        { name: 'dup.yaml', text: 'apiVersion: tidepool/v1\nkind: Workspace\nkind: Port\n' },
        { name: 'bad.yaml', text: 'a: [1, 2\nb: 3\n' },
      ]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ManifestError);
    const causes = (err as ManifestError).causes;
    expect(causes.map((c) => c.file)).toContain('dup.yaml');
    expect(causes.map((c) => c.file)).toContain('bad.yaml');
    expect(causes.map((c) => c.file)).not.toContain('ok.yaml');
    const dup = causes.find((c) => c.file === 'dup.yaml')!;
    expect([dup.line, dup.column]).toEqual([3, 1]);
    expect(dup.message).toMatch(/unique/i);
  });
});

describe('readSources', () => {
  it('reads files, directories (sorted; subdirectories with -R only) and stdin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-cli-src-'));
    await mkdir(join(dir, 'sub'));
    await mkdir(join(dir, '.git'));
    for (const [f, t] of [
      ['b.yml', ws('b')],
      ['a.yaml', ws('a')],
      ['c.json', '{}'],
      ['notes.txt', 'x'],
      ['.hidden.yaml', ws('h')],
      ['sub/d.yaml', ws('d')],
      ['.git/e.yaml', ws('e')],
    ] as const) {
      await writeFile(join(dir, f), t);
    }
    const flat = await readSources([dir], false);
    expect(flat.map((s) => s.name)).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml'), join(dir, 'c.json')]);
    const deep = await readSources([dir], true);
    expect(deep.map((s) => s.name)).toEqual([...flat.map((s) => s.name), join(dir, 'sub', 'd.yaml')]);
    // An explicit file is read whatever its extension; - is stdin.
    const mixed = await readSources([join(dir, 'notes.txt'), '-'], false, async () => ws('in'));
    expect(mixed).toEqual([
      { name: join(dir, 'notes.txt'), text: 'x' },
      { name: '<stdin>', text: ws('in') },
    ]);
  });

  it('a path that does not exist is a clear error', async () => {
    await expect(readSources(['/nonexistent/x.yaml'], false)).rejects.toThrow(
      new CliError('the path "/nonexistent/x.yaml" does not exist'),
    );
  });
});
