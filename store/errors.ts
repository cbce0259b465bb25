// API errors as Kubernetes Status objects. Every layer throws ApiError; the HTTP layer
// turns it into the reply, the CLI prints it as kubectl does.
import type { StatusCause, StatusObject } from '../specs/index.js';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; kind?: string; causes?: StatusCause[] },
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): StatusObject {
    return {
      apiVersion: 'v1', kind: 'Status', status: 'Failure',
      code: this.code, reason: this.reason, message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export const notFound = (plural: string, name: string) =>
  new ApiError(404, 'NotFound', `${plural} "${name}" not found`, { name, kind: plural });

export const alreadyExists = (plural: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${plural} "${name}" already exists`, { name, kind: plural });

export const conflict = (plural: string, name: string, why: string) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${plural} "${name}": ${why}`, { name, kind: plural });

export const invalid = (kind: string, name: string | undefined, causes: StatusCause[]) => {
  const what = name ? `${kind} "${name}"` : kind;
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  return new ApiError(422, 'Invalid', `${what} is invalid: ${list}`, { ...(name ? { name } : {}), kind, causes });
};

export const badRequest = (message: string, causes?: StatusCause[]) =>
  new ApiError(400, 'BadRequest', message, causes ? { causes } : undefined);

export const gone = (message: string) => new ApiError(410, 'Gone', message);
