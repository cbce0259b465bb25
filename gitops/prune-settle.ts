// An object goes from a sync folder only once it has been gone for a while. Editors save by
// writing a new file and renaming it over the old one, or by deleting and writing again: for
// a moment (600 ms was seen) the file is missing, and a prune then would delete the workspace
// and its home. So a prune that a revision asks for is held until the object has been missing
// from every revision read for PRUNE_SETTLE_MS, and the folder is read again (from scratch)
// before it goes: back by then, nothing happened.

/** How long an object must have been missing from its folder before a sync prunes it. */
export const PRUNE_SETTLE_MS = 5000;

export class PruneSettle {
  /** Kind/name → when it was first seen missing (and a prune asked for). */
  readonly #missingSince = new Map<string, number>();

  constructor(
    private readonly settleMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Of the objects a prune would delete now, those missing for less than the settle interval
   * (kept this time), and when the earliest of them will have settled.
   */
  hold(victims: readonly string[]): { keep: Set<string>; recheckInMs: number | undefined } {
    const now = this.now();
    const current = new Set(victims);
    // Back in the folder (or gone by other means): forget when it went missing.
    for (const key of this.#missingSince.keys()) if (!current.has(key)) this.#missingSince.delete(key);
    const keep = new Set<string>();
    let recheckInMs: number | undefined;
    for (const key of victims) {
      const since = this.#missingSince.get(key) ?? now;
      this.#missingSince.set(key, since);
      const left = since + this.settleMs - now;
      if (left > 0) {
        keep.add(key);
        recheckInMs = Math.min(recheckInMs ?? left, left);
      }
    }
    return { keep, recheckInMs };
  }
}
