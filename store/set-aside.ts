// Events are disposable (they expire after an hour anyway): an Events file that cannot be
// loaded must not keep Tidepool from starting. Its pieces are renamed aside, never deleted,
// so a person can still read them, and the store starts with no Events. The objects' store
// file gets no such leniency: losing it would cost workspaces (store/load.ts refuses it).
import { readFile, rename } from 'node:fs/promises';
import { journalPaths } from './journal.js';

export interface SetAside {
  /** The files as they are named now. */
  moved: string[];
  /** The highest resourceVersion the set-aside files mention, so the counter never goes back. */
  highestRv: number;
}

/** Renames the snapshot and journals of store file `path` to `<name>.corrupt-<time>`. */
export async function setAside(path: string, now: Date): Promise<SetAside> {
  const p = journalPaths(path);
  const suffix = `.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  const moved: string[] = [];
  let highestRv = 0;
  for (const file of [p.snapshot, p.journal, p.oldJournal]) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    // Best effort: versions handed out must not be handed out again (a watcher may hold one).
    for (const m of text.matchAll(/"(?:rv|resourceVersion)":"?(\d{1,15})/g))
      highestRv = Math.max(highestRv, Number(m[1]));
    await rename(file, file + suffix);
    moved.push(file + suffix);
  }
  return { moved, highestRv };
}
