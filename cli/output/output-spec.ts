// What `-o` asks for, beyond the fixed formats: `jsonpath=TEMPLATE`, `jsonpath-file=FILE`,
// `custom-columns=HEADER:PATH,...` and `custom-columns-file=FILE`, as kubectl takes them.
import { readFileSync } from 'node:fs';
import type { ApiObject } from '../client.js';
import { errorMessage } from '../../specs/errors.js';
import { CliError } from '../errors.js';
import { parseOutput, type OutputFormat } from '../printers.js';
import { compilePath, parseJsonPath, printValue, type JsonPath } from './jsonpath.js';

export interface CustomColumn {
  header: string;
  values(o: ApiObject): unknown[];
}

export type OutputSpec =
  | { format: OutputFormat }
  | { format: 'jsonpath'; template: JsonPath }
  | { format: 'custom-columns'; columns: CustomColumn[] };

const ALLOWED = 'custom-columns, custom-columns-file, json, jsonpath, jsonpath-file, name, wide, yaml';

export function parseOutputSpec(o: string | undefined): OutputSpec {
  const eq = o?.indexOf('=') ?? -1;
  if (o === undefined || eq < 0) {
    if (o === 'jsonpath' || o === 'custom-columns')
      throw new CliError(`${o} format specified but no ${o === 'jsonpath' ? 'template' : 'custom columns'} given`);
    try {
      return { format: parseOutput(o) };
    } catch {
      throw new CliError(
        `unable to match a printer suitable for the output format "${o}", allowed formats are: ${ALLOWED}`,
      );
    }
  }
  const kind = o.slice(0, eq);
  const arg = o.slice(eq + 1);
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`error reading ${file}: ${errorMessage(err)}`);
    }
  };
  switch (kind) {
    case 'jsonpath':
      return { format: 'jsonpath', template: parseJsonPath(arg) };
    case 'jsonpath-file':
      return { format: 'jsonpath', template: parseJsonPath(read(arg).trim()) };
    case 'custom-columns':
      return { format: 'custom-columns', columns: parseCustomColumns(arg) };
    case 'custom-columns-file':
      return { format: 'custom-columns', columns: parseColumnsFile(read(arg)) };
    default:
      throw new CliError(
        `unable to match a printer suitable for the output format "${o}", allowed formats are: ${ALLOWED}`,
      );
  }
}

/** `NAME:.metadata.name,PHASE:.status.phase` */
export function parseCustomColumns(spec: string): CustomColumn[] {
  if (!spec.trim()) throw new CliError('custom-columns format specified but no custom columns given');
  return spec.split(',').map((part) => {
    const i = part.indexOf(':');
    if (i <= 0 || i === part.length - 1) {
      throw new CliError(`unexpected custom-columns spec: ${part}, expected <header>:<json-path-expr>`);
    }
    return column(part.slice(0, i), part.slice(i + 1));
  });
}

/** kubectl's file form: a line of headers, a line of paths, separated by spaces. */
function parseColumnsFile(text: string): CustomColumn[] {
  const [headers, paths] = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/));
  if (!headers || !paths || headers.length !== paths.length) {
    throw new CliError(
      `expected a line of headers and a line of paths of the same length in the custom columns file, got ${headers?.length ?? 0} and ${paths?.length ?? 0}`,
    );
  }
  return headers.map((h, i) => column(h, paths[i]!));
}

function column(header: string, path: string): CustomColumn {
  const find = compilePath(path.startsWith('.') || path.startsWith('{') || path.startsWith('$') ? path : `.${path}`);
  return { header, values: (o) => find(o) };
}

/** A cell as kubectl prints it: several values joined by commas, `<none>` for none. */
export function cell(values: unknown[]): string {
  return values.length ? values.map(printValue).join(',') : '<none>';
}
