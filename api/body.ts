// Request bodies: every accepted content type arrives as a string (Fastify enforces the size
// limit) and is parsed here, so that a syntax error becomes a 400 Status naming the line and
// column, and a content type a route does not take becomes a 415 Status.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { badRequest } from '../store/index.js';
import { ApiError } from './errors.js';
import { MAX_FLOW_DEPTH, parseDocuments } from '../store/apply/parse.js';
import { duplicateKeyOffset } from './strict.js';
import { jsonErrorOffset } from './json-scan.js';
import { errorMessage } from '../specs/errors.js';

export const JSON_TYPES = ['application/json'] as const;
export const MERGE_PATCH_TYPES = ['application/merge-patch+json', 'application/json'] as const;
export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'] as const;
/** Every content type the server parses at all; anything else is 415 before a handler runs. */
export const ALL_BODY_TYPES = ['application/json', 'application/merge-patch+json', ...YAML_TYPES] as const;

/** Every accepted body type arrives as a string; handlers parse it (errors with line/column). */
export const bodyPlugin = fp(
  async (app: FastifyInstance, opts: { bodyLimit: number }) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      [...ALL_BODY_TYPES],
      { parseAs: 'string', bodyLimit: opts.bodyLimit },
      (_req, body, done) => done(null, body),
    );
  },
  { name: 'tidepool-body', fastify: '5.x' },
);

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export function unsupportedMediaType(got: string, accepted: readonly string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request has content type "${got || '(none)'}"; this endpoint accepts ${accepted.join(', ')}`,
  );
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1,
    start = 0;
  for (let i = 0; i < offset && i < text.length; i++)
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  return { line, column: Math.min(offset, text.length) - start + 1 };
}

/** Offset of the first `[` or `{` nested deeper than `max` (outside strings), or -1. */
export function jsonTooDeep(s: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < s.length && s.charCodeAt(i) !== 34; i++) if (s.charCodeAt(i) === 92 /* \ */) i++;
    } else if (c === 91 || c === 123) {
      if (++depth > max) return i;
    } else if (c === 93 || c === 125) depth--;
  }
  return -1;
}

/**
 * JSON.parse, with a 400 Status naming the line and column of a syntax error. Nesting
 * deeper than any manifest needs is refused first (what comes next recurses per level).
 */
export function parseJson(text: string, what = 'request body'): unknown {
  if (text.trim() === '') throw badRequest(`the ${what} is empty; expected a JSON object`);
  const deep = jsonTooDeep(text, MAX_FLOW_DEPTH);
  if (deep >= 0) {
    const at = lineCol(text, deep);
    throw badRequest(
      `the ${what} nests objects or arrays more than ${MAX_FLOW_DEPTH} deep, at line ${at.line}, column ${at.column}`,
      [
        {
          reason: 'NestingTooDeep',
          message: `nested more than ${MAX_FLOW_DEPTH} deep`,
          line: at.line,
          column: at.column,
        },
      ],
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const off = jsonErrorOffset(text);
    const at = lineCol(text, off < 0 ? text.length : off);
    const why = errorMessage(err)
      .replace(/, "[\s\S]*" is not valid JSON$/, '')
      .replace(/ in JSON at position \d+.*$/, '');
    throw badRequest(`the ${what} is not valid JSON: ${why} at line ${at.line}, column ${at.column}`, [
      { reason: 'FieldValueInvalid', message: `invalid JSON: ${why}`, line: at.line, column: at.column },
    ]);
  }
  const dup = duplicateKeyOffset(text);
  if (dup) {
    const at = lineCol(text, dup.offset);
    throw badRequest(
      `the ${what} has the key ${JSON.stringify(dup.key)} twice in one object, at line ${at.line}, column ${at.column}; give each key once`,
      [
        {
          reason: 'FieldValueDuplicate',
          message: `duplicate key ${JSON.stringify(dup.key)}`,
          line: at.line,
          column: at.column,
        },
      ],
    );
  }
  return value;
}

/** One object from a JSON or single-document YAML body. */
export function parseObjectBody(body: unknown, contentType: string | undefined, accepted: readonly string[]): unknown {
  const type = mediaType(contentType);
  if (body === undefined || body === null) throw badRequest('a request body is required');
  if (!accepted.includes(type)) throw unsupportedMediaType(type, accepted);
  const text = String(body);
  if ((YAML_TYPES as readonly string[]).includes(type)) {
    const { documents } = parseDocuments([{ text }]);
    if (documents.length !== 1)
      throw badRequest(`the request body must hold exactly one YAML document, got ${documents.length}`);
    return documents[0]!.object;
  }
  return parseJson(text);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch. Never mutates its inputs; `__proto__` keys stay plain data. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = {};
  const define = (k: string, v: unknown) =>
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (isPlainObject(target)) for (const [k, v] of Object.entries(target)) define(k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else define(k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
}
