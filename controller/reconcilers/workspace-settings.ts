// Editor settings that follow you (specs/settings.ts): read from a running workspace's home
// when it is stopped or deleted and merged into what its namespace saved (newer wins, by each
// file's mtime), and written into every workspace of that namespace made afterwards (a namespace
// is one person's: nobody else's settings reach it), before its dotfiles: a file the
// new home already has with a newer mtime (a copied home, say) is never overwritten.
// Extensions saved and missing are installed with code-server where it can reach a gallery;
// SettingsApplied names each one that could not be. `spec.settingsSync: false` opts out.
import {
  EDITOR_EXTENSIONS_DIR,
  keyOf,
  EDITOR_USER_DIR,
  namespaceOf,
  MAX_SETTINGS_FILE,
  mergeSettings,
  SETTINGS_FILE_PATTERN,
  type Condition,
  type SeenSettings,
  type SettingsProfile,
  type Workspace,
  type WorkspaceStatus,
} from '../../specs/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import { errorMessage } from '../../specs/errors.js';
import { getCondition, setCondition, type ConditionReason } from '../status.js';
import type { Context } from './context.js';
import { markPending, type Note } from './workspace-home.js';

const DEV = { uid: 1000, gid: 1000 };
const envOf = (home: string) => ({ HOME: home, USER: 'dev', LOGNAME: 'dev', PATH: '/usr/local/bin:/usr/bin:/bin' });

// Prints "F <mtime> <path> <base64>" per settings file, "D <mtime> <path>" per file that is the
// image's own default (as /etc/skel seeds every home: not a setting of the person's, and a new
// home gets it from its own image) and "E <dir>" per extension folder.
const READ_SCRIPT = `skel="/etc/skel/${EDITOR_USER_DIR}"
cd "$HOME/${EDITOR_USER_DIR}" 2>/dev/null && for f in settings.json keybindings.json snippets/*.json snippets/*.code-snippets; do
  [ -f "$f" ] || continue
  if [ -f "$skel/$f" ] && cmp -s "$f" "$skel/$f"; then printf 'D %s %s\\n' "$(stat -c %Y "$f")" "$f"; continue; fi
  [ "$(wc -c < "$f")" -le ${MAX_SETTINGS_FILE} ] || continue
  printf 'F %s %s ' "$(stat -c %Y "$f")" "$f"; base64 -w0 < "$f"; echo
done
for d in "$HOME/${EDITOR_EXTENSIONS_DIR}"/*/; do [ -d "$d" ] && echo "E $(basename "$d")"; done
exit 0`;

// $1: when the instance started (s); then triples of mtime, path, base64; then "--", then extension
// ids. A file the home brought (older than the start) and newer than the saved one is the user's
// and kept; one written since the start (the image's defaults, code-server's first run) is not.
const WRITE_SCRIPT = `dir="$HOME/${EDITOR_USER_DIR}"; boot="$1"; shift
while [ $# -ge 3 ] && [ "$1" != -- ]; do
  t="$1"; p="$dir/$2"; b="$3"; shift 3
  if [ -e "$p" ]; then m="$(stat -c %Y "$p")"; if [ "$m" -ge "$t" ] && [ "$m" -lt "$boot" ]; then echo "kept $p (changed here since)"; continue; fi; fi
  mkdir -p "$(dirname "$p")" && printf '%s' "$b" | base64 -d > "$p.tidepool" && mv "$p.tidepool" "$p" && touch -d "@$t" "$p" && echo "wrote $p" || exit 70
done
[ "$1" = -- ] && shift
for e in "$@"; do
  ls -d "$HOME/${EDITOR_EXTENSIONS_DIR}/$e"-* >/dev/null 2>&1 && continue
  if command -v code-server >/dev/null 2>&1 && timeout 30 code-server --install-extension "$e" >/dev/null 2>&1; then echo "installed $e"; else echo "NOTINSTALLED $e"; fi
done
exit 0`;

/** An extension folder name (publisher.name-1.2.3[-platform]) as its id. */
export function extensionId(dir: string): string | undefined {
  const m = /^([a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9._-]*?)-\d+\.\d+\.\d+/.exec(dir.toLowerCase());
  return m?.[1];
}

/** What READ_SCRIPT printed, as files, the image's defaults (path to mtime) and extensions. */
export function parseSettingsDump(out: string): SeenSettings {
  const files: SettingsProfile['files'] = {};
  const defaults: Record<string, number> = {};
  const extensions = new Set<string>();
  const allowed = new RegExp(SETTINGS_FILE_PATTERN);
  for (const line of out.split('\n')) {
    const f = /^F (\d+) (\S+) ([A-Za-z0-9+/=]*)$/.exec(line);
    if (f && allowed.test(f[2]!))
      files[f[2]!] = { mtime: Number(f[1]), content: Buffer.from(f[3]!, 'base64').toString('utf8') };
    const d = /^D (\d+) (\S+)$/.exec(line);
    if (d && allowed.test(d[2]!)) defaults[d[2]!] = Number(d[1]);
    const e = /^E (\S+)$/.exec(line);
    const id = e ? extensionId(e[1]!) : undefined;
    if (id) extensions.add(id);
  }
  return { files, defaults, extensions: [...extensions].sort() };
}

