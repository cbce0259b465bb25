// API errors as Kubernetes Status objects. The store raises StoreErrors (a reason, no HTTP);
// the API raises ApiErrors of its own (401, 405, 415 …) and turns a StoreError into one here,
// so that the reply and the CLI (which prints it as kubectl does) see one shape.
import type { StatusObject } from '../specs/index.js';
import { type ErrorDetails, StoreError, type StoreErrorReason } from '../store/index.js';

/** The HTTP status of each reason the store gives. */
export const HTTP_STATUS: Record<StoreErrorReason, number> = {
  BadRequest: 400,
  Forbidden: 403,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Invalid: 422,
  ServiceUnavailable: 503,
};

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The ApiError of a StoreError (its status code from its reason); an ApiError as it is. */
  static from(err: StoreError | ApiError): ApiError {
    if (err instanceof ApiError) return err;
    const e = new ApiError(HTTP_STATUS[err.reason], err.reason, err.message, err.details);
    e.stack = err.stack;
    return e;
  }

  toStatus(): StatusObject {
    return {
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      code: this.code,
      reason: this.reason,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** An ApiError or a StoreError: what the API answers with a Status. */
export const isStatusError = (err: unknown): err is ApiError | StoreError =>
  err instanceof ApiError || err instanceof StoreError;
