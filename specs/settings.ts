// The editor settings that follow a person from workspace to workspace: VS Code's (code-server's)
// settings, keybindings and snippets, each with the time it was last changed in a workspace, and
// the extensions installed. Saved by the controller when a workspace stops or is deleted, applied
// to every workspace made afterwards (a file newer in the workspace is never overwritten);
// `tidepool settings export/import` reads and writes it as a file.
import { Type, type Static } from '@sinclair/typebox';

/** Where code-server keeps a user's settings, relative to the home. */
export const EDITOR_USER_DIR = '.local/share/code-server/User';
/** Where code-server keeps its extensions, relative to the home. */
export const EDITOR_EXTENSIONS_DIR = '.local/share/code-server/extensions';
/** The largest settings file that follows (bytes); a larger one stays in its workspace. */
export const MAX_SETTINGS_FILE = 64 * 1024;

/** `settings.json`, `keybindings.json` or `snippets/NAME.json` (or `.code-snippets`). */
export const SETTINGS_FILE_PATTERN =
  '^(settings\\.json|keybindings\\.json|snippets/[A-Za-z0-9._-]+\\.(json|code-snippets))$';

export const SettingsFile = Type.Object(
  {
    content: Type.String({ maxLength: MAX_SETTINGS_FILE, description: 'The file as the editor wrote it (UTF-8).' }),
    mtime: Type.Integer({
      minimum: 0,
      description: 'When it was last changed in a workspace, seconds since the epoch.',
    }),
  },
  { additionalProperties: false },
);

export const SettingsProfile = Type.Object(
  {
    apiVersion: Type.Literal('tidepool/v1'),
    kind: Type.Literal('EditorSettings'),
    files: Type.Record(Type.String({ pattern: SETTINGS_FILE_PATTERN }), SettingsFile, {
      // Only these paths: a saved file is written into every new home, never anywhere else.
      additionalProperties: false,
      description: "By path under the editor's User folder: settings.json, keybindings.json, snippets/*.json.",
    }),
    extensions: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*\\.[a-z0-9][a-z0-9._-]*$', maxLength: 200 }), {
      maxItems: 500,
      uniqueItems: true,
      description: 'Installed extensions, publisher.name, lowercase.',
    }),
    updated: Type.Optional(Type.String({ format: 'date-time' })),
    /** The workspace the last change came from. */
    source: Type.Optional(Type.String()),
  },
  { additionalProperties: false, $id: 'EditorSettings' },
);
export type SettingsProfile = Static<typeof SettingsProfile>;

export const emptySettings = (): SettingsProfile => ({
  apiVersion: 'tidepool/v1',
  kind: 'EditorSettings',
  files: {},
  extensions: [],
});

/** What a workspace's home holds: its settings files, those that are its image's defaults (path to mtime), its extensions. */
export interface SeenSettings {
  files: SettingsProfile['files'];
  defaults?: Record<string, number>;
  extensions: string[];
}

/**
 * What a workspace had, merged into what was saved: a file newer there (by its mtime) wins, an
 * older one is kept as saved; a file that is the image's default and newer than the saved one
 * drops it (back to the default: a new home gets the default from its own image, with nothing
 * to write); extensions are the union (an uninstall does not follow). Returns the merged
 * profile and the paths that changed.
 */
export function mergeSettings(
  saved: SettingsProfile,
  seen: SeenSettings,
): { merged: SettingsProfile; changed: string[] } {
  const merged = structuredClone(saved);
  const changed: string[] = [];
  for (const [path, mtime] of Object.entries(seen.defaults ?? {})) {
    const had = merged.files[path];
    if (!had || had.mtime >= mtime) continue;
    delete merged.files[path];
    changed.push(`${path} (back to the image's default)`);
  }
  for (const [path, f] of Object.entries(seen.files)) {
    const had = merged.files[path];
    if (had && had.mtime >= f.mtime) continue;
    if (had?.content === f.content) {
      merged.files[path] = { ...had, mtime: f.mtime };
      continue;
    }
    merged.files[path] = f;
    changed.push(path);
  }
  for (const e of seen.extensions)
    if (!merged.extensions.includes(e)) {
      merged.extensions.push(e);
      changed.push(`extension ${e}`);
    }
  merged.extensions.sort();
  return { merged, changed };
}
