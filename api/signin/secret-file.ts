// A small JSON file of secrets under the data directory (sessions, personal access tokens):
// read once at start, rewritten whole on every change through a temporary file and a rename,
// so a crash leaves the old file or the new one, never half of either. Mode 0600: the file
// holds only hashes, but who signed in when is nobody else's business either.
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';

export class SecretFile<T> {
  #writing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly empty: () => T,
  ) {}

  /** The file's content; the empty value when there is none yet. A file that is not JSON is an error naming it. */
  async read(): Promise<T> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`${this.path} is not valid JSON (${(err as Error).message}); move it aside to start with none`);
    }
  }

  /** Writes `value` whole; writes are queued, so the last one called is the one on disk. */
  write(value: T): Promise<void> {
    const text = `${JSON.stringify(value)}\n`;
    const next = this.#writing.then(async () => {
      const tmp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    this.#writing = next.catch(() => undefined);
    return next;
  }
}
