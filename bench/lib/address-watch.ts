// How bench/ide's Tidepool side learns that a workspace has its address without loading the
// machine: the API's watch stream (NDJSON events, nothing polled). The floor learns the same
// by polling the one instance's state over the Incus socket, and neither side touches the IDE
// before that. A poll through Caddy is not free, unlike the floor's direct connect that is
// refused at once: each one costs a login check and the waking page (measured over 300 polls
// of a starting workspace: 1.4 ms of serve's CPU and 2.2 ms of Caddy's), which a container
// booting on the same two cores feels. A browser makes one request, then reloads every 2 s.
import { AUTH, type Api } from '../../test/e2e/incus-helpers.js';

interface WatchedWorkspace {
  metadata?: { name?: string };
  spec?: { running?: boolean };
  status?: { ip?: string };
}

export interface AddressWatch {
  /** Resolves once the workspace runs with an address (its route is published then). */
  shown: Promise<void>;
  close(): void;
}

/** Opens the watch now (before the apply or start it is to see), for workspace `name`. */
export function watchAddress(api: Api, name: string, timeoutMs: number): AddressWatch {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`${name}: no address after ${timeoutMs / 1000} s`)), timeoutMs);
  const shown = (async () => {
    const res = await fetch(`${api.base}/api/v1/workspaces?watch=true`, {
      headers: { authorization: AUTH },
      signal: abort.signal,
    });
    if (!res.ok || !res.body) throw new Error(`watch: ${res.status}`);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as { type: string; object?: WatchedWorkspace };
        const o = ev.object;
        if (ev.type !== 'DELETED' && o?.metadata?.name === name && o.spec?.running && o.status?.ip) return;
      }
    }
    throw new Error(`watch of ${name} ended before it had an address`);
  })().finally(() => clearTimeout(timer));
  // Awaited by the caller, or given up (closed) when what it was to see failed first: then its
  // abort is no error of its own.
  shown.catch(() => undefined);
  return {
    shown,
    close: () => abort.abort(),
  };
}
