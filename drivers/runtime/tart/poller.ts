// Changes made outside Tidepool (a VM stopped or deleted by hand): Tart sends no events, so
// `tart list` is polled while anyone listens, and every workspace whose VM changed (running
// ↔ stopped, gone) is reported. Also the one place listeners are called.
import { errorMessage } from '../../../specs/errors.js';
import { isLocal, isRunning, type TartCli } from './cli.js';
import { workspaceOfSuffix } from './names.js';

export class ChangePoller {
  readonly #cli: TartCli;
  readonly #prefix: string;
  readonly #intervalMs: number;
  readonly #log: (msg: string) => void;
  readonly #listeners = new Set<(workspace: string) => void>();
  #timer: NodeJS.Timeout | undefined;
  /** workspace → running, from the last poll. */
  #lastSeen: Map<string, boolean> | undefined;

  /** `intervalMs` <= 0: no polling (listeners hear only about exits the supervisor sees). */
  constructor(cli: TartCli, prefix: string, intervalMs: number, log: (msg: string) => void) {
    this.#cli = cli;
    this.#prefix = prefix;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  /** Tells every listener that `workspace` changed; a listener that throws is logged. */
  emit(workspace: string): void {
    for (const l of this.#listeners) {
      try {
        l(workspace);
      } catch (err) {
        this.#log(`tart: subscriber failed: ${errorMessage(err)}`);
      }
    }
  }

  subscribe(onChange: (workspace: string) => void): () => void {
    this.#listeners.add(onChange);
    this.#start();
    return () => {
      this.#listeners.delete(onChange);
      if (this.#listeners.size === 0 && this.#timer) this.#halt();
    };
  }

  close(): void {
    this.#listeners.clear();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #halt(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lastSeen = undefined;
  }

  #start(): void {
    if (this.#timer || this.#intervalMs <= 0) return;
    this.#timer = setTimeout(() => void this.#tick(), 0);
    this.#timer.unref?.();
  }

  async #tick(): Promise<void> {
    try {
      const now = new Map<string, boolean>();
      for (const e of await this.#cli.list()) {
        if (isLocal(e) && e.Name.startsWith(this.#prefix))
          now.set(workspaceOfSuffix(e.Name.slice(this.#prefix.length)), isRunning(e));
      }
      const last = this.#lastSeen;
      if (last) {
        for (const [ws, running] of now) if (last.get(ws) !== running) this.emit(ws);
        for (const ws of last.keys()) if (!now.has(ws)) this.emit(ws);
      }
      this.#lastSeen = now;
    } catch (err) {
      this.#log(`tart: poll failed: ${errorMessage(err)}`);
    }
    if (this.#listeners.size > 0) {
      this.#timer = setTimeout(() => void this.#tick(), this.#intervalMs);
      this.#timer.unref?.();
    } else this.#timer = undefined;
  }
}
