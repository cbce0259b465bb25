// Reading a sync folder: which files count as manifests, reading all of them, and the
// revision (a content hash) of what was read. The watcher only says "something changed";
// every revision is read here from scratch, so a missed or reordered file event never
// leaves the sync with a wrong picture of the folder.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  readdirSync,
  realpathSync,
  statSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { errorMessage } from '../specs/errors.js';
import type { SyncReason } from '../specs/index.js';

/** Manifest files: `*.yaml`, `*.yml`, `*.json`. */
export const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/** A file larger than this is reported as an error instead of read (nobody writes a 4 MiB manifest). */
export const MAX_FILE_BYTES = 4 * 2 ** 20;

/**
 * The most manifest files one revision may hold, and their most bytes together: a folder past
 * either is reported (FolderTooLarge) and nothing of it is applied or pruned. They bound what
 * one read holds in memory (a link to /usr once made a read of 6,068 files take 5 GB).
 */
export const MAX_MANIFEST_FILES = 5000;
export const MAX_MANIFEST_BYTES = 32 * 2 ** 20;

export interface FolderLimits {
  /** Defaults to MAX_MANIFEST_FILES. */
  maxFiles?: number;
  /** Defaults to MAX_MANIFEST_BYTES. */
  maxBytes?: number;
}

/**
 * Names that are never manifests nor folders of manifests: dotfiles and dot-folders
 * (`.git`, `.#alice.yaml` Emacs locks, `.alice.yaml.swp`), editor swap and backup files
 * (`*.swp`, `*.swx`, `*~`, `#alice.yaml#`), vim's write probe `4913`, and temp files
 * (`*.tmp`, `*.temp`, `*.bak`, `*.orig`).
 */
export function isIgnoredName(name: string): boolean {
  return (
    name.startsWith('.') ||
    name.endsWith('~') ||
    /^#.*#$/.test(name) ||
    name === '4913' ||
    /\.(swp|swx|swo|tmp|temp|bak|orig|rej)$/i.test(name)
  );
}

/** True when the path (relative to the folder, any separator) lies under an ignored name. */
export function isIgnoredRelPath(rel: string): boolean {
  if (rel === '' || rel === '.') return false;
  return rel.split(/[\\/]/).some((part) => part !== '' && isIgnoredName(part));
}

/** The matcher handed to chokidar: ignored names anywhere below `root`, and files that are not manifests. */
export function watchIgnored(root: string): (path: string, stats?: Stats) => boolean {
  return (path, stats) => {
    const rel = relative(root, path);
    if (rel.startsWith('..')) return false;
    if (isIgnoredRelPath(rel)) return true;
    return stats?.isFile() === true && !MANIFEST_EXT.test(path);
  };
}

export interface ManifestFile {
  /** Relative to the folder, '/'-separated: what errors and events show. */
  path: string;
  text: string;
}

export type FolderProblem = Extract<
  SyncReason,
  'FolderNotFound' | 'FolderUnreadable' | 'FolderTooLarge' | 'LinkOutsideFolder'
>;

/** The folder cannot be read as a whole, or one of its files cannot. */
export class FolderError extends Error {
  constructor(
    readonly reason: FolderProblem,
    message: string,
    /** The file or sub-folder at fault, relative to the folder, when it is not the folder itself. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'FolderError';
  }
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

function folderError(root: string, err: unknown, file?: string): FolderError {
  const code = errCode(err);
  const where = file ? `${file} in sync folder ${root}` : `sync folder ${root}`;
  if (!file && (code === 'ENOENT' || code === 'ENOTDIR')) {
    return new FolderError(
      'FolderNotFound',
      code === 'ENOTDIR' ? `${where} is not a directory` : `${where} does not exist`,
    );
  }
  const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : errorMessage(err);
  return new FolderError('FolderUnreadable', `${where} cannot be read: ${why}`, file);
}

/** Identity of the folder itself: a folder deleted and made again is a different inode, and needs a new watch. */
export async function folderIdentity(root: string): Promise<string> {
  let st: Stats;
  try {
    st = await stat(root);
  } catch (err) {
    throw folderError(root, err);
  }
  if (!st.isDirectory()) throw new FolderError('FolderNotFound', `sync folder ${root} is not a directory`);
  return `${st.dev}:${st.ino}`;
}

/** Lets other work on the event loop run (the API, the controller) between batches of file reads. */
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));
const BATCH = 64;

