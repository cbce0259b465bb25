// Paged lists, as Kubernetes pages them: `?limit=N` returns at most N objects (by name) and
// `metadata.continue`, an opaque token to pass as `?continue=` for the next page, with
// `metadata.remainingItemCount`. Unlike etcd, the store keeps no old snapshots: a next page
// is read from the store as it is then, after the last name of the page before (an object
// created meanwhile behind that name shows up; one deleted is gone).
import { namespaceOf } from '../specs/index.js';
import { badRequest } from '../store/index.js';

export interface PageRequest {
  limit?: number;
  /** List only names after this one. */
  after?: string;
}

export function parsePage(limit: string | undefined, token: string | undefined): PageRequest | undefined {
  if (limit === undefined && token === undefined) return undefined;
  const page: PageRequest = {};
  // The route's schema (ListQuery) has checked that it is a whole number.
  if (limit !== undefined && limit !== '0') page.limit = Number(limit);
  if (token !== undefined && token !== '') {
    let after: unknown;
    try {
      after = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown }).after;
    } catch {
      after = undefined;
    }
    if (typeof after !== 'string' || !after)
      throw badRequest('continue: the continue token is not valid (it must come from metadata.continue of a list)');
    page.after = after;
  }
  return page;
}

/** Where an object sorts in a list: by namespace, then name (what resource-list.ts sorts by). */
const sortKey = (o: { metadata: { name: string; namespace?: string } }) => `${namespaceOf(o)}/${o.metadata.name}`;

/** The page of `sorted` (sorted by namespace, then name) and the list metadata that goes with it. */
export function pageOf<T extends { metadata: { name: string; namespace?: string } }>(
  sorted: T[],
  page: PageRequest,
): { items: T[]; continue?: string; remainingItemCount?: number } {
  const start = page.after === undefined ? 0 : sorted.findIndex((o) => sortKey(o) > page.after!);
  const from = start < 0 ? sorted.length : start;
  const to = page.limit === undefined ? sorted.length : Math.min(sorted.length, from + page.limit);
  const items = sorted.slice(from, to);
  if (to >= sorted.length || items.length === 0) return { items };
  const token = Buffer.from(JSON.stringify({ after: sortKey(items.at(-1)!) })).toString('base64url');
  return { items, continue: token, remainingItemCount: sorted.length - to };
}
