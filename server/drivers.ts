// What a driver entry of the two registries (runtimes.ts, proxies.ts) declares, so that the
// composition root never switches on a driver's name: its settings (each a serve flag with its
// default and help), how it is built from them, and how it describes itself in the start-up log.
// A driver's modules load only when it is chosen.
import type { Flag, RawFlags, Resolved } from './flags.js';
import { settingsFrom } from './flags.js';

export interface DriverEntry<F extends readonly Flag[], S, Ctx, D> {
  /** Its settings: each a flag of `tidepool serve`, with its default and help. */
  readonly flags: F;
  /**
   * The settings it is built from, out of its flags, checked together before anything starts
   * (`chosen`: the driver of its kind serve runs). Default: its flags' settings as they are.
   */
  settings?(flags: Resolved<F>, chosen: string): S;
  /** Builds it and brings it up; a ServeError says what to do when it cannot. */
  create(settings: S, ctx: Ctx): Promise<D>;
  /** What the start-up log says about it once it is up. */
  describe?(driver: D, settings: S, ctx: Ctx): void;
}

/** The settings of an entry, as its `create` takes them. */
export type EntrySettings<E> = E extends DriverEntry<readonly Flag[], infer S, never, unknown> ? S : never;

/** Every entry's settings from what was typed, by driver name. */
export function settingsOfEach<R extends Record<string, DriverEntry<readonly Flag[], unknown, never, unknown>>>(
  registry: R,
  given: RawFlags,
  chosen: string,
): { [N in keyof R]: EntrySettings<R[N]> } {
  const each: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(registry)) {
    const flags = settingsFrom(entry.flags, given);
    each[name] = entry.settings ? entry.settings(flags, chosen) : flags;
  }
  // One value per entry of the registry, made by that entry.
  return each as { [N in keyof R]: EntrySettings<R[N]> };
}
