// A flag of `tidepool serve`, declared once: its name, the placeholder of its value, its help,
// what it falls back to when not given (an environment variable, a default), how the text
// typed becomes a setting, and which setting it fills. The serve table (serve-flags.ts) and
// every driver entry (runtimes.ts, proxies.ts) are lists of these: the CLI makes its options
// from them, `settingsFrom` makes the settings, and the settings' types are read off them.

interface FlagBase<K extends string> {
  /** `--app-port`. */
  readonly name: `--${string}`;
  /** One line of `serve --help`; it states the default itself, as the user reads it. */
  readonly help: string;
  /** The setting it fills. */
  readonly setting: K;
}

/** A flag with a value: `--app-port 8081`. */
export interface ValueFlag<K extends string = string, V = unknown> extends FlagBase<K> {
  /** The placeholder of the value in the help: `<[host:]port>`. */
  readonly value: `<${string}>`;
  /** Read when the flag is not given (or says nothing). */
  readonly env?: string;
  /** Taken, as one would type it, when neither the flag nor `env` says anything. */
  readonly default?: string;
  /** The setting from the text, undefined when the text says nothing; throws an Error in the words the user sees. */
  readonly parse: (text: string, name: string) => V | undefined;
}

/** A flag given once per value: `--image a=b --image c=d`; the parser gets them all. */
export interface ListFlag<K extends string = string, V = unknown> extends FlagBase<K> {
  readonly value: `<${string}>`;
  readonly repeatable: true;
  readonly parse: (texts: string[], name: string) => V | undefined;
}

/** A switch: `--keep-data-plane` sets its setting to true. */
export interface SwitchFlag<K extends string = string> extends FlagBase<K> {
  readonly value?: undefined;
}

export type Flag = ValueFlag | ListFlag | SwitchFlag;

/** What commander collected, by its attribute name (`appPort`): a string, strings when repeatable, true for a switch. */
export type RawFlags = { readonly [attribute: string]: string | string[] | boolean | undefined };

type ValueOf<F> = F extends ListFlag<string, infer V> ? V : F extends ValueFlag<string, infer V> ? V : true;

/** The settings a table fills, every one optional. */
export type SettingsOf<T extends readonly Flag[]> = { -readonly [F in T[number] as F['setting']]?: ValueOf<F> };

/** The settings a table fills when read with `settingsFrom`: those with a default are always there. */
export type Resolved<T extends readonly Flag[]> = SettingsOf<T> & {
  -readonly [F in T[number] as F extends { default: string } ? F['setting'] : never]-?: ValueOf<F>;
};

/** A table, its setting names and parsers kept exact for `SettingsOf`. */
export const defineFlags = <const T extends readonly Flag[]>(table: T): T => table;

/** The name commander keeps a flag's value under: `--app-port` → `appPort`. */
export const attributeName = (name: string): string =>
  name.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `--app-port <[host:]port>`, as commander's `.option` takes it. */
export const optionSpec = (flag: Flag): string => (flag.value ? `${flag.name} ${flag.value}` : flag.name);

/** The settings of a table from what was typed (and the environment); throws the first flag's error. */
export function settingsFrom<const T extends readonly Flag[]>(
  table: T,
  given: RawFlags,
  env: NodeJS.ProcessEnv = {},
): Resolved<T> {
  const settings: Record<string, unknown> = {};
  for (const flag of table) {
    const value = settingOf(flag, given[attributeName(flag.name)], env);
    if (value !== undefined) settings[flag.setting] = value;
  }
  // Built key by key from the very table the type is read off.
  return settings as Resolved<T>;
}

function settingOf(flag: Flag, raw: RawFlags[string], env: NodeJS.ProcessEnv): unknown {
  if (flag.value === undefined) return raw === true ? true : undefined;
  if ('repeatable' in flag) return Array.isArray(raw) ? flag.parse(raw, flag.name) : undefined;
  const read = (text: string | undefined) => (text === undefined ? undefined : flag.parse(text, flag.name));
  return read(typeof raw === 'string' ? raw : undefined) ?? read(flag.env && env[flag.env]) ?? read(flag.default);
}
