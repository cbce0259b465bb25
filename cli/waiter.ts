// Waiting for an object to reach a state, by watch: list once (for the current state and a
// resourceVersion), then follow the watch from there. Level-based: each check looks at the
// whole object, never at the kind of event.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KindInfo } from '../specs/index.js';
import type { ApiClient, ApiObject } from './client.js';
import { CliError, ServerError } from './errors.js';
import { parseDuration } from './format.js';
import { condition } from './printers.js';

/** Looks at the object (undefined: it does not exist) and says whether the wait is over. */
export type Check = (o: ApiObject | undefined) => boolean;

export class WaitTimeout extends Error {
  constructor(
    readonly info: KindInfo,
    readonly objectName: string,
  ) {
    super(`timed out waiting for the condition on ${info.plural}/${objectName}`);
    this.name = 'WaitTimeout';
  }
}

const isAbort = (err: unknown) =>
  err instanceof Error &&
  (err.name === 'AbortError' || err.name === 'TimeoutError' || (err as { code?: string }).code === 'ABORT_ERR');

/** Resolves with the last object seen (undefined if gone) when `check` holds; throws WaitTimeout when `signal` aborts first. */
export async function waitFor(
  client: ApiClient,
  info: KindInfo,
  name: string,
  check: Check,
  shared: AbortSignal,
): Promise<ApiObject | undefined> {
  // A signal of its own: every list, watch and sleep listens to it, and `delete --wait` of
  // many names shares one deadline; listening to that one directly passes Node's limit of
  // 10 listeners (MaxListenersExceededWarning). AbortSignal.any adds no listener to `shared`.
  const signal = AbortSignal.any([shared]);
  try {
    for (;;) {
      const list = await client.list(info, { signal });
      let obj = list.items.find((o) => o.metadata.name === name);
      if (check(obj)) return obj;
      try {
        for await (const ev of client.watch(info, { resourceVersion: list.metadata.resourceVersion, signal })) {
          if (ev.object.metadata.name !== name) continue;
          obj = ev.type === 'DELETED' ? undefined : ev.object;
          if (check(obj)) return obj;
        }
      } catch (err) {
        if (!(err instanceof ServerError && err.code === 410)) throw err;
      }
      if (signal.aborted) throw signal.reason;
      await sleep(200, undefined, { signal });
    }
  } catch (err) {
    if (signal.aborted || isAbort(err)) throw new WaitTimeout(info, name);
    throw err;
  }
}

export const gone: Check = (o) => o === undefined;

export function hasCondition(type: string, status = 'True'): Check {
  const want = status.toLowerCase();
  return (o) => {
    const c = o ? condition(o, type) : undefined;
    return c !== undefined && String(c.status).toLowerCase() === want;
  };
}

/** `{.status.phase}` (or `.status.phase`) → the value at that path. */
function readPath(o: unknown, path: string): unknown {
  const p = path.replace(/^\{/, '').replace(/\}$/, '').replace(/^\./, '');
  let v: any = o;
  for (const part of p.split('.').filter(Boolean)) {
    const m = /^([^[\]]*)(?:\[(\d+)\])?$/.exec(part);
    if (!m) return undefined;
    if (m[1]) v = v?.[m[1]];
    if (m[2] !== undefined) v = v?.[Number(m[2])];
  }
  return v;
}

export interface ForSpec {
  check: Check;
  /** --for=delete: a missing object is what we wait for, not an error. */
  deletion: boolean;
}

/** `--for=delete`, `--for=condition=Ready[=True]`, `--for=jsonpath={.status.phase}=Running`. */
export function parseFor(text: string | undefined): ForSpec {
  if (!text)
    throw new CliError(
      '--for is required: --for=delete, --for=condition=Ready[=True|False] or --for=jsonpath={.status.phase}=Running',
    );
  if (text === 'delete') return { check: gone, deletion: true };
  let m = /^condition=([^=]+)(?:=(.*))?$/.exec(text);
  if (m) return { check: hasCondition(m[1]!, m[2] ?? 'True'), deletion: false };
  m = /^jsonpath=(.+?)=(.*)$/.exec(text);
  if (m) {
    const [, path, want] = m as unknown as [string, string, string];
    return { check: (o) => o !== undefined && String(readPath(o, path)) === want, deletion: false };
  }
  throw new CliError(
    `unrecognized condition: "${text}"; use --for=delete, --for=condition=NAME[=VALUE] or --for=jsonpath={.path}=VALUE`,
  );
}

export function parseTimeout(text: string | undefined, fallback: string): number {
  const t = text ?? fallback;
  const ms = parseDuration(t);
  if (ms === undefined || ms < 0)
    throw new CliError(`invalid --timeout "${t}": use a duration such as 30s, 2m or 1m30s`);
  return ms;
}
