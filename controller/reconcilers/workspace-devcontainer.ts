// A repository's devcontainer.json, honoured where it fits a system container made from an
// image template: once spec.source.git is cloned, its environment (containerEnv, remoteEnv) is
// written for dev's shells, VS Code's settings become the machine settings, its extensions are
// installed from a local cache or a gallery where one answers, its forwardPorts become Ports
// owned by the workspace, and its commands run as dev in ~/project: onCreate, updateContent and
// postCreate once; postStart and postAttach at every start (once per boot). DevcontainerApplied
// names what it cannot honour (image, build, features, mounts, runArgs...), each extension that
// could not be installed, and a command that failed; the output is in the activity log.
import { keyOf } from '../../specs/index.js';
import { MAX_PORTS_PER_WORKSPACE, type Condition, type Workspace, type WorkspaceStatus } from '../../specs/index.js';
import type { ExecResult, VM } from '../../drivers/runtime/types.js';
import { planDevcontainer, type Command, type DevcontainerPlan } from '../devcontainer/plan.js';
import { getCondition, setCondition, type ConditionReason } from '../status.js';
import type { Context } from './context.js';
import { markPending, type Note } from './workspace-home.js';

const READ = `cd "$HOME/project" 2>/dev/null || exit 3
for f in .devcontainer/devcontainer.json .devcontainer.json; do [ -f "$f" ] && { echo "$f"; cat "$f"; exit 0; }; done
exit 3`;
const ENV_FILE = '.config/tidepool/devcontainer.env';
// $1 the env file's text. Written for dev's shells (and sourced from .bashrc and .profile once).
const WRITE_ENV = `mkdir -p "$HOME/.config/tidepool" && printf '%s' "$1" > "$HOME/${ENV_FILE}" || exit 1
for rc in .bashrc .profile; do grep -qs '${ENV_FILE}' "$HOME/$rc" || printf '\\n[ -f "$HOME/${ENV_FILE}" ] && . "$HOME/${ENV_FILE}"\\n' >> "$HOME/$rc"; done`;
const WRITE_MACHINE_SETTINGS = `d="$HOME/.local/share/code-server/Machine"; mkdir -p "$d" && printf '%s' "$1" > "$d/settings.json"`;
const INSTALL_EXTENSIONS = `for e in "$@"; do
  ls -d "$HOME/.local/share/code-server/extensions/$(echo "$e" | tr A-Z a-z)"-* >/dev/null 2>&1 && continue
  v="$(ls /usr/local/share/tidepool/extensions/"$e"-*.vsix 2>/dev/null | head -n 1)"
  if command -v code-server >/dev/null 2>&1 && timeout 30 code-server --install-extension "\${v:-$e}" >/dev/null 2>&1; then echo "installed $e"; else echo "NOTINSTALLED $e"; fi
done; exit 0`;
/** Runs as root: true once per boot (/run is a tmpfs), so postStart runs at every start and only once. */
const FIRST_SINCE_BOOT =
  'mkdir -p /run/tidepool && [ ! -e /run/tidepool/post-start ] && touch /run/tidepool/post-start';

