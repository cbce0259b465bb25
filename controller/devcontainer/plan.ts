// A repository's devcontainer.json (JSON with comments, parsed with jsonc-parser) as what
// Tidepool can honour in a system container made from an image template: the lifecycle
// commands, the forwarded ports, the environment, VS Code's settings and extensions. What it
// cannot (a container image or build, features, mounts, run arguments) is listed by name, so
// that a condition says so instead of ignoring it. No I/O: tested on its own.
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { IDE_PORT } from '../../specs/index.js';

/** A lifecycle command as the spec allows it: a shell string, an argv, or named commands of either. */
export type Command = { shell: string } | { argv: string[] };

export interface ForwardedPort {
  port: number;
  label?: string;
}

export interface DevcontainerPlan {
  postCreate: Command[];
  postStart: Command[];
  postAttach: Command[];
  ports: ForwardedPort[];
  /** containerEnv and remoteEnv together (remoteEnv wins). */
  env: Record<string, string>;
  settings?: Record<string, unknown>;
  extensions: string[];
  /** Keys that a system container from a template cannot honour, in the file's order. */
  unsupported: string[];
  /** What in the file could not be read (a bad port, a command of the wrong shape). */
  problems: string[];
  /** The file's `image`, which spec.image (a template) stands in for. */
  image?: string;
}

/** Keys that need a container runtime Tidepool does not have: named, never silently ignored. */
export const UNSUPPORTED_KEYS = [
  'image',
  'build',
  'dockerFile',
  'dockerfile',
  'context',
  'dockerComposeFile',
  'service',
  'runServices',
  'features',
  'mounts',
  'workspaceMount',
  'runArgs',
  'appPort',
  'initializeCommand',
  'privileged',
  'capAdd',
  'securityOpt',
  'overrideFeatureInstallOrder',
];

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function commands(value: unknown, key: string, problems: string[]): Command[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return value.trim() ? [{ shell: value }] : [];
  if (Array.isArray(value) && value.every((a) => typeof a === 'string')) return value.length ? [{ argv: value }] : [];
  if (isRecord(value)) return Object.entries(value).flatMap(([name, v]) => commands(v, `${key}.${name}`, problems));
  problems.push(`${key} must be a string, an array of strings or an object of those`);
  return [];
}

function ports(file: Record<string, unknown>, problems: string[]): ForwardedPort[] {
  const attrs = isRecord(file.portsAttributes) ? file.portsAttributes : {};
  const out: ForwardedPort[] = [];
  const list = Array.isArray(file.forwardPorts)
    ? file.forwardPorts
    : file.forwardPorts === undefined
      ? []
      : [file.forwardPorts];
  for (const p of list) {
    const n = typeof p === 'number' ? p : typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : Number.NaN;
    if (!Number.isInteger(n) || n < 1024 || n > 65535 || n === IDE_PORT) {
      problems.push(
        `forwardPorts: ${JSON.stringify(p)} is not published (a Port is a number 1024..65535 of the workspace itself, not ${IDE_PORT})`,
      );
      continue;
    }
    if (out.some((x) => x.port === n)) continue;
    const a = attrs[String(n)];
    const label = isRecord(a) && typeof a.label === 'string' ? a.label : undefined;
    out.push({ port: n, ...(label ? { label } : {}) });
  }
  return out;
}

function env(file: Record<string, unknown>, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['containerEnv', 'remoteEnv']) {
    const v = file[key];
    if (v === undefined) continue;
    if (!isRecord(v)) {
      problems.push(`${key} must be an object of names and values`);
      continue;
    }
    for (const [k, val] of Object.entries(v)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || (typeof val !== 'string' && val !== null)) {
        problems.push(`${key}.${k} is not a variable name with a string value`);
        continue;
      }
      // ${localEnv:...} and ${containerEnv:...} name the other side's variables: not known here.
      if (typeof val === 'string' && /\$\{(localEnv|containerEnv|localWorkspaceFolder)/.test(val)) {
        problems.push(`${key}.${k} uses a \${...} variable Tidepool does not expand`);
        continue;
      }
      if (val === null) delete out[k];
      else out[k] = val;
    }
  }
  return out;
}

/** The plan of a devcontainer.json's text; a file that does not parse is one problem and an empty plan. */
export function planDevcontainer(text: string): DevcontainerPlan {
  const errors: ParseError[] = [];
  const file: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const plan: DevcontainerPlan = {
    postCreate: [],
    postStart: [],
    postAttach: [],
    ports: [],
    env: {},
    extensions: [],
    unsupported: [],
    problems: [],
  };
  if (errors.length || !isRecord(file)) {
    const e = errors[0];
    plan.problems.push(
      e ? `it is not JSON with comments: ${printParseErrorCode(e.error)} at offset ${e.offset}` : 'it is not an object',
    );
    return plan;
  }
  const p = plan.problems;
  plan.postCreate = [
    ...commands(file.onCreateCommand, 'onCreateCommand', p),
    ...commands(file.updateContentCommand, 'updateContentCommand', p),
    ...commands(file.postCreateCommand, 'postCreateCommand', p),
  ];
  plan.postStart = commands(file.postStartCommand, 'postStartCommand', p);
  plan.postAttach = commands(file.postAttachCommand, 'postAttachCommand', p);
  plan.ports = ports(file, p);
  plan.env = env(file, p);
  const vscode =
    isRecord(file.customizations) && isRecord(file.customizations.vscode) ? file.customizations.vscode : {};
  if (isRecord(vscode.settings)) plan.settings = vscode.settings;
  if (Array.isArray(vscode.extensions))
    plan.extensions = vscode.extensions.filter(
      (e): e is string => typeof e === 'string' && /^[A-Za-z0-9-]+\.[A-Za-z0-9._-]+$/.test(e),
    );
  plan.unsupported = Object.keys(file).filter((k) => UNSUPPORTED_KEYS.includes(k));
  if (typeof file.image === 'string') plan.image = file.image;
  return plan;
}
