// The errors the CLI prints, and how: as kubectl does (`Error from server (NotFound): ...`,
// `error: ...`), always with a non-zero exit code.
import { formatCause as formatCauseLine } from '../specs/errors.js';
import type { StatusCause, StatusObject } from '../specs/index.js';

/** A usage or local error: printed as `error: <message>`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A non-2xx reply from the server, carrying its Status object. */
export class ServerError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: StatusObject,
  ) {
    super(status.message);
    this.name = 'ServerError';
  }
  get code(): number {
    return this.status.code ?? this.httpStatus;
  }
  get reason(): string {
    return this.status.reason;
  }
  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }
}

/** The server could not be reached at all. */
export class ConnectionError extends Error {
  constructor(
    readonly server: string,
    readonly why: string,
  ) {
    super(`cannot reach the Tidepool server at ${server}: ${why} (is "tidepool serve" running?)`);
    this.name = 'ConnectionError';
  }
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A Status object from a reply body, or one made up from the HTTP status when the body is not one. */
export function statusFromReply(httpStatus: number, body: unknown, rawText: string): StatusObject {
  const b = body as Partial<StatusObject> | undefined;
  if (b && typeof b === 'object' && b.kind === 'Status' && typeof b.message === 'string') {
    return {
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      code: typeof b.code === 'number' ? b.code : httpStatus,
      reason: typeof b.reason === 'string' && b.reason ? b.reason : (REASONS[httpStatus] ?? 'Unknown'),
      message: b.message,
      ...(b.details ? { details: b.details } : {}),
    };
  }
  const text = rawText.trim().slice(0, 300);
  return {
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code: httpStatus,
    reason: REASONS[httpStatus] ?? 'Unknown',
    message: text ? `the server replied ${httpStatus}: ${text}` : `the server replied ${httpStatus} with an empty body`,
  };
}

/** `file:line:column: field: message`, with whatever of the location is known (the one formatter, in specs/). */
export function formatCause(c: StatusCause): string {
  return formatCauseLine(c);
}