const conditions = (status: WorkspaceStatus): Condition[] => (status.conditions ??= []);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const show = (c: Command) => ('shell' in c ? c.shell : c.argv.join(' '));
const tail = (r: ExecResult, n = 12) => `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-n).join('\n');

/** Marks a workspace with a repository to look for a devcontainer.json once it is cloned. */
export function planDevcontainerFor(ctx: Context, ws: Workspace, status: WorkspaceStatus): void {
  if (!ws.spec.source?.git) return;
  const message = 'The repository is looked at for a devcontainer.json once it is cloned.';
  markPending(ctx, ws, status, 'DevcontainerApplied', message);
}

/** Whether the devcontainer has something to do in this reconcile: its first time, or a start (postStart). */
export function devcontainerDue(ctx: Context, name: string, status: WorkspaceStatus): boolean {
  const c = getCondition(status, 'DevcontainerApplied');
  if (!c || c.reason === 'NoDevcontainer') return false;
  const start = status.lastStartedTime ?? '';
  if (c.reason !== 'Pending' && ctx.postStartDone.get(name) === start) return false;
  ctx.postStartDone.set(name, start);
  return true;
}

class Guest {
  constructor(
    readonly ctx: Context,
    readonly vm: VM,
    readonly env: Record<string, string> = {},
  ) {}

  run(argv: string[], root = false): Promise<ExecResult> {
    const home = this.ctx.runtime.homes?.path ?? '/home/dev';
    const env = {
      HOME: home,
      USER: 'dev',
      LOGNAME: 'dev',
      SHELL: '/bin/bash',
      PATH: '/usr/local/bin:/usr/bin:/bin',
      ...this.env,
    };
    const who = root ? {} : { uid: 1000, gid: 1000 };
    return this.ctx.runtime.exec!(this.vm.name, argv, { ...who, cwd: `${home}/project`, env, timeoutSeconds: 1800 });
  }

  command(c: Command): Promise<ExecResult> {
    return this.run('shell' in c ? ['/bin/sh', '-c', c.shell] : c.argv);
  }
}

/** Runs commands in order; the first that fails is returned with its output. */
async function runAll(g: Guest, list: Command[], out: string[]): Promise<{ c: Command; r: ExecResult } | undefined> {
  for (const c of list) {
    const r = await g.command(c);
    out.push(`$ ${show(c)}`, tail(r));
    if (r.exitCode !== 0) return { c, r };
  }
  return undefined;
}

export async function applyDevcontainer(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  vm: VM,
  note: Note,
): Promise<void> {
  if (!ctx.runtime.exec) return;
  const set = (s: 'True' | 'False', reason: ConditionReason, message: string) =>
    setCondition(
      conditions(status),
      { type: 'DevcontainerApplied', status: s, reason, message },
      ctx.clock.now(),
      ws.metadata.generation,
    );
  const first = getCondition(status, 'DevcontainerApplied')?.reason === 'Pending';
  const read = await new Guest(ctx, vm).run(['sh', '-c', READ]);
  if (read.exitCode !== 0) {
    if (first)
      set('True', 'NoDevcontainer', 'The repository has no .devcontainer/devcontainer.json or .devcontainer.json.');
    return;
  }
  const [file = '', ...lines] = read.stdout.split('\n');
  const plan = planDevcontainer(lines.join('\n'));
  const g = new Guest(ctx, vm, plan.env);
  const out: string[] = [];
  if (!first) {
    if ((await g.run(['sh', '-c', FIRST_SINCE_BOOT], true)).exitCode !== 0) return;
    const failed = await runAll(g, [...plan.postStart, ...plan.postAttach], out);
    if (failed)
      note(
        'Warning',
        'PostStartFailed',
        `${file}: ${show(failed.c)} exited with ${failed.r.exitCode}:\n${tail(failed.r)}`,
      );
    return;
  }
  const missing = await prepare(ctx, ws, g, plan, out);
  await g.run(['sh', '-c', FIRST_SINCE_BOOT], true);
  const failed = await runAll(g, [...plan.postCreate, ...plan.postStart, ...plan.postAttach], out);
  if (out.length)
    note(failed ? 'Warning' : 'Normal', 'DevcontainerCommands', `${file}:\n${out.join('\n').slice(-3000)}`);
  const issues = issuesOf(ws, plan, missing);
  if (failed) {
    const message =
      `${file}: the command "${show(failed.c)}" exited with ${failed.r.exitCode}: ${tail(failed.r, 4)}. ${issues.join(' ')}`.trim();
    set('False', 'CommandFailed', message);
    return;
  }
  if (issues.length) set('False', 'PartlyApplied', `${file} is applied except: ${issues.join(' ')}`);
  else set('True', 'Applied', `${file} is applied (${summary(plan)}).`);
}

/** Environment, machine settings, extensions and Ports; returns the extensions not installed. */
async function prepare(
  ctx: Context,
  ws: Workspace,
  g: Guest,
  plan: DevcontainerPlan,
  out: string[],
): Promise<string[]> {
  const env = Object.entries(plan.env)
    .map(([k, v]) => `export ${k}=${quote(v)}\n`)
    .join('');
  if (env) await g.run(['sh', '-c', WRITE_ENV, 'tidepool-env', env]);
  if (plan.settings)
    await g.run(['sh', '-c', WRITE_MACHINE_SETTINGS, 'tidepool-settings', JSON.stringify(plan.settings, null, 2)]);
  let missing: string[] = [];
  if (plan.extensions.length) {
    const r = await g.run(['sh', '-c', INSTALL_EXTENSIONS, 'tidepool-extensions', ...plan.extensions]);
    missing = [...r.stdout.matchAll(/^NOTINSTALLED (\S+)$/gm)].map((m) => m[1]!);
    out.push(r.stdout.trim());
  }
  publishPorts(ctx, ws, plan, out);
  return missing;
}

/** Ports owned by the workspace (they go with it), each once; at most the limit a workspace has. */
function publishPorts(ctx: Context, ws: Workspace, plan: DevcontainerPlan, out: string[]): void {
  const name = keyOf(ws);
  const taken = new Set(ctx.store.portsOf(name).map((p) => p.spec.port));
  const room = Math.max(0, MAX_PORTS_PER_WORKSPACE - taken.size);
  const want = plan.ports.filter((p) => !taken.has(p.port));
  for (const p of want.slice(room))
    plan.problems.push(
      `forwardPorts: ${p.port} is not published (at most ${MAX_PORTS_PER_WORKSPACE} Ports per workspace)`,
    );
  const add = want.slice(0, room);
  if (!add.length) return;
  ctx.status.track(
    ctx.store.transaction((tx) => {
      for (const p of add) {
        const portName = `${name}-${p.port}`.slice(0, 63);
        if (tx.get('Port', portName)) continue;
        const annotations = {
          'tidepool/devcontainer': 'forwardPorts',
          ...(p.label ? { 'tidepool/label': p.label } : {}),
        };
        tx.create({
          apiVersion: 'tidepool/v1',
          kind: 'Port',
          metadata: { name: portName, annotations },
          spec: { workspace: name, port: p.port },
        });
      }
    }),
    'Workspace',
    name,
  );
  out.push(`published Ports ${add.map((p) => p.port).join(', ')}`);
}

function issuesOf(ws: Workspace, plan: DevcontainerPlan, missing: string[]): string[] {
  const issues: string[] = [];
  if (plan.unsupported.length) {
    const stand = plan.image
      ? ` (its image "${plan.image}": spec.image "${ws.spec.image}" stands in for it; an ImageTemplate can declare the same tools)`
      : '';
    issues.push(
      `not honoured in a system container made from an image template: ${plan.unsupported.join(', ')}${stand}.`,
    );
  }
  if (missing.length)
    issues.push(`extensions not installed (no local extension cache or gallery reachable): ${missing.join(', ')}.`);
  for (const p of plan.problems) issues.push(`${p}.`);
  return issues;
}

function summary(plan: DevcontainerPlan): string {
  const parts = [
    plan.postCreate.length ? `${plan.postCreate.length} create command(s)` : '',
    plan.ports.length ? `Ports ${plan.ports.map((p) => p.port).join(', ')}` : '',
    Object.keys(plan.env).length ? `${Object.keys(plan.env).length} environment variable(s)` : '',
    plan.settings ? 'VS Code settings' : '',
    plan.extensions.length ? `${plan.extensions.length} extension(s)` : '',
  ].filter(Boolean);
  return parts.join(', ') || 'nothing to do';
}
