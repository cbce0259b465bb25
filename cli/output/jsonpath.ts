// kubectl's JSONPath templates (`-o jsonpath=...`, `--sort-by`, custom columns): text with
// `{expressions}`, where an expression is a path (`.metadata.name`, `.items[*]`, `[0]`,
// `['key']`, `..name`, `[1:3]`, `[?(@.type=="Ready")]`), a string literal (`"\n"`), or a
// `range PATH` … `end` block. As in kubectl, several results of one expression are joined by
// a space, maps and lists print as JSON, and a missing key prints nothing.
import { CliError } from '../errors.js';

type Step =
  | { op: 'field'; name: string; recursive: boolean }
  | { op: 'wildcard'; recursive: boolean }
  | { op: 'index'; index: number }
  | { op: 'slice'; start?: number; end?: number }
  | { op: 'filter'; path: Step[]; cmp?: { operator: Operator; value: unknown } };

type Operator = '==' | '!=' | '<' | '>' | '<=' | '>=';

type Node =
  | { type: 'text'; text: string }
  | { type: 'path'; steps: Step[] }
  | { type: 'range'; steps: Step[]; body: Node[] };

export interface JsonPath {
  /** Renders the template against `root`. */
  render(root: unknown): string;
}

export function parseJsonPath(template: string): JsonPath {
  const nodes = parseTemplate(template);
  return { render: (root) => renderNodes(nodes, root) };
}

/**
 * A bare path as custom columns and --sort-by take it (`.status.phase`, or `{.status.phase}`):
 * the values it finds.
 */
export function compilePath(expr: string): (root: unknown) => unknown[] {
  let e = expr.trim();
  if (e.startsWith('{') && e.endsWith('}')) e = e.slice(1, -1).trim();
  const steps = parsePath(e, expr);
  return (root) => evaluate(steps, [root]);
}

// ---------------------------------------------------------------- parsing

function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: { body: Node[] }[] = [{ body: root }];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      stack.at(-1)!.body.push({ type: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) stack.at(-1)!.body.push({ type: 'text', text: template.slice(i, open) });
    const close = findClose(template, open);
    const expr = template.slice(open + 1, close).trim();
    i = close + 1;
    if (expr === 'end') {
      if (stack.length === 1) throw syntax(template, 'not in range, nothing to end');
      stack.pop();
    } else if (expr.startsWith('range ') || expr === 'range') {
      const node: Node = { type: 'range', steps: parsePath(expr.slice(5).trim(), template), body: [] };
      stack.at(-1)!.body.push(node);
      stack.push(node);
    } else if (/^"(?:[^"\\]|\\.)*"$/.test(expr) || /^'[^']*'$/.test(expr)) {
      stack.at(-1)!.body.push({ type: 'text', text: unquote(expr) });
    } else {
      stack.at(-1)!.body.push({ type: 'path', steps: parsePath(expr, template) });
    }
  }
  if (stack.length > 1) throw syntax(template, 'unclosed range (missing {end})');
  return root;
}

/** The `}` that closes the `{` at `open`, skipping quoted strings. */
function findClose(s: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  throw syntax(s, 'unclosed action (a "{" without "}")');
}

function parsePath(expr: string, whole: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  if (expr[0] === '$' || expr[0] === '@') i = 1;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '.') {
      const recursive = expr[i + 1] === '.';
      i += recursive ? 2 : 1;
      if (expr[i] === '*') {
        steps.push({ op: 'wildcard', recursive });
        i++;
        continue;
      }
      if (expr[i] === '[' && recursive) {
        steps.push({ op: 'wildcard', recursive: true });
        continue;
      }
      const m = /^[A-Za-z0-9_\-/]+/.exec(expr.slice(i));
      if (!m) {
        if (i >= expr.length && !recursive) break; // a lone "." is the current object
        throw syntax(whole, `a field name was expected at "${expr.slice(i - 1)}"`);
      }
      steps.push({ op: 'field', name: m[0], recursive });
      i += m[0].length;
    } else if (c === '[') {
      const end = findBracket(expr, i, whole);
      steps.push(parseSubscript(expr.slice(i + 1, end).trim(), whole));
      i = end + 1;
    } else if (c === ' ') {
      i++;
    } else {
      throw syntax(whole, `unrecognized character "${c}" in "${expr}"`);
    }
  }
  return steps;
}