const follows = (ctx: Context, ws: Workspace) => !!ctx.settings && ws.spec.settingsSync !== false && !!ctx.runtime.exec;

/** Saves the editor settings of a running workspace (before it stops or goes). Never fails the caller. */
export async function saveSettings(ctx: Context, ws: Workspace, vm: VM | undefined, note: Note): Promise<void> {
  if (!follows(ctx, ws) || vm?.state !== 'Running') return;
  const home = ctx.runtime.homes?.path ?? '/home/dev';
  try {
    const r = await ctx.runtime.exec!(keyOf(ws), ['sh', '-c', READ_SCRIPT], {
      ...DEV,
      cwd: home,
      env: envOf(home),
      timeoutSeconds: 60,
    });
    if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `exit code ${r.exitCode}`);
    const seen = parseSettingsDump(r.stdout);
    let changed: string[] = [];
    await ctx.settings!.of(namespaceOf(ws)).update((saved) => {
      const m = mergeSettings(saved, seen);
      changed = m.changed;
      if (!changed.length) return undefined;
      return { ...m.merged, updated: new Date(ctx.clock.now()).toISOString(), source: keyOf(ws) };
    });
    if (changed.length)
      note('Normal', 'SettingsSaved', `Saved the editor settings that changed here: ${changed.join(', ')}.`);
  } catch (err) {
    note('Warning', 'SettingsNotSaved', `The editor settings could not be saved: ${errorMessage(err)}.`);
  }
}

const conditions = (status: WorkspaceStatus): Condition[] => (status.conditions ??= []);

/** Marks a workspace being made to get the saved settings once it runs. */
export function planSettings(ctx: Context, ws: Workspace, status: WorkspaceStatus): void {
  if (!follows(ctx, ws)) return;
  const message = 'The saved editor settings are written into the home once the instance runs.';
  markPending(ctx, ws, status, 'SettingsApplied', message);
}

export const settingsPending = (status: WorkspaceStatus) =>
  getCondition(status, 'SettingsApplied')?.reason === 'Pending';

/** Writes the saved settings into the new home (never over a newer file) and installs missing extensions. */
export async function applySettings(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  vm: VM,
  note: Note,
): Promise<void> {
  if (!settingsPending(status)) return;
  const set = (s: 'True' | 'False', reason: ConditionReason, message: string) =>
    setCondition(
      conditions(status),
      { type: 'SettingsApplied', status: s, reason, message },
      ctx.clock.now(),
      ws.metadata.generation,
    );
  const saved = await ctx
    .settings!.of(namespaceOf(ws))
    .read()
    .catch((err: unknown) => {
      set('False', 'SettingsFailed', `The saved editor settings cannot be read: ${errorMessage(err)}.`);
      return undefined;
    });
  if (!saved) return;
  const args = Object.entries(saved.files).flatMap(([p, f]) => [
    String(f.mtime),
    p,
    Buffer.from(f.content).toString('base64'),
  ]);
  if (!args.length && !saved.extensions.length) {
    set('True', 'Applied', 'No editor settings have been saved yet.');
    return;
  }
  const home = ctx.runtime.homes?.path ?? '/home/dev';
  // A little before the start this controller saw: the guest's clock is the host's, its boot takes a moment.
  const boot = Math.floor((Date.parse(status.lastStartedTime ?? '') || ctx.clock.now()) / 1000) - 2;
  const argv = ['sh', '-c', WRITE_SCRIPT, 'tidepool-settings', String(boot), ...args, '--', ...saved.extensions];
  const r = await ctx.runtime.exec!(vm.name, argv, { ...DEV, cwd: home, env: envOf(home), timeoutSeconds: 600 });
  if (r.exitCode !== 0) {
    const message = `Writing the saved editor settings failed: ${(r.stderr.trim() || `exit code ${r.exitCode}`).slice(-400)}.`;
    set('False', 'SettingsFailed', message);
    note('Warning', 'SettingsFailed', message);
    return;
  }
  const missing = [...r.stdout.matchAll(/^NOTINSTALLED (\S+)$/gm)].map((m) => m[1]!);
  const wrote = Object.keys(saved.files).length;
  const said = `Wrote the saved editor settings (${wrote} file${wrote === 1 ? '' : 's'}, newer ones here kept)`;
  if (missing.length) {
    const message = `${said}; these extensions could not be installed (no extension gallery or cache reachable): ${missing.join(', ')}.`;
    set('False', 'ExtensionsMissing', message);
    note('Warning', 'ExtensionsMissing', message);
    return;
  }
  set('True', 'Applied', `${said}.`);
  note('Normal', 'SettingsApplied', `${said}:\n${r.stdout.trim().split('\n').slice(-15).join('\n')}`);
}