/** Reads a whole file with one open, fstat and read: no file is read past MAX_FILE_BYTES, nor past `budget` bytes. */
function readSmallFile(full: string, path: string, budget: () => number): string {
  const fd = openSync(full, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > budget()) throw new TooLarge();
    if (size > MAX_FILE_BYTES) {
      throw new FolderError(
        'FolderUnreadable',
        `${path} is ${size} bytes; manifests larger than ${MAX_FILE_BYTES} bytes are not read`,
        path,
      );
    }
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break; // truncated meanwhile: the watcher reports it and the folder is read again
      off += n;
    }
    return buf.toString('utf8', 0, off);
  } finally {
    closeSync(fd);
  }
}

/** Thrown inside a read when the byte cap is reached; reported as FolderTooLarge. */
class TooLarge extends Error {}

/** Whether `target` (a real path) is `root` (a real path) or lies inside it. */
const insideRoot = (root: string, target: string) => {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/**
 * Reads every manifest under `root`, recursively, sorted by path. A symbolic link is followed
 * only when it leads to a file or folder inside the folder (a folder reached twice is read
 * once); one that leads out of it is a FolderError (LinkOutsideFolder) naming the link, never
 * its target or the target's content, and nothing of the folder is applied until it goes: a
 * sync folder holds what its files say, not what the server's own disk holds. More than
 * `maxFiles` manifest files or `maxBytes` bytes is a FolderError (FolderTooLarge) naming the
 * cap. A file that disappears while the folder is read is left out (it was being deleted or
 * renamed; the watcher reports it and the folder is read again). Throws FolderError when the
 * folder or one of its entries cannot be read.
 *
 * The reads are synchronous, in batches with the event loop let through in between: a
 * thousand small files take ~10 ms this way against ~60 ms through the libuv thread pool,
 * and that is most of the latency of an edit.
 */
export async function readManifests(root: string, limits: FolderLimits = {}): Promise<ManifestFile[]> {
  const maxFiles = limits.maxFiles ?? MAX_MANIFEST_FILES;
  const maxBytes = limits.maxBytes ?? MAX_MANIFEST_BYTES;
  const paths = await listManifestPaths(root, maxFiles);
  const files: ManifestFile[] = [];
  let bytes = 0;
  for (let i = 0; i < paths.length; i++) {
    const full = paths[i]!;
    const path = toPosix(relative(root, full));
    try {
      const text = readSmallFile(full, path, () => maxBytes - bytes);
      bytes += Buffer.byteLength(text);
      files.push({ path, text });
    } catch (err) {
      if (err instanceof TooLarge) throw tooLarge(root, `${maxBytes} bytes`);
      if (err instanceof FolderError) throw err;
      if (errCode(err) === 'ENOENT') continue;
      throw folderError(root, err, path);
    }
    if (i % BATCH === BATCH - 1) await yieldToLoop();
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const tooLarge = (root: string, what: string) =>
  new FolderError(
    'FolderTooLarge',
    `sync folder ${root} holds more than ${what} of manifests, the most one revision may hold (MAX_MANIFEST_FILES = ${MAX_MANIFEST_FILES} files and MAX_MANIFEST_BYTES = ${MAX_MANIFEST_BYTES} bytes in gitops/files.ts); split it into several sync folders`,
  );

/** The paths of every manifest file under `root`, breadth first, following links only inside it. */
async function listManifestPaths(root: string, maxFiles: number): Promise<string[]> {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (err) {
    throw folderError(root, err);
  }
  const paths: string[] = [];
  const seenDirs = new Set<string>();
  const pendingDirs = [root];
  let work = 0;
  while (pendingDirs.length) {
    const dir = pendingDirs.shift()!;
    const rel = relative(root, dir);
    let entries: Dirent[];
    try {
      const real = realpathSync(dir);
      if (seenDirs.has(real)) continue;
      seenDirs.add(real);
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (rel && errCode(err) === 'ENOENT') continue;
      throw folderError(root, err, rel ? toPosix(rel) : undefined);
    }
    for (const e of entries) {
      if (isIgnoredName(e.name)) continue;
      const full = join(dir, e.name);
      const kind = entryKind(root, realRoot, full, e);
      if (kind === 'dir') pendingDirs.push(full);
      else if (kind === 'file' && MANIFEST_EXT.test(e.name)) {
        paths.push(full);
        if (paths.length > maxFiles) throw tooLarge(root, `${maxFiles} files`);
      }
    }
    if (++work % BATCH === 0) await yieldToLoop();
  }
  return paths;
}

/** What an entry is, a link's target seen through; a link out of the folder is a FolderError naming the link. */
function entryKind(root: string, realRoot: string, full: string, e: Dirent): 'dir' | 'file' | 'other' {
  const kindOf = (dir: boolean, file: boolean) => (dir ? 'dir' : file ? 'file' : 'other');
  if (!e.isSymbolicLink()) return kindOf(e.isDirectory(), e.isFile());
  let target: string;
  let st: ReturnType<typeof statSync>;
  try {
    target = realpathSync(full);
    st = statSync(target);
  } catch {
    return 'other'; // a dangling link declares nothing
  }
  if ((st.isDirectory() || MANIFEST_EXT.test(e.name)) && !insideRoot(realRoot, target)) {
    const link = toPosix(relative(root, full));
    throw new FolderError(
      'LinkOutsideFolder',
      `${link} in sync folder ${root} is a symbolic link that leads out of the folder; links are followed only to files and folders inside it: remove the link, or copy what it points to into the folder`,
      link,
    );
  }
  return kindOf(st.isDirectory(), st.isFile());
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/** The revision of a folder: sha256 over every (path, content), in path order. */
export function revisionOf(files: readonly ManifestFile[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(`${Buffer.byteLength(f.path)}:${f.path}\n${Buffer.byteLength(f.text)}:`);
    h.update(f.text);
    h.update('\n');
  }
  return `sha256:${h.digest('hex')}`;
}

/** `sha256:0123456789ab…` → `0123456789ab`: how events and logs name a revision. */
export const shortRevision = (rev: string | undefined) => (rev ? rev.replace(/^sha256:/, '').slice(0, 12) : 'none');

/** The default sync name for a folder: its base name made a DNS label. */
export function nameForFolder(dir: string): string {
  const base = basename(dir.replace(/[\\/]+$/, '')) || 'sync';
  let name = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
  if (!name) name = 'sync';
  return name;
}

/**
 * The git directory of the repository `dir` lies in, if any: the nearest `.git` folder
 * upwards, or the folder a `.git` file (`gitdir: …`, worktrees and submodules) points to.
 */
export async function findGitDir(dir: string): Promise<string | undefined> {
  let d = dir;
  for (let i = 0; i < 64; i++) {
    const dotGit = join(d, '.git');
    try {
      const st = await stat(dotGit);
      if (st.isDirectory()) return dotGit;
      if (st.isFile()) {
        const m = /^gitdir:\s*(.+?)\s*$/m.exec(await readFile(dotGit, 'utf8'));
        if (m) return isAbsolute(m[1]!) ? m[1]! : join(d, m[1]!);
      }
    } catch {
      // not here: look further up
    }
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
  return undefined;
}

/**
 * True while git is changing the working tree (a checkout, merge, pull or rebase holds
 * `index.lock`): the folder is half old, half new until it is released.
 */
export async function gitBusy(gitDir: string | undefined): Promise<boolean> {
  if (!gitDir) return false;
  try {
    await stat(join(gitDir, 'index.lock'));
    return true;
  } catch {
    return false;
  }
}
