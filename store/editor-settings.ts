// The editor settings that follow each person: one SettingsFile per namespace (a namespace is
// one person's), so what one person's workspace saves is written only into new workspaces of
// the same namespace. The controller saves and applies by the workspace's namespace, the API by
// the requester's. One SettingsFile per namespace for the server's life keeps each file's writes
// in one chain (two saves of one namespace never interleave).
import { SettingsFile } from './settings-file.js';

export class EditorSettings {
  readonly #dataDir: string;
  readonly #files = new Map<string, SettingsFile>();

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
  }

  /** `namespace`'s settings; throws SettingsFileError when it is not a DNS label. */
  of(namespace: string): SettingsFile {
    let file = this.#files.get(namespace);
    if (!file) {
      file = new SettingsFile(this.#dataDir, namespace);
      this.#files.set(namespace, file);
    }
    return file;
  }
}
