// The errors the store (and the apply path built on it) raises: a reason from one list and a
// message, with the object and the causes. No HTTP here: the API maps each reason to its
// status code (api/errors.ts); the controller and the sync read the reason.
import type { StatusCause } from '../specs/index.js';

/** Why the store refused: what each entry point (REST, apply, sync, controller) tells apart. */
export const STORE_ERROR_REASONS = [
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Invalid',
  'BadRequest',
  'Gone',
  'ServiceUnavailable',
  'Forbidden',
] as const;
export type StoreErrorReason = (typeof STORE_ERROR_REASONS)[number];

export interface ErrorDetails {
  name?: string;
  kind?: string;
  causes?: StatusCause[];
}

export class StoreError extends Error {
  constructor(
    readonly reason: StoreErrorReason,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** True when `err` is a StoreError of `reason` (any reason when none is given). */
export function isStoreError(err: unknown, ...reasons: StoreErrorReason[]): err is StoreError {
  return err instanceof StoreError && (reasons.length === 0 || reasons.includes(err.reason));
}

export const notFound = (plural: string, name: string) =>
  new StoreError('NotFound', `${plural} "${name}" not found`, { name, kind: plural });

export const alreadyExists = (plural: string, name: string) =>
  new StoreError('AlreadyExists', `${plural} "${name}" already exists`, { name, kind: plural });

export const conflict = (plural: string, name: string, why: string) =>
  new StoreError('Conflict', `Operation cannot be fulfilled on ${plural} "${name}": ${why}`, { name, kind: plural });

export const invalid = (kind: string, name: string | undefined, causes: StatusCause[]) => {
  const what = name ? `${kind} "${name}"` : kind;
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  return new StoreError('Invalid', `${what} is invalid: ${list}`, { ...(name ? { name } : {}), kind, causes });
};

export const badRequest = (message: string, causes?: StatusCause[]) =>
  new StoreError('BadRequest', message, causes ? { causes } : undefined);

/** Who asked may not do this here (another person's namespace): the message names both. */
export const forbidden = (message: string, details?: ErrorDetails) => new StoreError('Forbidden', message, details);

export const gone = (message: string) => new StoreError('Gone', message);

export const unavailable = (message: string) => new StoreError('ServiceUnavailable', message);
