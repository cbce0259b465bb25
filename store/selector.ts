// Label selectors as kubectl writes them: equality (a=b, a==b, a!=b) and set-based
// (a in (x,y), a notin (x), a, !a), comma-separated, all must hold.
import { LABEL_KEY } from '../specs/index.js';
import { badRequest } from './errors.js';

type Requirement = { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

export type Selector = (labels: Record<string, string> | undefined) => boolean;

const KEY = new RegExp(LABEL_KEY);
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim());
}

function parseTerm(term: string, whole: string): Requirement {
  const fail = (why: string) => badRequest(`unable to parse labelSelector "${whole}": ${why}`);
  let m = /^(!)?\s*([^\s!=(),]+)$/.exec(term);
  if (m) {
    if (!KEY.test(m[2]!)) throw fail(`invalid label key "${m[2]}"`);
    return { key: m[2]!, op: m[1] ? '!exists' : 'exists' };
  }
  m = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(term);
  if (m) {
    if (!KEY.test(m[1]!)) throw fail(`invalid label key "${m[1]}"`);
    if (!VALUE.test(m[3]!)) throw fail(`invalid label value "${m[3]}"`);
    return { key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
  }
  m = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term);
  if (m) {
    if (!KEY.test(m[1]!)) throw fail(`invalid label key "${m[1]}"`);
    const values = m[3]!.split(',').map((v) => v.trim());
    for (const v of values) if (!VALUE.test(v)) throw fail(`invalid label value "${v}"`);
    return { key: m[1]!, op: m[2] as 'in' | 'notin', values };
  }
  throw fail(`cannot understand "${term}"`);
}

export function parseSelector(s: string | undefined): Selector {
  if (s === undefined || s.trim() === '') return () => true;
  const reqs = splitTerms(s).map((t) => {
    if (t === '') throw badRequest(`unable to parse labelSelector "${s}": empty term`);
    return parseTerm(t, s);
  });
  return (labels) =>
    reqs.every((r) => {
      const v = labels?.[r.key];
      switch (r.op) {
        case 'exists':
          return v !== undefined;
        case '!exists':
          return v === undefined;
        case 'in':
          return v !== undefined && r.values.includes(v);
        case 'notin':
          return v === undefined || !r.values.includes(v);
      }
      return false;
    });
}
