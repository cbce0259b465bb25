// Resource type arguments as kubectl takes them: `workspaces`, `workspace`, `ws`,
// `workspaces,ports`, `all`, and `TYPE/NAME`.
import { KINDS, lookupKind, type KindInfo } from '../specs/index.js';
import { CliError } from './errors.js';

/** What `all` means: the kinds a user writes for workspaces (as kubectl's, the workloads: image templates are not in it). */
export const ALL_KINDS: readonly KindInfo[] = KINDS.filter((k) => k.userWritable && k.namespaced);

export function resolveKind(name: string): KindInfo {
  const info = lookupKind(name);
  if (!info) throw new CliError(`the server doesn't have a resource type "${name}"`);
  return info;
}

export function kindInfo(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** `workspace/alice` */
export const refName = (info: KindInfo, name: string) => `${info.singular}/${name}`;

export interface Target {
  info: KindInfo;
  /** Empty: every object of the kind. */
  names: string[];
}

export function validTypesHint(): string {
  return KINDS.map((k) => (k.shortNames.length ? `${k.plural} (${k.shortNames.join(', ')})` : k.plural)).join(', ');
}

/**
 * `TYPE[,TYPE...] [NAME...]` or `TYPE/NAME...`. Targets of one kind are merged, in the order
 * they first appear.
 */
export function parseTargets(args: string[], opts: { allowAll?: boolean; verb: string }): Target[] {
  if (args.length === 0) {
    throw new CliError(
      `you must specify the type of resource to ${opts.verb}. Valid resource types: ${validTypesHint()}${opts.allowAll ? ', all' : ''}`,
    );
  }
  const targets: Target[] = [];
  const add = (info: KindInfo, name?: string) => {
    let t = targets.find((x) => x.info === info);
    if (!t) targets.push((t = { info, names: [] }));
    if (name !== undefined && !t.names.includes(name)) t.names.push(name);
  };
  if (args.some((a) => a.includes('/'))) {
    for (const a of args) {
      const i = a.indexOf('/');
      if (i <= 0 || i === a.length - 1) {
        throw new CliError(
          `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'tidepool ${opts.verb} workspace/alice'), got "${a}"`,
        );
      }
      const info = resolveKind(a.slice(0, i));
      add(info, a.slice(i + 1));
    }
    return targets;
  }
  const [types, ...names] = args as [string, ...string[]];
  const infos: KindInfo[] = [];
  for (const t of types.split(',').filter(Boolean)) {
    if (t === 'all' && opts.allowAll) infos.push(...ALL_KINDS);
    else infos.push(resolveKind(t));
  }
  if (names.length && new Set(infos).size > 1) {
    throw new CliError(
      `a resource name cannot be given with more than one resource type; use TYPE/NAME, e.g. workspace/${names[0]}`,
    );
  }
  for (const info of infos) add(info);
  for (const n of names) add(infos[0]!, n);
  return targets;
}
