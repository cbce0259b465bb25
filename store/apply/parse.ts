// Manifests as users write them: multi-document YAML (or JSON, which the YAML parser reads
// too) from one or more named sources. Every object keeps a map back to its source text, so
// that a violation found later (by the schemas or by the store) can be reported with the
// file, line and column of the node that causes it.
import {
  CST,
  Lexer,
  LineCounter,
  parseAllDocuments,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  visit,
  type Document,
  type Node,
} from 'yaml';
import type { StatusCause } from '../../specs/index.js';
import { errorMessage } from '../../specs/errors.js';
import { badRequest } from '../errors.js';

export interface ApplySource {
  /** A file name, reported with every error found in this source. */
  name?: string;
  text: string;
}

export interface Position {
  line: number;
  column: number;
}

export interface ParsedDocument {
  /** Index of this object among all objects of all sources, from 0. */
  index: number;
  object: unknown;
  file?: string;
  /** Where the object starts (1-based); absent for objects that did not come from text. */
  line?: number;
  column?: number;
  /**
   * Line and column of the node at a field path (`spec.resources.memory`, `metadata.finalizers[0]`);
   * for a missing field, of the nearest parent that exists. `key: true` points at the key
   * instead of the value (for an unknown field). Undefined when the object did not come from text.
   */
  locate(field?: string, opts?: { key?: boolean }): Position | undefined;
}

export interface ParsedDocuments {
  documents: ParsedDocument[];
}

export interface ParseOptions {
  /** Alias expansions allowed per document (a guard against "billion laughs"). Defaults to 100. */
  maxAliasCount?: number;
}

/** Deepest flow nesting (`[` / `{`) a document may have. */
export const MAX_FLOW_DEPTH = 64;
/** Largest indentation plus block indicators (`- `, `? `, `: `) on one line. */
export const MAX_BLOCK_DEPTH = 200;

/**
 * Refuses text nested deeper than any manifest needs, before the YAML parser sees it: the
 * parser and composer recurse per level, and a deep enough input must not get near the
 * stack limit. Tokens come from the YAML lexer, which is iterative and knows quoted scalars.
 */
