// Dotfiles, installed once when a workspace is made (spec.source.dotfiles, else the server's
// default): cloned into ~/.dotfiles as dev, then installed the way Coder and Codespaces do it
// (the first install script found runs; without one the dotfiles are linked into the home).
// Planned in status before the instance exists, run once it does, after spec.source.git; the
// script's output goes to the activity log, and DotfilesReady says how it went. A failure
// never stops the workspace. Safe to run again after a crash: a clone already there is kept.
import type { Condition, Workspace, WorkspaceStatus } from '../../specs/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import { errorMessage } from '../../specs/errors.js';
import { getCondition, setCondition, type ConditionReason } from '../status.js';
import type { Context } from './context.js';
import { markPending, type Note } from './workspace-home.js';

export interface Dotfiles {
  url: string;
  ref?: string;
}

/** Where Coder and Codespaces look, in their order. */
export const INSTALL_SCRIPTS = [
  'install.sh',
  'install',
  'bootstrap.sh',
  'bootstrap',
  'script/bootstrap',
  'setup.sh',
  'setup',
  'script/setup',
];

// Runs as dev in its home. $1 url, $2 ref (may be empty). Exit codes name the failing part.
const DOTFILES_SCRIPT = `set -u
cd "$HOME" || exit 90
D="$HOME/.dotfiles"
if [ ! -d "$D/.git" ]; then
  command -v git >/dev/null 2>&1 || { echo "git is not installed in this image" >&2; exit 91; }
  rm -rf "$D.tidepool-clone"
  git clone --quiet -- "$1" "$D.tidepool-clone" || { rm -rf "$D.tidepool-clone"; exit 92; }
  if [ -n "$2" ]; then git -C "$D.tidepool-clone" checkout --quiet "$2" -- || { rm -rf "$D.tidepool-clone"; exit 93; }; fi
  rm -rf "$D" && mv "$D.tidepool-clone" "$D" || exit 90
fi
cd "$D" || exit 90
for f in ${INSTALL_SCRIPTS.join(' ')}; do
  [ -f "$f" ] || continue
  echo "tidepool: running ~/.dotfiles/$f"
  chmod +x "$f" 2>/dev/null
  if [ -x "$f" ]; then "./$f"; else sh "./$f"; fi
  rc=$?
  [ $rc -eq 0 ] || { echo "tidepool: ~/.dotfiles/$f exited with $rc" >&2; exit 94; }
  exit 0
done
n=0
for f in .[!.]* ..?*; do
  [ -e "$f" ] || continue
  case "$f" in .git|.github|.gitignore|.gitmodules|.gitattributes) continue;; esac
  if [ -e "$HOME/$f" ] && [ ! -L "$HOME/$f" ]; then mv "$HOME/$f" "$HOME/$f.bak" || exit 95; fi
  ln -sfn "$D/$f" "$HOME/$f" || exit 95
  echo "tidepool: linked ~/$f"
  n=$((n+1))
done
echo "tidepool: no install script; linked $n dotfiles into ~"`;

const conditions = (status: WorkspaceStatus): Condition[] => (status.conditions ??= []);
const describe = (d: Dotfiles) => `dotfiles ${d.url}${d.ref ? ` at ${d.ref}` : ''}`;

/** The workspace's dotfiles: its own, none when it says `{}`, else the server's default. */
export function dotfilesOf(ctx: Context, ws: Workspace): Dotfiles | undefined {
  const own = ws.spec.source?.dotfiles;
  if (own) return own.url ? { url: own.url, ...(own.ref ? { ref: own.ref } : {}) } : undefined;
  return ctx.defaultDotfiles;
}

/** Marks, before the instance is made, that dotfiles are to be installed: only a workspace being made gets them. */
export function planDotfiles(ctx: Context, ws: Workspace, status: WorkspaceStatus): void {
  const d = dotfilesOf(ctx, ws);
  if (d) markPending(ctx, ws, status, 'DotfilesReady', `The ${describe(d)} are installed once the instance runs.`);
}

export function dotfilesPending(status: WorkspaceStatus): boolean {
  const c = getCondition(status, 'DotfilesReady');
  return !!c && (c.reason === 'Pending' || c.reason === 'Installing');
}

/** The last lines of what the script said, for the activity log. */
const said = (r: { stdout: string; stderr: string; exitCode: number }, n = 15) =>
  (`${r.stdout.trim()}\n${r.stderr.trim()}`.trim() || `exit code ${r.exitCode}`).split('\n').slice(-n).join('\n');

const FAILURES: Record<number, string> = {
  91: 'git is not installed in the image',
  92: 'cloning failed',
  93: 'checking out the ref failed',
  94: 'the install script failed',
  95: 'linking the dotfiles into the home failed',
};

/** Clones and installs the dotfiles as dev (uid 1000); the outcome is DotfilesReady and an event with the output. */
export async function installDotfiles(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  vm: VM,
  note: Note,
): Promise<void> {
  const d = dotfilesOf(ctx, ws);
  if (!d || !dotfilesPending(status)) return;
  const set = (s: 'True' | 'False', reason: ConditionReason, message: string) =>
    setCondition(
      conditions(status),
      { type: 'DotfilesReady', status: s, reason, message },
      ctx.clock.now(),
      ws.metadata.generation,
    );
  const exec = ctx.runtime.exec?.bind(ctx.runtime);
  if (!exec) {
    set(
      'False',
      'NotSupported',
      `The ${ctx.runtime.name} runtime cannot run commands in the instance, so the ${describe(d)} are not installed.`,
    );
    return;
  }
  const home = ctx.runtime.homes?.path ?? '/home/dev';
  set('False', 'Installing', `Installing the ${describe(d)}.`);
  let r;
  try {
    r = await exec(vm.name, ['sh', '-c', DOTFILES_SCRIPT, 'tidepool-dotfiles', d.url, d.ref ?? ''], {
      uid: 1000,
      gid: 1000,
      cwd: home,
      env: {
        HOME: home,
        USER: 'dev',
        LOGNAME: 'dev',
        SHELL: '/bin/bash',
        GIT_TERMINAL_PROMPT: '0',
        PATH: '/usr/local/bin:/usr/bin:/bin',
      },
      timeoutSeconds: 600,
    });
  } catch (err) {
    set(
      'False',
      'Installing',
      `Installing the ${describe(d)}: the runtime could not run it: ${errorMessage(err)}. Retrying.`,
    );
    throw err;
  }
  if (r.exitCode === 0) {
    set('True', 'Installed', `Installed the ${describe(d)} into ~/.dotfiles (the activity log has the output).`);
    note('Normal', 'DotfilesInstalled', `Installed the ${describe(d)}:\n${said(r)}`);
    return;
  }
  const what = FAILURES[r.exitCode] ?? `the install ended with exit code ${r.exitCode}`;
  const message = `Installing the ${describe(d)} failed: ${what}: ${said(r, 6)}. The workspace starts without them.`;
  set('False', 'DotfilesFailed', message);
  note('Warning', 'DotfilesFailed', `Installing the ${describe(d)} failed (${what}):\n${said(r)}`);
}
