// The folder watcher: chokidar says only "something changed" (the sync reads the whole folder
// afresh anyway), and a periodic look at the folder itself notices it being deleted, made
// again or replaced (a symlink pointed elsewhere), which chokidar does not follow.
import { watch, type FSWatcher } from 'chokidar';
import type { Clock, Timer } from '../controller/queue/index.js';
import { folderIdentity, watchIgnored } from './files.js';
import type { SyncLogger } from './types.js';

export interface FolderWatcherOptions {
  dir: string;
  /** The sync's name, for the log. */
  name: string;
  log: SyncLogger;
  clock: Clock;
  /** How often the folder itself is looked at. */
  checkMs: number;
  /** Something in the folder (or the folder itself) changed. */
  onChange(): void;
  /** False while the sync is busy: the folder check then waits (the sync looks at the folder itself). */
  idle(): boolean;
  /** True once the folder has been read or watched: a folder that vanishes then is a change. */
  seen(): boolean;
}

export class FolderWatcher {
  readonly #o: FolderWatcherOptions;
  #watcher: FSWatcher | undefined;
  /** The folder identity (device:inode) being watched. */
  #watched: string | undefined;
  #chain: Promise<void> = Promise.resolve();
  #checkTimer: Timer | undefined;
  #closed = false;

  constructor(opts: FolderWatcherOptions) {
    this.#o = opts;
  }

  /** The identity (device:inode) of the folder watched now, or undefined. */
  get watched(): string | undefined {
    return this.#watched;
  }

  /** Watches the folder of this identity (or nothing); calls are serialized and idempotent. */
  setWatch(identity: string | undefined): Promise<void> {
    const next = this.#chain.then(async () => {
      if (identity === this.#watched) return;
      if (identity === undefined || this.#closed) await this.#closeWatcher();
      else await this.#open(identity);
    });
    this.#chain = next.catch((err) => this.#o.log.warn({ sync: this.#o.name, err }, 'sync: cannot watch the folder'));
    return next;
  }

  /**
   * Starts looking at the folder itself every checkMs. A folder that appears is watched at
   * once and reported as a change, read when it has been quiet for the debounce period like
   * any change: a folder being filled (a clone, a copy) is read when complete.
   */
  startChecking(): void {
    const tick = () => {
      if (this.#closed) return;
      this.#check();
      this.#checkTimer = this.#o.clock.setTimeout(tick, this.#o.checkMs);
    };
    this.#checkTimer = this.#o.clock.setTimeout(tick, this.#o.checkMs);
  }

  /** Stops checking and watching. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#checkTimer?.cancel();
    await this.setWatch(undefined).catch(() => {});
  }

  #check(): void {
    const { dir, onChange } = this.#o;
    if (!this.#o.idle()) return;
    folderIdentity(dir).then(
      (id) => {
        if (id !== this.#watched && !this.#closed) void this.setWatch(id).then(onChange, onChange);
      },
      () => {
        if (!this.#closed && (this.#watched !== undefined || this.#o.seen())) onChange();
      },
    );
  }

  async #open(identity: string): Promise<void> {
    const { dir, name, log, onChange } = this.#o;
    await this.#closeWatcher();
    // Links are not followed: a link to /usr would have chokidar watch thousands of files. The
    // link itself is watched, and readManifests refuses one that leads out of the folder.
    const w = watch(dir, { ignoreInitial: true, ignored: watchIgnored(dir), persistent: true, followSymlinks: false });
    w.on('all', (event, path) => {
      if (this.#closed) return;
      log.debug({ sync: name, event, path }, 'sync: file event');
      onChange();
    });
    w.on('error', (err) => {
      log.warn({ sync: name, err }, 'sync: watcher error');
      if (!this.#closed) onChange();
    });
    await new Promise<void>((res) => w.once('ready', () => res()));
    this.#watcher = w;
    this.#watched = identity;
  }

  async #closeWatcher(): Promise<void> {
    const w = this.#watcher;
    this.#watcher = undefined;
    this.#watched = undefined;
    if (w) await w.close().catch(() => {});
  }
}
