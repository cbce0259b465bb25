// Single-user HTTP basic auth. The comparison hashes both sides (so lengths leak nothing)
// and compares the digests with timingSafeEqual.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

export const REALM = 'tidepool';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();

/** A checker for `Authorization` header values: true only for exactly these credentials. */
export function basicAuthChecker(credentials: {
  username: string;
  password: string;
}): (header: string | undefined) => boolean {
  // user:pass as the header carries it (a user name may not contain ':', RFC 7617).
  const expected = sha256(Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8'));
  return (header) => {
    if (!header) return false;
    const m = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
    // Still hash something on a malformed header, so every reply costs the same.
    const given = sha256(m ? Buffer.from(m[1]!, 'base64') : Buffer.alloc(0));
    return timingSafeEqual(given, expected) && m !== null;
  };
}

export function unauthorized(header: string | undefined): ApiError {
  return new ApiError(
    401,
    'Unauthorized',
    header
      ? 'Unauthorized: the user name or password is wrong'
      : 'Unauthorized: this server needs HTTP basic auth (TIDEPOOL_USER / TIDEPOOL_PASSWORD, or the credentials file in the data directory)',
  );
}
