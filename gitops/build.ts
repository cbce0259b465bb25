// Parsing a folder revision with a per-file cache. Parsing YAML is most of the cost of an
// apply (1000 small files: ~70 ms), and an edit changes one file: each file is parsed again
// only when its text changed. What comes out is what `parseDocuments` would give for all
// files at once (document indices numbered across the files), so `applyDocuments` reports
// violations exactly as `tidepool apply` does.
import { parseDocuments, type ParsedDocument, type ParsedDocuments } from '../store/apply/index.js';
import { badRequest, isStoreError } from '../store/index.js';
import type { StatusCause } from '../specs/index.js';
import type { ManifestFile } from './files.js';

interface Entry {
  text: string;
  documents?: ParsedDocument[];
  causes?: StatusCause[];
}

export class ParseCache {
  readonly #byPath = new Map<string, Entry>();

  /** Files parsed so far whose text is cached (for tests and figures). */
  get size(): number {
    return this.#byPath.size;
  }

  #entry(f: ManifestFile): Entry {
    const cached = this.#byPath.get(f.path);
    if (cached && cached.text === f.text) return cached;
    let entry: Entry;
    try {
      entry = { text: f.text, documents: parseDocuments([{ name: f.path, text: f.text }]).documents };
    } catch (err) {
      if (!isStoreError(err, 'BadRequest')) throw err;
      entry = {
        text: f.text,
        causes: err.details?.causes ?? [{ reason: err.reason, message: err.message, file: f.path }],
      };
    }
    this.#byPath.set(f.path, entry);
    return entry;
  }

  /**
   * All documents of all files, in file order. Throws a BadRequest StoreError (as parseDocuments does)
   * listing the syntax errors of every file that has one.
   */
  parse(files: readonly ManifestFile[]): ParsedDocuments {
    const keep = new Set(files.map((f) => f.path));
    for (const p of this.#byPath.keys()) if (!keep.has(p)) this.#byPath.delete(p);

    const documents: ParsedDocument[] = [];
    const causes: StatusCause[] = [];
    let offset = 0;
    for (const f of files) {
      const e = this.#entry(f);
      if (e.causes) {
        let last = -1;
        for (const c of e.causes) {
          causes.push({ ...c, ...(c.document !== undefined ? { document: c.document + offset } : {}) });
          last = Math.max(last, c.document ?? 0);
        }
        offset += last + 1;
        continue;
      }
      for (const d of e.documents!) documents.push({ ...d, index: offset + d.index });
      offset += e.documents!.length;
    }
    if (causes.length) {
      const first = causes[0]!;
      const at = [first.file, first.line !== undefined ? `line ${first.line}, column ${first.column ?? 1}` : undefined]
        .filter(Boolean)
        .join(', ');
      const more = causes.length > 1 ? ` (and ${causes.length - 1} more)` : '';
      throw badRequest(
        `cannot parse document ${first.document}${at ? ` (${at})` : ''}: ${first.message}${more}`,
        causes,
      );
    }
    return { documents };
  }
}
