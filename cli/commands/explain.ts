// tidepool explain TYPE[.FIELD...]: a field's type and description, from the same TypeBox
// schemas the API validates with (kubectl explain reads the OpenAPI document the same way).
import type { Command } from 'commander';
import type { TSchema } from '@sinclair/typebox';
import { CliError } from '../errors.js';
import { resolveKind } from '../kinds.js';
import { processIo } from '../context.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .summary('documentation of a resource and its fields')
    .description('Describes a resource type or one of its fields, e.g. `tidepool explain workspace.spec.resources`.')
    .argument('<TYPE.FIELD>', 'a type (workspaces, ws, port, ...) optionally followed by a dotted field path')
    .option('--recursive', 'list every field below, not just the first level')
    .action((path: string, flags: { recursive?: boolean }) => {
      processIo.out(explain(path, flags.recursive ?? false));
    });
}

/** The text `explain` prints. */
export function explain(path: string, recursive: boolean): string {
  const [type, ...fields] = path.split('.');
  const info = resolveKind(type!);
  let schema: TSchema = info.schema;
  const walked: string[] = [];
  for (const f of fields) {
    const next = properties(schema)[f];
    if (!next) throw new CliError(`field "${f}" does not exist in ${[info.kind, ...walked].join('.')}`);
    walked.push(f);
    schema = next;
  }
  const lines = [`KIND:     ${info.kind}`, `VERSION:  tidepool/v1`, ''];
  if (walked.length) lines.push(`FIELD: ${walked.at(-1)} <${typeName(schema)}>`, '');
  lines.push('DESCRIPTION:', `    ${description(schema, walked.at(-1) ?? `:${info.kind}`) || '<empty>'}`);
  const props = properties(schema);
  if (Object.keys(props).length) {
    lines.push('', 'FIELDS:');
    lines.push(...fieldLines(schema, 1, recursive));
  }
  return lines.join('\n');
}

function fieldLines(schema: TSchema, depth: number, recursive: boolean): string[] {
  const required = new Set<string>((schema.required as string[] | undefined) ?? []);
  const out: string[] = [];
  for (const [name, s] of Object.entries(properties(schema))) {
    const pad = '   '.repeat(depth);
    // A field the server fills with a default is not required of the user, whatever the schema says.
    const mustGive = required.has(name) && s.default === undefined;
    out.push(`${pad}${name}\t<${typeName(s)}>${mustGive ? ' -required-' : ''}`);
    if (recursive) out.push(...fieldLines(s, depth + 1, true));
    else if (description(s, name)) out.push(`${pad}  ${description(s, name)}`, '');
  }
  return out;
}

function properties(s: TSchema): Record<string, TSchema> {
  if (s.type === 'array' && s.items) return properties(s.items as TSchema);
  return (s.properties as Record<string, TSchema> | undefined) ?? {};
}

function typeName(s: TSchema): string {
  if (s.type === 'array') return `[]${typeName(s.items as TSchema)}`;
  if (s.type === 'object')
    return s.patternProperties || s.additionalProperties === Object(s.additionalProperties)
      ? 'map[string]string'
      : 'Object';
  if (s.const !== undefined) return typeof s.const;
  if (Array.isArray(s.anyOf)) return [...new Set((s.anyOf as TSchema[]).map(typeName))].join('|');
  return String(s.type ?? 'any');
}

/** What every resource's standard fields mean (the Kubernetes API conventions), for schemas that do not say. */
const STANDARD: Record<string, string> = {
  ':Workspace':
    'An isolated development environment (an Incus container or VM, or a Tart VM) serving a web IDE on its port 8080, reached at /workspace/{name}/.',
  ':Port': 'Publishes one more port of a workspace at /workspace/{workspace}/port/{port}/.',
  ':Event': 'What the controller did or saw about an object.',
  ':Sync': 'A folder of manifests that Tidepool keeps applied (GitOps).',
  apiVersion: 'The versioned schema of this representation of an object: tidepool/v1.',
  kind: 'The type of the object.',
  metadata:
    "Standard object metadata: name, labels, annotations, and the server's uid, resourceVersion, generation and timestamps.",
  spec: 'What you want: the desired state, written by you (apply, a sync folder, the API).',
  status: 'What is: the observed state, written only by the controller.',
};

function description(s: TSchema, field?: string): string {
  if (s.description) return String(s.description);
  if (s.type === 'array' && s.items && (s.items as TSchema).description) return description(s.items as TSchema);
  return (field && STANDARD[field]) || '';
}
