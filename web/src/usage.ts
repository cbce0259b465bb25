// What the workspaces use, from GET /api/v1/usage (the server samples the runtime every few
// seconds and keeps an hour in memory): polled every sample while the page is visible, by the
// elements that show it (the list's bars, a workspace's graphs), for the namespace shown
// (/api/v1/namespaces/{ns}/usage when an admin picked one).
import type { UsageList, WorkspaceUsage } from '../../specs/usage.js';
import { API_BASE, request } from './api.js';

export type { HostUsage, UsageHistory, UsageList, WorkspaceUsage } from '../../specs/usage.js';

/** A server without usage figures (API only, or a runtime that cannot tell) answers 501: stop asking. */
export type UsageState = { list: UsageList } | { unsupported: true } | { loading: true };

export class UsagePoller {
  readonly #path: string;
  readonly #onState: (s: UsageState) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;

  /** `base`: the API base of the namespace shown (api.ts namespaceBase); the person's own by default. */
  constructor(query: string, onState: (s: UsageState) => void, base = API_BASE) {
    this.#path = `${base}/usage${query ? `?${query}` : ''}`;
    this.#onState = onState;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#tick();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    let next = 10;
    if (document.visibilityState !== 'hidden') {
      try {
        const list = await request<UsageList>('GET', this.#path);
        next = Math.max(1, list.intervalSeconds);
        if (this.#running) this.#onState({ list });
      } catch (err) {
        if ((err as { code?: number }).code === 501) {
          this.#onState({ unsupported: true });
          this.stop();
        }
      }
    }
    if (this.#running) this.#timer = setTimeout(() => void this.#tick(), next * 1000);
  }
}

/** `1.5 GiB`, `312 MiB`: memory as a person reads it. */
export function showBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (i < units.length - 1 && n >= 1024 ** (i + 1)) i++;
  const v = n / 1024 ** i;
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** `0.42` cores with two decimals under 10. */
export const showCores = (n: number): string => (n >= 10 ? n.toFixed(0) : n.toFixed(2));

export function byName(list: UsageList): Map<string, WorkspaceUsage> {
  return new Map(list.items.map((u) => [u.name, u]));
}