function checkNesting(text: string, file: string | undefined): StatusCause | undefined {
  let offset = 0,
    flow = 0,
    indent = 0,
    indicators = 0,
    lineStart = true,
    scalar = false;
  for (const tok of new Lexer().lex(text)) {
    if (tok === CST.SCALAR) {
      scalar = true;
      continue;
    }
    if (scalar) {
      // The source of a scalar (a block scalar or a multi-line plain one may span lines).
      scalar = false;
      offset += tok.length;
      lineStart = tok.endsWith('\n');
      if (lineStart) {
        indent = 0;
        indicators = 0;
      }
      continue;
    }
    const type = CST.tokenType(tok);
    // Lexer control tokens (document mode, scalar markers, ...) are not in the source.
    const width =
      tok.length === 1 && tok.charCodeAt(0) < 0x20 && tok !== '\n' && tok !== '\t' && tok !== '\r' ? 0 : tok.length;
    if (type === 'newline') {
      lineStart = true;
      indent = 0;
      indicators = 0;
      offset += width;
      continue;
    }
    if (type === 'space' && lineStart) indent = tok.length;
    else if (width) lineStart = false;
    if (type === 'flow-seq-start' || type === 'flow-map-start') flow++;
    else if (type === 'flow-seq-end' || type === 'flow-map-end') flow = Math.max(0, flow - 1);
    else if (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind') indicators++;
    if (flow > MAX_FLOW_DEPTH || indent + indicators > MAX_BLOCK_DEPTH) {
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - (before.lastIndexOf('\n') + 1) + 1;
      return {
        reason: 'NestingTooDeep',
        message:
          flow > MAX_FLOW_DEPTH
            ? `collections nested more than ${MAX_FLOW_DEPTH} deep are refused`
            : `indentation and block indicators deeper than ${MAX_BLOCK_DEPTH} on one line are refused`,
        ...(file !== undefined ? { file } : {}),
        line,
        column,
      };
    }
    offset += width;
  }
  return undefined;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The deepest node on `field`'s path under `root`, and the key node of the last step taken. */
function resolve(
  root: Node | null | undefined,
  field: string,
): { node: Node | null | undefined; key?: Node; complete: boolean } {
  let node = root;
  let key: Node | undefined;
  let rest = field;
  while (rest !== '' && node) {
    const idx = /^\[(\d+)\]\.?/.exec(rest);
    if (idx) {
      if (!isSeq(node)) break;
      const item = node.items[Number(idx[1])] as Node | undefined;
      if (!item) break;
      node = item;
      key = undefined;
      rest = rest.slice(idx[0].length);
      continue;
    }
    if (!isMap(node)) break;
    let best: { len: number; value: Node | null; key: Node } | undefined;
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (k === undefined || (best && best.len >= k.length)) continue;
      if (rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`))
        best = { len: k.length, value: pair.value as Node | null, key: pair.key as Node };
    }
    if (!best) break;
    rest = rest.slice(best.len).replace(/^\./, '');
    key = best.key;
    if (!best.value) {
      node = key;
      key = undefined;
      break;
    }
    node = best.value;
    if (isAlias(node)) break;
  }
  return { node, ...(key ? { key } : {}), complete: rest === '' };
}

function positionOf(node: Node | null | undefined, lc: LineCounter): Position | undefined {
  const start = node?.range?.[0];
  if (start === undefined) return undefined;
  const p = lc.linePos(start);
  return { line: p.line, column: p.col };
}

function textDocument(
  index: number,
  object: unknown,
  root: Node | null | undefined,
  lc: LineCounter,
  file: string | undefined,
): ParsedDocument {
  const start = positionOf(root, lc);
  return {
    index,
    object,
    ...(file !== undefined ? { file } : {}),
    ...(start ? { line: start.line, column: start.column } : {}),
    locate(field = '', opts = {}) {
      const r = resolve(root, field);
      const target = opts.key && r.complete && r.key ? r.key : r.node;
      return positionOf(target ?? root, lc) ?? start;
    },
  };
}

/** Objects of one parsed value: a List (`{kind: List, items}`) or an array gives one per item. */
function expand(value: unknown): { object: unknown; path: (string | number)[] }[] {
  if (Array.isArray(value)) return value.map((object, i) => ({ object, path: [i] }));
  if (isPlainObject(value) && value.kind === 'List' && Array.isArray(value.items)) {
    return value.items.map((object, i) => ({ object, path: ['items', i] }));
  }
  return [{ object: value, path: [] }];
}

function where(file: string | undefined, p: Position | undefined): string {
  const parts = [file, p ? `line ${p.line}, column ${p.column}` : undefined].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * The parser's words without any of the source: its first line only (the rest is a frame of
 * source lines), no position (the cause carries line and column), and nothing after a colon
 * (where it quotes a token: an alias, a tag, a directive). A file's content never reaches a
 * status or an error; the file, line and column say where to look.
 */
function syntaxMessage(raw: string): string {
  return raw
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/:\s.*$/, '');
}

/**
 * Parses every source. Empty documents (`---` alone, comments only) are skipped. Syntax
 * errors, duplicate keys and alias bombs of every document are reported together in one
 * 400 Status, each cause with its document index, file, line and column.
 */
export function parseDocuments(sources: readonly ApplySource[], opts: ParseOptions = {}): ParsedDocuments {
  const maxAliasCount = opts.maxAliasCount ?? 100;
  const documents: ParsedDocument[] = [];
  const errors: StatusCause[] = [];
  let index = 0;
  for (const src of sources) {
    const lc = new LineCounter();
    const file = src.name;
    const deep = checkNesting(src.text, file);
    if (deep) {
      errors.push({ ...deep, document: index++ });
      continue;
    }
    const docs = parseAllDocuments(src.text, { lineCounter: lc, uniqueKeys: true, prettyErrors: true }) as
      | Document.Parsed[]
      | { errors?: unknown };
    if (!Array.isArray(docs)) continue; // an empty stream
    for (const doc of docs) {
      if (doc.errors.length) {
        for (const e of doc.errors) {
          const p = e.linePos?.[0];
          const pos = p ? { line: p.line, column: p.col } : positionOf(doc.contents, lc);
          const message = syntaxMessage(e.message);
          errors.push({
            reason: e.code === 'DUPLICATE_KEY' ? 'DuplicateKey' : 'InvalidSyntax',
            message: e.code === 'DUPLICATE_KEY' ? `duplicate key: ${message}` : message,
            document: index,
            ...(file !== undefined ? { file } : {}),
            ...(pos ?? {}),
          });
        }
        index++;
        continue;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount });
      } catch (err) {
        let alias: Node | undefined;
        visit(doc, {
          Alias(_k, n) {
            alias = n as Node;
            return visit.BREAK;
          },
        });
        const pos = positionOf(alias ?? doc.contents, lc);
        const excessive = /Excessive alias count/.test(errorMessage(err));
        errors.push({
          reason: excessive ? 'ExcessiveAliases' : 'InvalidSyntax',
          message: excessive
            ? `too many alias expansions (more than ${maxAliasCount}): aliases that expand exponentially ("billion laughs") are refused`
            : syntaxMessage(errorMessage(err)),
          document: index,
          ...(file !== undefined ? { file } : {}),
          ...(pos ?? {}),
        });
        index++;
        continue;
      }
      if (value === null || value === undefined) continue; // an empty document
      for (const { object, path } of expand(value)) {
        const root = path.length ? (doc.getIn(path, true) as Node | undefined) : (doc.contents as Node | null);
        documents.push(textDocument(index++, object, root, lc, file));
      }
    }
  }
  if (errors.length) {
    const first = errors[0]!;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    throw badRequest(
      `cannot parse document ${first.document}${where(first.file, first.line ? { line: first.line, column: first.column! } : undefined)}: ${first.message}${more}`,
      errors,
    );
  }
  return { documents };
}

/** Objects that did not come from text (already parsed): no positions. Arrays and Lists are expanded. */
export function objectDocuments(values: readonly unknown[]): ParsedDocuments {
  const documents: ParsedDocument[] = [];
  for (const v of values) {
    for (const { object } of expand(v)) documents.push({ index: documents.length, object, locate: () => undefined });
  }
  return { documents };
}

export { where as describeWhere };