function findBracket(s: string, open: number, whole: string): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  throw syntax(whole, 'unterminated array subscript (a "[" without "]")');
}

function parseSubscript(inner: string, whole: string): Step {
  if (inner === '*') return { op: 'wildcard', recursive: false };
  if (/^-?\d+$/.test(inner)) return { op: 'index', index: Number(inner) };
  const slice = /^(-?\d*):(-?\d*)$/.exec(inner);
  if (slice) {
    return {
      op: 'slice',
      ...(slice[1] ? { start: Number(slice[1]) } : {}),
      ...(slice[2] ? { end: Number(slice[2]) } : {}),
    };
  }
  if (/^'[^']*'$|^"[^"]*"$/.test(inner)) return { op: 'field', name: inner.slice(1, -1), recursive: false };
  const filter = /^\?\((.*)\)$/.exec(inner);
  if (filter) {
    const m = /^(@[^=!<>]*?)\s*(==|!=|<=|>=|<|>)\s*(.+)$/.exec(filter[1]!.trim());
    if (!m) return { op: 'filter', path: parsePath(filter[1]!.trim(), whole) };
    return {
      op: 'filter',
      path: parsePath(m[1]!.trim(), whole),
      cmp: { operator: m[2] as Operator, value: literal(m[3]!.trim(), whole) },
    };
  }
  throw syntax(whole, `unsupported subscript "[${inner}]"`);
}

function literal(s: string, whole: string): unknown {
  if (/^"(?:[^"\\]|\\.)*"$|^'[^']*'$/.test(s)) return unquote(s);
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (s === 'true' || s === 'false') return s === 'true';
  throw syntax(whole, `a filter compares with a quoted string, a number or a boolean, got ${s}`);
}

function unquote(s: string): string {
  if (s.startsWith("'")) return s.slice(1, -1);
  return JSON.parse(s) as string;
}

function syntax(template: string, why: string): CliError {
  return new CliError(`error parsing jsonpath ${template}: ${why}`);
}

// ---------------------------------------------------------------- evaluation

function evaluate(steps: Step[], start: unknown[]): unknown[] {
  let cur = start;
  for (const s of steps) cur = cur.flatMap((v) => step(s, v));
  return cur;
}

function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') return Object.values(v);
  return [];
}

/** `v` and everything below it, depth first (what `..` searches). */
function descendants(v: unknown): unknown[] {
  return [v, ...children(v).flatMap(descendants)];
}

function step(s: Step, v: unknown): unknown[] {
  switch (s.op) {
    case 'field': {
      const from = s.recursive ? descendants(v) : [v];
      return from.flatMap((x) => (isMap(x) && s.name in x && x[s.name] !== undefined ? [x[s.name]] : []));
    }
    case 'wildcard':
      return s.recursive ? descendants(v).slice(1) : children(v);
    case 'index': {
      if (!Array.isArray(v)) return [];
      const i = s.index < 0 ? v.length + s.index : s.index;
      if (i < 0 || i >= v.length)
        throw new CliError(`error executing jsonpath: array index out of bounds: index ${s.index}, length ${v.length}`);
      return [v[i]];
    }
    case 'slice':
      return Array.isArray(v) ? v.slice(s.start ?? 0, s.end ?? v.length) : [];
    case 'filter':
      return children(v).filter((item) => {
        const found = evaluate(s.path, [item]);
        if (!s.cmp) return found.length > 0;
        return found.some((x) => compare(x, s.cmp!.operator, s.cmp!.value));
      });
  }
}

function compare(a: unknown, op: Operator, b: unknown): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return (a as number) < (b as number);
    case '>':
      return (a as number) > (b as number);
    case '<=':
      return (a as number) <= (b as number);
    case '>=':
      return (a as number) >= (b as number);
  }
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as kubectl prints it: strings raw, everything else as JSON. */
export function printValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function renderNodes(nodes: Node[], cur: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.type === 'text') out += n.text;
    else if (n.type === 'path') out += evaluate(n.steps, [cur]).map(printValue).join(' ');
    else for (const item of evaluate(n.steps, [cur])) out += renderNodes(n.body, item);
  }
  return out;
}
