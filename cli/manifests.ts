// Reading manifests for apply, diff and delete -f: files, directories (-R) and stdin are
// concatenated into one multi-document YAML body, so that the server validates everything
// before writing anything, while a map from each document of that body back to its file
// and line lets the CLI print server errors as `file.yaml:12:7: spec.port: ...`.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import type { StatusCause } from '../specs/index.js';
import { CliError } from './errors.js';
import { errorMessage } from '../specs/errors.js';

export interface Source {
  /** As the user named it (a path joined from what they typed), or `<stdin>`. */
  name: string;
  text: string;
}

/** One manifest in the request body. */
export interface ManifestDoc {
  /** Index of the document in the body, from 0: what the server calls `document`. */
  index: number;
  file: string;
  /** 1-based line of the document's first line in its file, and in the body. */
  fileLine: number;
  bodyLine: number;
  lineCount: number;
  /** The document as plain data (kind, metadata.name, ... as written; no defaults). */
  object: unknown;
}

export interface Bundle {
  body: string;
  docs: ManifestDoc[];
}

export const STDIN = '<stdin>';
const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/** Reads every -f argument: a file, a directory (its *.yaml, *.yml, *.json; all levels with -R) or `-`. */
export async function readSources(
  paths: string[],
  recursive: boolean,
  readStdin: () => Promise<string> = readAllStdin,
): Promise<Source[]> {
  const out: Source[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ name: STDIN, text: await readStdin() });
      continue;
    }
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`the path "${p}" does not exist`);
      throw new CliError(`cannot read "${p}": ${errorMessage(err)}`);
    }
    if (st.isDirectory()) {
      for (const f of await listDir(p, recursive)) out.push({ name: f, text: await readText(f) });
    } else {
      out.push({ name: p, text: await readText(p) });
    }
  }
  return out;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read "${path}": ${errorMessage(err)}`);
  }
}

/** Manifest files of a directory in name order; subdirectories (after the files) only when recursive. Dot entries are skipped. */
async function listDir(dir: string, recursive: boolean): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  const dirs: string[] = [];
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) dirs.push(full);
    else if (MANIFEST_EXT.test(e.name)) {
      if (e.isFile()) files.push(full);
      else if (e.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isFile()) files.push(full);
    }
  }
  if (recursive) for (const d of dirs) files.push(...(await listDir(d, true)));
  return files;
}

export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  const ls = lineStart(text, offset);
  return { line: lineAt(text, offset), column: offset - ls + 1 };
}

const countLines = (s: string) => (s === '' ? 0 : s.split('\n').length - (s.endsWith('\n') ? 1 : 0));

function isEmptyDoc(doc: Document): boolean {
  const c = doc.contents;
  return c === null || (isScalar(c) && (c.value === null || c.value === undefined));
}

/** A List (a top-level sequence, or `kind: List` with `items`) is split into its items. */
function listItems(doc: Document): Node[] | undefined {
  const c = doc.contents;
  if (isSeq(c)) return c.items as Node[];
  if (isMap(c) && c.get('kind') === 'List') {
    const items = c.get('items', true);
    if (isSeq(items)) return items.items as Node[];
  }
  return undefined;
}

/** The data of a node; an alias bomb or the like is left for the server to reject. */
function toPlain(f: () => unknown): unknown {
  try {
    return f();
  } catch {
    return undefined;
  }
}

interface Piece {
  file: string;
  fileLine: number;
  text: string;
  object: unknown;
}

/**
 * Splits every source into its documents (empty ones dropped, Lists split into items) and
 * joins them with `---` into one body. A YAML syntax error anywhere is reported here, with
 * file, line and column, and nothing is sent.
 */
export function bundle(sources: Source[]): Bundle {
  const pieces: Piece[] = [];
  const problems: (StatusCause & { file: string })[] = [];
  for (const src of sources) {
    const docs = parseAllDocuments(src.text, { prettyErrors: false });
    const list = Array.isArray(docs) ? docs : [];
    if (!Array.isArray(docs)) {
      // An EmptyStream: nothing but comments or whitespace.
      continue;
    }
    let broken = false;
    for (const doc of list) {
      for (const e of doc.errors) {
        broken = true;
        const at = lineCol(src.text, e.pos[0]);
        problems.push({
          file: src.name,
          reason: 'FieldValueInvalid',
          message: `invalid YAML: ${e.message.split('\n')[0]}`,
          ...at,
        });
      }
    }
    if (broken) continue;
    // Keeps the columns of the first line: what came before the piece on its line becomes spaces.
    const piece = (start: number, end: number, object: () => unknown) => {
      const text = ' '.repeat(start - lineStart(src.text, start)) + src.text.slice(start, end);
      pieces.push({ file: src.name, fileLine: lineAt(src.text, start), text, object: toPlain(object) });
    };
    for (const doc of list) {
      if (isEmptyDoc(doc)) continue;
      const items = listItems(doc);
      if (items) {
        for (const item of items) {
          if (!item.range) continue;
          piece(item.range[0], item.range[2], () => item.toJS(doc, { maxAliasCount: 100 }));
        }
        continue;
      }
      piece(doc.range[0], doc.range[2], () => doc.toJS({ maxAliasCount: 100 }));
    }
  }
  if (problems.length) throw new ManifestError(problems);

  const parts: string[] = [];
  const docs: ManifestDoc[] = [];
  let line = 1;
  pieces.forEach((p, index) => {
    const text = p.text.endsWith('\n') ? p.text : `${p.text}\n`;
    // A document that starts with its own `---` needs no separator; directives need the previous document ended.
    let sep: string;
    if (/^---(\s|$)/.test(text)) sep = '';
    else if (text.startsWith('%')) sep = index > 0 ? '...\n' : '';
    else sep = '---\n';
    line += countLines(sep);
    docs.push({
      index,
      file: p.file,
      fileLine: p.fileLine,
      bodyLine: line,
      lineCount: countLines(text),
      object: p.object,
    });
    parts.push(sep, text);
    line += countLines(text);
  });
  return { body: parts.join(''), docs };
}

/** Problems found before anything was sent: YAML that does not parse. */
export class ManifestError extends Error {
  constructor(readonly causes: (StatusCause & { file: string })[]) {
    super(`${causes.length} problem${causes.length === 1 ? '' : 's'} in the manifests`);
    this.name = 'ManifestError';
  }
}

/**
 * Where a cause the server reported against the body is in the user's files. The server
 * numbers lines over the whole body; a cause with only a document index points at the
 * document's first line.
 */
export function locate(b: Bundle, cause: StatusCause): StatusCause & { file?: string } {
  if (cause.file) return cause;
  if (cause.line !== undefined) {
    const d =
      b.docs.find((x) => cause.line! >= x.bodyLine && cause.line! < x.bodyLine + x.lineCount) ??
      // A line past the last document (the end of the body) belongs to the last one.
      (cause.line >= (b.docs.at(-1)?.bodyLine ?? Infinity) ? b.docs.at(-1) : undefined);
    if (d) {
      const { document: _d, ...rest } = cause;
      return { ...rest, file: d.file, line: cause.line - d.bodyLine + d.fileLine };
    }
  }
  if (cause.document !== undefined) {
    const d = b.docs[cause.document];
    if (d) {
      const { document: _d, line: _l, column: _c, ...rest } = cause;
      return { ...rest, file: d.file, line: d.fileLine };
    }
  }
  return cause;
}

/** kind and name of a manifest as written, for delete -f and diff. */
export function identity(obj: unknown): { kind?: string; name?: string } {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return {};
  const o = obj as { kind?: unknown; metadata?: { name?: unknown } };
  return {
    ...(typeof o.kind === 'string' ? { kind: o.kind } : {}),
    ...(typeof o.metadata?.name === 'string' ? { name: o.metadata.name } : {}),
  };
}
